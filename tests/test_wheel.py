"""The wheel carries what the package needs at run time (docs/design.md §14, "Package data"):
built from a copy of the source, installed into a fresh virtual environment, it decodes a frame
and serves the demo configuration, with nothing read from the source tree.

No network: the wheel is built with ``--no-build-isolation`` (setuptools and wheel come with the
test extra) and installed with ``--no-deps --no-index``; its dependencies (construct, Flask, ...)
are made visible to the fresh environment from this one through a ``.pth`` line, which adds the
directory but does not run this environment's own ``.pth`` files (the editable install of the
source tree among them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import requests
from webhook_support import REPO, ServeProcess, child_env, sigfox_body, wait_until

from webhook.aurasim import SimState, run_simulator

pytestmark = pytest.mark.slow

SOURCES = ["decoders", "webhook", "setup.cfg", "pyproject.toml", "README.md", "LICENSE"]
RUN_TIME_DATA = [
    "decoders/py.typed",
    "webhook/demo.toml",
    "webhook/store/sqlite_queries.sql",
    "webhook/store/migrations/sqlite/0001_initial.sql",
    "webhook/store/migrations/sqlite/0002_open_devices_view.sql",
]


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300,
        env=child_env(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )  # fmt: skip
    assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    dist = root / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist,
        source, cwd=root)  # fmt: skip
    (wheel,) = dist.glob("aura_uplink-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", wheel, cwd=root)
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)
    dependencies = sysconfig.get_path("purelib")  # this environment's: construct, flask, ...
    (Path(site.stdout.strip()) / "aura_uplink_test_deps.pth").write_text(dependencies + "\n")
    (root / "wheel-name").write_text(str(wheel))
    return venv / "bin"


def test_the_wheel_holds_the_run_time_data_and_no_tests(installed: Path) -> None:
    wheel = Path((installed.parent.parent / "wheel-name").read_text())
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in RUN_TIME_DATA:
        assert path in names, f"{path} is missing from {wheel.name}"
    assert not [n for n in names if n.startswith(("tests/", "bench/", "fixtures/"))]


def test_the_wheel_carries_the_license_and_the_demo_config_as_in_the_source(
    installed: Path,
) -> None:
    """The MIT licence text (setup.cfg ``license_files``) in the .dist-info, and the demo
    configuration `serve --demo` reads, byte for byte the one in the source tree."""
    wheel = zipfile.ZipFile(Path((installed.parent.parent / "wheel-name").read_text()))
    licenses = [n for n in wheel.namelist() if n.split("/")[0].endswith(".dist-info")
                and n.rsplit("/", 1)[-1] == "LICENSE"]  # fmt: skip
    assert len(licenses) == 1, wheel.namelist()
    text = wheel.read(licenses[0]).decode()
    assert text.startswith("MIT License") and "Copyright (c) 2026 aura-uplink contributors" in text
    assert wheel.read("webhook/demo.toml") == (REPO / "webhook" / "demo.toml").read_bytes()


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed: Path) -> None:
    code = "import decoders, webhook; print(decoders.__file__); print(webhook.__file__)"
    done = run(installed / "python", "-c", code, cwd=installed)
    for line in done.stdout.split():
        assert str(REPO) not in line and "site-packages" in line
    assert (Path(done.stdout.split()[0]).parent / "py.typed").exists()


def test_the_installed_command_decodes_a_frame(installed: Path) -> None:
    done = run(installed / "aura-uplink", "decode", "--model", "aura-reference",
               "01F07010E410B88DC20A5700", cwd=installed)  # fmt: skip
    decoded = json.loads(done.stdout)
    assert decoded["fields"]["latitude"] == -26.10911
    assert [m["kind"] for m in decoded["messages"]] == ["alert", "battery"]


def test_the_installed_command_serves_the_demo_and_delivers_a_press(
    installed: Path, tmp_path: Path
) -> None:
    """``serve --demo`` from the wheel: the demo config, the store's SQL and migrations all
    come from the package; a press goes through to the simulator (AURA_URL points the demo at
    it, the only change)."""
    state = SimState(client_id="aura-sim-client", client_secret="aura-sim-secret")
    with (
        run_simulator(state=state) as aura,
        ServeProcess(
            None,
            tmp_path / "serve.log",
            command=[str(installed / "aura-uplink"), "serve", "--demo"],
            cwd=tmp_path,
            env={"AURA_URL": aura.url},
        ) as server,
    ):
        answer = requests.post(
            server.url + "/sigfox/uplink",
            json=sigfox_body(),
            headers={"Authorization": "Bearer demo-sigfox-secret"},
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["status"] == "stored"
        callouts = wait_until(state.callouts, 15, 0.05, "the press to reach the simulator")
        assert len(callouts) == 1
    assert (tmp_path / "data" / "aura-uplink.db").exists()  # the demo's data dir, under cwd
