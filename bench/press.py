"""Press-to-AURA latency for ``bench.run``: the measurement of :mod:`bench.press_latency` (its
own script, ``python bench/press_latency.py``), run with fixed settings and returned as rows.

One alert press per device, ``SPACING_S`` apart, as Sigfox DATA callbacks to ``aura-uplink
serve`` (a child process, 4 delivery workers) with the AURA simulator in this process, all on
127.0.0.1: the time from sending the callback to the simulator recording the NEW_CALLOUT.
Baseline: a deviceEvent POSTed straight to the simulator (one HTTP round trip).
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.report import INFO, Row, verdict

SECTION = "press-to-AURA latency (127.0.0.1, AURA simulator)"
SPACING_S = 0.02
TARGET_P99_MS = 250.0


def _ms(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples_s)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return {"median": statistics.median(ms), "p99": p99, "max": ms[-1], "count": len(ms)}


def measure(*, quick: bool = False) -> list[Row]:
    from bench import press_latency as pl  # puts tests/ on sys.path for webhook_support

    presses = 40 if quick else 200
    with (
        tempfile.TemporaryDirectory(prefix="bench-press-") as tmp,
        pl.run_simulator("127.0.0.1", 0, pl.SimState(pl.CLIENT_ID, pl.CLIENT_SECRET)) as sim,
    ):
        config = pl.write_config(Path(tmp) / "service.toml", aura_url=sim.url, workers=4)
        with pl.ServeProcess(config, Path(tmp) / "serve.log") as process:
            pl.post_callback(process.url, pl.sigfox_body(device="BEFFFFFF", seq=1))  # warm up
            press, answered = pl.webhook_presses(sim, process.url, presses, SPACING_S)
        direct, direct_rtt = pl.direct_posts(sim, presses, SPACING_S)
    got, base = _ms(press), _ms(direct)
    extra: dict[str, Any] = {
        "presses": presses,
        "spacing_s": SPACING_S,
        "press_to_aura_ms": got,
        "webhook_answer_ms": _ms(answered),
        "direct_to_aura_ms": base,
        "direct_round_trip_ms": _ms(direct_rtt),
    }
    label = f"{presses} presses, {SPACING_S * 1000:g} ms apart"
    return [
        Row(
            SECTION,
            f"{label}: median",
            got["median"],
            "ms",
            base["median"],
            "direct POST",
            got["median"] / base["median"] if base["median"] else None,
            "n/a",
            INFO,
            extra,
        ),
        Row(
            SECTION,
            f"{label}: p99",
            got["p99"],
            "ms",
            base["p99"],
            "direct POST",
            got["p99"] / base["p99"] if base["p99"] else None,
            f"< {TARGET_P99_MS:g} ms",
            verdict(got["p99"] < TARGET_P99_MS),
        ),
    ]
