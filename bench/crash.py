"""Crash recovery under load (issue 11): ``aura-uplink serve`` SIGKILLed every 10 s and
restarted at once on the same data directory and port, while Sigfox callbacks arrive at ``RATE``
(200) requests/s from a pool of ``DEVICES`` (100) devices (:mod:`bench.crash_load`, its own
process; each device's later uplinks queue behind its event in flight). AURA is the simulator,
in this process; everything is on 127.0.0.1; ``serve`` runs the production lease (``lease_s``
3 s, renewed) and 4 delivery workers.

    python -m bench.run --only crash              # 60 s of load, a kill every 10 s
    python -m bench.run --only crash --quick      # 20 s of load, a kill every 5 s
    python -m bench.crash --rate 100 [--quick]    # this part alone, other numbers

Figures, once the load has ended and the outbox has drained (bounded by ``DRAIN_DEADLINE_S``):

* **acknowledged but lost**: callbacks answered 2xx whose uplink is not in the store (target 0);
  and events of acknowledged uplinks that never reached AURA.
* **delivery latency**: for each event of an acknowledged callback, from sending that callback
  to the simulator's first receipt of the event (both ``time.time()`` on this host); p99 target
  < 5 s. A kill delays the events in flight (until their lease lapses) and everything queued
  behind them on the same device, plus whatever waits for the restart.
* **held by a killed process**: events claimed more often than a verdict was recorded for them
  (their process died holding them), from that SIGKILL to their delivery by the restarted
  process: about ``lease_s``, where a fixed 30 s lease made it 30 s and more.
* **duplicates at AURA per kill**: requests beyond the first for one idempotency key (an event
  AURA received more than once: the process died after AURA acted and before it recorded the
  answer); target <= 1 per kill. Beside it, why (:func:`bench.crash_analysis.exposure`): how
  many of them AURA had received within a second of a kill (in flight; one received earlier
  would be a receipt that failed, target 0), and the exposure of the run without kills, from a
  request's arrival at AURA to serve reading its answer, times the sends per second: the
  duplicates a kill at a random instant costs when AURA keeps no idempotency key.

Baseline, measured in the same run: the same load on a fresh data directory with no kill (its
p99, the ratio). If the baseline's own p99 is far above the target, the machine cannot deliver
that rate at all (delivery falls behind ingest), and the latency rows measure the backlog, not
the kills. A refused callback (the process was down) is counted, not retried: only acknowledged
callbacks are followed. Bounded: the load is capped in count and time, every wait has a
deadline, and every process started is stopped at the end.
"""

from __future__ import annotations

import json
import math
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.crash_analysis import Stored, analyse
from bench.procs import REPO, Server, child_env, write_test_config
from bench.report import INFO, Row, verdict
from webhook.config import DeliveryConfig, ServiceConfig

SECTION = "crash recovery: serve SIGKILLed under load (127.0.0.1, AURA simulator)"
RATE = 200.0
DEVICES = 100
WORKERS = DeliveryConfig().workers  # the service's defaults: what a deployment runs
THREADS = ServiceConfig().threads
LOAD_THREADS = 16
DRAIN_DEADLINE_S = 60.0
MAX_DURATION_S = 120.0  # per run; the load generator caps its requests too
TARGET_LOST = 0
TARGET_P99_S = 5.0
TARGET_DUPLICATES_PER_KILL = 1.0
TARGET_STRANDED_S = 5.0  # "within a few seconds of the restart", not after a 30 s lease


def plan(quick: bool) -> dict[str, float]:
    """The issue's run: 60 s of load, a kill every 10 s; --quick: 20 s, a kill every 5 s."""
    timing = (
        {"duration": 20.0, "kill_every": 5.0} if quick else {"duration": 60.0, "kill_every": 10.0}
    )
    return {"rate": RATE, "devices": DEVICES, **timing}


def _write_config(
    tmp: Path,
    aura_url: str,
    lease_s: float | None = None,
    workers: int = WORKERS,
    threads: int = THREADS,
) -> Path:
    # The production lease (short, renewed), worker and thread counts; the tests' backoffs.
    return write_test_config(
        tmp / "service.toml",
        aura_url=aura_url,
        workers=workers,
        threads=threads,
        lease_s=DeliveryConfig().lease_s if lease_s is None else lease_s,
    )


def read_config_lease(config: Path) -> float:
    from webhook.config import load_config

    return load_config(config, env={}).delivery.lease_s


