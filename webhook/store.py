"""The durable store: every accepted uplink, the AURA events it produced, per-device state.

Invariants (DESIGN §9, specs/reliability.md §6.1):

* **Persist first.** :meth:`SqliteStore.ingest` commits the uplink, its events and the device
  states in ONE ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL``; the route answers 2xx
  only after it returns, so an acknowledged uplink survives a crash or a power cut.
* **Deduplicate at ingest.** ``uplinks.dedup_key`` is UNIQUE and checked inside that transaction;
  a redelivered callback is reported as a duplicate and changes nothing.
* **Per-device FIFO with a lease.** :meth:`SqliteStore.claim` hands out only the oldest open
  event of each device, marks it ``in_flight`` until ``lease_until``; an expired lease makes it
  claimable again, so a killed worker never strands a panic. Dead events leave the queue.
* **No I/O inside a transaction** other than SQLite itself: callers send HTTP between
  :meth:`claim` and ``mark_*``, never while a transaction is open.

Schema and SQL: :mod:`webhook.store_sql`. :class:`Store` is the interface the routes and the
delivery worker use, so a PostgreSQL store can replace this one without touching them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from decoders.aura import DeviceEvent, DeviceState
from webhook import store_sql as sql
from webhook.sqlite_connections import Connections
from webhook.store_sql import (
    EVENT_STATES,
    UPLINK_STATUSES,
    EventRow,
    EventState,
    StoredUplink,
    UplinkRecord,
    UplinkStatus,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one uplink means, computed by the caller from state read in the ingest transaction.

    ``events`` are ``(device_key, event)`` pairs in the order they must reach AURA; ``states``
    are the device states to store alongside them (only the ones that changed).
    """

    status: UplinkStatus
    error: str | None = None
    model: str | None = None
    template: str | None = None
    events: Sequence[tuple[str, DeviceEvent]] = ()
    states: Mapping[str, DeviceState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IngestResult:
    """``duplicate`` means nothing was written; ``event_ids`` are then the earlier ones."""

    duplicate: bool
    uplink_id: int
    event_ids: tuple[int, ...] = ()


class TxReader(Protocol):
    """Reads a plan may make; they run inside the ingest transaction, so they are consistent
    with what the plan's result will be written over."""

    def state(self, device_key: str) -> DeviceState: ...

    def uplink_exists(self, dedup_key: str) -> bool: ...


PlanFn = Callable[[TxReader], Plan]


class Store(Protocol):
    """What the routes, the delivery worker and the CLI need from a store."""

    def ingest(self, record: UplinkRecord, plan: PlanFn) -> IngestResult: ...
    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]: ...
    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool: ...
    def mark_retry(
        self,
        event_id: int,
        error: str,
        next_attempt_at: float,
        count_attempt: bool = True,
        *,
        claim: int | None = None,
    ) -> bool: ...
    def mark_dead(self, event_id: int, error: str, *, claim: int | None = None) -> bool: ...
    def mark_alerted(self, event_id: int, now: float) -> bool: ...
    def overdue(self, created_before: float, limit: int = 100) -> list[EventRow]: ...
    def next_due(self) -> float | None: ...
    def status(self) -> dict[str, Any]: ...
    def get_event(self, event_id: int) -> EventRow | None: ...
    def list_events(self, state: EventState | None = None, limit: int = 50) -> list[EventRow]: ...
    def list_uplinks(
        self, status: UplinkStatus | None = None, limit: int = 50
    ) -> list[StoredUplink]: ...
    def replay_dead(self, ids: Sequence[int] | None = None) -> int: ...
    def undecodable_uplinks(self, limit: int = 1000) -> list[StoredUplink]: ...
    def replace_uplink_outcome(self, uplink_id: int, plan: PlanFn) -> IngestResult: ...
    def close(self) -> None: ...


def idempotency_key(dedup_key: str, position: int) -> str:
    """Deterministic per event: the same uplink always yields the same keys (reliability rule 4)."""
    return hashlib.sha256(f"{dedup_key}#{position}".encode()).hexdigest()


def _outcome_params(plan: Plan) -> dict[str, Any]:
    return {
        "status": plan.status,
        "error": plan.error,
        "model": plan.model,
        "template": plan.template,
    }


