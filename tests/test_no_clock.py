"""``decoders`` is a pure library: it takes the time from its caller and never reads a clock.

Parsing a saved callback body or mapping a replayed frame must give the same answer on every run,
so any clock read in ``decoders/`` is a bug. This scans the source rather than patching clocks at
run time, so a clock read on a rarely taken branch is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import decoders

PACKAGE = Path(decoders.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

# (module or class the call goes through, function): every way the stdlib reads a clock
TIME_FUNCTIONS = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter",
                  "perf_counter_ns", "process_time", "localtime", "gmtime", "ctime")  # fmt: skip
CLOCKS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    *(("time", name) for name in TIME_FUNCTIONS),
}


def _dotted(node: ast.expr) -> str | None:
    """``datetime.datetime`` for that expression, or None when it is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def clock_reads(source: str) -> list[str]:
    """Every clock read in ``source``, as ``line: text``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = _dotted(node.func.value)
            # datetime.now(), datetime.datetime.now(), time.monotonic(), date.today() ...
            if owner is not None and (owner.rsplit(".", 1)[-1], node.func.attr) in CLOCKS:
                found.append(f"{node.lineno}: {owner}.{node.func.attr}()")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            # `from time import monotonic` would hide the call's owner from the check above.
            for alias in node.names:
                if alias.name in TIME_FUNCTIONS:
                    found.append(f"{node.lineno}: from time import {alias.name}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_in_decoders_reads_a_clock(path: Path) -> None:
    assert clock_reads(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime, UTC\nx = datetime.now(UTC)",
        "import datetime\nx = datetime.datetime.utcnow()",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.monotonic()",
        "import time\nx = time.perf_counter()",
        "from time import time\n",
    ],
)
def test_the_scan_finds_each_kind_of_clock_read(source: str) -> None:
    assert clock_reads(source)


def test_the_scan_leaves_time_arithmetic_alone() -> None:
    source = "from datetime import UTC, datetime\nx = datetime.fromtimestamp(0, UTC).timestamp()"
    assert clock_reads(source) == []