def _free_port() -> int:
    """A port to restart ``serve`` on: the load generator keeps one URL across restarts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _open_events(database: Path) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        query = "SELECT COUNT(*) FROM events WHERE state IN ('pending', 'in_flight')"
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


def scenario(
    tmp: Path,
    duration: float,
    kill_every: float | None,
    rate: float = RATE,
    devices: int = DEVICES,
    lease_s: float | None = None,
    workers: int = WORKERS,
    threads: int = THREADS,
) -> dict[str, Any]:
    """One run: serve + load (+ kills), drain, then what the store and the simulator hold."""
    from webhook.aurasim import SimState, run_simulator

    tmp.mkdir(parents=True)
    # The simulator's default credentials are the ones the tests' config sends.
    with run_simulator("127.0.0.1", 0, SimState()) as sim:
        config = _write_config(tmp, sim.url, lease_s, workers, threads)
        database = tmp / "data" / "aura-uplink.db"
        port = _free_port()
        command = ["-m", "webhook", "serve", "--config", str(config), "--port", str(port)]
        logs = iter(range(1, 1000))
        server = Server(command, tmp / f"serve-{next(logs)}.log")
        load_command = [
            sys.executable, "-m", "bench.crash_load", "--url", server.url,
            "--rate", str(rate), "--duration", str(duration), "--devices", str(devices),
            "--threads", str(LOAD_THREADS), "--deadline", str(duration + 10),
        ]  # fmt: skip
        load = subprocess.Popen(
            load_command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=child_env(),
        )
        kills: list[dict[str, float]] = []  # at_s: since the load started; wall: time.time()
        try:
            started = time.monotonic()
            if kill_every:
                at = started + kill_every
                while at < started + duration - 1.0 and load.poll() is None:
                    time.sleep(max(0.0, at - time.monotonic()))
                    killed, wall = time.monotonic(), time.time()
                    server.proc.kill()  # SIGKILL: no clean-up at all
                    server.proc.wait(timeout=10)
                    server = Server(command, tmp / f"serve-{next(logs)}.log")  # at once
                    restart_s = time.monotonic() - killed
                    kills.append({"at_s": killed - started, "wall": wall, "restart_s": restart_s})
                    at += kill_every
            out, err = load.communicate(timeout=duration + 60)
            if load.returncode != 0:
                raise RuntimeError(f"bench.crash_load failed ({load.returncode}):\n{err[-3000:]}")
            load_ended = time.monotonic()
            deadline = load_ended + DRAIN_DEADLINE_S
            while _open_events(database) and time.monotonic() < deadline:
                time.sleep(0.1)
            drain_s = time.monotonic() - load_ended
        finally:
            if load.poll() is None:
                load.kill()
                load.wait(timeout=10)
            server.stop()
        received = sim.state.requests()
    stored = Stored(database)
    return analyse(json.loads(out), stored, received, [k["wall"] for k in kills]) | {
        "kills": kills,
        "drain_s": drain_s,
        "duration_s": duration,
        "kill_every_s": kill_every,
        "lease_s": read_config_lease(config),
    }


def measure(*, quick: bool = False, **overrides: float) -> list[Row]:
    """Both runs of :func:`plan` (``overrides`` replace its values), the baseline first."""
    settings = plan(quick) | overrides
    rate, devices, duration = settings["rate"], int(settings["devices"]), settings["duration"]
    lease_s = settings.get("lease_s")  # None: the production default
    server = {
        "workers": int(settings.get("workers", WORKERS)),
        "threads": int(settings.get("threads", THREADS)),
    }
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as name:
        tmp = Path(name)
        base = scenario(tmp / "baseline", duration, None, rate, devices, lease_s, **server)
        crash = scenario(
            tmp / "crash", duration, settings["kill_every"], rate, devices, lease_s, **server
        )
    return rows(base, crash, settings)


def _ms_value(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return "never" if math.isinf(seconds) else f"{seconds * 1000.0:.1f} ms"


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base or math.isinf(value) or math.isinf(base):
        return None
    return value / base


def rows(base: dict[str, Any], crash: dict[str, Any], settings: dict[str, float]) -> list[Row]:
    kills = len(crash["kills"])
    label = (
        f"{settings['rate']:g} req/s x {settings['duration']:g} s,"
        f" {settings['devices']:g} devices, {kills} kills"
    )
    p99, base_p99 = crash["latency_s"]["p99"], base["latency_s"]["p99"]
    per_kill = crash["duplicate_requests"] / kills if kills else None
    restarts = [k["restart_s"] for k in crash["kills"]]
    stranded = crash["stranded_kill_to_delivered_s"]
    detail = {"plan": settings, "crash": crash, "no_kill": base}
    drained = crash["events"].get("pending", 0) + crash["events"].get("in_flight", 0) == 0
    return [
        Row(
            SECTION,
            f"{label}: acknowledged but not stored",
            float(crash["lost"]),
            "uplinks",
            float(base["lost"]),
            "no kill",
            None,
            f"{TARGET_LOST} of {crash['acknowledged']} acknowledged",
            verdict(crash["lost"] <= TARGET_LOST),
            detail,
        ),
        Row(
            SECTION,
            f"acknowledged events not at AURA {DRAIN_DEADLINE_S:g} s after the load",
            float(crash["undelivered"]),
            "events",
            float(base["undelivered"]),
            "no kill",
            None,
            f"0 (drained in {crash['drain_s']:.1f} s)" if drained else "0 (did not drain)",
            verdict(crash["undelivered"] == 0 and drained),
        ),
        Row(
            SECTION,
            "delivery p99: callback -> AURA receipt",
            p99,
            "s",
            base_p99,
            "no kill",
            _ratio(p99, base_p99),
            f"< {TARGET_P99_S:g} s"
            + (" (no kill too: at capacity)" if (base_p99 or 0) >= TARGET_P99_S else ""),
            verdict(p99 is not None and p99 < TARGET_P99_S),
        ),
        Row(
            SECTION,
            f"held by a killed process ({stranded['count']}): SIGKILL -> delivered, max",
            stranded["max"],
            "s",
            stranded["p50"],
            "median",
            None,
            f"< {TARGET_STRANDED_S:g} s (lease {crash['lease_s']:g} s)",
            verdict(stranded["max"] is not None and stranded["max"] < TARGET_STRANDED_S)
            if stranded["count"]
            else INFO,
        ),
        Row(
            SECTION,
            "delivery p50: callback -> AURA receipt",
            crash["latency_s"]["p50"],
            "s",
            base["latency_s"]["p50"],
            "no kill",
            _ratio(crash["latency_s"]["p50"], base["latency_s"]["p50"]),
        ),
        Row(
            SECTION,
            "delivery max: callback -> AURA receipt",
            crash["latency_s"]["max"],
            "s",
            base["latency_s"]["max"],
            "no kill",
            _ratio(crash["latency_s"]["max"], base["latency_s"]["max"]),
        ),
        Row(
            SECTION,
            f"duplicates at AURA per kill ({crash['duplicate_requests']} in all)",
            per_kill,
            "per kill",
            float(base["duplicate_requests"]),
            "no kill, in all",
            None,
            f"<= {TARGET_DUPLICATES_PER_KILL:g} per kill",
            verdict(per_kill is not None and per_kill <= TARGET_DUPLICATES_PER_KILL),
        ),
        Row(
            SECTION,
            f"  duplicates not in flight at a kill ({crash['duplicates_in_flight']} were;"
            f" latest arrival {_ms(crash['duplicate_arrived_before_kill_max_s'])} before it)",
            float(crash["duplicates_not_in_flight"]),
            "events",
            float(base["duplicates_not_in_flight"]),
            "no kill",
            None,
            "0 (a receipt that failed)",
            verdict(crash["duplicates_not_in_flight"] == 0),
        ),
        Row(
            SECTION,
            "  exposure: request at AURA -> serve holds the 2xx, mean",
            _ms_value(crash["exposure_s"]["mean"]),
            "ms",
            _ms_value(base["exposure_s"]["mean"]),
            "no kill",
            None,
            f"p99 {_ms(crash['exposure_s']['p99'])}",
            INFO,
        ),
        Row(
            SECTION,
            f"  exposed at an instant: {crash['sends_per_s']:.0f} sends/s x mean exposure",
            crash["exposed_at_an_instant"],
            "events",
            base["exposed_at_an_instant"],
            "no kill",
            None,
            "what a kill costs (no idempotency key)",
            INFO,
        ),
        Row(
            SECTION,
            "restart: SIGKILL -> serve answering /healthz (max)",
            max(restarts) if restarts else None,
            "s",
            statistics.median(restarts) if restarts else None,
            "median",
            None,
        ),
        Row(
            SECTION,
            "callbacks refused or cut while serve was down",
            float(crash["requests"] - crash["acknowledged"]),
            "requests",
            float(base["requests"] - base["acknowledged"]),
            "no kill",
            None,
            "n/a (not retried here)",
            INFO,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.crash [--quick] [--rate R] ...``: this part alone, with other numbers
    (``bench.run --only crash`` runs the issue's)."""
    import argparse

    from bench.report import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 s of load, a kill every 5 s")
    parser.add_argument("--rate", type=float, help=f"callbacks/s (default {RATE:g})")
    parser.add_argument("--devices", type=int, help=f"device pool (default {DEVICES})")
    parser.add_argument("--duration", type=float, help="seconds of load")
    parser.add_argument("--kill-every", type=float, help="seconds between kills")
    parser.add_argument("--lease-s", type=float, help="[delivery] lease_s (default: production)")
    parser.add_argument("--workers", type=int, help=f"[delivery] workers (default {WORKERS})")
    parser.add_argument("--threads", type=int, help=f"[service] threads (default {THREADS})")
    args = parser.parse_args(argv)
    chosen = {
        "rate": args.rate,
        "devices": args.devices,
        "duration": args.duration,
        "kill_every": args.kill_every,
        "lease_s": args.lease_s,
        "workers": args.workers,
        "threads": args.threads,
    }
    overrides = {k: float(v) for k, v in chosen.items() if v is not None}
    if not 0 < overrides.get("duration", 1) <= MAX_DURATION_S:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}]")
    print(table(measure(quick=args.quick, **overrides)))


if __name__ == "__main__":
    main()
