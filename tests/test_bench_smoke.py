"""The decode benchmark still runs, and its hand-written ``struct`` baselines still give exactly
the fields ``decoders.decode`` gives (bench/decode_speed.py checks that before timing and exits
non-zero if not). No timing is asserted: numbers belong to ``python -m bench.run``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.decode_speed import CASES, FIXED_MODELS, check_agreement

REPO = Path(__file__).resolve().parents[1]


def test_hand_written_decoders_agree_with_decode() -> None:
    for case in CASES:
        if case.hand is not None:
            counts = check_agreement(case, random_frames=200)
            assert counts["frames_equal"] > 0, case.name


def test_quick_decode_benchmark_prints_every_fixed_layout_model() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", "decode"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for model in FIXED_MODELS:
        rows = [line for line in lines if line.startswith(f"{model} ") and ": decode()" in line]
        assert rows, f"no decode() row for {model}:\n{done.stdout}"
        assert all("struct" in row and ("PASS" in row or "FAIL" in row) for row in rows), rows
    assert "command:    python -m bench.run --quick --only decode" in done.stdout
