"""The SQLite schema as numbered migrations: a store made by an older aura-uplink is brought up
to date in place (its data kept and usable), a newer one is refused with a clear error, and
concurrent starts apply each migration once. Also: the statements in ``sqlite_queries.sql``
return exactly the columns the row types read."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from decoders.aura import NEW_CALLOUT, DeviceEvent
from webhook.errors import StoreError
from webhook.store import EventRow, Plan, SqliteStore, UplinkRecord
from webhook.store.migrations import shipped_migrations
from webhook.store.records import UPLINK_COLUMNS
from webhook.store.sql_files import named_queries, sqlite_statements
from webhook.store.sqlite import Q

MIGRATIONS = shipped_migrations("sqlite")


def make_v01_store(path: Path) -> None:
    """A database exactly as aura-uplink 0.1 left it: its schema (migration 1, which is that
    schema verbatim), ``user_version = 1``, no ``schema_migrations``, one uplink with a pending
    new-callout for device A and a delivered one for device B."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in sqlite_statements(MIGRATIONS[0].script):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO uplinks VALUES (1, 'sigfox', 'k1', 'A1B2C3D4', '2026-05-01T12:00:00+00:00',"
        " '01', NULL, 7, '{}', 'decoded', NULL, 'aura-reference', 't', 1000.0)"
    )
    for event_id, device, state in ((1, "1:A", "pending"), (2, "1:B", "delivered")):
        conn.execute(
            "INSERT INTO events (id, uplink_id, device_key, position, idempotency_key, body,"
            " action, state, next_attempt_at, created_at) VALUES (?, 1, ?, ?, ?, '{}', 1, ?,"
            " 1000.0, 1000.0)",
            (event_id, device, event_id - 1, f"key-{event_id}", state),
        )
    conn.close()


def applied(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT version, name FROM schema_migrations ORDER BY version"))


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len(MIGRATIONS) >= 2
    assert MIGRATIONS[0].name == "initial"


def test_a_new_store_records_every_migration(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.db").close()
    assert applied(tmp_path / "new.db") == [(m.version, m.name) for m in MIGRATIONS]


def test_a_store_made_by_version_0_1_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v01_store(path)
    store = SqliteStore(path, clock=lambda: 2000.0)
    # Migration 1 is adopted (the old store has it), the later ones applied.
    assert applied(path) == [(m.version, m.name) for m in MIGRATIONS]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "open_devices" in names  # migration 2's view
    # The old data is all there and the outbox works on it: A's pending event is claimable.
    assert store.status()["events"] == {"pending": 1, "in_flight": 0, "delivered": 1, "dead": 0}
    claimed = store.claim(now=2000.0, lease_s=30, limit=10)
    assert [(e.id, e.device_key) for e in claimed] == [(1, "1:A")]
    # New uplinks go in after the old ones, deduplicated against them.
    received = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert store.ingest(
        UplinkRecord("sigfox", "k1", "A1B2C3D4", received, b"\x01"), lambda r: Plan("decoded")
    ).duplicate
    body = DeviceEvent(1, "C", NEW_CALLOUT, NEW_CALLOUT, "location", {"sequenceNumber": "1"})
    result = store.ingest(
        UplinkRecord("sigfox", "k2", "C", received, b"\x01"),
        lambda r: Plan("decoded", events=[("1:C", body)]),
    )
    assert result.uplink_id == 2 and result.event_ids == (3,)
    store.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SqliteStore(path).close()
    future = len(MIGRATIONS) + 1
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from_the_future', 0)", (future,))
    with pytest.raises(StoreError, match=f"schema version {future}, newer than"):
        SqliteStore(path)
    # Refusing changed nothing.
    assert applied(path)[-1] == (future, "from_the_future")


def test_serve_on_a_newer_store_exits_3_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    SqliteStore(data / "aura-uplink.db").close()
    with sqlite3.connect(data / "aura-uplink.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'from_the_future', 0)")
    config = tmp_path / "c.toml"
    config.write_text(f'[service]\ndata_dir = "{data}"\nport = 0\n')
    done = subprocess.run(
        [sys.executable, "-m", "webhook", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert "schema version 999" in done.stderr
    assert "Traceback" not in done.stderr


def test_concurrent_first_starts_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            SqliteStore(path).close()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert applied(path) == [(m.version, m.name) for m in MIGRATIONS]


def test_queries_return_the_columns_the_row_types_read(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    store.close()
    conn = sqlite3.connect(tmp_path / "q.db")
    event_columns = [f.name for f in fields(EventRow)]
    params = {
        "id": 1,
        "state": None,
        "status": None,
        "limit": 1,
        "cutoff": 0.0,
        "now": 0.0,
        "lease_until": 0.0,
    }
    for name in ("get_event", "list_events", "overdue"):
        cursor = conn.execute(Q[name], params)
        assert [d[0] for d in cursor.description] == event_columns, name
    conn.execute("BEGIN")
    cursor = conn.execute(Q["claim"], params)
    assert [d[0] for d in cursor.description] == event_columns
    conn.execute("ROLLBACK")
    uplink_columns = [d[0] for d in conn.execute(Q["list_uplinks"], params).description]
    assert [d[0] for d in conn.execute(Q["undecodable_uplinks"], params).description] == (
        uplink_columns
    )
    assert tuple(uplink_columns) == UPLINK_COLUMNS
    conn.close()


def test_named_queries_split_on_name_lines_and_refuse_a_repeated_name() -> None:
    text = "-- name: one\nSELECT 1;\n\n-- name: two\n-- why\nSELECT 2;\n"
    assert named_queries(text) == {"one": "SELECT 1;", "two": "-- why\nSELECT 2;"}
    with pytest.raises(ValueError, match="'one' is defined twice"):
        named_queries(text + "-- name: one\nSELECT 3;\n")


def test_script_statements_ignore_semicolons_in_strings_and_trailing_comments() -> None:
    script = (
        "CREATE TABLE t (x TEXT DEFAULT ';');\n-- a note\nINSERT INTO t VALUES ('a;b');\n-- end\n"
    )
    assert [s.strip() for s in sqlite_statements(script)] == [
        "CREATE TABLE t (x TEXT DEFAULT ';');",
        "-- a note\nINSERT INTO t VALUES ('a;b');",
    ]
