"""Load generator for the crash benchmark (:mod:`bench.crash`), run as its own process: Sigfox
DATA callbacks at a steady rate (open loop) from a fixed pool of devices, each device's
sequence numbers counting up, so the per-device FIFO of the delivery worker matters. It keeps
going while ``aura-uplink serve`` is SIGKILLed and restarted under it: a refused or broken
request is recorded, not retried (the benchmark counts only acknowledged callbacks).

    python -m bench.crash_load --url http://127.0.0.1:PORT --rate 200 --duration 60 --devices 100

Request ``n`` is due at start + n/rate and goes to device ``n % devices`` with sequence number
``n // devices + 1`` and time ``T0 + n``: every callback is a new uplink, and its dedup key
(:func:`dedup_key`) is known here. Bounded: at most MAX_REQUESTS requests, each with a timeout,
none started after ``--deadline`` seconds; 127.0.0.1 only. Prints one JSON object whose
``records`` are ``[n, started, ended, status]`` with wall-clock (``time.time()``) times, the
clock the AURA simulator stamps its receipts with.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from bench.load import FRAMES, SECRET, T0

MAX_REQUESTS = 30_000
DEVICE_BASE = 0xC0000000


def device_id(number: int, devices: int) -> str:
    return f"{DEVICE_BASE + number % devices:08X}"


def sequence(number: int, devices: int) -> int:
    return number // devices + 1  # < 4096 for every run this generator allows


def dedup_key(number: int, devices: int) -> str:
    """The store's key for request ``number`` (decoders/envelopes/sigfox.py ``dedup_key``)."""
    return f"sigfox:{device_id(number, devices)}:{sequence(number, devices)}:{T0 + number}"


def body(number: int, devices: int) -> bytes:
    return json.dumps(
        {
            "device": device_id(number, devices),
            "time": T0 + number,
            "seqNumber": sequence(number, devices),
            "data": FRAMES[(number // devices) % len(FRAMES)],
        }
    ).encode()


def _failure(error: BaseException) -> str:
    """A failed callback's status, named as ``requests`` named them (the report counts them)."""
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError
        return "ReadTimeout"
    return "ConnectionError"


def run(args: argparse.Namespace) -> dict[str, Any]:
    parts = urlsplit(args.url.rstrip("/") + "/sigfox/uplink")
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    total = min(round(args.rate * args.duration), MAX_REQUESTS)
    if total // args.devices + 1 >= 4096:
        raise SystemExit("too many requests per device: Sigfox sequence numbers wrap at 4096")
    lock = threading.Lock()
    records: list[list[Any]] = []
    numbers = itertools.count()
    start = time.perf_counter() + 0.05
    wall_offset = time.time() - time.perf_counter()
    deadline = time.perf_counter() + args.deadline

    def worker() -> None:
        # One kept-alive http.client connection per thread, opened again after a failure (the
        # service was killed): requests spent ~1 ms of CPU per callback, reading the
        # environment each time, and this process shares the machine's 2 cores with the
        # service and the AURA simulator it measures.
        conn: http.client.HTTPConnection | None = None
        try:
            while True:
                number = next(numbers)
                if number >= total:
                    return
                pause = start + number / args.rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
                    conn.request("POST", path, body=body(number, args.devices), headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = str(response.status)
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as error:
                    status = _failure(error)
                    if conn is not None:
                        conn.close()
                        conn = None
                ended = time.perf_counter()
                with lock:
                    records.append([number, wall_offset + started, wall_offset + ended, status])
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.perf_counter()) + args.timeout + 5)
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record[3]] = statuses.get(record[3], 0) + 1
    return {
        "planned": total,
        "devices": args.devices,
        "rate": args.rate,
        "started_at": wall_offset + start,
        "elapsed_s": time.perf_counter() - start,
        "statuses": statuses,
        "records": sorted(records),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=5.0, help="per request, seconds")
    parser.add_argument("--deadline", type=float, default=120.0, help="no request starts after")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rate <= 0 or args.devices < 1:
        parser.error("--threads, --rate and --devices must be positive")
    if urlsplit(args.url).hostname != "127.0.0.1":
        parser.error("--url must be on 127.0.0.1 (loopback only)")
    json.dump(run(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
