"""Numbered schema migrations, applied at start-up inside one write transaction.

Each backend has its own numbering: ``migrations/<backend>/NNNN_name.sql``, applied in order,
each recorded in ``schema_migrations``. A store at an older version is brought up to date in
place; one at a newer version (written by a later aura-uplink) is refused, never guessed at.
Stores made by aura-uplink 0.1 predate ``schema_migrations``: their ``PRAGMA user_version``
(1) says which migrations they already have.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from webhook.errors import StoreError
from webhook.store.sql_files import sqlite_statements

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    script: str


def shipped_migrations(backend: str) -> tuple[Migration, ...]:
    """The migrations of ``backend`` shipped with this version, in order; numbered 1, 2, 3, ...
    with no gap (a gap means a file went missing from the package)."""
    folder = resources.files(__package__).joinpath("migrations", backend)
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        numbers = ", ".join(str(m.version) for m in found)
        raise StoreError(f"{backend} migrations must be numbered 1..N; found {numbers}")
    return tuple(found)


def migrate_sqlite(
    conn: sqlite3.Connection, migrations: tuple[Migration, ...], now: float
) -> list[int]:
    """Apply the ``migrations`` this database lacks; returns their versions. The caller holds a
    write transaction (``BEGIN IMMEDIATE``), so concurrent starts apply each migration once."""
    conn.execute(SCHEMA_MIGRATIONS)
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    if not applied:
        applied = _adopt_unrecorded(conn, migrations, now)
    done = []
    for migration in missing(migrations, applied):
        # One statement at a time: executescript() would COMMIT the caller's transaction first.
        for statement in sqlite_statements(migration.script):
            conn.execute(statement)
        _record(conn, migration, now)
        done.append(migration.version)
    # Kept in step so that sqlite3's own tools show the version too.
    conn.execute(f"PRAGMA user_version = {max(max(applied, default=0), len(migrations))}")
    return done


def missing(migrations: tuple[Migration, ...], applied: set[int]) -> list[Migration]:
    """The migrations a store at versions ``applied`` lacks, in order; a store at a version
    newer than any shipped is refused (a later aura-uplink wrote it)."""
    known = len(migrations)
    newest = max(applied, default=0)
    if newest > known:
        raise StoreError(
            f"the store is at schema version {newest}, newer than this aura-uplink knows"
            f" ({known}): run the aura-uplink version that wrote it, or a later one"
        )
    return [m for m in migrations if m.version not in applied]


def _adopt_unrecorded(
    conn: sqlite3.Connection, migrations: tuple[Migration, ...], now: float
) -> set[int]:
    """Versions a store made before ``schema_migrations`` existed already has (its
    ``user_version``); nothing for a new, empty database."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for migration in migrations[:version]:
        _record(conn, migration, now)
    return set(range(1, version + 1))


def _record(conn: sqlite3.Connection, migration: Migration, now: float) -> None:
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.name, now),
    )
