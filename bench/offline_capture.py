"""Offline decode of a long capture (docs/design.md §11): ``aura-uplink decode --model
aura-reference --input FILE > /dev/null`` on generated captures of two sizes (100,000 and
1,000,000 hex lines; --quick: 20,000 and 200,000), each run in a fresh :mod:`bench.rss_child`
wrapper.

Reported per size: frames/s over the whole run (Python start-up and imports included) and the
peak RSS of the decode process; then the marginal rate between the two sizes (start-up cancels
out) and the ratio of the two peaks: a streaming decoder keeps it near 1.0 (target <= 1.10).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.procs import REPO, child_env
from bench.report import INFO, Row, verdict

SECTION = "offline decode of a generated capture (aura-reference, one process)"
MAX_MEMORY_GROWTH = 1.10
_POSITION = struct.Struct(">BiiBBB")


def frame_hex(number: int) -> str:
    """Capture line ``number``: a valid aura-reference frame, all different, in a fixed mix of
    4 alerts, 3 locations, 2 battery reports and 1 cancel per 10 lines."""
    kind = (1, 2, 1, 4, 2, 1, 3, 2, 4, 1)[number % 10]
    if kind == 3:
        return f"03{number % 3:02X}"
    if kind == 4:
        return f"04{number % 101:02X}{2800 + number % 1400:04X}"
    latitude = (number * 7_919) % 1_800_000_001 - 900_000_000
    longitude = (number * 104_729) % 3_600_000_001 - 1_800_000_000
    flags = number % 4
    frame = _POSITION.pack(kind, latitude, longitude, number % 255, number % 101, flags)
    return frame.hex().upper()


def write_capture(path: Path, lines: int) -> int:
    """Stream ``lines`` frames to ``path``, one hex frame per line; the file's size in bytes."""
    with open(path, "w", encoding="ascii") as out:
        chunk: list[str] = []
        for number in range(lines):
            chunk.append(frame_hex(number) + "\n")
            if len(chunk) == 10_000:
                out.writelines(chunk)
                chunk.clear()
        out.writelines(chunk)
    return path.stat().st_size


def run_decode(path: Path, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "webhook", "decode", "--model", "aura-reference"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.rss_child", "--", *command, "--input", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env(),
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rss_child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    if result["returncode"] != 0:
        raise RuntimeError(f"decode exited {result['returncode']}:\n{done.stderr[-3000:]}")
    return result


def measure(*, quick: bool = False) -> list[Row]:
    sizes = (20_000, 200_000) if quick else (100_000, 1_000_000)
    runs: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        for lines in sizes:
            path = Path(tmp) / f"capture-{lines}.txt"
            size = write_capture(path, lines)
            runs[lines] = {"lines": lines, "bytes": size, **run_decode(path, timeout=600)}
            path.unlink()
    small, large = (runs[n] for n in sizes)
    marginal = (large["lines"] - small["lines"]) / max(large["wall_s"] - small["wall_s"], 1e-9)
    growth = large["maxrss_kib"] / small["maxrss_kib"]
    rows = [
        Row(
            SECTION,
            f"{lines:,} lines: decode, whole run",
            lines / run["wall_s"],
            "frames/s",
            extra=run,
        )
        for lines, run in runs.items()
    ]
    rows.append(
        Row(
            SECTION,
            f"{large['lines']:,} - {small['lines']:,} lines: marginal rate",
            marginal,
            "frames/s",
            target="n/a (start-up excluded)",
            verdict=INFO,
        )
    )
    rows.append(
        Row(
            SECTION,
            f"peak RSS, {large['lines']:,} lines",
            large["maxrss_kib"] / 1024,
            "MiB",
            small["maxrss_kib"] / 1024,
            f"{small['lines']:,} lines",
            growth,
            f"<= {MAX_MEMORY_GROWTH:.2f}x (flat)",
            verdict(growth <= MAX_MEMORY_GROWTH),
        )
    )
    return rows
