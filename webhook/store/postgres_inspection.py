"""The PostgreSQL store's read-only views for operators: counts, events and uplinks by state,
the devices heard from and AURA's refusals (the ``store`` commands, ``/status``, ``/metrics``),
and the read helpers the store shares with them. A base of
:class:`webhook.store.postgres.PostgresStore`, which owns the pool and the clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from decoders.aura import DeviceState
from webhook.store.postgres_connections import Connections
from webhook.store.records import (
    EventRow,
    EventState,
    Newest,
    SeenDevice,
    StoredUplink,
    UplinkStatus,
    store_status,
    stored_uplink,
)
from webhook.store.sql_files import query_file

Q = query_file("postgres_queries.sql")


def one_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The row of a statement that always returns exactly one (an aggregate, an INSERT ...
    RETURNING without ON CONFLICT)."""
    row = cursor.fetchone()
    assert row is not None
    return row


class PostgresInspection:
    """Reads for operators, each on a pooled connection."""

    _db: Connections
    clock: Callable[[], float]

    def _rows(self, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
        return self._db.run(lambda conn: conn.execute(statement, params).fetchall(), atomic=False)

    def status(self) -> dict[str, Any]:
        def counts(conn: psycopg.Cursor[Any]) -> tuple[Any, ...]:
            return (
                conn.execute(Q["count_events_by_state"]).fetchall(),
                conn.execute(Q["count_uplinks_by_status"]).fetchall(),
                one_row(conn.execute(Q["oldest_open_event"]))[0],
            )

        by_state, by_status, oldest = self._db.run(counts)  # one snapshot for all three
        return store_status(by_state, by_status, oldest, self.clock())

    def _events(self, statement: str, params: dict[str, Any]) -> list[EventRow]:
        return [EventRow(*r) for r in self._rows(statement, params)]

    def _uplinks(self, statement: str, params: dict[str, Any]) -> list[StoredUplink]:
        return [stored_uplink(r) for r in self._rows(statement, params)]

    def get_event(self, event_id: int) -> EventRow | None:
        found = self._events(Q["get_event"], {"id": event_id})
        return found[0] if found else None

    def list_events(self, state: EventState | None = None, limit: int = 50) -> list[EventRow]:
        return self._events(Q["list_events"], {"state": state, "limit": limit})

    def list_uplinks(
        self, status: UplinkStatus | None = None, limit: int = 50
    ) -> list[StoredUplink]:
        return self._uplinks(Q["list_uplinks"], {"status": status, "limit": limit})

    def undecodable_uplinks(self, limit: int = 1000) -> list[StoredUplink]:
        return self._uplinks(Q["undecodable_uplinks"], {"limit": limit})

    def get_uplink(self, uplink_id: int) -> StoredUplink | None:
        found = self._uplinks(Q["get_uplink"], {"id": uplink_id})
        return found[0] if found else None

    def seen_devices(self, limit: int = 50) -> Newest[SeenDevice]:
        rows = self._rows(Q["seen_devices"], {"limit": limit})
        return Newest(rows[0][-1] if rows else 0, tuple(SeenDevice(*r[:-1]) for r in rows))

    def device_states(self, keys: Sequence[str]) -> dict[str, DeviceState]:
        rows = self._rows(Q["device_states"], {"keys": list(keys)})
        return {key: DeviceState.from_json(json.loads(state)) for key, state in rows}

    def refusals(self, limit: int = 50) -> Newest[EventRow]:
        def read(conn: psycopg.Cursor[Any]) -> tuple[list[Any], int]:
            rows = conn.execute(Q["refusals"], {"limit": limit}).fetchall()
            return rows, one_row(conn.execute(Q["count_refusals"], {}))[0]

        rows, total = self._db.run(read)  # the rows and their count from one snapshot
        return Newest(total, tuple(EventRow(*r) for r in rows))