class _Reader:
    """:class:`webhook.store.TxReader` over the connection of an open transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def state(self, device_key: str) -> DeviceState:
        row = self._conn.execute(
            "SELECT state FROM devices WHERE device_key = ?", (device_key,)
        ).fetchone()
        return DeviceState.from_json(None if row is None else json.loads(row[0]))

    def uplink_exists(self, dedup_key: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM uplinks WHERE dedup_key = ?", (dedup_key,))
        return row.fetchone() is not None


class SqliteStore:
    """:class:`Store` on one SQLite file, shared by threads and processes on one host.

    Connections: one per thread, WAL, ``synchronous=FULL``, writes in ``BEGIN IMMEDIATE``
    (:class:`webhook.sqlite_connections.Connections`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = os.fspath(path)
        self.clock = clock
        self._db = Connections(self.path, busy_timeout_s)
        with self._db.write() as conn:
            # One statement at a time: executescript() would COMMIT our BEGIN IMMEDIATE first.
            for statement in sql.statements(sql.SCHEMA):
                conn.execute(statement)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                conn.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION}")
            elif version != sql.SCHEMA_VERSION:
                expected = sql.SCHEMA_VERSION
                raise RuntimeError(f"{self.path}: schema version {version}, expected {expected}")

    def pragma_check(self) -> dict[str, Any]:
        """The durability settings of this thread's connection (tests assert wal and 2)."""
        conn = self._db.conn()
        return {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
            "busy_timeout_ms": conn.execute("PRAGMA busy_timeout").fetchone()[0],
        }

    def close(self) -> None:
        """Close every connection this store opened in this process."""
        self._db.close()

    # -- ingest --------------------------------------------------------------------------------

    def ingest(self, record: UplinkRecord, plan: PlanFn) -> IngestResult:
        """Store ``record`` and what ``plan`` makes of it, atomically, unless already stored.

        ``plan`` runs inside the transaction (it reads device state through its argument) and
        must not do I/O; if it raises, nothing is written and the exception propagates.
        """
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT id FROM uplinks WHERE dedup_key = ?", (record.dedup_key,)
            ).fetchone()
            if row is not None:
                return IngestResult(True, row[0], self._event_ids(conn, row[0]))
            outcome = plan(_Reader(conn))
            params = sql.uplink_params(record, self.clock()) | _outcome_params(outcome)
            uplink_id = conn.execute(sql.INSERT_UPLINK, params).lastrowid
            assert uplink_id is not None
            ids = self._apply(conn, uplink_id, record.dedup_key, outcome)
        return IngestResult(False, uplink_id, ids)

    def _apply(
        self, conn: sqlite3.Connection, uplink_id: int, dedup_key: str, plan: Plan
    ) -> tuple[int, ...]:
        now = self.clock()
        ids = []
        for position, (device_key, event) in enumerate(plan.events):
            cur = conn.execute(
                sql.INSERT_EVENT,
                {
                    "uplink_id": uplink_id,
                    "device_key": device_key,
                    "position": position,
                    "idempotency_key": idempotency_key(dedup_key, position),
                    "body": event.to_json(),
                    "action": event.action,
                    "now": now,
                },
            )
            ids.append(int(cur.lastrowid or 0))  # always set after an INSERT
        for device_key, state in plan.states.items():
            conn.execute(
                sql.UPSERT_DEVICE,
                {"device_key": device_key, "state": json.dumps(state.as_json()), "now": now},
            )
        return tuple(ids)

    @staticmethod
    def _event_ids(conn: sqlite3.Connection, uplink_id: int) -> tuple[int, ...]:
        rows = conn.execute(
            "SELECT id FROM events WHERE uplink_id = ? ORDER BY position", (uplink_id,)
        )
        return tuple(r[0] for r in rows)

    def replace_uplink_outcome(self, uplink_id: int, plan: PlanFn) -> IngestResult:
        """Decode a stored ``undecodable`` uplink again (after a model or template fix).

        Same rules as :meth:`ingest`. An uplink that is no longer undecodable (someone replayed
        it already) is left alone and reported as a duplicate, so replaying twice is harmless.
        Its events join the end of their devices' queues (they get the newest ids).
        """
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT status, dedup_key FROM uplinks WHERE id = ?", (uplink_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"no uplink {uplink_id}")
            status, dedup_key = row
            if status != "undecodable":
                return IngestResult(True, uplink_id, self._event_ids(conn, uplink_id))
            outcome = plan(_Reader(conn))
            conn.execute(sql.SET_UPLINK_OUTCOME, {"id": uplink_id} | _outcome_params(outcome))
            ids = self._apply(conn, uplink_id, dedup_key, outcome)
        return IngestResult(False, uplink_id, ids)

    # -- delivery ------------------------------------------------------------------------------

    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]:
        """Lease up to ``limit`` sendable events: at most one per device, its oldest open one."""
        if limit <= 0:
            return []
        with self._db.write() as conn:
            rows = conn.execute(
                sql.CLAIM, {"now": now, "lease_until": now + lease_s, "limit": limit}
            ).fetchall()
        return sorted((EventRow(*r) for r in rows), key=lambda e: e.id)

    def _update(self, statement: str, params: dict[str, Any]) -> bool:
        with self._db.write() as conn:
            return conn.execute(statement, params).rowcount == 1

    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool:
        """Record AURA's 2xx. False if the row is no longer ours (lease lost)."""
        return self._update(
            sql.MARK_DELIVERED,
            {"id": event_id, "response": response_json, "now": now, "claim": claim},
        )

    def mark_retry(
        self,
        event_id: int,
        error: str,
        next_attempt_at: float,
        count_attempt: bool = True,
        *,
        claim: int | None = None,
    ) -> bool:
        """Back to pending until ``next_attempt_at``; ``count_attempt=False`` when no attempt
        was made (e.g. a worker releasing its claim at shutdown)."""
        return self._update(
            sql.MARK_RETRY,
            {
                "id": event_id,
                "error": error,
                "next_attempt_at": next_attempt_at,
                "count": int(count_attempt),
                "claim": claim,
            },
        )

    def mark_dead(self, event_id: int, error: str, *, claim: int | None = None) -> bool:
        """Dead-letter after an attempt: it stops blocking its device; only replay revives it."""
        return self._update(sql.MARK_DEAD, {"id": event_id, "error": error, "claim": claim})

    def mark_alerted(self, event_id: int, now: float) -> bool:
        """True exactly once per open event, across threads and processes: who raises the alert."""
        return self._update(sql.MARK_ALERTED, {"id": event_id, "now": now})

    def overdue(self, created_before: float, limit: int = 100) -> list[EventRow]:
        """Open events created at or before ``created_before`` that were not alerted yet."""
        rows = self._db.conn().execute(sql.OVERDUE, {"cutoff": created_before, "limit": limit})
        return [EventRow(*r) for r in rows]

    def next_due(self) -> float | None:
        """Earliest time a claim could return something (may be in the past); None if idle."""
        return self._db.conn().execute(sql.NEXT_DUE).fetchone()[0]

    def replay_dead(self, ids: Sequence[int] | None = None) -> int:
        """Dead -> pending (attempts reset, same idempotency key). Returns how many.

        A replayed event keeps its place in its device's queue: it goes before later events.
        """
        statement = sql.REPLAY_DEAD
        params: dict[str, Any] = {"now": self.clock()}
        if ids is not None:
            statement += " AND id IN (SELECT value FROM json_each(:ids))"
            params["ids"] = json.dumps([int(i) for i in ids])
        with self._db.write() as conn:
            return conn.execute(statement, params).rowcount

    # -- inspection ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counts by event state and uplink status, and the age of the oldest open event."""
        with self._db.read() as conn:
            events = dict.fromkeys(EVENT_STATES, 0)
            events.update(conn.execute("SELECT state, COUNT(*) FROM events GROUP BY state"))
            uplinks = dict.fromkeys(UPLINK_STATUSES, 0)
            uplinks.update(conn.execute("SELECT status, COUNT(*) FROM uplinks GROUP BY status"))
            oldest = conn.execute(
                "SELECT MIN(created_at) FROM events WHERE state IN ('pending', 'in_flight')"
            ).fetchone()[0]
        return {
            "events": events,
            "uplinks": uplinks,
            "oldest_undelivered_age_s": None if oldest is None else self.clock() - oldest,
        }

    def get_event(self, event_id: int) -> EventRow | None:
        row = (
            self._db.conn()
            .execute(f"SELECT {sql.EVENT_COLUMNS} FROM events WHERE id = ?", (event_id,))
            .fetchone()
        )
        return None if row is None else EventRow(*row)

    def list_events(self, state: EventState | None = None, limit: int = 50) -> list[EventRow]:
        """Newest first."""
        where = "" if state is None else "WHERE state = :state"
        rows = self._db.conn().execute(
            f"SELECT {sql.EVENT_COLUMNS} FROM events {where} ORDER BY id DESC LIMIT :limit",
            {"state": state, "limit": limit},
        )
        return [EventRow(*r) for r in rows]

    def list_uplinks(
        self, status: UplinkStatus | None = None, limit: int = 50
    ) -> list[StoredUplink]:
        """Newest first."""
        where = "" if status is None else "WHERE status = :status"
        rows = self._db.conn().execute(
            f"SELECT {sql.UPLINK_COLUMNS} FROM uplinks {where} ORDER BY id DESC LIMIT :limit",
            {"status": status, "limit": limit},
        )
        return [sql.stored_uplink(r) for r in rows]

    def undecodable_uplinks(self, limit: int = 1000) -> list[StoredUplink]:
        """Oldest first: the order to re-decode them in."""
        rows = self._db.conn().execute(
            f"SELECT {sql.UPLINK_COLUMNS} FROM uplinks WHERE status = 'undecodable'"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [sql.stored_uplink(r) for r in rows]
