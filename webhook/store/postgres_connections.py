"""Connections to PostgreSQL for :class:`webhook.store.postgres.PostgresStore`: psycopg 3's
connection pool, transactions that retry what PostgreSQL asks to be retried, the mapping of a
lost database to :class:`StoreUnavailable`, and the migrations applied at start-up.

Why these choices:

* **Autocommit connections, explicit transactions.** A transaction is open only inside
  :meth:`Connections.transaction`; a pooled connection is never lent out with one open, and no
  HTTP call happens inside one (the delivery worker sends between claim and verdict).
* **Stale connections are replaced, not reported.** A restarted server leaves every pooled
  connection broken; a statement that fails on a broken connection is run again on another
  (the pool drops the broken one), so no callback fails for it. (Checking each connection as
  it is lent would cost a round trip per call: 5% of ingest.)
* **TCP keepalives.** A database host that vanishes (power, network) is noticed in ~30 s,
  not after the kernel's two hours, so a claim or an ingest does not hang on a dead socket.
* **Serialization failures and deadlocks are retried**, the transaction's function run again:
  that is what PostgreSQL asks of its clients. Ingest plans are written to be safe to repeat.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError(
        "a postgresql:// store needs psycopg 3 and its pool: pip install 'aura-uplink[postgresql]'"
    ) from error

from webhook.config import mask_url
from webhook.errors import StoreError, StoreUnavailable
from webhook.store.migrations import Migration, missing, shipped_migrations

log = logging.getLogger("aura_uplink.store")
# The pool logs a WARNING, on two lines, for every failed reconnection attempt: several a second
# while the database is down. /readyz's CRITICAL line (once per change) and the 503s already say
# it; errors of the pool itself still show.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

T = TypeVar("T")

# Every instance that starts takes this lock before it looks at schema_migrations, so two
# instances starting at once apply each migration once. (An arbitrary constant: "aura-upl".)
MIGRATION_LOCK = 0x617572612D75706C
_RETRIED = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
_ATTEMPTS = 5
CONNECT_TIMEOUT_S = 5
POOL_WAIT_S = 3.0
# Connection options sent with every connection (libpq keywords).
_CONNECTION_KWARGS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 4,
    "application_name": "aura-uplink",
}

SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""


def unavailable(url: str, error: BaseException) -> StoreUnavailable:
    """One line: where, and what the driver said (its first line; never the password)."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return StoreUnavailable(f"PostgreSQL at {mask_url(url)}: {detail}")


class Connections:
    """A pool of autocommit connections to one database, and transactions on them."""

    def __init__(self, url: str, *, pool_size: int, now: float) -> None:
        self.url = url
        # The first connection is made by hand: its error (host, refused, auth) is the one the
        # operator needs, where the pool would only say it timed out.
        try:
            with psycopg.connect(url, **_CONNECTION_KWARGS) as conn:
                self.applied = migrate_postgres(conn, shipped_migrations("postgresql"), now)
        except psycopg.Error as error:
            raise unavailable(url, error) from None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs=_CONNECTION_KWARGS,
            # A callback waits at most this for a connection, then answers 503.
            timeout=POOL_WAIT_S,
            # psycopg's pool backs off 1, 2, 4, ... s between attempts to reconnect, for up to
            # this long; then it starts over when a connection is next wanted. Short, so that a
            # database back after a restart is used within a couple of seconds.
            reconnect_timeout=POOL_WAIT_S,
            open=False,
            name="aura-uplink",
        )
        self.pool.open(wait=False)
        # Weak: a connection the pool drops takes its cursor with it.
        self._cursors: weakref.WeakKeyDictionary[psycopg.Connection[Any], psycopg.Cursor[Any]]
        self._cursors = weakref.WeakKeyDictionary()

    def run(self, work: Callable[[psycopg.Cursor[Any]], T], *, atomic: bool = True) -> T:
        """``work(cursor)`` on a pooled connection: inside one transaction, committed when it
        returns (``atomic``), or in autocommit (one statement, or reads). Run again, whole,
        after a serialization failure or a deadlock, and on another connection when the one
        lent was stale (its server restarted since; the pool then drops it). Every call that
        can meet a stale connection is safe to repeat: ingest finds its own uplink by its key,
        a repeated verdict or claim changes nothing the lease does not cover. A database that
        cannot be reached is :class:`StoreUnavailable`; an exception from ``work`` rolls back."""
        stale_left = self.pool.max_size
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.pool.connection() as conn:
                    cursor = self._cursor(conn)
                    try:
                        if not atomic:
                            return work(cursor)
                        with conn.transaction():
                            return work(cursor)
                    except psycopg.OperationalError:
                        if not conn.broken or stale_left == 0:
                            raise
                        stale_left -= 1
                        continue
            except _RETRIED:
                if attempt >= _ATTEMPTS:
                    raise
                time.sleep(0.001 * 2**attempt)
            except (psycopg.OperationalError, PoolTimeout) as error:
                raise unavailable(self.url, error) from None

    def _cursor(self, conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
        """The connection's one cursor, kept with it from call to call: psycopg then looks up
        how to send each parameter type once per connection, not once per statement (a
        statement with a fresh cursor took 0.14 ms of CPU, with a kept one 0.10 ms). A
        connection is lent to one thread at a time, and so is its cursor."""
        cursor = self._cursors.get(conn)
        if cursor is None or cursor.closed:
            cursor = self._cursors[conn] = conn.cursor()
        return cursor

    def close(self) -> None:
        self.pool.close()


def migrate_postgres(
    conn: psycopg.Connection[Any], migrations: tuple[Migration, ...], now: float
) -> list[int]:
    """Apply the ``migrations`` this database lacks, in one transaction under an advisory lock
    (concurrent starts wait for each other); returns their versions."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(SCHEMA_MIGRATIONS)
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        done = []
        for migration in missing(migrations, applied):
            try:
                conn.execute(migration.script.encode())  # several statements, no parameters
            except psycopg.Error as error:
                raise StoreError(
                    f"migration {migration.version} ({migration.name}) failed: {error}"
                ) from None
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (migration.version, migration.name, now),
            )
            done.append(migration.version)
    if done:
        log.info("PostgreSQL schema: applied migrations %s", done)
    return done
