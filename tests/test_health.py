"""Honest health (issue #11; docs/design.md §8, §14): ``/livez`` answers while the process does,
``/readyz`` makes a real commit and says why it cannot, ``serve`` refuses a store it cannot
trust (exit 3, one line, no traceback), and the store's counts are the operator's, at
``/status.json`` behind the operator secret.

The failure modes are made on real files, the honest way even as root (tests/fs_faults.py): a
full disk is a tiny tmpfs filled to its last block; a read-only filesystem is that tmpfs
remounted read-only; a missing write permission binds a `serve` that runs without
CAP_DAC_OVERRIDE; a corrupt store has a page or its header overwritten; a deleted or replaced
database file is unlinked or renamed over while `serve` runs.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from fs_faults import (
    MOUNT_SKIP,
    bound_by_modes,
    can_mount,
    fill,
    modes_skip_reason,
    read_only_modes,
    remount_read_only,
    tmpfs,
)
from webhook_support import (
    HTTP_TIMEOUT,
    OPERATOR_SECRET,
    SIGFOX_SECRET,
    ServeProcess,
    post_callback,
    read_config,
    run_cli,
    sigfox_body,
    wait_until,
    write_config,
)

from decoders.errors import ConfigError
from webhook.config import config_from_dict
from webhook.http import create_app
from webhook.readiness import Readiness
from webhook.startup import open_checked_store
from webhook.store import Plan, SqliteStore, UplinkRecord

DB = "aura-uplink.db"
BEARER = {"Authorization": f"Bearer {OPERATOR_SECRET}"}


# -- helpers ---------------------------------------------------------------------------------------


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    answer = requests.get(url + "/readyz", timeout=HTTP_TIMEOUT)
    return answer.status_code, answer.json()


def wait_for_readyz(url: str, status: int) -> dict[str, Any]:
    """/readyz's answer once it has ``status`` (its probe runs at most once a second)."""

    def check() -> dict[str, Any] | None:
        got, body = readyz(url)
        return body if got == status else None

    return wait_until(check, 10.0, 0.1, f"/readyz {status}")


def store_with_uplinks(path: Path, count: int = 300) -> None:
    """A real store of several pages (closed: its WAL checkpointed into the file)."""
    received = datetime(2026, 1, 1, tzinfo=UTC)
    store = SqliteStore(path)
    try:
        for n in range(count):
            raw = {"n": n, "pad": "x" * 200}
            record = UplinkRecord("sigfox", f"sigfox:{n}", "1A2B3C4D", received, bytes(8), raw)
            store.ingest(record, lambda _reader: Plan("ignored"))
    finally:
        store.close()


def overwrite_last_page(path: Path) -> None:
    """Damage one b-tree page the way a bad sector or a torn copy would: garbage bytes."""
    data = path.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    assert len(data) >= 3 * page_size, "the store should span several pages"
    with open(path, "r+b") as handle:
        handle.seek(len(data) - page_size)
        handle.write(bytes((7 * i + 13) % 256 for i in range(page_size)))


def serve_once(config: Path, preexec_fn: Callable[[], None] | None = None) -> tuple[int, str]:
    """``python -m webhook serve`` run to its end (it must fail to start): status, stderr."""
    done = run_cli("serve", "--config", str(config), "--port", "0", preexec_fn=preexec_fn)
    return done.returncode, done.stderr


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    """The app on a real store, through Flask's test client (the routes' logic only)."""
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None))
    config.data_dir.mkdir()
    store = SqliteStore(config.database)
    try:
        yield create_app(config, store).test_client()
    finally:
        store.close()


# -- the routes on a sound store -------------------------------------------------------------------


def test_livez_healthz_and_readyz_answer_ok_and_show_no_counts(client: Any) -> None:
    for route in ("/livez", "/healthz", "/readyz"):
        answer = client.get(route)
        assert answer.status_code == 200, route
        assert answer.json == {"status": "ok"}, route


AUTHORIZATIONS = [
    ("no header", {}, 401),
    ("wrong bearer", {"Authorization": "Bearer nope"}, 401),
    ("a network server's secret", {"Authorization": f"Bearer {SIGFOX_SECRET}"}, 401),
    ("secret as the Basic user name", {"Authorization": "Basic " + base64.b64encode(
        f"{OPERATOR_SECRET}:".encode()).decode()}, 401),
    ("bearer", BEARER, 200),
    ("Basic, any user", {"Authorization": "Basic " + base64.b64encode(
        f"anyone:{OPERATOR_SECRET}".encode()).decode()}, 200),
]  # fmt: skip


