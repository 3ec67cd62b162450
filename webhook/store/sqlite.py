"""The embedded store: one SQLite file, shared by the threads and processes of one host.

Durability: WAL, ``synchronous=FULL``, every write in ``BEGIN IMMEDIATE``
(:mod:`webhook.store.sqlite_connections`). Schema: the numbered migrations in
``migrations/sqlite/``, applied when the store opens. Statements: ``sqlite_queries.sql``, by name.
The invariants it keeps are those of :mod:`webhook.store.base`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from decoders.aura import DeviceState
from webhook.errors import StoreError
from webhook.store.base import (
    DeliveredEvent,
    IngestResult,
    Plan,
    PlanFn,
    PlanReads,
    PruneCount,
    idempotency_key,
)
from webhook.store.migrations import migrate_sqlite, shipped_migrations
from webhook.store.records import (
    DeviceLink,
    EventRow,
    UplinkRecord,
    merged_warnings,
    uplink_params,
)
from webhook.store.sql_files import query_file
from webhook.store.sqlite_checks import integrity_problem, schema_problem
from webhook.store.sqlite_connections import Connections
from webhook.store.sqlite_inspection import SqliteInspection

if sqlite3.sqlite_version_info < (3, 35, 0):  # UPDATE ... RETURNING is what makes claim atomic
    raise ImportError(f"webhook.store needs SQLite >= 3.35, found {sqlite3.sqlite_version}")

Q = query_file("sqlite_queries.sql")


class _Reader:
    """:class:`webhook.store.TxReader` over the connection of an open transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def state(self, device_key: str) -> DeviceState:
        row = self._conn.execute(Q["device_state"], {"device_key": device_key}).fetchone()
        return DeviceState.from_json(None if row is None else json.loads(row[0]))

    def uplink_exists(self, dedup_key: str) -> bool:
        row = self._conn.execute(Q["uplink_id_by_key"], {"dedup_key": dedup_key})
        return row.fetchone() is not None

    def linked_device_id(self, network_id: str) -> str | None:
        row = self._conn.execute(Q["linked_device_id"], {"network_id": network_id}).fetchone()
        return None if row is None else str(row[0])


