"""Slow and idle clients cannot starve callbacks (issue #11: 98 idle TCP connections reached
waitress's default connection limit of 100, and every callback after them timed out).

The real ``serve`` runs as a child process; the idle clients are plain sockets on 127.0.0.1
that connect and send nothing. Every socket is closed at the end of its test, and each test
holds a bounded number of them."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from webhook_support import (
    HTTP_TIMEOUT,
    REPO,
    ServeProcess,
    child_env,
    post_callback,
    sigfox_body,
    wait_until,
    write_config,
)

from webhook.config import ServiceConfig
from webhook.server_options import raise_open_file_limit, waitress_options

IDLE = 500


@contextlib.contextmanager
def idle_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections to the server at ``url`` that never send a byte; all closed after."""
    host, port = url.removeprefix("http://").split(":")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection((host, int(port)), timeout=5))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def open_sockets(pid: int) -> int:
    """How many sockets process ``pid`` holds (its listening socket included)."""
    folder = f"/proc/{pid}/fd"
    count = 0
    for name in os.listdir(folder):
        with contextlib.suppress(OSError):  # closed while we looked
            count += os.readlink(f"{folder}/{name}").startswith("socket:")
    return count


def wait_accepted(serve: ServeProcess, count: int) -> None:
    """Until the server holds ``count`` client sockets besides its listening one: it accepted
    them (a connection still in the listen backlog is no load on waitress)."""
    if not os.path.isdir(f"/proc/{serve.proc.pid}/fd"):
        return  # not Linux: connect() returning is the best we know
    wait_until(
        lambda: open_sockets(serve.proc.pid) >= count + 1,
        10.0,
        0.05,
        f"the server to accept {count} connections",
    )


def our_limit_fits(count: int) -> None:
    """This test process holds ``count`` sockets too: raise its own soft limit, or skip."""
    soft = raise_open_file_limit(count + 256)
    if soft is not None and soft < count + 256:
        pytest.skip(f"open-file limit {soft} is too low to hold {count} test sockets")


def test_a_callback_is_answered_with_500_idle_connections_open(tmp_path: Path) -> None:
    our_limit_fits(IDLE)
    config = write_config(tmp_path / "c.toml", aura_url=None)  # the default connection_limit
    with ServeProcess(config, tmp_path / "serve.log") as serve, idle_connections(serve.url, IDLE):
        wait_accepted(serve, IDLE)

        answer = post_callback(serve.url, sigfox_body(seq=1), timeout=HTTP_TIMEOUT)

        assert answer.status_code == 200, answer.text
        assert requests.get(serve.url + "/readyz", timeout=HTTP_TIMEOUT).status_code == 200


def test_at_the_connection_limit_a_callback_waits_which_is_why_the_limit_is_high(
    tmp_path: Path,
) -> None:
    """The control: with a limit of 20, 20 silent sockets starve a callback, exactly the
    reported failure. Callbacks are answered again once they go."""
    config = write_config(tmp_path / "c.toml", aura_url=None, service_extra="connection_limit = 20")
    with ServeProcess(config, tmp_path / "serve.log") as serve:
        with idle_connections(serve.url, 20):
            wait_accepted(serve, 19)  # the limit counts a lingering /readyz connection too
            with pytest.raises(requests.Timeout):
                post_callback(serve.url, sigfox_body(seq=1), timeout=1.5)
        answer = post_callback(serve.url, sigfox_body(seq=2), timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert "connection limit" in serve.log()  # waitress says so in the log


def test_a_silent_connection_is_closed_after_channel_timeout_s(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", aura_url=None, service_extra="channel_timeout_s = 1")
    with (
        ServeProcess(config, tmp_path / "serve.log") as serve,
        idle_connections(serve.url, 1) as (sock,),
    ):
        sock.settimeout(6.0)  # 1 s, swept every second: closed within about 2 s
        with contextlib.suppress(ConnectionResetError):  # closed is closed, however it shows
            assert sock.recv(1) == b""


def _soft_limit_1024() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


def test_past_1024_descriptors_serve_raises_its_limit_and_polls(tmp_path: Path) -> None:
    """select() cannot watch a descriptor numbered 1024 or more; started with the common soft
    limit of 1024, serve must raise it and poll, or these connections break its loop."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = 1100
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip(f"hard open-file limit {hard} is too low for this test")
    our_limit_fits(count)
    config = write_config(
        tmp_path / "c.toml", aura_url=None, service_extra="connection_limit = 1500"
    )
    with ServeProcess(config, tmp_path / "serve.log", preexec_fn=_soft_limit_1024) as serve:
        limits = Path(f"/proc/{serve.proc.pid}/limits").read_text()
        soft = int(next(line for line in limits.splitlines() if "open files" in line).split()[3])
        assert soft >= 1500
        with idle_connections(serve.url, count):
            wait_accepted(serve, count)
            answer = post_callback(serve.url, sigfox_body(seq=1), timeout=HTTP_TIMEOUT)
            assert answer.status_code == 200, answer.text
        # SIGTERM while the loop is busy closing 1100 channels: it used to be swallowed by
        # waitress's loop (webhook/serve_loop.py), and the process ran on until SIGKILL.
        assert serve.stop(timeout=10) == 0, serve.log()
        assert "out of range" not in serve.log()


def test_a_hard_limit_too_low_for_the_connections_is_a_warning_and_a_lower_limit() -> None:
    code = (
        "import logging, resource\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))\n"
        "from webhook.config import ServiceConfig\n"
        "from webhook.server_options import make_room_for_connections\n"
        "print(make_room_for_connections(ServiceConfig()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # 1000 connections need 1091 descriptors with the default 4 + 4 threads: 835 too many.
    assert done.stdout.strip() == "165"
    assert done.stderr.splitlines() == [
        "WARNING open-file limit is 256, below the 1091 that service.connection_limit = 1000"
        " needs: taking at most 165 connections; raise it (ulimit -n, systemd LimitNOFILE=)"
    ]


def test_serve_and_the_tests_server_share_these_waitress_options() -> None:
    options = waitress_options(ServiceConfig(connection_limit=700, channel_timeout_s=30))
    assert options["asyncore_use_poll"] is True
    assert options["connection_limit"] == 702  # waitress counts its own 2 sockets
    assert options["channel_timeout"] == 30
    assert options["cleanup_interval"] == 7
