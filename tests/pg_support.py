"""PostgreSQL for the tests that run on both stores (issue 13).

The server is whatever ``AURA_UPLINK_TEST_DATABASE_URL`` names: ``.ci/run`` starts a throwaway
one (``.ci/postgres.sh``) and sets it; locally ``bash .ci/postgres.sh start`` prints the URL.
Without it the PostgreSQL half of a suite skips, with the reason in pytest's summary, except
under ``CI=true``, where a missing database must not pass silently as skips.

Each test gets a store of its own in one database: a fresh schema, and a URL whose ``options``
put it first on the ``search_path`` (the PostgreSQL store creates its tables unqualified, so
they land there). Dropping the schema afterwards removes everything the test wrote.

* :func:`test_database_url` -- the server's URL, or skip / fail;
* :func:`fresh_postgres_url` / :func:`drop_fresh_schema` -- one isolated store's URL, and its end;
* :func:`open_store` -- a store of either kind from ``(kind, target)``, also in a child process;
* :class:`StoreFactory` -- what the ``store_factory`` fixture (tests/conftest.py) yields.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import psycopg
import pytest
from psycopg import sql

from webhook.config import with_search_path
from webhook.store import SqliteStore, Store

ENV = "AURA_UPLINK_TEST_DATABASE_URL"
STORE_KINDS = ("sqlite", "postgresql")
SCHEMA_PREFIX = "aura_test_"
_SEARCH_PATH = "-csearch_path="

Clock = Callable[[], float]


def test_database_url() -> str:
    """The test server's URL; without one, skip (locally) or fail (``CI=true``)."""
    url = os.environ.get(ENV, "").strip()
    if url:
        return url
    reason = (
        f"PostgreSQL tests need {ENV} (.ci/run sets it; `bash .ci/postgres.sh start` starts one)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# Not a test, though its name (the one the suites know it by) starts with test_.
test_database_url.__test__ = False  # type: ignore[attr-defined]


def schema_of(url: str) -> str:
    """The schema a :func:`fresh_postgres_url` URL puts first on the search path."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "options":
            for option in value.split():
                if option.startswith(_SEARCH_PATH):
                    return option.removeprefix(_SEARCH_PATH).split(",")[0]
    raise ValueError("this URL sets no search_path (not from fresh_postgres_url)")


def fresh_postgres_url(base_url: str) -> str:
    """Create an empty schema of a unique name; the URL of a store that lives in it."""
    schema = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return with_search_path(base_url, schema)


def drop_fresh_schema(url: str) -> None:
    """Drop the schema of a :func:`fresh_postgres_url` URL and all it holds. Close the stores
    on it first: a connection still in a transaction there would hold the drop up, so it waits
    at most a few seconds and then only warns (a leftover schema in a throwaway server is
    harmless; a hung teardown is not)."""
    schema = schema_of(url)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    except psycopg.Error as error:
        warnings.warn(f"could not drop test schema {schema}: {error}", stacklevel=2)


def open_store(kind: str, target: str, clock: Clock = time.time) -> Store:
    """A store of ``kind`` on ``target`` (a SQLite path or a PostgreSQL URL). Plain arguments,
    so a child process started with ``spawn`` can open its own handle on the same store."""
    if kind == "sqlite":
        return SqliteStore(target, clock=clock)
    if kind == "postgresql":
        # Imported here: the SQLite half of a run must not depend on the PostgreSQL store.
        from webhook.store.postgres import PostgresStore

        return PostgresStore(target, clock=clock)
    raise ValueError(f"unknown store kind {kind!r}")


def close_store(store: Store) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


class StoreFactory:
    """``make(clock=...)`` opens a handle on this test's one store: ``tmp_path/store.db`` for
    SQLite, a fresh schema for PostgreSQL (made on first use). Called twice, it gives two handles
    on the same store, as two processes on one file (or one database) have. Everything it opened
    is closed, and the schema dropped, by :meth:`close`."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self._tmp_path = tmp_path
        self._target: str | None = None
        self._opened: list[Store] = []

    @property
    def target(self) -> str:
        """Where the store is: the SQLite file's path or the PostgreSQL URL."""
        if self._target is None:
            if self.kind == "sqlite":
                self._target = str(self._tmp_path / "store.db")
            else:
                self._target = fresh_postgres_url(test_database_url())
        return self._target

    @property
    def database_url(self) -> str | None:
        """What ``[store] url`` is for a service on this store (None: SQLite in data_dir)."""
        return None if self.kind == "sqlite" else self.target

    def __call__(self, clock: Clock = time.time) -> Store:
        store = open_store(self.kind, self.target, clock)
        self._opened.append(store)
        return store

    def release(self, store: Store) -> None:
        """Close one handle now (a restart, say); the others stay open."""
        self._opened.remove(store)
        close_store(store)

    def close(self) -> None:
        errors = []
        for store in reversed(self._opened):
            try:
                close_store(store)
            except Exception as error:  # close the others, then report
                errors.append(error)
        self._opened.clear()
        if self.kind == "postgresql" and self._target is not None:
            drop_fresh_schema(self._target)
        if errors:
            raise errors[0]
