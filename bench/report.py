"""The result rows every sub-benchmark returns, the table ``bench.run`` prints, and the machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

PASS, FAIL, INFO = "PASS", "FAIL", "info"


@dataclass
class Row:
    """One figure: its value, the baseline it is compared with, their ratio and the target.

    ``verdict`` is PASS/FAIL when the row has a target, ``info`` otherwise (the target column
    then says why, e.g. "variable layout — target n/a")."""

    section: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = "n/a"
    verdict: str = INFO
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict(ok: bool) -> str:
    return PASS if ok else FAIL


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("frames/s", "req/s", "calls/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "cores":
        return f"{value:.2f} cores"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    return f"{value:g} {unit}".strip()


def table(rows: list[Row]) -> str:
    """A plain-text table, one block per section."""
    head = ("figure", "value", "baseline", "ratio", "target", "result")
    lines: list[str] = []
    widths = [50, 20, 36, 7, 28, 6]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"== {section} ==", line(head), line(tuple("-" * w for w in widths))]
        base = _number(row.baseline, row.unit)
        if row.baseline_label and row.baseline is not None:
            base = f"{base} ({row.baseline_label})"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        cells = (row.figure, _number(row.value, row.unit), base, ratio, row.target, row.verdict)
        lines.append(line(cells))
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.lower().startswith("model name"):
                return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _filesystem(path: str) -> str:
    """The mount type holding ``path`` (fsync cost depends on it: tmpfs makes it free)."""
    best, kind = "", "unknown"
    try:
        for entry in Path("/proc/mounts").read_text().splitlines():
            parts = entry.split()
            if len(parts) > 2 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], f"{parts[2]} ({parts[0]} on {parts[1]})"
    except OSError:
        pass
    return kind


def _git() -> str:
    def run(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip()

    try:
        head = run("rev-parse", "--short", "HEAD")
        dirty = run("status", "--porcelain", "--", "decoders", "webhook")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in decoders/ or webhook/" if dirty else " (clean)")


def machine() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    try:
        from importlib.metadata import version

        versions = {name: version(name) for name in ("construct", "flask", "waitress", "requests")}
    except Exception:  # pragma: no cover - metadata missing
        versions = {}
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "platform": platform.platform(),
        "temp_filesystem": _filesystem(tempfile.gettempdir()),
        "packages": versions,
        "git": _git(),
    }


def machine_text(info: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    return "\n".join(
        [
            f"CPU:        {info['cpu']}",
            f"cores:      {info['cores']} ({info['usable_cores']} usable by this process)",
            f"Python:     {info['python']} on {info['platform']}",
            f"packages:   {packages}",
            f"temp dir:   {info['temp_filesystem']}",
            f"git:        {info['git']}",
        ]
    )
