"""Per-thread SQLite connections set up for durability, and the write transaction the store
uses: WAL, ``synchronous=FULL``, a busy timeout, and ``BEGIN IMMEDIATE`` behind an in-process
lock (see :meth:`Connections.write`). A write never commits into a database file that was
deleted or replaced since it was opened (:meth:`Connections.write`), and
:meth:`Connections.probe_commit` is the real write ``/readyz`` makes."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from webhook.errors import StoreError, StoreUnavailable
from webhook.store.sqlite_checks import FileIdentity, identity_problem

T = TypeVar("T")

#: The most operations one group commit takes: a bound on how long the last of them waits.
MAX_BATCH = 64


class _Job(Generic[T]):
    """One operation queued for a group commit (:meth:`Connections.batched`)."""

    __slots__ = ("done", "error", "op", "result")

    def __init__(self, op: Callable[[sqlite3.Connection], T]) -> None:
        self.op = op
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class _GroupCommit:
    """The queue of one process's :meth:`Connections.batched` operations and who commits them."""

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.pending: list[_Job[Any]] = []
        self.leading = False


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
        self._group = (os.getpid(), _GroupCommit())
        self._identity: FileIdentity | None = None  # the file the first connection opened

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        opened = self._identity is not None
        if opened:
            # A thread's first connection, after the store opened: never to a file that is not
            # the store's any more, and never making a new, empty one where it was deleted.
            self._refuse_if_moved()
        conn = connect(self.path, self.busy_timeout_s, create=not opened)
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._opened.append((os.getpid(), conn))
            if self._identity is None:
                self._identity = _identity(self.path)
        return conn

    def identity_problem(self) -> str | None:
        """Why the file at :attr:`path` is no longer the one this store opened, if it is not."""
        if self._identity is None:
            return None
        return identity_problem(self.path, self._identity)

    def _refuse_if_moved(self) -> None:
        problem = self.identity_problem()
        if problem is not None:
            raise StoreUnavailable(problem)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout),
        so a transaction never fails half-way because another writer got there first."""
        conn = self.conn()
        # An open connection keeps writing to a deleted file's inode without a word: every
        # commit would vanish with it. So the file is checked before the transaction (a store
        # already gone writes nothing) and after the commit (it went meanwhile: the caller must
        # not answer 2xx). Both checks stay outside the writer lock: a stat lets go of the GIL,
        # and getting it back could take a busy process's whole switch interval (5 ms) while
        # every other writer of this process waited on the lock. The check after the commit
        # still covers a file that went at any moment before it.
        self._refuse_if_moved()
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
        self._refuse_if_moved()

    def batched(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """``op(conn)`` in a write transaction, durable when this returns, like :meth:`write`;
        but committed together with the operations other threads of this process queued
        meanwhile (a group commit): one ``BEGIN IMMEDIATE``, one fsync, one turn of the writer
        lock for all of them.

        Why: every write in one commit of its own made the writer lock the service's bottleneck
        under load. Each transaction lets go of the GIL several times while it holds the lock
        (each statement, the fsync), and getting it back waits for whichever thread is running;
        at a few hundred callbacks and deliveries a second the lock was busy most of the time,
        and a delivery waited longer to record AURA's answer than to get it.

        ``op`` may run in another thread (on that thread's connection, so it must use only the
        ``conn`` it is given and nothing thread-local), after other operations in the same
        transaction (it sees what they wrote), and more than once: when an operation raises,
        the transaction is rolled back, that operation's caller gets the exception, and the
        others run again in a new one. So ``op`` must do nothing but database work, as every
        transaction here already must. A failure of the transaction itself (the file, the
        lock, the disk) is every operation's failure.
        """
        job: _Job[T] = _Job(op)
        group = self._group_commit()
        with group.cond:
            group.pending.append(job)
            while not job.done and group.leading:
                group.cond.wait()
            lead = not job.done  # nobody is committing: lead, taking everything queued so far
            if lead:
                group.leading = True
                jobs, group.pending = group.pending[:MAX_BATCH], group.pending[MAX_BATCH:]
        if lead:
            try:
                self._lead(jobs)
            finally:
                with group.cond:
                    group.leading = False
                    group.cond.notify_all()
        if job.error is not None:
            raise job.error  # as concurrent.futures does: each waiter raises the one error
        return job.result  # type: ignore[return-value]

    def _lead(self, jobs: list[_Job[Any]]) -> None:
        """Commit ``jobs`` for their callers, with :meth:`write`'s checks of the file, made
        once for the batch: before its transaction (a store already gone writes nothing) and
        after its commit (the file went meanwhile: none of it is durable, so no caller may
        answer 2xx). Both outside the writer lock, as in :meth:`write`."""
        problem = self.identity_problem()
        if problem is None:
            self._commit_jobs(jobs)
            problem = self.identity_problem()
        if problem is not None:
            for job in jobs:
                if job.error is None:
                    job.error, job.result = StoreUnavailable(problem), None
                job.done = True

    def _commit_jobs(self, jobs: list[_Job[Any]]) -> None:
        """Run ``jobs`` in as few transactions as their failures allow; each ends done."""
        try:
            conn = self.conn()
            while jobs:
                jobs = self._try_commit(conn, jobs)
        except BaseException as error:  # the transaction itself failed: everyone's failure
            for job in jobs:
                job.error = error
            raise
        finally:
            for job in jobs:
                job.done = True

    def _try_commit(self, conn: sqlite3.Connection, jobs: list[_Job[Any]]) -> list[_Job[Any]]:
        """One transaction of ``jobs``; returns the jobs to run again (those rolled back with
        an operation that raised), [] when all of them are done."""
        with self._writer_lock():
            conn.execute("BEGIN IMMEDIATE")
            try:
                for index, job in enumerate(jobs):
                    try:
                        job.result = job.op(conn)
                    except Exception as error:
                        if conn.in_transaction:  # some errors roll back by themselves
                            conn.execute("ROLLBACK")
                        job.error, job.done = error, True
                        return [*jobs[:index], *jobs[index + 1 :]]
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        for job in jobs:
            job.done = True
        return []

    def probe_commit(self) -> None:
        """Commit one real write, as ``/readyz`` needs: a new connection to the file at the path
        (so a file that can no longer be opened for writing shows, not only a full disk), that
        rewrites the header's ``user_version`` with its own value. That is a one-page commit,
        fsynced like any other, and it needs no probe table (so no migration) and changes
        nothing. Raises :class:`StoreUnavailable` or ``sqlite3.Error`` with the reason."""
        self._refuse_if_moved()
        with self.detached() as conn, self._writer_lock():
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                conn.execute(f"PRAGMA user_version = {version}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def detached(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own to the existing file, closed after use: for a probe or a
        long check, which must not keep a connection per calling thread open."""
        conn = connect(self.path, self.busy_timeout_s, create=False)
        try:
            yield conn
        finally:
            conn.close()

    def _group_commit(self) -> _GroupCommit:
        pid, group = self._group
        if pid != os.getpid():  # a forked child starts with an empty queue of its own
            self._group = pid, group = os.getpid(), _GroupCommit()
        return group

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


def _identity(path: str) -> FileIdentity | None:
    try:
        return FileIdentity.of(path)
    except OSError:  # not a plain file (":memory:", a URI): nothing to watch
        return None


def connect(path: str, busy_timeout_s: float, *, create: bool = True) -> sqlite3.Connection:
    """A connection set up for durability; every connection the store opens comes from here.
    ``create=False`` opens an existing file only: a probe must not make a new, empty database
    where the real one was deleted."""
    # isolation_level=None: the sqlite3 module must not open DEFERRED transactions behind our
    # back; a deferred read-then-write gets SQLITE_BUSY without waiting (docs/reliability.md
    # §3.1).
    target, uri = path, False
    if not create:
        target, uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=rw", True
    conn = sqlite3.connect(
        target, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False, uri=uri
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