@pytest.mark.parametrize(("case", "headers", "status"), AUTHORIZATIONS, ids=lambda v: str(v))
def test_status_json_needs_the_operator_secret(
    client: Any, case: str, headers: dict[str, str], status: int
) -> None:
    answer = client.get("/status.json", headers=headers)
    assert answer.status_code == status, case
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")  # a browser asks
        assert "store" not in answer.json
    else:
        assert answer.json["status"] == "ok" and answer.json["ready"] is True
        assert answer.json["integrity_check"] == "not checked"  # no start-up check in tests
        assert set(answer.json["store"]) >= {"events", "uplinks"}
        assert answer.headers["Cache-Control"] == "no-store"


def test_without_an_operator_secret_the_operator_routes_do_not_exist(tmp_path: Path) -> None:
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None, operator_secret=None))
    config.data_dir.mkdir()
    store = SqliteStore(config.database)
    try:
        answer = create_app(config, store).test_client().get("/status.json", headers=BEARER)
    finally:
        store.close()
    assert answer.status_code == 404


def test_the_operator_secret_comes_from_the_environment_and_is_no_sources_secret() -> None:
    env = {"AURA_UPLINK_OPERATOR_SECRET": "from-env"}
    file = {"service": {"operator_secret": "from-file"}}
    assert config_from_dict(file, env).operator_secret == "from-env"
    assert config_from_dict(file, {}).operator_secret == "from-file"
    assert config_from_dict({}, {}).operator_secret is None
    same = {"service": {"operator_secret": "s"}, "sources": {"ttn": {"secret": "s"}}}
    with pytest.raises(ConfigError, match="must differ from every source's secret"):
        config_from_dict(same, {})
    assert "from-file" not in repr(config_from_dict(file, {}))


class _CountingStore:
    """Just enough of a store for :class:`Readiness`: counts its probes."""

    path = "test.db"

    def __init__(self) -> None:
        self.probes = 0
        self.fail: str | None = None

    def identity_problem(self) -> str | None:
        return None

    def probe_commit(self) -> None:
        self.probes += 1
        if self.fail:
            raise sqlite3.OperationalError(self.fail)


