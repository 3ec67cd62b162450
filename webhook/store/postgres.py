"""The shared store: one PostgreSQL database for any number of ``serve`` instances.

The invariants are those of :mod:`webhook.store.base`, kept across processes and hosts by
PostgreSQL itself rather than by one writer lock (how :class:`SqliteStore` keeps them):

* **Persist first**: every write is one transaction, committed (``synchronous_commit`` on, the
  server's default) before the method returns.
* **Deduplicate**: ``uplinks.dedup_key`` is UNIQUE and inserted ``ON CONFLICT DO NOTHING``: of
  two instances given the same callback, one stores it and the other reports a duplicate.
* **Per-device FIFO with a lease**: ``claim`` locks the heads it takes ``FOR UPDATE SKIP
  LOCKED`` in one short statement (see ``postgres_queries.sql``), then the lease of DESIGN §14
  takes over: renewed while the send is in flight, no transaction or connection held across it.
* **Per-device state written over what was read**: an ingest writes a device's state only
  over the state its plan read, in the one statement that stores the uplink; if another
  instance changed it in between, that statement fails whole and the plan runs again on the new
  state. After three such failures the ingest locks the device's row before reading instead.
  Either way two uplinks of one device are never both planned on the same state, whichever
  instance took each.

Statements: ``postgres_queries.sql``, by name. Schema: ``migrations/postgresql/``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg

from decoders.errors import AuraUplinkError
from webhook.store.base import (
    DeliveredEvent,
    IngestResult,
    Plan,
    PlanFn,
    PlanReads,
    PruneCount,
    idempotency_key,
)
from webhook.store.migrations import shipped_migrations
from webhook.store.postgres_connections import Connections
from webhook.store.postgres_inspection import PostgresInspection, one_row
from webhook.store.postgres_reader import IngestReader
from webhook.store.records import (
    DeviceLink,
    EventRow,
    UplinkRecord,
    merged_warnings,
    uplink_params,
)
from webhook.store.sql_files import query_file

Q = query_file("postgres_queries.sql")
# Unlocked ingests tried before one that locks the device's row (PostgresStore.ingest).
_UNLOCKED_TRIES = 3
_TABLES = ("uplinks", "events", "devices", "device_links", "probes", "schema_migrations")


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; an AURA answer or an error message might."""
    return None if value is None else value.replace("\x00", "\\u0000")


def _tables(conn: psycopg.Cursor[Any]) -> list[Any]:
    query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    return conn.execute(query).fetchall()


def _schema_version(conn: psycopg.Cursor[Any]) -> Any:
    return one_row(conn.execute("SELECT MAX(version) FROM schema_migrations"))


class _Duplicate(AuraUplinkError):
    """An ingest lost the race for its dedup key: nothing of it was written. Never leaves
    :meth:`PostgresStore.ingest`."""


class _StateMoved(AuraUplinkError):
    """The device state an unlocked ingest's plan read changed before its write, so the write
    failed whole. Never leaves :meth:`PostgresStore.ingest` (it plans again, or locks)."""


