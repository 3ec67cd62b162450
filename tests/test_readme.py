"""Every console example in the README runs and prints exactly what the README shows."""

from __future__ import annotations

import json
import os
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


def onboarding() -> tuple[list[str], str]:
    """The README's onboarding commands (the sh block after its marker) and its devices.csv."""
    after = README.split("<!-- onboarding", 1)[1]
    commands = re.search(r"```sh\n(.*?)```", after, flags=re.S)
    csv = re.search(r"```csv\n(.*?)```", after, flags=re.S)
    assert commands and csv
    return [line for line in commands.group(1).splitlines() if line.strip()], csv.group(1)


def test_readme_onboarding_steps_work_against_the_simulator(tmp_path: Path) -> None:
    """Run as written, in a fresh folder, with `aura-uplink` on PATH and AURA_URL pointing the
    demo config at a simulator on a free port (the README's simulator listens on 8081)."""
    from webhook.aurasim import SimState, run_simulator

    commands, csv = onboarding()
    (tmp_path / "webhook").mkdir()
    (tmp_path / "webhook" / "demo.toml").write_text((ROOT / "webhook" / "demo.toml").read_text())
    (tmp_path / "devices.csv").write_text(csv)
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "aura-uplink").write_text(f'#!/bin/sh\nexec {sys.executable} -m webhook "$@"\n')
    (shims / "aura-uplink").chmod(0o755)
    with run_simulator("127.0.0.1", 0, SimState()) as sim:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AURA")},
            "PATH": f"{shims}:{os.environ['PATH']}",
            "AURA_URL": sim.url,
        }
        outputs = []
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
            assert done.returncode == 0, f"{command}\n{done.stderr}"
            outputs.append([json.loads(line) for line in done.stdout.splitlines()])
        check, customer, link, imported, listed = outputs
        assert check[0]["url"] == sim.url
        assert customer[0]["customer"]["id"] == 178921  # the id the README's commands use
        assert link[0]["deviceId"] and link[0]["deviceSerial"] == "356938035643809"
        assert [row["result"] for row in imported] == ["updated", "linked"]
        assert sorted(d["networkId"] for d in listed) == ["1A2B3C4D", "5E6F7A8B"]
        assert len(sim.state.devices()) == 2
