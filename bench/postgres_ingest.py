"""Issue 13's benchmark: the PostgreSQL store against SQLite and the no-op route, one instance
against two, and press-to-AURA latency on both stores -- all in one run, every ratio against a
baseline measured in that same run.

    python -m bench.run --only postgres          # as part of bench.run (the table, the machine)
    python -m bench.postgres_ingest [--quick]    # this part alone

PostgreSQL is the one ``AURA_UPLINK_BENCH_DATABASE_URL`` (or ``AURA_UPLINK_TEST_DATABASE_URL``)
names, else a throwaway server started by ``.ci/postgres.sh`` (:mod:`bench.pg_server`); every
store is a fresh schema. ``fsync``, ``synchronous_commit`` and ``full_page_writes`` are read from
the server and must be on (as durable as SQLite's ``synchronous=FULL``): a row says so.

1. **Ingest.** Three servers at once, each its own process with ``SERVER_THREADS`` waitress
   threads: the no-op Flask route (:mod:`bench.noop_app`), ``aura-uplink serve`` on SQLite and
   ``serve`` on PostgreSQL, with no AURA (events are stored, none delivered). The load is
   :mod:`bench.load` (a second process) exactly as in :mod:`bench.ingest_load`: a warm-up, then
   ``rounds`` closed-loop bursts of ``CLIENT_THREADS`` clients per server, the servers' order
   rotated each round (other work on this shared machine then moves all three alike), figures
   the median round; then an open loop at ``RATE`` requests/s. The CPU the serve process and the
   PostgreSQL server processes spend per callback is read from /proc around each burst.
2. **Two instances.** Two ``serve`` processes on one PostgreSQL schema, against one ``serve`` on
   another schema; the same clients both times: two load processes of ``HA_THREADS_EACH``
   threads, one per instance (both at the one instance for the baseline). Rounds alternate.
3. **Press-to-AURA.** :mod:`bench.press_latency`'s measurement (one alert press per device, 20 ms
   apart, 4 delivery workers, the AURA simulator in this process) on SQLite, then PostgreSQL, a
   simulator each; baseline: the simulator's direct POST round trip.
4. **Press-to-AURA on a store in use.** The same presses on a store already holding
   ``history`` delivered events and ``waiting`` open events of other devices in backoff
   (:mod:`bench.backlog`), SQLite and PostgreSQL filled alike: an empty store hides any cost
   that grows with the history a retention period keeps.

Afterwards every answered callback is counted in the store, straight from the database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from bench.pg_server import DURABILITY, PostgresServer
from bench.procs import REPO, Server, child_env, write_test_config
from bench.report import INFO, Row, table, verdict

SECTION_INGEST = "issue 13 ingest: PostgreSQL vs SQLite vs no-op route (waitress, 127.0.0.1)"
SECTION_HA = "issue 13: two serve instances on one PostgreSQL vs one"
SECTION_PRESS = "issue 13 press-to-AURA latency: PostgreSQL vs SQLite (AURA simulator)"
SECTION_BACKLOG = (
    "issue 13 press-to-AURA on a store in use: N delivered events + N open ones waiting in backoff"
)
SERVER_THREADS = 8  # waitress threads, every server (as bench.ingest_load)
CLIENT_THREADS = 8  # closed loop, one load process (as bench.ingest_load)
OPEN_THREADS = 16
HA_THREADS_EACH = 4  # two load processes: 8 clients in all, as above
MAX_BODY_BYTES = 4096
RATE = 200.0
TARGET_PG_VS_SQLITE = 0.7
TARGET_PRESS_P99_MS = 250.0
PRESS_SPACING_S = 0.02
BACKLOG_WAIT_S = 60.0  # part 4: how long after the last press a late one is still waited for
OPERATOR_SECRET = "bench-operator-secret"
KINDS = ("noop", "sqlite", "postgresql")
# Request numbers (bench.load --offset): each phase its own range, so every body is unique.
WARMUP_OFFSET = 0
ROUND_OFFSET = 1_000_000  # round r: (r + 1) * ROUND_OFFSET
OPEN_OFFSET = 50_000_000
HA_OFFSET = 60_000_000


def plan_for(quick: bool) -> dict[str, Any]:
    return {
        "warmup": 30 if quick else 200,
        "rounds": 1 if quick else 3,
        "count": 200 if quick else 1500,
        "closed_deadline": 30 if quick else 90,
        "duration": 2.0 if quick else 10.0,
        "ha_count": 200 if quick else 1500,  # per round, split over the two load processes
        "presses": 30 if quick else 200,
        "history": 20_000 if quick else 1_000_000,  # part 4: delivered events stored
        "waiting": 200 if quick else 1_000,  # part 4: open events in backoff
        "backlog_presses": 30 if quick else 100,
    }


# -- load and CPU accounting -----------------------------------------------------------------


def run_loads(specs: list[tuple[str, list[str]]], deadline: float) -> list[dict[str, Any]]:
    """``bench.load`` processes at once, one per ``(server url, arguments)``; their results."""
    procs = []
    try:
        for url, args in specs:
            command = [sys.executable, "-m", "bench.load", "--url", url]
            procs.append(
                subprocess.Popen(
                    [*command, "--deadline", str(deadline), *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    cwd=REPO,
                    env=child_env(),
                )
            )
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=deadline + 60)
            if proc.returncode != 0:
                raise RuntimeError(f"bench.load failed ({proc.returncode}):\n{err[-3000:]}")
            results.append(json.loads(out))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def combined(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Several load processes' results as one: acknowledged per second over the longest of
    them; p50 their mean, p99 the worst (their samples are not merged, so this errs high)."""
    elapsed = max(r["elapsed_s"] for r in results)
    ok = sum(r["ok"] for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "ok": ok,
        "planned": sum(r["planned"] for r in results),
        "statuses": statuses,
        "duplicates": sum(r["duplicates"] for r in results),
        "elapsed_s": elapsed,
        "ok_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "p50": statistics.fmean(r["latency_ms"]["p50"] or 0.0 for r in results),
        "p99": max(r["latency_ms"]["p99"] or 0.0 for r in results),
        "client_cpu_s": sum(r["client_cpu_s"] for r in results),
        "processes": results,
    }


