"""Load generator for the ingest benchmark, run as its own process (so its CPU is not the
server's GIL): N client threads, one ``requests.Session`` each, POSTing Sigfox DATA callbacks
to 127.0.0.1. Every body is unique (device, seqNumber and time derive from the request's
number, offset by ``--offset``), so the webhook stores each as a new uplink, never a duplicate.

    python -m bench.load --url http://127.0.0.1:PORT --mode closed --count 2000 --threads 8
    python -m bench.load --url ... --mode open --rate 200 --duration 10 --threads 16

closed: each thread sends its next request as soon as the previous answer arrives, until
``--count`` requests are done (maximum throughput). open: request i is due at start + i/rate,
whatever the answers do; its latency is counted from when it was DUE, so a server that falls
behind shows it in the percentiles instead of slowing the load (no coordinated omission).

Bounded: at most MAX_REQUESTS requests, each with a timeout, and no request starts after
``--deadline`` seconds. Prints one JSON object with counts, rates and latency percentiles (ms).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import threading
import time
from typing import Any

import requests

MAX_REQUESTS = 50_000
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a Sigfox {time}
SECRET = "sigfox-test-secret"  # tests/webhook_support.py's [sources.sigfox] secret
# aura-reference frames: alert, location, battery, alert without a fix
FRAMES = (
    "01F07010E410B88DC20A5700",
    "02F061D0D810B79A20035602",
    "04480E80",
    "017FFFFFFF7FFFFFFFFF4000",
)


def body(number: int) -> bytes:
    """The unique Sigfox DATA callback of request ``number``."""
    return json.dumps(
        {
            "device": f"{0x10000000 + number:08X}",
            "time": T0 + number,
            "seqNumber": number % 4096,
            "data": FRAMES[number % len(FRAMES)],
        }
    ).encode()


def percentiles(samples_ms: list[float]) -> dict[str, float | None]:
    if not samples_ms:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(samples_ms)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else None
    return {
        "p50": statistics.median(ordered),
        "p90": cuts[89] if cuts else ordered[0],
        "p99": cuts[98] if cuts else ordered[0],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


class Load:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url.rstrip("/") + args.path
        self.timeout = args.timeout
        self.offset = args.offset
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
        self.lock = threading.Lock()
        self.latencies_ms: list[float] = []  # open loop: from when due; closed: from send
        self.service_ms: list[float] = []  # from when actually sent
        self.late_ms: list[float] = []  # open loop: how late a request started
        self.statuses: dict[str, int] = {}
        self.duplicates = 0

    def send(self, session: requests.Session, number: int) -> tuple[float, float]:
        started = time.perf_counter()
        try:
            response = session.post(
                self.url,
                data=body(self.offset + number),
                headers=self.headers,
                timeout=self.timeout,
            )
            status = str(response.status_code)
            duplicate = b'"duplicate"' in response.content
        except requests.RequestException as error:
            status, duplicate = type(error).__name__, False
        ended = time.perf_counter()
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.duplicates += duplicate
        return started, ended

    def record(self, latency_ms: float, service_ms: float, late_ms: float | None) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.service_ms.append(service_ms)
            if late_ms is not None:
                self.late_ms.append(late_ms)


def run(args: argparse.Namespace) -> dict[str, Any]:
    load = Load(args)
    deadline = time.perf_counter() + args.deadline
    numbers = itertools.count()  # next() on it is atomic under the GIL
    if args.mode == "closed":
        total = min(args.count, MAX_REQUESTS)
    else:
        total = min(round(args.rate * args.duration), MAX_REQUESTS)
    cpu_started = time.process_time()
    start = time.perf_counter() + 0.05  # every thread is up before the first request is due

    def worker() -> None:
        with requests.Session() as session:
            time.sleep(max(0.0, start - time.perf_counter()))
            while True:
                number = next(numbers)
                if number >= total:
                    return
                due = start + number / args.rate if args.mode == "open" else None
                if due is not None:
                    pause = due - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                if time.perf_counter() > deadline:
                    return
                sent, ended = load.send(session, number)
                service = (ended - sent) * 1000
                if due is None:
                    load.record(service, service, None)
                else:
                    load.record((ended - due) * 1000, service, max(0.0, sent - due) * 1000)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()) + args.timeout + 5)
    elapsed = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_started
    done = len(load.latencies_ms)
    ok = load.statuses.get("200", 0)
    return {
        "mode": args.mode,
        "url": load.url,
        "threads": args.threads,
        "planned": total,
        "completed": done,
        "ok": ok,
        "statuses": load.statuses,
        "duplicates": load.duplicates,
        "elapsed_s": elapsed,
        # The load generator's own CPU time: near 1 s per second means the client, not the
        # server, may be what limits the closed-loop rate.
        "client_cpu_s": cpu_s,
        "ok_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "target_rate": args.rate if args.mode == "open" else None,
        "hit_deadline": done < total,
        "latency_ms": percentiles(load.latencies_ms),
        "service_ms": percentiles(load.service_ms),
        "start_late_ms": percentiles(load.late_ms),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--path", default="/sigfox/uplink")
    parser.add_argument("--mode", choices=("closed", "open"), required=True)
    parser.add_argument("--count", type=int, default=2000, help="closed loop: requests")
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: requests/s")
    parser.add_argument("--duration", type=float, default=10.0, help="open loop: seconds")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--offset", type=int, default=0, help="number of the first request")
    parser.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    parser.add_argument("--deadline", type=float, default=60.0, help="no request starts after")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rate <= 0:
        parser.error("--threads and --rate must be positive")
    json.dump(run(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
