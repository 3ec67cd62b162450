"""Every benchmark of docs/design.md §11 in one run, on this machine, as one table:

    python -m bench.run                      # the full run (about ten minutes)
    python -m bench.run --quick              # smaller counts: a smoke run, not a measurement
    python -m bench.run --only decode        # one part: decode, ingest, press, offline, crash,
                                             # idle, retention, postgres, codec
    python -m bench.run --json results.json  # also write every figure, machine-readable

Each figure is printed with its baseline, the ratio and the target (PASS/FAIL), then the
machine and the exact command. Numbers are never asserted: a FAIL is a result, and the exit
status is 0 unless a benchmark could not run (or a hand-written decoder disagreed with
``decoders.decode``, which makes its baseline meaningless).

Everything runs on 127.0.0.1 in temporary directories; every server and load process is
stopped at the end of its part, and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.report import FAIL, PASS, Row, machine, machine_text, table


def _decode(quick: bool) -> list[Row]:
    from bench import decode_speed

    return decode_speed.measure(quick=quick)


def _ingest(quick: bool) -> list[Row]:
    from bench import ingest_load

    return ingest_load.measure(quick=quick)


def _press(quick: bool) -> list[Row]:
    from bench import press

    return press.measure(quick=quick)


def _offline(quick: bool) -> list[Row]:
    from bench import offline_capture

    return offline_capture.measure(quick=quick)


def _crash(quick: bool) -> list[Row]:
    from bench import crash

    return crash.measure(quick=quick)


def _idle(quick: bool) -> list[Row]:
    from bench import idle_connections

    return idle_connections.measure(quick=quick)


def _retention(quick: bool) -> list[Row]:
    from bench import retention

    return retention.measure(quick=quick)


def _postgres(quick: bool) -> list[Row]:
    from bench import postgres_ingest

    return postgres_ingest.measure(quick=quick)


def _codec(quick: bool) -> list[Row]:
    from bench import codec_speed

    return codec_speed.measure(quick=quick)


PARTS: dict[str, Callable[[bool], list[Row]]] = {
    "decode": _decode,
    "ingest": _ingest,
    "press": _press,
    "offline": _offline,
    "crash": _crash,
    "idle": _idle,
    "retention": _retention,
    "postgres": _postgres,
    "codec": _codec,
}


def command_line(argv: list[str]) -> str:
    return shlex.join(["python", "-m", "bench.run", *argv])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts (CI smoke run)")
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this path")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name, part in PARTS.items():
        if args.only and name != args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        clock = time.monotonic()
        rows.extend(part(args.quick))
        timings[name] = time.monotonic() - clock

    info = machine()
    # Other work on the machine moves every number: the load average says how busy it was.
    info["load_average_1_5_15"] = {"before": load_before, "after": os.getloadavg()}
    quick = " (--quick: smoke run, not a measurement)" if args.quick else ""
    print(f"aura-uplink benchmarks, {started:%Y-%m-%d %H:%M} UTC{quick}")
    print(table(rows))
    passed = sum(r.verdict == PASS for r in rows)
    failed = sum(r.verdict == FAIL for r in rows)
    print(f"\ntargets: {passed} PASS, {failed} FAIL")
    print("\n" + machine_text(info))
    before, after = (
        " ".join(f"{x:.2f}" for x in info["load_average_1_5_15"][k]) for k in ("before", "after")
    )
    print(f"load avg:   {before} before, {after} after (1/5/15 min)")
    print(f"command:    {command_line(argv)}   (from {Path.cwd()}, python {sys.executable})")
    print("seconds:    " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    if args.json is not None:
        document = {
            "date": started.isoformat(),
            "command": command_line(argv),
            "quick": args.quick,
            "machine": info,
            "seconds": timings,
            "rows": [row.as_dict() for row in rows],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
