"""Webhook ingest (docs/design.md §11): ``aura-uplink serve`` with its durable store (SQLite, WAL,
synchronous=FULL, one fsync'd commit per uplink) against a no-op Flask route
(:mod:`bench.noop_app`) under the same waitress settings, with the same client load.

Both servers run as their own processes on 127.0.0.1 with ``SERVER_THREADS`` waitress threads;
AURA is not configured, so events are stored but not delivered (ingest alone is measured). The
load comes from :mod:`bench.load` in a second process: a warm-up, then (a) closed loop, a fixed
count of requests as fast as ``CLIENT_THREADS`` clients go, then (b) open loop, 200 requests/s
for a fixed time, latency counted from when each request was due. Every body is unique.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from bench.procs import REPO, Server, child_env, write_test_config
from bench.report import INFO, Row, verdict

SECTION = "webhook ingest (127.0.0.1, waitress, load from a second process)"
SERVER_THREADS = 8  # waitress threads, both servers (the service's default is 4)
CLIENT_THREADS = 8  # closed loop: concurrent clients, both servers
OPEN_THREADS = 16  # open loop: enough clients that 200 req/s never waits for a free one
MAX_BODY_BYTES = 4096
RATE = 200.0
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
OPERATOR_SECRET = "bench-operator-secret"  # opens /status.json, where the store counts are


def _config(tmp: Path) -> Path:
    # No [aura] section: the service stores events and delivers none.
    return write_test_config(
        tmp / "service.toml",
        aura_url=None,
        threads=SERVER_THREADS,
        max_body_bytes=MAX_BODY_BYTES,
        operator_secret=OPERATOR_SECRET,
    )


def _load(url: str, *args: str, deadline: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.load", "--url", url, "--deadline", str(deadline)]
    done = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env(),
        timeout=deadline + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.load failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def _drive(server: Server, plan: dict[str, Any]) -> dict[str, Any]:
    warm = _load(
        server.url, "--mode", "closed", "--count", str(plan["warmup"]),
        "--threads", str(CLIENT_THREADS), "--offset", "0", deadline=30,
    )  # fmt: skip
    closed = _load(
        server.url, "--mode", "closed", "--count", str(plan["count"]),
        "--threads", str(CLIENT_THREADS), "--offset", "1000000", deadline=plan["closed_deadline"],
    )  # fmt: skip
    opened = _load(
        server.url, "--mode", "open", "--rate", str(RATE), "--duration", str(plan["duration"]),
        "--threads", str(OPEN_THREADS), "--offset", "2000000",
        deadline=plan["duration"] + 10,
    )  # fmt: skip
    # Store counts are the operator's (docs/design.md §14): tests/webhook_support.py's config
    # sets the operator secret. The no-op server answers 404 here, and has no counts anyway.
    status = requests.get(
        server.url + "/status.json",
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
        timeout=5,
    )
    counts = status.json() if status.status_code == 200 else {}
    return {"warmup": warm, "closed": closed, "open": opened, "status": counts}


def _all_ok(run: dict[str, Any]) -> bool:
    return (
        run["ok"] == run["planned"] and run["duplicates"] == 0 and set(run["statuses"]) == {"200"}
    )


def load_plan(quick: bool) -> dict[str, Any]:
    """How much load each server gets: warm-up and closed-loop requests, the closed loop's
    deadline, the open loop's seconds (bench/codec_speed.py drives the same)."""
    return {
        "warmup": 30 if quick else 200,
        "count": 300 if quick else 2000,
        "closed_deadline": 30 if quick else 90,
        "duration": 3.0 if quick else 10.0,
    }