def all_ok(run: dict[str, Any]) -> bool:
    clean = run["duplicates"] == 0 and set(run["statuses"]) == {"200"}
    return clean and run["ok"] == run["planned"]


def _ticks(pid: int, children: bool = False) -> int:
    """utime + stime of ``pid`` in clock ticks (+ reaped children's, for the postmaster)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))
    return used + (int(fields[13]) + int(fields[14]) if children else 0)


class CpuMeter:
    """CPU seconds of one process, and of a PostgreSQL server: its postmaster with every
    process it started (a backend that exited is in the postmaster's reaped-children time)."""

    TICK = float(os.sysconf("SC_CLK_TCK"))

    def __init__(self, postmaster: int | None) -> None:
        self.postmaster = postmaster

    @staticmethod
    def of(pid: int) -> float:
        try:
            return _ticks(pid) / CpuMeter.TICK
        except (OSError, IndexError, ValueError):
            return 0.0

    def postgres(self) -> float | None:
        if self.postmaster is None:
            return None
        total = _ticks(self.postmaster, children=True)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.postmaster:  # ppid
                    total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue  # it exited meanwhile (and is now in the postmaster's total)
        return total / self.TICK


def find_postmaster(settings: dict[str, Any]) -> int | None:
    """The postmaster's pid, if the server runs on this machine and we may read its pid file."""
    data = settings.get("data_directory")
    try:
        pid = int(Path(str(data), "postmaster.pid").read_text().split()[0])
        Path(f"/proc/{pid}/stat").read_text()
        return pid
    except (OSError, IndexError, ValueError):
        return None


# -- the three parts -------------------------------------------------------------------------


def _serve_config(tmp: Path, name: str, database_url: str | None, **extra: Any) -> Path:
    (tmp / name).mkdir()
    return write_test_config(
        tmp / name / "service.toml",
        data_dir=tmp / name / "data",
        threads=SERVER_THREADS,
        max_body_bytes=MAX_BODY_BYTES,
        operator_secret=OPERATOR_SECRET,
        database_url=database_url,
        **extra,
    )


def _serve(config: Path) -> list[str]:
    return ["-m", "webhook", "serve", "--config", str(config), "--port", "0"]


def _stored(server: Server) -> dict[str, int]:
    """The store's uplink counts from /status.json (the no-op route has none: empty)."""
    answer = requests.get(
        server.url + "/status.json",
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
        timeout=10,
    )
    if answer.status_code != 200:
        return {}
    return dict(answer.json().get("store", {}).get("uplinks", {}))


def _closed(count: int, threads: int, offset: int) -> list[str]:
    """bench.load's arguments for a closed loop of ``count`` requests from ``offset`` on."""
    return [
        "--mode", "closed", "--count", str(count), "--threads", str(threads),
        "--offset", str(offset),
    ]  # fmt: skip


def measure_ingest(db: PostgresServer, tmp: Path, plan: dict[str, Any], meter: CpuMeter) -> dict:
    """Part 1: no-op, SQLite and PostgreSQL under the same load, rounds rotated."""
    pg_url = db.fresh_url()
    commands = {
        "noop": ["-m", "bench.noop_app", "--threads", str(SERVER_THREADS),
                 "--max-body-bytes", str(MAX_BODY_BYTES)],
        "sqlite": _serve(_serve_config(tmp, "ingest-sqlite", None, aura_url=None)),
        "postgresql": _serve(_serve_config(tmp, "ingest-pg", pg_url, aura_url=None)),
    }  # fmt: skip
    out: dict[str, Any] = {k: {"rounds": []} for k in KINDS}
    with ExitStack() as stack:
        servers = {
            k: stack.enter_context(Server(c, tmp / f"ingest-{k}.log")) for k, c in commands.items()
        }
        sent = dict.fromkeys(KINDS, 0)
        for kind, server in servers.items():
            warm = run_loads(
                [(server.url, _closed(plan["warmup"], CLIENT_THREADS, WARMUP_OFFSET))], 30
            )
            sent[kind] += warm[0]["ok"]
        for r in range(plan["rounds"]):
            order = KINDS[r % 3 :] + KINDS[: r % 3]
            for kind in order:
                server = servers[kind]
                cpu_serve, cpu_pg = meter.of(server.proc.pid), meter.postgres()
                args = _closed(plan["count"], CLIENT_THREADS, (r + 1) * ROUND_OFFSET)
                run = combined(run_loads([(server.url, args)], plan["closed_deadline"]))
                run["serve_cpu_s"] = meter.of(server.proc.pid) - cpu_serve
                after_pg = meter.postgres()
                run["postgres_cpu_s"] = (
                    None if cpu_pg is None or after_pg is None else after_pg - cpu_pg
                )
                out[kind]["rounds"].append(run)
                sent[kind] += run["ok"]
        for kind, server in servers.items():
            args = [
                "--mode", "open", "--rate", str(RATE), "--duration", str(plan["duration"]),
                "--threads", str(OPEN_THREADS), "--offset", str(OPEN_OFFSET),
            ]  # fmt: skip
            run = combined(run_loads([(server.url, args)], plan["duration"] + 10))
            out[kind]["open"] = run
            sent[kind] += run["ok"]
        for kind, server in servers.items():
            out[kind]["answered"] = sent[kind]
            out[kind]["status_counts"] = _stored(server)
    out["postgresql"]["stored_in_db"] = db.count(pg_url, "uplinks")
    return out


def measure_ha(db: PostgresServer, tmp: Path, plan: dict[str, Any]) -> dict:
    """Part 2: one serve vs two on one schema, the same two load processes both times."""
    one_url, two_url = db.fresh_url(), db.fresh_url()
    out: dict[str, Any] = {"one": {"rounds": []}, "two": {"rounds": []}}
    with ExitStack() as stack:

        def start(name: str, url: str) -> Server:
            config = _serve_config(tmp, name, url, aura_url=None)
            return stack.enter_context(Server(_serve(config), tmp / f"{name}.log"))

        one = start("ha-one", one_url)
        pair = [start("ha-a", two_url), start("ha-b", two_url)]
        sent = {"one": 0, "two": 0}
        half = max(1, plan["ha_count"] // 2)
        warm = plan["warmup"] // 2
        for label, urls in (("one", [one.url, one.url]), ("two", [s.url for s in pair])):
            specs = [(u, _closed(warm, HA_THREADS_EACH, HA_OFFSET + i * 500))
                     for i, u in enumerate(urls)]  # fmt: skip
            sent[label] += combined(run_loads(specs, 30))["ok"]
        for r in range(plan["rounds"]):
            for label in ("one", "two") if r % 2 == 0 else ("two", "one"):
                urls = [one.url, one.url] if label == "one" else [s.url for s in pair]
                base = HA_OFFSET + (r + 1) * ROUND_OFFSET
                specs = [(u, _closed(half, HA_THREADS_EACH, base + i * half))
                         for i, u in enumerate(urls)]  # fmt: skip
                run = combined(run_loads(specs, plan["closed_deadline"]))
                out[label]["rounds"].append(run)
                sent[label] += run["ok"]
        out["one"]["answered"], out["two"]["answered"] = sent["one"], sent["two"]
    out["one"]["stored_in_db"] = db.count(one_url, "uplinks")
    out["two"]["stored_in_db"] = db.count(two_url, "uplinks")
    return out


def measure_press(db: PostgresServer, tmp: Path, plan: dict[str, Any]) -> dict:
    """Part 3: bench.press_latency's presses on SQLite, then PostgreSQL; a simulator each."""
    from bench import press_latency as pl  # puts tests/ on sys.path for webhook_support

    out: dict[str, Any] = {}
    for kind in ("sqlite", "postgresql"):
        url = db.fresh_url() if kind == "postgresql" else None
        with pl.run_simulator("127.0.0.1", 0, pl.SimState(pl.CLIENT_ID, pl.CLIENT_SECRET)) as sim:
            (tmp / f"press-{kind}").mkdir()
            config = pl.write_config(
                tmp / f"press-{kind}" / "service.toml",
                aura_url=sim.url,
                workers=4,
                database_url=url,
            )
            with pl.ServeProcess(config, tmp / f"press-{kind}.log") as process:
                pl.post_callback(process.url, pl.sigfox_body(device="BEFFFFFF", seq=1))  # warm
                press, answered = pl.webhook_presses(
                    sim, process.url, plan["presses"], PRESS_SPACING_S
                )
            out[kind] = {"press_to_aura_ms": _ms(press), "answer_ms": _ms(answered)}
            if kind == "sqlite":
                direct, rtt = direct_posts(sim, PRESS_SPACING_S)
                out["direct"] = {"press_to_aura_ms": _ms(direct), "answer_ms": _ms(rtt)}
    return out


def timed_presses(
    sim: Any, url: str, presses: int, spacing_s: float, wait_s: float
) -> tuple[list[float], list[float], int]:
    """bench.press_latency's presses, but a press not at AURA within ``wait_s`` of the last one
    is counted (third value) and given that wait as its latency instead of failing the run: a
    store this slow is a result. Devices ``BD...``: none of the fill's."""
    from bench import press_latency as pl

    sent: dict[str, float] = {}
    answered = []
    for n in range(presses):
        device = f"BD{n:06X}"
        body = pl.sigfox_body(device=device, data=pl.ALERT, seq=n % 4096, time=pl.T0 + n)
        started = time.time()
        response = pl.post_callback(url, body, timeout=pl.TIMEOUT)
        answered.append(time.time() - started)
        response.raise_for_status()
        sent[device] = started
        time.sleep(max(0.0, spacing_s - (time.time() - started)))
    deadline = time.time() + wait_s
    seen = pl.recorded_at(sim, set(sent))
    while len(seen) < len(sent) and time.time() < deadline:
        time.sleep(0.1)
        seen = pl.recorded_at(sim, set(sent))
    late = [d for d in sent if d not in seen]
    cap = deadline - min(sent.values())
    return [seen[d] - sent[d] if d in seen else cap for d in sorted(sent)], answered, len(late)


def measure_backlog(db: PostgresServer, tmp: Path, plan: dict[str, Any]) -> dict:
    """Part 4: presses on stores holding a delivered history and a backlog in backoff
    (bench/backlog.py), SQLite then PostgreSQL, the same fill and presses."""
    from bench import backlog
    from bench import press_latency as pl

    out: dict[str, Any] = {"delivered": plan["history"], "waiting": plan["waiting"]}
    for kind in ("sqlite", "postgresql"):
        root = tmp / f"backlog-{kind}"
        root.mkdir()
        url = db.fresh_url() if kind == "postgresql" else None
        if url is not None:
            fill_s = backlog.fill_postgres(url, plan["history"], plan["waiting"])
        else:
            fill_s = backlog.fill_sqlite(root / "data" / "aura-uplink.db", plan["history"],
                                         plan["waiting"])  # fmt: skip
        with pl.run_simulator("127.0.0.1", 0, pl.SimState(pl.CLIENT_ID, pl.CLIENT_SECRET)) as sim:
            config = pl.write_config(
                root / "service.toml",
                data_dir=root / "data",
                aura_url=sim.url,
                workers=4,
                database_url=url,
            )
            with pl.ServeProcess(config, root / "serve.log") as process:
                pl.post_callback(process.url, pl.sigfox_body(device="BDFFFFFF", seq=1))  # warm
                press, answered, late = timed_presses(
                    sim, process.url, plan["backlog_presses"], PRESS_SPACING_S, BACKLOG_WAIT_S
                )
        out[kind] = {
            "press_to_aura_ms": _ms(press),
            "answer_ms": _ms(answered),
            "not_at_aura_in_time": late,
            "fill_s": fill_s,
        }
    return out


def direct_posts(sim: Any, spacing_s: float) -> tuple[list[float], list[float]]:
    """The baseline: each NEW_CALLOUT the webhook delivered, POSTed again straight to the
    simulator under a new device id (one HTTP round trip, no webhook, store or worker).
    (bench/press_latency.py's own baseline asks for a token in a form the simulator now
    refuses.)"""
    from bench import press_latency as pl

    token = requests.post(
        sim.token_url,
        json={"clientId": pl.CLIENT_ID, "clientSecret": pl.CLIENT_SECRET},
        timeout=pl.TIMEOUT,
    )
    token.raise_for_status()
    answer = token.json()
    headers = {"Authorization": f"Bearer {answer.get('accessToken') or answer['access_token']}"}
    events = [
        e["body"] for e in sim.state.requests()
        if isinstance(e["body"], dict) and e["body"].get("message_type") == pl.NEW_CALLOUT
        and e["status"] == 200
    ]  # fmt: skip
    sent: dict[str, float] = {}
    round_trips = []
    for n, event in enumerate(events):
        device = f"BA{n:06X}"
        started = time.time()
        response = requests.post(
            sim.event_url, json={**event, "device_id": device}, headers=headers, timeout=pl.TIMEOUT
        )
        round_trips.append(time.time() - started)
        response.raise_for_status()
        sent[device] = started
        time.sleep(max(0.0, spacing_s - (time.time() - started)))
    seen = pl.recorded_at(sim, set(sent))
    return [seen[d] - sent[d] for d in sorted(sent)], round_trips


def _ms(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return {"median": statistics.median(ms), "p99": p99, "max": ms[-1], "count": len(ms)}


def measure(*, quick: bool = False) -> list[Row]:
    plan = plan_for(quick)
    with (
        tempfile.TemporaryDirectory(prefix="bench-postgres-") as name,
        PostgresServer() as db,
    ):
        tmp = Path(name)
        settings = db.settings(db.fresh_url())
        meter = CpuMeter(find_postmaster(settings))
        ingest = measure_ingest(db, tmp, plan, meter)
        ha = measure_ha(db, tmp, plan)
        press = measure_press(db, tmp, plan)
        backlog = measure_backlog(db, tmp, plan)
    return rows(plan, settings, ingest, ha, press, backlog)


# -- rows ------------------------------------------------------------------------------------


def _median_round(rounds: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def _per_callback_ms(rounds: list[dict[str, Any]], key: str) -> float | None:
    used = [r[key] for r in rounds if r.get(key) is not None]
    done = sum(r["ok"] for r in rounds if r.get(key) is not None)
    return 1000 * sum(used) / done if used and done else None


def durable(settings: dict[str, Any]) -> bool:
    return all(str(settings.get(name)) == "on" for name in DURABILITY)


def rows(
    plan: dict[str, Any],
    settings: dict[str, Any],
    ingest: dict[str, Any],
    ha: dict[str, Any],
    press: dict[str, Any],
    backlog: dict[str, Any],
) -> list[Row]:
    return [
        *_ingest_rows(plan, settings, ingest),
        *_ha_rows(plan, ha),
        *_press_rows(plan, press),
        *_backlog_rows(plan, backlog),
    ]


def _ingest_rows(plan: dict[str, Any], settings: dict[str, Any], runs: dict) -> list[Row]:
    def median(key: str) -> dict[str, float]:
        return {k: _median_round(runs[k]["rounds"], key) for k in KINDS}

    rate, p50, p99 = median("ok_per_s"), median("p50"), median("p99")
    opened = {k: runs[k]["open"] for k in KINDS}
    achieved: dict[str, float | None] = {
        k: opened[k]["ok"] / opened[k]["elapsed_s"] if opened[k]["elapsed_s"] else None
        for k in KINDS
    }
    ratio = _ratio(rate["postgresql"], rate["sqlite"])
    closed_ok = all(all_ok(r) for k in KINDS for r in runs[k]["rounds"])
    serve_cpu = {k: _per_callback_ms(runs[k]["rounds"], "serve_cpu_s") for k in KINDS}
    pg_cpu = _per_callback_ms(runs["postgresql"]["rounds"], "postgres_cpu_s")
    closed = f"closed loop, {CLIENT_THREADS} clients"
    opening = f"open loop {RATE:.0f} req/s x {plan['duration']:g} s"
    settings_text = ", ".join(f"{k}={settings.get(k)}" for k in DURABILITY[:2])

    def versus_sqlite(figure: str, values: dict[str, float | None], unit: str) -> Row:
        value, base = values["postgresql"], values["sqlite"]
        extra = {"noop": values["noop"]}
        return Row(SECTION_INGEST, figure, value, unit, base, "SQLite", _ratio(value, base),
                   extra=extra)  # fmt: skip

    out = [
        Row(SECTION_INGEST, f"PostgreSQL {settings_text}", None, "", target="all on (see extra)",
            verdict=verdict(durable(settings)), extra={"settings": settings}),
        Row(SECTION_INGEST, f"{closed}, {plan['rounds']} x {plan['count']} req: PostgreSQL",
            rate["postgresql"], "req/s", rate["sqlite"], "SQLite", ratio,
            f">= {TARGET_PG_VS_SQLITE}x SQLite",
            verdict(ratio is not None and ratio >= TARGET_PG_VS_SQLITE and closed_ok),
            {"plan": plan, "runs": runs}),
        Row(SECTION_INGEST, f"{closed}: SQLite", rate["sqlite"], "req/s",
            rate["noop"], "no-op route", _ratio(rate["sqlite"], rate["noop"])),
        Row(SECTION_INGEST, f"{closed}: PostgreSQL vs no-op", rate["postgresql"], "req/s",
            rate["noop"], "no-op route", _ratio(rate["postgresql"], rate["noop"])),
        versus_sqlite(f"{closed}: PostgreSQL p50", dict(p50), "ms"),
        versus_sqlite(f"{closed}: PostgreSQL p99", dict(p99), "ms"),
        versus_sqlite(f"{opening}: PostgreSQL p50", {k: opened[k]["p50"] for k in KINDS}, "ms"),
        versus_sqlite(f"{opening}: PostgreSQL p99", {k: opened[k]["p99"] for k in KINDS}, "ms"),
        # Below RATE: the server fell behind, and the open loop's latencies are its queue.
        versus_sqlite(f"{opening}: PostgreSQL achieved", achieved, "req/s"),
        versus_sqlite("CPU per callback: serve on PostgreSQL", serve_cpu, "ms"),
        Row(SECTION_INGEST, "CPU per callback: PostgreSQL server processes", pg_cpu, "ms",
            serve_cpu["postgresql"], "serve on PostgreSQL", _ratio(pg_cpu, serve_cpu["postgresql"]),
            "n/a (- : server not local)"),
    ]  # fmt: skip
    stored = {
        "sqlite": float(sum(runs["sqlite"]["status_counts"].values())),
        "postgresql": float(runs["postgresql"]["stored_in_db"]),
    }
    for kind, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        answered = float(runs[kind]["answered"])
        ok = closed_ok and all_ok(runs[kind]["open"]) and stored[kind] == answered
        if kind == "sqlite":  # PostgreSQL's count is read from the table: decoded or not
            ok = ok and runs[kind]["status_counts"].get("decoded") == answered
        out.append(
            Row(SECTION_INGEST, f"answered 200, unique, stored: {name}", stored[kind], "uplinks",
                answered, "200 answers", None, "all 200, each stored once", verdict(ok))
        )  # fmt: skip
    return out


def _ha_rows(plan: dict[str, Any], runs: dict) -> list[Row]:
    one, two = runs["one"]["rounds"], runs["two"]["rounds"]

    def pair(key: str) -> tuple[float, float]:
        return _median_round(two, key), _median_round(one, key)

    every_ok = all(all_ok(r) for r in (*one, *two))
    figure = (
        f"2 instances, 2 x {HA_THREADS_EACH} clients, {plan['rounds']} x {plan['ha_count']} req"
    )
    out = []
    for name, key, unit in (
        (figure, "ok_per_s", "req/s"),
        ("2 instances: p50 (mean of the 2 load processes)", "p50", "ms"),
        ("2 instances: p99 (worse of the 2 load processes)", "p99", "ms"),
    ):
        value, base = pair(key)
        extra = {"plan": plan, "runs": runs} if key == "ok_per_s" else {}
        out.append(
            Row(SECTION_HA, name, value, unit, base, "1 instance", _ratio(value, base),
                extra=extra)
        )  # fmt: skip
    for label, name in (("two", "2 instances, one store"), ("one", "1 instance")):
        stored, answered = runs[label]["stored_in_db"], runs[label]["answered"]
        out.append(
            Row(SECTION_HA, f"answered 200, stored once: {name}", float(stored), "uplinks",
                float(answered), "200 answers", None, "all 200, each stored once",
                verdict(every_ok and stored == answered))
        )  # fmt: skip
    return out


def _press_rows(plan: dict[str, Any], runs: dict) -> list[Row]:
    pg, lite, direct = (runs[k]["press_to_aura_ms"] for k in ("postgresql", "sqlite", "direct"))
    label = f"{plan['presses']} presses {PRESS_SPACING_S * 1000:g} ms apart"
    target = f"< {TARGET_PRESS_P99_MS:g} ms"

    def row(figure: str, value: float, base: float, against: str, goal: str | None = None) -> Row:
        if goal is None:
            return Row(SECTION_PRESS, figure, value, "ms", base, against, _ratio(value, base))
        return Row(SECTION_PRESS, figure, value, "ms", base, against, _ratio(value, base),
                   goal, verdict(value < TARGET_PRESS_P99_MS))  # fmt: skip

    out = [
        row(f"{label}: PostgreSQL median", pg["median"], lite["median"], "SQLite"),
        row(f"{label}: PostgreSQL p99", pg["p99"], lite["p99"], "SQLite", target),
        row(f"{label}: PostgreSQL max", pg["max"], lite["max"], "SQLite"),
        row(f"{label}: SQLite p99", lite["p99"], direct["p99"], "direct POST", target),
        row(
            "callback answered p99: PostgreSQL",
            runs["postgresql"]["answer_ms"]["p99"],
            runs["sqlite"]["answer_ms"]["p99"],
            "SQLite",
        ),
    ]
    out[0].extra = runs
    return out


def _backlog_rows(plan: dict[str, Any], runs: dict) -> list[Row]:
    pg, lite = (runs[k]["press_to_aura_ms"] for k in ("postgresql", "sqlite"))
    late = {k: runs[k]["not_at_aura_in_time"] for k in ("postgresql", "sqlite")}
    stored = f"{plan['history']:,} + {plan['waiting']:,} waiting"

    def row(kind: str, stat: str, value: float, base: float | None, goal: str = "n/a") -> Row:
        judged = verdict(value < TARGET_PRESS_P99_MS and not late[kind]) if goal != "n/a" else INFO
        name = "PostgreSQL" if kind == "postgresql" else "SQLite"
        return Row(SECTION_BACKLOG, f"{stored}: {name} {stat}", value, "ms", base,
                   "SQLite, same fill", _ratio(value, base), goal, judged)  # fmt: skip

    target = f"< {TARGET_PRESS_P99_MS:g} ms, all at AURA"
    out = [
        row("postgresql", "median", pg["median"], lite["median"]),
        row("postgresql", "p99", pg["p99"], lite["p99"], target),
        row("postgresql", "max", pg["max"], lite["max"]),
        row("sqlite", "p99", lite["p99"], None, target),  # the baseline itself, judged too
    ]
    out[0].extra = {"plan": plan, "runs": runs}
    for kind, name in (("postgresql", "PostgreSQL"), ("sqlite", "SQLite")):
        if late[kind]:
            out.append(
                Row(SECTION_BACKLOG, f"{name}: presses not at AURA {BACKLOG_WAIT_S:g} s later",
                    float(late[kind]), "presses", float(plan["backlog_presses"]), "sent",
                    target="0", verdict=verdict(False))
            )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    args = parser.parse_args(argv)
    print(table(measure(quick=args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
