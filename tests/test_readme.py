"""Every console example in the README runs and prints exactly what the README shows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def examples() -> list[tuple[str, str]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output))
    return found


@pytest.mark.parametrize(("command", "output"), examples(), ids=lambda value: value[:40])
def test_readme_console_example(command: str, output: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "aura-uplink"
    result = subprocess.run(
        [sys.executable, "-m", "webhook", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == output


def test_the_readme_has_console_examples() -> None:
    assert len(examples()) >= 3