class PostgresStore(PostgresInspection):
    """:class:`Store` on a PostgreSQL database shared by every instance (``[store] url``)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.clock = clock
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._db = Connections(url, pool_size=pool_size, now=clock())

    # -- health --------------------------------------------------------------------------------

    def probe_commit(self) -> None:
        """One real, durable write (this instance's row in ``probes``)."""
        params = {"instance": self.instance, "now": self.clock()}
        self._db.run(lambda conn: conn.execute(Q["probe"], params), atomic=False)

    def identity_problem(self) -> str | None:
        """Nothing to check: a database cannot be deleted from under a connection unnoticed
        (the next statement fails, and the routes answer 503)."""
        return None

    def schema_problem(self) -> str | None:
        """Tables missing, or a schema version this aura-uplink did not write."""
        present = {row[0] for row in self._db.run(_tables, atomic=False)}
        lacking = [t for t in _TABLES if t not in present]
        if lacking:
            return f"missing tables: {', '.join(lacking)}"
        (version,) = self._db.run(_schema_version, atomic=False)
        known = len(shipped_migrations("postgresql"))
        if version != known:
            return f"schema version {version}, expected {known}"
        return None

    def integrity_problem(self) -> str | None:
        """PostgreSQL checks its own pages (and data checksums where the cluster has them on)."""
        return None

    def close(self) -> None:
        self._db.close()

    # -- ingest --------------------------------------------------------------------------------

    def ingest(
        self, record: UplinkRecord, plan: PlanFn, reads: PlanReads | None = None
    ) -> IngestResult:
        """Store ``record`` and what ``plan`` makes of it, atomically, unless already stored.
        ``plan`` may run more than once (a state that moved, a deadlock): it is safe to repeat.

        First without a transaction: one statement reads what ``reads`` names along with the
        duplicate check, the plan runs, and one statement writes it all, over the states the
        plan read or not at all (``insert_uplink_and_events``). Two round trips instead of six
        (BEGIN, four reads, COMMIT): on this machine the service's own CPU per callback is what
        limits ingest, and psycopg's share of it is mostly per statement. Where the device's
        state keeps moving under it (many uplinks of one device at once), the ingest falls back
        to a transaction that locks the device's row first, so it never starves."""
        params = uplink_params(record, self.clock())

        def unlocked(conn: psycopg.Cursor[Any]) -> IngestResult:
            keys = reads or PlanReads()
            ahead = one_row(
                conn.execute(
                    Q["ingest_reads"],
                    {
                        "dedup_key": record.dedup_key,
                        "device_key": keys.device_key,
                        "network_id": keys.network_id,
                        "partner_key": keys.partner_key,
                    },
                )
            )
            if ahead[0] is not None:
                return IngestResult(True, ahead[0], self._event_ids(conn, ahead[0]))
            reader = IngestReader(conn, self.clock(), locked=False, reads=reads, ahead=ahead)
            try:
                return self._write(conn, params, plan(reader), reader)
            except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected):
                raise _StateMoved from None

        def locked(conn: psycopg.Cursor[Any]) -> IngestResult:
            row = conn.execute(Q["uplink_id_by_key"], {"dedup_key": record.dedup_key}).fetchone()
            if row is not None:
                return IngestResult(True, row[0], self._event_ids(conn, row[0]))
            reader = IngestReader(conn, self.clock(), locked=True)
            return self._write(conn, params, plan(reader), reader)

        try:
            for _ in range(_UNLOCKED_TRIES):
                try:
                    return self._db.run(unlocked, atomic=False)
                except _StateMoved:
                    continue
            return self._db.run(locked)
        except _Duplicate:
            # Another instance committed this key while we planned; report its rows.
            def earlier(conn: psycopg.Cursor[Any]) -> IngestResult:
                params = {"dedup_key": record.dedup_key}
                (uplink_id,) = one_row(conn.execute(Q["uplink_id_by_key"], params))
                return IngestResult(True, uplink_id, self._event_ids(conn, uplink_id))

            return self._db.run(earlier, atomic=False)

    def _write(
        self, conn: psycopg.Cursor[Any], params: dict[str, Any], plan: Plan, reader: IngestReader
    ) -> IngestResult:
        """The uplink, its events and the device states in one statement (one round trip)."""
        written = (
            params
            | plan.outcome_params()
            | self._writes(params["dedup_key"], plan)
            | {"read_states": [reader.state_text(key) for key in plan.states]}
        )
        uplink_id, ids, _ = one_row(conn.execute(Q["insert_uplink_and_events"], written))
        if uplink_id is None:
            raise _Duplicate
        return IngestResult(False, uplink_id, tuple(ids))

    def _writes(self, dedup_key: str, plan: Plan) -> dict[str, Any]:
        """The plan's events and device states as the array parameters of the statements that
        write them (insert_events, insert_uplink_and_events)."""
        events = list(enumerate(plan.events))
        return {
            "device_keys": [device_key for _, (device_key, _) in events],
            "positions": [position for position, _ in events],
            "keys": [idempotency_key(dedup_key, position) for position, _ in events],
            "bodies": [event.to_json() for _, (_, event) in events],
            "actions": [event.action for _, (_, event) in events],
            "state_keys": list(plan.states),
            "states": [json.dumps(state.as_json()) for state in plan.states.values()],
            "now": self.clock(),
        }

    def _apply(
        self, conn: psycopg.Cursor[Any], uplink_id: int, dedup_key: str, plan: Plan
    ) -> tuple[int, ...]:
        """Write ``plan``'s events and states for an uplink already stored (a replay)."""
        rows = conn.execute(
            Q["insert_events"], {"uplink_id": uplink_id} | self._writes(dedup_key, plan)
        )
        (ids,) = one_row(rows)
        return tuple(ids)

    @staticmethod
    def _event_ids(conn: psycopg.Cursor[Any], uplink_id: int) -> tuple[int, ...]:
        rows = conn.execute(Q["event_ids_of_uplink"], {"uplink_id": uplink_id})
        return tuple(r[0] for r in rows)

    def replace_uplink_outcome(
        self, uplink_id: int, plan: PlanFn, warnings: Sequence[Mapping[str, Any]] = ()
    ) -> IngestResult:
        """Decode a stored ``undecodable`` uplink again (after a model or template fix); the
        rules of :meth:`SqliteStore.replace_uplink_outcome`."""

        def replace(conn: psycopg.Cursor[Any]) -> IngestResult:
            row = conn.execute(Q["uplink_outcome_for_update"], {"id": uplink_id}).fetchone()
            if row is None:
                raise KeyError(f"no uplink {uplink_id}")
            status, dedup_key = row
            if status != "undecodable":
                return IngestResult(True, uplink_id, self._event_ids(conn, uplink_id))
            outcome = plan(IngestReader(conn, self.clock(), locked=True))
            conn.execute(Q["set_uplink_outcome"], {"id": uplink_id} | outcome.outcome_params())
            if warnings:
                (stored,) = one_row(conn.execute(Q["uplink_warnings"], {"id": uplink_id}))
                found = merged_warnings(stored, warnings)
                conn.execute(Q["set_uplink_warnings"], {"id": uplink_id, "warnings": found})
            ids = self._apply(conn, uplink_id, dedup_key, outcome)
            return IngestResult(False, uplink_id, ids)

        return self._db.run(replace)

    # -- delivery ------------------------------------------------------------------------------

    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]:
        """Lease up to ``limit`` sendable events: at most one per device, its oldest open one,
        none that another instance holds or is claiming at this moment."""
        if limit <= 0:
            return []
        params = {"now": now, "lease_until": now + lease_s, "limit": limit}
        rows = self._db.run(lambda conn: conn.execute(Q["claim"], params).fetchall())
        return sorted((EventRow(*r) for r in rows), key=lambda e: e.id)

    def _update(self, statement: str, params: dict[str, Any]) -> bool:
        return self._count(statement, params) == 1

    def _count(self, statement: str, params: dict[str, Any]) -> int:
        """Rows one autocommitted statement changed."""
        return self._db.run(lambda conn: conn.execute(statement, params).rowcount, atomic=False)

    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool:
        delivered = DeliveredEvent(event_id, response_json, now, claim)
        return event_id in self.mark_delivered_many([delivered])

    def mark_delivered_many(self, delivered: Sequence[DeliveredEvent]) -> set[int]:
        """Record AURA's 2xx for each event still in flight under its claim, in one
        statement; returns the ids recorded (the others are no longer ours)."""
        if not delivered:
            return set()
        params = {
            "ids": [each.event_id for each in delivered],
            "claims": [each.claim for each in delivered],
            "ats": [each.delivered_at for each in delivered],
            "responses": [_text(each.response_json) for each in delivered],
        }
        return {row[0] for row in self._rows(Q["mark_delivered_many"], params)}

    def mark_retry(
        self,
        event_id: int,
        error: str,
        next_attempt_at: float,
        count_attempt: bool = True,
        *,
        claim: int | None = None,
    ) -> bool:
        return self._update(
            Q["mark_retry"],
            {
                "id": event_id,
                "error": _text(error),
                "next_attempt_at": next_attempt_at,
                "count": int(count_attempt),
                "claim": claim,
            },
        )

    def mark_dead(self, event_id: int, error: str, *, claim: int | None = None) -> bool:
        return self._update(Q["mark_dead"], {"id": event_id, "error": _text(error), "claim": claim})

    def renew_lease(self, event_id: int, lease_until: float, *, claim: int) -> bool:
        return self.renew_leases({event_id: claim}, lease_until) == {event_id}

    def renew_leases(self, claims: Mapping[int, int], lease_until: float) -> set[int]:
        """Every ``event id -> claim`` in one statement; returns the ids renewed."""
        if not claims:
            return set()
        params = {
            "ids": list(claims),
            "claims": list(claims.values()),
            "lease_until": lease_until,
        }
        return {row[0] for row in self._rows(Q["renew_leases"], params)}

    def mark_alerted(self, event_id: int, now: float) -> bool:
        return self._update(Q["mark_alerted"], {"id": event_id, "now": now})

    def overdue(self, created_before: float, limit: int = 100) -> list[EventRow]:
        return self._events(Q["overdue"], {"cutoff": created_before, "limit": limit})

    def next_due(self) -> float | None:
        return self._rows(Q["next_due"])[0][0]

    def replay_dead(self, ids: Sequence[int] | None = None) -> int:
        params = {"now": self.clock(), "ids": None if ids is None else [int(i) for i in ids]}
        return self._count(Q["replay_dead"], params)

    # -- retention -----------------------------------------------------------------------------

    def prune_batch(self, older_than: float, limit: int) -> PruneCount:
        """Up to ``limit`` old delivered events, then up to ``limit`` old uplinks left with no
        event; each a short statement of its own, so no lock is held for long."""
        params = {"older_than": older_than, "limit": limit}
        events = self._count(Q["prune_events"], params)
        uplinks = self._count(Q["prune_uplinks"], params)
        return PruneCount(uplinks=uplinks, events=events)

    def prunable(self, older_than: float) -> PruneCount:
        params = {"older_than": older_than}
        ((events,),) = self._rows(Q["prunable_events"], params)
        ((uplinks,),) = self._rows(Q["prunable_uplinks"], params)
        return PruneCount(uplinks=uplinks, events=events)

    # -- device registry -----------------------------------------------------------------------

    def save_link(self, link: DeviceLink) -> None:
        def save(conn: psycopg.Cursor[Any]) -> None:
            conn.execute(
                Q["forget_serial_elsewhere"],
                {"serial": link.serial, "network_id": link.network_id},
            )
            conn.execute(Q["save_link"], link.to_row(self.clock()))

        self._db.run(save)

    def _links(self, statement: str, params: dict[str, Any]) -> list[DeviceLink]:
        return [DeviceLink.from_row(r) for r in self._rows(statement, params)]

    def link_for_serial(self, serial: str) -> DeviceLink | None:
        found = self._links(Q["link_by_serial"], {"serial": serial})
        return found[0] if found else None

    def link_for_network_id(self, network_id: str) -> DeviceLink | None:
        found = self._links(Q["link_by_network_id"], {"network_id": network_id})
        return found[0] if found else None

    def links(self) -> list[DeviceLink]:
        return self._links(Q["all_links"], {})

    def remove_link(self, serial: str) -> bool:
        return self._update(Q["delete_link"], {"serial": serial})