def test_the_write_probe_runs_at_most_once_per_interval_whoever_asks() -> None:
    now = [100.0]
    store = _CountingStore()
    readiness = Readiness(store, probe_interval_s=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    assert [readiness.problem() for _ in range(50)] == [None] * 50
    assert store.probes == 1  # /readyz needs no secret: it must not become a stream of fsyncs
    store.fail = "database or disk is full"
    assert readiness.problem() is None  # still the last answer, within the interval
    now[0] += 1.0
    assert readiness.problem() == "the store cannot commit: database or disk is full"
    assert store.probes == 2


def test_nobody_waits_for_a_probe_in_progress() -> None:
    """A store slow to commit must not hold every waitress thread in /readyz."""
    store = _CountingStore()
    release = threading.Event()
    store.probe_commit = lambda: release.wait(10)  # type: ignore[method-assign]
    readiness = Readiness(store)  # type: ignore[arg-type]
    slow = threading.Thread(target=readiness.problem)
    slow.start()
    try:
        wait_until(lambda: readiness._probing.locked(), what="the first probe to start")
        started = time.monotonic()
        assert readiness.problem() is None  # the last answer, at once
        assert time.monotonic() - started < 0.5
    finally:
        release.set()
        slow.join(timeout=10)


# -- failure modes while `serve` runs: /readyz 503 with the reason -------------------------------


@dataclass
class Site:
    """Where a store lives and how to break it (and mend it, where that can be done live)."""

    data: Path
    break_store: Callable[[], object]
    mend: Callable[[], object] | None = None
    preexec_fn: Callable[[], None] | None = None


@contextlib.contextmanager
def full_disk(tmp: Path) -> Iterator[Site]:
    if not can_mount():
        pytest.skip(MOUNT_SKIP)
    with tmpfs(tmp / "disk", "2m") as disk:
        fillers: list[Path] = []
        yield Site(disk / "data", lambda: fillers.append(fill(disk)), lambda: fillers[0].unlink())


@contextlib.contextmanager
def no_write_permission(tmp: Path) -> Iterator[Site]:
    reason = modes_skip_reason()
    if reason:
        pytest.skip(reason)
    data = tmp / "data"
    with contextlib.ExitStack() as modes:
        yield Site(
            data,
            lambda: modes.enter_context(read_only_modes(data)),
            modes.close,
            bound_by_modes(),
        )


@contextlib.contextmanager
def deleted(tmp: Path) -> Iterator[Site]:
    data = tmp / "data"
    yield Site(data, (data / DB).unlink)


@contextlib.contextmanager
def replaced(tmp: Path) -> Iterator[Site]:
    """The file renamed over by a good copy of itself (as restoring a backup while running
    would): the service's connections still write to the old, now nameless, inode."""
    data = tmp / "data"

    def swap() -> None:
        source, copy = sqlite3.connect(data / DB), sqlite3.connect(data / "restored.db")
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        os.replace(data / "restored.db", data / DB)

    yield Site(data, swap)


# name: (site, what /readyz says, whether callbacks are refused with it too)
RUNNING_FAULTS: dict[str, tuple[Callable[[Path], Any], str, bool]] = {
    "full disk": (full_disk, "the store cannot commit: database or disk is full", True),
    # Connections opened before the chmod keep their write access (the kernel checks modes at
    # open): callbacks may still commit, durably. A new connection, as the probe opens (and a
    # restart would), cannot.
    "no write permission": (
        no_write_permission,
        "the store cannot commit: attempt to write a readonly database",
        False,
    ),
    "database deleted": (deleted, "the database file was deleted while the service ran", True),
    "database replaced": (replaced, "the database file was replaced while the service ran", True),
}


@pytest.mark.parametrize("fault", list(RUNNING_FAULTS))
def test_readyz_is_503_with_the_reason_when_the_store_cannot_commit(
    fault: str, tmp_path: Path
) -> None:
    make_site, reason, refuses_callbacks = RUNNING_FAULTS[fault]
    with make_site(tmp_path) as site:
        config = write_config(tmp_path / "c.toml", aura_url=None, data_dir=site.data)
        with ServeProcess(config, tmp_path / "serve.log", preexec_fn=site.preexec_fn) as serve:
            assert post_callback(serve.url, sigfox_body(seq=1)).status_code == 200
            site.break_store()

            body = wait_for_readyz(serve.url, 503)

            assert body == {"status": "unavailable", "reason": reason}
            if refuses_callbacks:
                # Not acknowledged: Sigfox retries; nothing went to a file that is gone.
                answer = post_callback(serve.url, sigfox_body(seq=2))
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"].endswith(reason.removeprefix("the store "))
            if fault == "database deleted":
                assert not (site.data / DB).exists()  # no new, empty database made in its place
            status = requests.get(serve.url + "/status.json", headers=BEARER, timeout=HTTP_TIMEOUT)
            assert status.json()["reason"] == reason and status.json()["ready"] is False
            if site.mend is not None:
                site.mend()
                assert wait_for_readyz(serve.url, 200) == {"status": "ok"}
                assert post_callback(serve.url, sigfox_body(seq=3)).status_code == 200
            assert "not ready: " + reason in serve.log()  # logged once, CRITICAL


# -- failure modes at start-up: exit 3, one line ---------------------------------------------------


@contextlib.contextmanager
def corrupt_page(tmp: Path) -> Iterator[Site]:
    data = tmp / "data"
    data.mkdir()
    store_with_uplinks(data / DB)
    overwrite_last_page(data / DB)
    yield Site(data, lambda: None)


@contextlib.contextmanager
def bad_header(tmp: Path) -> Iterator[Site]:
    data = tmp / "data"
    data.mkdir()
    store_with_uplinks(data / DB, count=10)
    with open(data / DB, "r+b") as handle:
        handle.write(b"not a database!\0")
    yield Site(data, lambda: None)


@contextlib.contextmanager
def full_disk_at_start(tmp: Path) -> Iterator[Site]:
    if not can_mount():
        pytest.skip(MOUNT_SKIP)
    with tmpfs(tmp / "disk", "2m") as disk:
        (disk / "data").mkdir()
        store_with_uplinks(disk / "data" / DB, count=10)
        fill(disk)
        yield Site(disk / "data", lambda: None)


@contextlib.contextmanager
def read_only_filesystem(tmp: Path) -> Iterator[Site]:
    if not can_mount():
        pytest.skip(MOUNT_SKIP)
    with tmpfs(tmp / "disk", "2m") as disk:
        (disk / "data").mkdir()
        store_with_uplinks(disk / "data" / DB, count=10)
        remount_read_only(disk)
        yield Site(disk / "data", lambda: None)


@contextlib.contextmanager
def no_write_permission_at_start(tmp: Path) -> Iterator[Site]:
    reason = modes_skip_reason()
    if reason:
        pytest.skip(reason)
    data = tmp / "data"
    data.mkdir()
    store_with_uplinks(data / DB, count=10)
    with read_only_modes(data):
        yield Site(data, lambda: None, preexec_fn=bound_by_modes())


RECOVER = ".recover | sqlite3 NEW.db` (`.dump` where .recover fails) and put NEW.db in its place"
# name: (site, what the one line must say)
STARTUP_FAULTS: dict[str, tuple[Callable[[Path], Any], tuple[str, ...]]] = {
    # Opening, the schema check and the probe never read that page: PRAGMA quick_check does.
    "corrupt page": (corrupt_page, ("is corrupt (database disk image is malformed)", RECOVER)),
    "bad header": (bad_header, ("is corrupt (not an SQLite database (bad file header))", RECOVER)),
    "full disk": (full_disk_at_start, ("(the data directory's filesystem is full)",)),
    "read-only filesystem": (read_only_filesystem, ("is on a read-only filesystem",)),
    "no write permission": (
        no_write_permission_at_start,
        ("attempt to write a readonly database", "cannot write to the data directory"),
    ),
}


@pytest.mark.parametrize("fault", list(STARTUP_FAULTS))
def test_serve_refuses_a_store_it_cannot_trust_with_exit_3_and_one_line(
    fault: str, tmp_path: Path
) -> None:
    make_site, expected = STARTUP_FAULTS[fault]
    with make_site(tmp_path) as site:
        config = write_config(tmp_path / "c.toml", aura_url=None, data_dir=site.data)
        status, stderr = serve_once(config, site.preexec_fn)

    assert status == 3, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"aura-uplink serve: store {site.data / DB} "), lines[0]
    for part in expected:
        assert part in lines[0], lines[0]


