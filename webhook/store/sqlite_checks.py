"""Checks on the SQLite file itself, for start-up and ``/readyz`` (docs/design.md §9): is it an
SQLite database, does it hold every table the migrations make, are its pages sound, and is the
file at the path still the one the store opened.

Each check answers a reason (one line, no path: ``/readyz`` shows it without a secret) or None.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from dataclasses import dataclass

from webhook.store.migrations import migrate_sqlite, shipped_migrations

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100


def header_problem(path: str) -> str | None:
    """Why the file at ``path`` is not an SQLite database, if it is not. A missing or empty
    file is fine: SQLite makes a new database there."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_BYTES)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot read the database file: {error.strerror}"
    if not head:
        return None
    if not head.startswith(SQLITE_MAGIC) or len(head) < HEADER_BYTES:
        return "not an SQLite database (bad file header)"
    return None


@functools.cache
def expected_objects() -> frozenset[tuple[str, str]]:
    """The ``(type, name)`` of every table, index, view and trigger the shipped migrations make,
    read from a scratch database they are applied to: the list can never fall behind them."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        migrate_sqlite(conn, shipped_migrations("sqlite"), 0.0)
        conn.execute("COMMIT")
        return frozenset(_objects(conn))
    finally:
        conn.close()


def schema_problem(conn: sqlite3.Connection) -> str | None:
    """What the store lacks of the schema its recorded migrations promise (a dropped table, a
    file that lost pages of its schema), if anything."""
    missing = sorted(f"{kind} {name}" for kind, name in expected_objects() - _objects(conn))
    if missing:
        return f"schema incomplete, missing {', '.join(missing[:5])}"
    return None


def _objects(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {(str(kind), str(name)) for kind, name in rows}


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check``: every page and record well formed (it skips the index-to-table
    cross-check of ``integrity_check``, which is what makes it affordable at start-up). Reads
    the whole file: on a large store, run it off the request path."""
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as error:  # damage bad enough that the check cannot run
        return f"corrupt: {error}"
    if rows == ["ok"]:
        return None
    return "corrupt: " + "; ".join(rows)


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file a path named when the store opened it (device and inode)."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: str) -> FileIdentity:
        stat = os.stat(path)
        return cls(stat.st_dev, stat.st_ino)


def identity_problem(path: str, opened: FileIdentity) -> str | None:
    """Why the file at ``path`` is no longer the one opened. Connections keep writing to a
    deleted (or replaced) file's inode and SQLite says nothing: every commit would then be lost
    with it, so the store refuses to commit instead (docs/design.md §9)."""
    try:
        now = FileIdentity.of(path)
    except FileNotFoundError:
        return "the database file was deleted while the service ran"
    except OSError as error:
        return f"cannot stat the database file: {error.strerror}"
    if now != opened:
        return "the database file was replaced while the service ran"
    return None