def measure(*, quick: bool = False) -> list[Row]:
    plan = load_plan(quick)
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as name:
        tmp = Path(name)
        config = _config(tmp)
        servers = {
            "noop": ["-m", "bench.noop_app", "--threads", str(SERVER_THREADS),
                     "--max-body-bytes", str(MAX_BODY_BYTES)],
            "webhook": ["-m", "webhook", "serve", "--config", str(config), "--port", "0"],
        }  # fmt: skip
        for label, args in servers.items():
            with Server(args, tmp / f"{label}.log") as server:
                runs[label] = _drive(server, plan)
    return rows(runs, plan)


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def _cpu(run: dict[str, Any]) -> float:
    """The load generator's CPU seconds per second of the run (1.0 = one core busy)."""
    return run["client_cpu_s"] / run["elapsed_s"] if run["elapsed_s"] else 0.0


def rows(runs: dict[str, dict[str, Any]], plan: dict[str, Any]) -> list[Row]:
    hook, noop = runs["webhook"], runs["noop"]
    hook_c, noop_c = hook["closed"], noop["closed"]
    hook_o, noop_o = hook["open"], noop["open"]
    stored = hook["status"].get("store", {}).get("uplinks", {})
    sent = sum(r["ok"] for r in (hook["warmup"], hook_c, hook_o))
    ratio = hook_c["ok_per_s"] / noop_c["ok_per_s"] if noop_c["ok_per_s"] else None
    achieved = hook_o["ok"] / hook_o["elapsed_s"] if hook_o["elapsed_s"] else 0.0
    p99, noop_p99 = hook_o["latency_ms"]["p99"], noop_o["latency_ms"]["p99"]
    p50, noop_p50 = hook_o["latency_ms"]["p50"], noop_o["latency_ms"]["p50"]
    every_ok = all(_all_ok(r) for side in (hook, noop) for r in (side["closed"], side["open"]))
    every_ok = every_ok and sum(stored.values()) == sent == stored.get("decoded")
    detail = {"plan": plan, "server_threads": SERVER_THREADS, "runs": runs}
    return [
        Row(
            SECTION,
            f"closed loop, {CLIENT_THREADS} clients, {plan['count']} req: webhook",
            hook_c["ok_per_s"],
            "req/s",
            noop_c["ok_per_s"],
            "no-op route",
            ratio,
            f">= {TARGET_RATIO}x no-op",
            verdict(ratio is not None and ratio >= TARGET_RATIO and _all_ok(hook_c)),
            {"webhook": hook_c, "noop": noop_c},
        ),
        Row(
            SECTION,
            "closed loop: webhook p99 (saturated, no target)",
            hook_c["latency_ms"]["p99"],
            "ms",
            noop_c["latency_ms"]["p99"],
            "no-op route",
            _ratio(hook_c["latency_ms"]["p99"], noop_c["latency_ms"]["p99"]),
        ),
        Row(
            SECTION,
            "closed loop: load generator CPU (no-op run)",
            _cpu(noop_c),
            "cores",
            _cpu(hook_c),
            "webhook run",
            None,
            "n/a (near 1: client-bound)",
            INFO,
        ),
        Row(
            SECTION,
            f"open loop {RATE:.0f} req/s x {plan['duration']:g} s: webhook p50",
            p50,
            "ms",
            noop_p50,
            "no-op route",
            _ratio(p50, noop_p50),
            "n/a",
            INFO,
        ),
        Row(
            SECTION,
            f"open loop {RATE:.0f} req/s x {plan['duration']:g} s: webhook p99",
            p99,
            "ms",
            noop_p99,
            "no-op route",
            _ratio(p99, noop_p99),
            f"< {TARGET_P99_MS:g} ms at {RATE:.0f} req/s",
            verdict(p99 is not None and p99 < TARGET_P99_MS and _all_ok(hook_o)),
            {"webhook": hook_o, "noop": noop_o, "achieved_req_per_s": achieved},
        ),
        Row(
            SECTION,
            "answered 200, unique, stored (webhook, all phases)",
            float(sum(stored.values())) if stored else None,
            "uplinks",
            float(sent),
            "200 answers",
            None,
            "all 200, unique, decoded",
            verdict(every_ok),
            detail,
        ),
    ]
