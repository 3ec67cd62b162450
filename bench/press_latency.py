"""Press-to-AURA latency on loopback (docs/design.md §11). A benchmark script, not a test: it prints
numbers and asserts nothing about them.

    python bench/press_latency.py [--presses 200] [--spacing-ms 20]

Starts the AURA simulator in this process and ``aura-uplink serve`` as a child process (on a
temporary data directory, 127.0.0.1 only), then sends one alert press per device, ~20 ms apart,
as Sigfox DATA callbacks. For each press: the time from sending the callback to the simulator
recording the NEW_CALLOUT (both clocks are this host's ``time.time()``), and the time the
webhook took to answer the callback (which includes the fsync'd SQLite commit).

Baseline: the same two numbers for a deviceEvent POSTed straight to the simulator, i.e. one
HTTP round trip with no webhook, store or worker in between.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the end-to-end helpers (tests/webhook_support.py)

from webhook_support import (  # noqa: E402
    ALERT,
    CLIENT_ID,
    CLIENT_SECRET,
    NEW_CALLOUT,
    T0,
    ServeProcess,
    post_callback,
    sigfox_body,
    wait_until,
    write_config,
)

from webhook.aurasim import SimState, run_simulator  # noqa: E402

TIMEOUT = 5.0  # every HTTP call
MAX_PRESSES = 1000
RUN_DEADLINE_S = 120.0


def summary(samples_s: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return f"median {statistics.median(ms):7.2f} ms   p99 {p99:7.2f} ms   max {ms[-1]:7.2f} ms"


def recorded_at(sim: Any, device_ids: set[str]) -> dict[str, float]:
    """When the simulator recorded each device's first successful NEW_CALLOUT."""
    seen: dict[str, float] = {}
    for entry in sim.state.requests():
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        device = body.get("device_id")
        if (
            device in device_ids
            and device not in seen
            and body.get("message_type") == NEW_CALLOUT
            and entry["status"] == 200
        ):
            seen[device] = entry["time"]
    return seen


def webhook_presses(sim: Any, url: str, presses: int, spacing_s: float) -> tuple[list, list]:
    sent: dict[str, float] = {}
    answer_s = []
    for n in range(presses):
        device = f"BE{n:06X}"
        body = sigfox_body(device=device, data=ALERT, seq=n % 4096, time=T0 + n)
        started = time.time()
        response = post_callback(url, body, timeout=TIMEOUT)
        answer_s.append(time.time() - started)
        response.raise_for_status()
        sent[device] = started
        time.sleep(max(0.0, spacing_s - (time.time() - started)))
    devices = set(sent)
    seen = wait_until(
        lambda: (lambda found: found if len(found) == len(devices) else None)(
            recorded_at(sim, devices)
        ),
        timeout=60.0,
        interval=0.05,
        what="every press at AURA",
    )
    return [seen[d] - sent[d] for d in sorted(devices)], answer_s


def direct_posts(sim: Any, presses: int, spacing_s: float) -> tuple[list, list]:
    # AURA's token request as documented (docs/aura-api.md §1): JSON clientId / clientSecret.
    token = requests.post(
        sim.token_url,
        json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
        timeout=TIMEOUT,
    ).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, float] = {}
    answer_s = []
    for n in range(presses):
        device = f"BA{n:06X}"
        event = {
            "device_type_id": 1,
            "device_id": device,
            "message_type": NEW_CALLOUT,
            "location": {"latitude": -26.10911, "longitude": 28.053037, "sequenceNumber": str(n)},
        }
        started = time.time()
        response = requests.post(sim.event_url, json=event, headers=headers, timeout=TIMEOUT)
        answer_s.append(time.time() - started)
        response.raise_for_status()
        sent[device] = started
        time.sleep(max(0.0, spacing_s - (time.time() - started)))
    seen = recorded_at(sim, set(sent))
    return [seen[d] - sent[d] for d in sorted(sent)], answer_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--spacing-ms", type=float, default=20.0)
    args = parser.parse_args()
    presses = max(2, min(args.presses, MAX_PRESSES))
    spacing_s = args.spacing_ms / 1000
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="press-latency-") as tmp,
        run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as sim,
    ):
        config = write_config(Path(tmp) / "service.toml", aura_url=sim.url, workers=4)
        with ServeProcess(config, Path(tmp) / "serve.log") as process:
            post_callback(process.url, sigfox_body(device="BEFFFFFF", seq=1))  # warm up
            press, ack = webhook_presses(sim, process.url, presses, spacing_s)
        direct, direct_rtt = direct_posts(sim, presses, spacing_s)
    if time.monotonic() - started > RUN_DEADLINE_S:
        print(f"warning: the run took longer than {RUN_DEADLINE_S:.0f} s", file=sys.stderr)
    print(f"{presses} presses, {args.spacing_ms:g} ms apart, 127.0.0.1, serve with 4 workers")
    print(f"press -> AURA recorded      {summary(press)}")
    print(f"  webhook answered callback {summary(ack)}")
    print(f"baseline: POST -> AURA rec. {summary(direct)}")
    print(f"  direct HTTP round trip    {summary(direct_rtt)}")
    print(
        f"overhead of the webhook path (median): "
        f"{(statistics.median(press) - statistics.median(direct)) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
