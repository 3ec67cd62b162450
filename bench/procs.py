"""Server processes for the benchmarks: started with a log file, found by the port they print,
ready once ``/healthz`` answers 200, and always stopped (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def child_env() -> dict[str, str]:
    """This environment without AURA_* overrides (the config file alone decides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server:
    """``python ARGS`` from the repository root, logging to ``log_path``."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=REPO,
            )
        try:
            self.url = f"http://127.0.0.1:{self._wait_port()}"
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            found = _LISTENING.search(self.log())
            if found:
                return int(found.group(1))
            time.sleep(0.02)
        raise RuntimeError(f"server did not listen within {START_TIMEOUT:g} s:\n{self.log()}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.url}/healthz not 200 within {START_TIMEOUT:g} s")

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def write_test_config(path: Path, **settings: object) -> Path:
    """A service TOML from the end-to-end tests' helper (``tests/webhook_support.py``), so a
    benchmark runs the configuration the tests check (its secrets, templates, AURA client)."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from webhook_support import write_config
    finally:
        sys.path.remove(str(REPO / "tests"))
    return write_config(path, **settings)
