"""Opening the store for ``serve``, with every check that decides whether the service may start.

PostgreSQL (``[store] url``): the connection (one line naming the host and the driver's error,
the password masked), the migrations, the schema, a real commit.

SQLite, with every check that decides whether the service may start:
the data directory, the file's header, the migrations, the schema, a real commit, and
``PRAGMA quick_check`` (inline on a store up to 256 MB, in the background above). A failure is
:class:`CannotStart`: one line naming the file and what to do, and exit status 3
(docs/design.md §14). A corrupt store must never take traffic: it would acknowledge uplinks into
damaged pages.

:func:`warn_closed_sources` names, once the service listens, the network servers it will refuse
for want of a secret: a first-hour set-up otherwise learns it only from 401s at the other end.
"""

from __future__ import annotations

import logging
import os
import sqlite3

from webhook.config import SOURCES, ServiceConfig
from webhook.errors import CannotStart, StoreError
from webhook.readiness import Readiness, recovery_hint
from webhook.store import SqliteStore, Store
from webhook.store.sqlite_checks import header_problem

# quick_check reads every page: about a second per few hundred MB on a local SSD. Below this the
# service waits for it; above, it starts at once and /readyz turns 503 if the check fails.
INLINE_CHECK_MAX_BYTES = 256 * 1024 * 1024
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")

log = logging.getLogger("aura_uplink.serve")


def closed_sources(config: ServiceConfig) -> list[str]:
    """The sources with no secret, in SOURCES order: every request to them is refused (401)."""
    return [name for name in SOURCES if not config.source(name).secret]


def warn_closed_sources(config: ServiceConfig) -> None:
    """One WARNING line naming the closed sources and how to open them (none: no line)."""
    closed = closed_sources(config)
    if closed:
        log.warning(
            "no secret configured for %s: every request from %s is refused (401); set"
            " [sources.<name>] secret or AURA_UPLINK_<NAME>_SECRET",
            ", ".join(closed),
            "it" if len(closed) == 1 else "them",
        )


def open_checked_store(
    config: ServiceConfig, *, inline_check_max_bytes: int = INLINE_CHECK_MAX_BYTES
) -> tuple[Store, Readiness]:
    """The service's store, checked, and the :class:`Readiness` that watches it from then on."""
    if config.store.url is not None:
        return _open_postgres(config)
    path = str(config.database)
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CannotStart(
            f"cannot create data directory {config.data_dir}: {error.strerror or error}"
        ) from None
    problem = header_problem(path)
    if problem is not None:
        raise _corrupt(path, problem)
    try:
        store = SqliteStore(path)
    except sqlite3.Error as error:
        if getattr(error, "sqlite_errorname", "") in _CORRUPT:
            raise _corrupt(path, str(error)) from None
        raise CannotStart(f"store {path} is unusable: {error}{_hint(config)}") from None
    except (OSError, StoreError) as error:
        raise CannotStart(f"store {path} is unusable: {error}{_hint(config)}") from None
    try:
        readiness = _check(store, config, inline_check_max_bytes)
    except BaseException:
        store.close()
        raise
    return store, readiness


def _open_postgres(config: ServiceConfig) -> tuple[Store, Readiness]:
    from webhook.store.postgres import PostgresStore  # psycopg only when a URL asks for it

    assert config.store.url is not None
    try:
        store = PostgresStore(config.store.url, pool_size=config.store.pool_size)
    except StoreError as error:  # StoreUnavailable included: unreachable, refused, bad auth
        raise CannotStart(f"store unusable: {error}") from None
    try:
        problem = store.schema_problem()
        if problem is None:
            store.probe_commit()
    except StoreError as error:
        store.close()
        raise CannotStart(f"store {config.store_label} cannot commit: {error}") from None
    if problem is not None:
        store.close()
        raise CannotStart(f"store {config.store_label}: {problem}")
    readiness = Readiness(store)
    readiness.record_integrity(None)  # PostgreSQL checks its own pages
    return store, readiness


def _check(store: SqliteStore, config: ServiceConfig, inline_check_max_bytes: int) -> Readiness:
    path = str(config.database)
    inline = os.path.getsize(path) <= inline_check_max_bytes
    try:
        problem = store.schema_problem()
        if problem is None:
            store.probe_commit()
            problem = store.integrity_problem() if inline else None
    except sqlite3.Error as error:
        if getattr(error, "sqlite_errorname", "") in _CORRUPT:
            raise _corrupt(path, str(error)) from None
        raise CannotStart(f"store {path} cannot commit: {error}{_hint(config)}") from None
    except (OSError, StoreError) as error:
        raise CannotStart(f"store {path} cannot commit: {error}{_hint(config)}") from None
    if problem is not None:
        raise _corrupt(path, problem)
    readiness = Readiness(store)
    if inline:
        readiness.record_integrity(None)
    else:
        readiness.check_integrity_in_background()
    return readiness


def _corrupt(path: str, problem: str) -> CannotStart:
    problem = problem.removeprefix("corrupt: ")
    return CannotStart(f"store {path} is corrupt ({problem}): {recovery_hint(path)}")


def _hint(config: ServiceConfig) -> str:
    """What is plainly wrong with the data directory, if anything: SQLite's own words can be
    vague (a full disk at open is "disk I/O error"), and the operator gets one line."""
    try:
        filesystem = os.statvfs(config.data_dir)
    except OSError:
        return ""
    if filesystem.f_flag & os.ST_RDONLY:
        return " (the data directory is on a read-only filesystem)"
    if filesystem.f_bavail == 0:
        return " (the data directory's filesystem is full)"
    if not os.access(config.data_dir, os.W_OK):
        return " (this user cannot write to the data directory)"
    if config.database.exists() and not os.access(config.database, os.W_OK):
        return " (this user cannot write to the database file)"
    return ""
