"""Callback latency with idle connections open (issue #11): ``aura-uplink serve`` with its
durable store, one callback at a time on a new connection each (as a network server without
keep-alive sends them), first with no other client, then with ``IDLE`` connections open that
never send a byte. The figure is the ratio of the two, measured in the same run on the same
server; the target is only that every callback is answered (before the fix, 98 idle
connections starved every callback).

Bounded: ``IDLE`` sockets to 127.0.0.1, all closed at the end; every request has a timeout.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.load import SECRET, body, percentiles
from bench.procs import Server, write_test_config
from bench.report import INFO, Row, verdict
from webhook.server_options import raise_open_file_limit

SECTION = "idle connections (127.0.0.1, serve, one callback at a time)"
IDLE = 500
TIMEOUT_S = 5.0


def _config(tmp: Path) -> Path:
    return write_test_config(tmp / "service.toml", aura_url=None)  # stored, not delivered


@contextlib.contextmanager
def _idle(url: str, count: int) -> Iterator[None]:
    host, port = url.removeprefix("http://").split(":")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection((host, int(port)), timeout=5))
        time.sleep(0.5)  # let the server accept them all before timing
        yield
    finally:
        for sock in sockets:
            sock.close()


def _callbacks(url: str, count: int, offset: int) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    for number in range(offset, offset + count):
        started = time.perf_counter()
        try:
            answer = requests.post(
                url + "/sigfox/uplink", data=body(number), headers=headers, timeout=TIMEOUT_S
            )
            status = str(answer.status_code)
        except requests.RequestException as error:
            status = type(error).__name__
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    return {"count": count, "statuses": statuses, "latency_ms": percentiles(latencies)}


def measure(*, quick: bool = False) -> list[Row]:
    count = 50 if quick else 300
    soft = raise_open_file_limit(IDLE + 256)  # this process holds the idle sockets
    if soft is not None and soft < IDLE + 256:
        raise RuntimeError(f"open-file limit {soft} cannot hold {IDLE} idle sockets")
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as name:
        tmp = Path(name)
        args = ["-m", "webhook", "serve", "--config", str(_config(tmp)), "--port", "0"]
        with Server(args, tmp / "serve.log") as server:
            _callbacks(server.url, 20, offset=3_000_000)  # warm-up
            alone = _callbacks(server.url, count, offset=3_100_000)
            with _idle(server.url, IDLE):
                crowded = _callbacks(server.url, count, offset=3_200_000)
    return rows(alone, crowded)


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def rows(alone: dict[str, Any], crowded: dict[str, Any]) -> list[Row]:
    answered = all(set(run["statuses"]) == {"200"} for run in (alone, crowded))
    p50, base50 = crowded["latency_ms"]["p50"], alone["latency_ms"]["p50"]
    p99, base99 = crowded["latency_ms"]["p99"], alone["latency_ms"]["p99"]
    extra = {"idle": IDLE, "with_idle": crowded, "without": alone}
    return [
        Row(
            SECTION,
            f"callback p50 with {IDLE} idle connections open",
            p50,
            "ms",
            base50,
            "same callback, none open",
            _ratio(p50, base50),
            "every callback answered 200",
            verdict(answered),
            extra,
        ),
        Row(
            SECTION,
            f"callback p99 with {IDLE} idle connections open",
            p99,
            "ms",
            base99,
            "same callback, none open",
            _ratio(p99, base99),
            "n/a",
            INFO,
        ),
    ]
