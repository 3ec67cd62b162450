"""Operator mistakes (issue #11; docs/design.md §14, exit codes): each is ONE clear line on
stderr, never a traceback, and the exit status of §14: 2 for a config that cannot be read or
used (a missing file included), 3 when the service cannot start. Every case runs the real
command, ``python -m webhook serve``, as a child process.

As root, "unreadable" needs a child that file modes bind: it runs without CAP_DAC_OVERRIDE
(tests/fs_faults.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from fs_faults import bound_by_modes, modes_skip_reason
from webhook_support import run_cli, write_config

Setup = Callable[[Path], tuple[list[str], Callable[[], None] | None]]


def run(args: list[str], preexec_fn: Callable[[], None] | None = None) -> tuple[int, str]:
    done = run_cli(*args, preexec_fn=preexec_fn)
    return done.returncode, done.stderr


def missing_config(tmp: Path) -> tuple[list[str], None]:
    return ["serve", "--config", str(tmp / "no-such.toml")], None


def unreadable_config(tmp: Path) -> tuple[list[str], Callable[[], None] | None]:
    reason = modes_skip_reason()
    if reason:
        pytest.skip(reason)
    config = write_config(tmp / "secret.toml", aura_url=None)
    config.chmod(0o000)
    return ["serve", "--config", str(config)], bound_by_modes()


def directory_as_config(tmp: Path) -> tuple[list[str], None]:
    return ["serve", "--config", str(tmp)], None


def not_toml(tmp: Path) -> tuple[list[str], None]:
    config = tmp / "c.toml"
    config.write_text("[service\nport = 1\n")
    return ["serve", "--config", str(config)], None


def unknown_key(tmp: Path) -> tuple[list[str], None]:
    config = tmp / "c.toml"
    config.write_text("[service]\nconection_limit = 10\n")
    return ["serve", "--config", str(config)], None


def misplaced_table(tmp: Path) -> tuple[list[str], None]:
    # Indented under [service] in the file, so TOML reads it as part of it (was a TypeError).
    config = tmp / "c.toml"
    config.write_text("[service]\nport = 0\n[service.templates.button]\ndevice_type_id = 1\n")
    return ["serve", "--config", str(config)], None


def bad_limit(tmp: Path) -> tuple[list[str], None]:
    config = tmp / "c.toml"
    config.write_text("[service]\nconnection_limit = 0\n")
    return ["serve", "--config", str(config)], None


def uncreatable_data_dir(tmp: Path) -> tuple[list[str], None]:
    # A regular file where a parent directory should be: no user, root included, can mkdir.
    (tmp / "a-file").write_text("")
    config = write_config(tmp / "c.toml", aura_url=None, data_dir=tmp / "a-file" / "data")
    return ["serve", "--config", str(config)], None


# name: (setup, exit status, the line, with {tmp} for the test's folder)
MISTAKES: dict[str, tuple[Setup, int, str]] = {
    "missing config file": (
        missing_config,
        2,
        "aura-uplink serve: cannot read config {tmp}/no-such.toml: No such file or directory",
    ),
    "unreadable config file": (
        unreadable_config,
        2,
        "aura-uplink serve: cannot read config {tmp}/secret.toml: Permission denied",
    ),
    "a directory as config": (
        directory_as_config,
        2,
        "aura-uplink serve: cannot read config {tmp}: Is a directory",
    ),
    "config not TOML": (
        not_toml,
        2,
        "aura-uplink serve: {tmp}/c.toml: not valid TOML: Expected ']' at the end of a table"
        " declaration (at line 1, column 9)",
    ),
    "unknown key": (
        unknown_key,
        2,
        # Only real [service] keys: the nested sections (templates, aura, ...) are not listed.
        "aura-uplink serve: service.conection_limit: unknown key; known: ['channel_timeout_s',"
        " 'connection_limit', 'data_dir', 'host', 'instance_name', 'log_format',"
        " 'max_body_bytes', 'metrics_listen', 'metrics_listen_public', 'operator_secret', 'port',"
        " 'threads', 'trusted_proxies']",
    ),
    "misplaced table": (
        misplaced_table,
        2,
        "aura-uplink serve: [service.templates]: misplaced table; [templates] is a top-level"
        " section, not part of [service]",
    ),
    "connection limit of 0": (
        bad_limit,
        2,
        "aura-uplink serve: service.connection_limit: expected at least 1, got 0",
    ),
    "data dir that cannot be created": (
        uncreatable_data_dir,
        3,
        "aura-uplink serve: cannot create data directory {tmp}/a-file/data: Not a directory",
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_is_one_line_and_its_exit_status(mistake: str, tmp_path: Path) -> None:
    setup, status, line = MISTAKES[mistake]
    args, preexec_fn = setup(tmp_path)

    got, stderr = run(args, preexec_fn)

    assert "Traceback" not in stderr
    assert stderr.splitlines() == [line.format(tmp=tmp_path)]
    assert got == status


def test_a_port_in_use_is_one_line_and_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", aura_url=None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        got, stderr = run(["serve", "--config", str(config), "--port", str(port)])

    assert "Traceback" not in stderr
    assert stderr.splitlines() == [
        f"aura-uplink serve: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert got == 3
    # Nothing was left half-started: the store it opened is intact and closed.
    assert (tmp_path / "data" / "aura-uplink.db").exists()


def test_other_commands_report_a_missing_config_in_one_line_too(tmp_path: Path) -> None:
    got, stderr = run(["store", "status", "--config", str(tmp_path / "nope.toml")])
    assert stderr.splitlines() == [
        f"Error: cannot read config {tmp_path}/nope.toml: No such file or directory"
    ]
    assert got == 2
