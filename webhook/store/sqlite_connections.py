"""Per-thread SQLite connections set up for durability, and the write transaction the store
uses: WAL, ``synchronous=FULL``, a busy timeout, and ``BEGIN IMMEDIATE`` behind an in-process
lock (see :meth:`Connections.write`)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

from webhook.errors import StoreError


class Connections:
    """One connection per thread (``sqlite3`` connections must not be shared mid-transaction);
    a forked child opens its own instead of reusing its parent's."""

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[tuple[int, sqlite3.Connection]] = []
        self._writer = (os.getpid(), threading.Lock())

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = connect(self.path, self.busy_timeout_s)
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._opened.append((os.getpid(), conn))
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout),
        so a transaction never fails half-way because another writer got there first."""
        conn = self.conn()
        # Threads of this process queue on a lock first: SQLite's busy handler makes waiting
        # writers sleep in growing steps (up to 100 ms), so under a burst of requests some waited
        # a second while others went first. The lock hands the write lock over in order, at once;
        # other processes still meet at SQLite's lock and the busy timeout.
        with self._writer_lock():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _writer_lock(self) -> threading.Lock:
        pid, lock = self._writer
        if pid != os.getpid():  # a forked child must not inherit a lock a parent thread held
            self._writer = pid, lock = os.getpid(), threading.Lock()
        return lock

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs see one snapshot."""
        conn = self.conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connections opened in this process; inherited ones belong to the parent."""
        with self._lock:
            opened, self._opened = self._opened, []
        for pid, conn in opened:
            if pid == os.getpid():
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
        self._local = threading.local()


def connect(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection set up for durability; every connection the store opens comes from here."""
    # isolation_level=None: the sqlite3 module must not open DEFERRED transactions behind our
    # back; a deferred read-then-write gets SQLITE_BUSY without waiting (docs/reliability.md
    # §3.1).
    conn = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    mode = _enable_wal(conn, busy_timeout_s)
    if mode.lower() != "wal":
        raise StoreError(f"{path}: cannot enable WAL (journal_mode={mode})")
    # FULL: a commit is fsynced before ingest returns, so the 2xx we send is true even
    # after a power cut; TTS and ChirpStack never resend (docs/reliability.md rule 2).
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _enable_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> str:
    """Switch a database to WAL (it stays so: later connections find it set) and return the mode.

    Switching needs an exclusive lock, and SQLite does not always wait for it: several processes
    opening a new database at once saw "database is locked" at once, not after the busy timeout.
    So this waits itself, in short steps, up to the same timeout.
    """
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