class SqliteStore(SqliteInspection):
    """:class:`Store` on one SQLite file, shared by threads and processes on one host.

    Connections: one per thread, WAL, ``synchronous=FULL``, writes in ``BEGIN IMMEDIATE``
    (:class:`webhook.store.sqlite_connections.Connections`).
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
            try:
                migrate_sqlite(conn, shipped_migrations("sqlite"), self.clock())
            except StoreError as error:
                raise StoreError(f"{self.path}: {error}") from None

    def pragma_check(self) -> dict[str, Any]:
        """The durability settings of this thread's connection (tests assert wal and 2)."""
        conn = self._db.conn()
        return {
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
            "busy_timeout_ms": conn.execute("PRAGMA busy_timeout").fetchone()[0],
        }

    # -- health: start-up checks and /readyz (webhook/readiness.py) ------------------------------

    def probe_commit(self) -> None:
        """Commit one real write to the file; raises with the reason when the store cannot."""
        self._db.probe_commit()

    def identity_problem(self) -> str | None:
        """Why the file at :attr:`path` is no longer the one opened (deleted, replaced), if so."""
        return self._db.identity_problem()

    def schema_problem(self) -> str | None:
        """What the file lacks of the schema the migrations make, if anything."""
        with self._db.detached() as conn:
            return schema_problem(conn)

    def integrity_problem(self) -> str | None:
        """``PRAGMA quick_check``: it reads every page (seconds on a large store)."""
        with self._db.detached() as conn:
            return integrity_problem(conn)

    def close(self) -> None:
        """Close every connection this store opened in this process."""
        self._db.close()

    # -- ingest --------------------------------------------------------------------------------

    def ingest(
        self, record: UplinkRecord, plan: PlanFn, reads: PlanReads | None = None
    ) -> IngestResult:
        """Store ``record`` and what ``plan`` makes of it, atomically, unless already stored.
        ``reads`` is not used: a read here is a call into SQLite, with no round trip to save.

        ``plan`` runs inside the transaction (it reads device state through its argument) and
        must not do I/O; if it raises, nothing is written and the exception propagates. It may
        run in another thread than the caller's, and more than once (a group commit that
        another write made fail runs it again): it must not touch thread-local state.
        """
        # Built before the transaction: it holds the writer lock for every thread's writes.
        record_params = uplink_params(record, self.clock())

        def ingest(conn: sqlite3.Connection) -> IngestResult:
            row = conn.execute(Q["uplink_id_by_key"], {"dedup_key": record.dedup_key}).fetchone()
            if row is not None:
                return IngestResult(True, row[0], self._event_ids(conn, row[0]))
            outcome = plan(_Reader(conn))
            params = record_params | outcome.outcome_params()
            uplink_id = conn.execute(Q["insert_uplink"], params).lastrowid
            assert uplink_id is not None
            ids = self._apply(conn, uplink_id, record.dedup_key, outcome)
            return IngestResult(False, uplink_id, ids)

        # Committed with the other threads' writes of the moment (Connections.batched): plan
        # reads only through its argument, so it may run in the thread that commits for all.
        return self._db.batched(ingest)

    def _apply(
        self, conn: sqlite3.Connection, uplink_id: int, dedup_key: str, plan: Plan
    ) -> tuple[int, ...]:
        now = self.clock()
        ids = []
        for position, (device_key, event) in enumerate(plan.events):
            cur = conn.execute(
                Q["insert_event"],
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
                Q["upsert_device"],
                {"device_key": device_key, "state": json.dumps(state.as_json()), "now": now},
            )
        return tuple(ids)

    @staticmethod
    def _event_ids(conn: sqlite3.Connection, uplink_id: int) -> tuple[int, ...]:
        rows = conn.execute(Q["event_ids_of_uplink"], {"uplink_id": uplink_id})
        return tuple(r[0] for r in rows)

    def replace_uplink_outcome(
        self, uplink_id: int, plan: PlanFn, warnings: Sequence[Mapping[str, Any]] = ()
    ) -> IngestResult:
        """Decode a stored ``undecodable`` uplink again (after a model or template fix).
        ``warnings`` are the new decode's, stored after the envelope's.

        Same rules as :meth:`ingest`. An uplink that is no longer undecodable (someone replayed
        it already) is left alone and reported as a duplicate, so replaying twice is harmless.
        Its events join the end of their devices' queues (they get the newest ids).
        """
        with self._db.write() as conn:
            row = conn.execute(Q["uplink_outcome"], {"id": uplink_id}).fetchone()
            if row is None:
                raise KeyError(f"no uplink {uplink_id}")
            status, dedup_key = row
            if status != "undecodable":
                return IngestResult(True, uplink_id, self._event_ids(conn, uplink_id))
            outcome = plan(_Reader(conn))
            conn.execute(Q["set_uplink_outcome"], {"id": uplink_id} | outcome.outcome_params())
            if warnings:
                (stored,) = conn.execute(Q["uplink_warnings"], {"id": uplink_id}).fetchone()
                found = merged_warnings(stored, warnings)
                conn.execute(Q["set_uplink_warnings"], {"id": uplink_id, "warnings": found})
            ids = self._apply(conn, uplink_id, dedup_key, outcome)
        return IngestResult(False, uplink_id, ids)

    # -- delivery ------------------------------------------------------------------------------

    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]:
        """Lease up to ``limit`` sendable events: at most one per device, its oldest open one."""
        if limit <= 0:
            return []
        params = {"now": now, "lease_until": now + lease_s, "limit": limit}
        rows = self._db.batched(lambda conn: conn.execute(Q["claim"], params).fetchall())
        return sorted((EventRow(*r) for r in rows), key=lambda e: e.id)

    def _update(self, statement: str, params: dict[str, Any]) -> bool:
        # The workers' verdicts, committed together when several land at once: a verdict that
        # waits for the writer lock is a window in which a crash makes AURA see the event twice.
        return self._db.batched(lambda conn: conn.execute(statement, params).rowcount == 1)

    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool:
        """Record AURA's 2xx. False if the row is no longer ours (lease lost)."""
        delivered = DeliveredEvent(event_id, response_json, now, claim)
        return event_id in self.mark_delivered_many([delivered])

    def mark_delivered_many(self, delivered: Sequence[DeliveredEvent]) -> set[int]:
        """:meth:`mark_delivered` for each, in one transaction; returns the ids recorded."""
        if not delivered:
            return set()

        def mark(conn: sqlite3.Connection) -> set[int]:
            recorded = set()
            for each in delivered:
                params = {
                    "id": each.event_id,
                    "response": each.response_json,
                    "now": each.delivered_at,
                    "claim": each.claim,
                }
                if conn.execute(Q["mark_delivered"], params).rowcount == 1:
                    recorded.add(each.event_id)
            return recorded

        return self._db.batched(mark)

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
            Q["mark_retry"],
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
        return self._update(Q["mark_dead"], {"id": event_id, "error": error, "claim": claim})

    def renew_lease(self, event_id: int, lease_until: float, *, claim: int) -> bool:
        """Extend the lease of an event still in flight under ``claim``; False if it is no
        longer ours (the lease lapsed and someone claimed it again, or a verdict was recorded)."""
        return self.renew_leases({event_id: claim}, lease_until) == {event_id}

    def renew_leases(self, claims: Mapping[int, int], lease_until: float) -> set[int]:
        """:meth:`renew_lease` for each ``event id -> claim``, in one transaction (one commit
        however many sends are in flight); returns the ids renewed."""
        if not claims:
            return set()

        def renew(conn: sqlite3.Connection) -> set[int]:
            renewed = set()
            for event_id, claim in claims.items():
                params = {"id": event_id, "claim": claim, "lease_until": lease_until}
                if conn.execute(Q["renew_lease"], params).rowcount == 1:
                    renewed.add(event_id)
            return renewed

        return self._db.batched(renew)

    def mark_alerted(self, event_id: int, now: float) -> bool:
        """True exactly once per open event, across threads and processes: who raises the alert."""
        return self._update(Q["mark_alerted"], {"id": event_id, "now": now})

    def overdue(self, created_before: float, limit: int = 100) -> list[EventRow]:
        """Open events created at or before ``created_before`` that were not alerted yet."""
        rows = self._db.conn().execute(Q["overdue"], {"cutoff": created_before, "limit": limit})
        return [EventRow(*r) for r in rows]

    def next_due(self) -> float | None:
        """Earliest time a claim could return something (may be in the past); None if idle."""
        return self._db.conn().execute(Q["next_due"]).fetchone()[0]

    def replay_dead(self, ids: Sequence[int] | None = None) -> int:
        """Dead -> pending (attempts reset, same idempotency key). Returns how many.

        A replayed event keeps its place in its device's queue: it goes before later events.
        """
        params = {
            "now": self.clock(),
            "ids": None if ids is None else json.dumps([int(i) for i in ids]),
        }
        with self._db.write() as conn:
            return conn.execute(Q["replay_dead"], params).rowcount

    # -- retention -----------------------------------------------------------------------------

    def prune_batch(self, older_than: float, limit: int) -> PruneCount:
        """Delete, in one write transaction, at most ``limit`` delivered events delivered before
        ``older_than`` and then at most ``limit`` decoded or ignored uplinks stored before it
        that have no event left, oldest first. Dead and open events, undecodable uplinks and
        uplinks that still have an event stay (:meth:`webhook.store.base.Store.prune_batch`).

        Both deletes read their rows through the partial indexes of migration 0006, so a batch
        holds the write lock for its own rows only, whatever the size of the store."""
        if limit <= 0:
            return PruneCount()
        params = {"older_than": older_than, "limit": limit}
        with self._db.write() as conn:
            events = conn.execute(Q["prune_events"], params).rowcount
            uplinks = conn.execute(Q["prune_uplinks"], params).rowcount
        return PruneCount(uplinks=uplinks, events=events)

    def prunable(self, older_than: float) -> PruneCount:
        """What pruning everything before ``older_than`` would remove now (``--dry-run``): the
        events :meth:`prune_batch` takes, and the uplinks with no event left once they go."""
        with self._db.read() as conn:
            events, uplinks = conn.execute(Q["prunable"], {"older_than": older_than}).fetchone()
        return PruneCount(uplinks=int(uplinks), events=int(events))

    # -- device registry -----------------------------------------------------------------------

    def save_link(self, link: DeviceLink) -> None:
        """Record (or update) a link; a serial lives under one network id only."""
        with self._db.write() as conn:
            conn.execute(
                Q["forget_serial_elsewhere"],
                {"serial": link.serial, "network_id": link.network_id},
            )
            conn.execute(Q["save_link"], link.to_row(self.clock()))

    def link_for_serial(self, serial: str) -> DeviceLink | None:
        row = self._db.conn().execute(Q["link_by_serial"], {"serial": serial}).fetchone()
        return None if row is None else DeviceLink.from_row(row)

    def link_for_network_id(self, network_id: str) -> DeviceLink | None:
        params = {"network_id": network_id}
        row = self._db.conn().execute(Q["link_by_network_id"], params).fetchone()
        return None if row is None else DeviceLink.from_row(row)

    def links(self) -> list[DeviceLink]:
        return [DeviceLink.from_row(r) for r in self._db.conn().execute(Q["all_links"])]

    def remove_link(self, serial: str) -> bool:
        with self._db.write() as conn:
            return conn.execute(Q["delete_link"], {"serial": serial}).rowcount == 1
