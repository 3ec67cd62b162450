"""The PostgreSQL server a benchmark measures: one named by ``AURA_UPLINK_BENCH_DATABASE_URL``
(or the tests' ``AURA_UPLINK_TEST_DATABASE_URL``, which ``.ci/run`` sets), else a throwaway one
started with ``.ci/postgres.sh`` in a directory of its own and deleted at the end.

Every store gets a fresh schema (``fresh_url``): the PostgreSQL store creates its tables
unqualified, so a URL whose ``options`` put a new schema first on the ``search_path`` is an
empty, isolated store. The schemas are dropped when the server is closed.

``settings`` reads what decides durability (``fsync``, ``synchronous_commit``,
``full_page_writes``): the comparison with SQLite's ``synchronous=FULL`` is only fair when
they are on, and a server given by URL might have them off.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from webhook.config import with_search_path

REPO = Path(__file__).resolve().parents[1]
URL_VARIABLES = ("AURA_UPLINK_BENCH_DATABASE_URL", "AURA_UPLINK_TEST_DATABASE_URL")
SCHEMA_PREFIX = "aura_bench_"
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")
_SCRIPT = REPO / ".ci" / "postgres.sh"
_SCRIPT_TIMEOUT_S = 120


class PostgresServer:
    """The server (given or started) and the schemas made on it; a context manager."""

    def __init__(self) -> None:
        given = next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v, "").strip()), None)
        self._dir: str | None = None
        self._schemas: list[str] = []
        if given is not None:
            self.url, self.origin = given.strip(), "given by URL"
        else:
            # A directory of our own: the tests' default one may be started and stopped by
            # another run at any moment.
            self._dir = f"/tmp/aura-uplink-bench-pg-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            self.origin = "throwaway (.ci/postgres.sh)"
            try:
                self.url = self._script("start").strip().splitlines()[-1]
            except BaseException:
                self._script("stop")  # whatever a half-done start left
                raise

    def _script(self, action: str) -> str:
        assert self._dir is not None
        env = {**os.environ, "AURA_UPLINK_PG_DIR": self._dir}
        done = subprocess.run(
            ["bash", str(_SCRIPT), action],
            capture_output=True,
            text=True,
            env=env,
            timeout=_SCRIPT_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f".ci/postgres.sh {action} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def fresh_url(self) -> str:
        """The URL of a new, empty store (a schema of its own)."""
        schema = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self._schemas.append(schema)
        return with_search_path(self.url, schema)

    def settings(self, url: str | None = None) -> dict[str, Any]:
        """The durability settings as a connection on ``url`` (a store's URL: its options could
        change them) sees them, the server's version and where its data lives. ``pg_settings``
        leaves out what this role may not read (``data_directory``, unless superuser)."""
        names = [*DURABILITY, "server_version", "wal_sync_method", "data_directory"]
        with psycopg.connect(url or self.url, autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (names,)
            ).fetchall()
        found: dict[str, Any] = dict.fromkeys(names)
        found.update(rows)
        found["origin"] = self.origin
        return found

    def count(self, url: str, table: str) -> int:
        """Rows in ``table`` of the store at ``url`` (read straight from the database)."""
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
            return int(row.fetchone()[0])  # type: ignore[index]

    def close(self) -> None:
        try:
            if self._schemas:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute("SET lock_timeout = '5s'")
                    for schema in self._schemas:
                        drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                        conn.execute(drop.format(sql.Identifier(schema)))
            self._schemas.clear()
        finally:
            if self._dir is not None:
                self._script("stop")
                self._dir = None

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