def test_a_large_store_is_checked_in_the_background_and_readyz_turns_503(tmp_path: Path) -> None:
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None))
    config.data_dir.mkdir()
    store_with_uplinks(config.database)
    overwrite_last_page(config.database)
    # Every store counts as large here: the service starts, and the check runs behind it.
    store, readiness = open_checked_store(config, inline_check_max_bytes=0)
    try:
        client = create_app(config, store, readiness=readiness).test_client()

        def failed() -> Any:
            answer = client.get("/readyz")
            return answer if answer.status_code == 503 else None

        answer = wait_until(failed, 20.0, 0.05, "the background integrity check to fail")
        assert answer.json["reason"].startswith("store integrity check failed: corrupt: ")
        status = client.get("/status.json", headers=BEARER).json
        assert status["integrity_check"] == "failed" and status["ready"] is False
    finally:
        store.close()


def test_a_sound_store_passes_every_start_up_check(tmp_path: Path) -> None:
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None))
    config.data_dir.mkdir()
    store_with_uplinks(config.database)
    store, readiness = open_checked_store(config)
    try:
        assert readiness.problem() is None
        assert readiness.as_json()["integrity_check"] == "ok"
    finally:
        store.close()


def test_quick_check_finds_a_damaged_page_that_opening_never_reads(tmp_path: Path) -> None:
    path = tmp_path / DB
    store_with_uplinks(path)
    overwrite_last_page(path)
    store = SqliteStore(path)  # migrations, schema and a commit all work around the damage
    try:
        assert store.schema_problem() is None
        store.probe_commit()
        assert store.integrity_problem() == "corrupt: database disk image is malformed"
    finally:
        store.close()


def test_store_check_says_ok_or_what_is_wrong_and_how_to_recover(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", aura_url=None)
    path = tmp_path / "data" / DB
    path.parent.mkdir()
    store_with_uplinks(path)

    sound = run_cli("store", "check", "--config", str(config))

    assert (sound.returncode, sound.stdout, sound.stderr) == (0, f"{path}: ok\n", "")
    overwrite_last_page(path)

    damaged = run_cli("store", "check", "--config", str(config))

    assert damaged.returncode == 1
    assert damaged.stderr.splitlines() == [
        f"aura-uplink store check: store {path} is corrupt (database disk image is malformed):"
        f" restore a backup, or salvage what is readable with `sqlite3 {path} {RECOVER}"
        " (its raw uplinks can be replayed with `aura-uplink store replay`)"
    ]
