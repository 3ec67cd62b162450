"""The SQLite store's read-only views for operators: counts, events and uplinks by state, the
devices heard from and AURA's refusals (the ``store`` commands, ``/status``, ``/metrics``).
A base of :class:`webhook.store.sqlite.SqliteStore`, which owns the connections and the clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from decoders.aura import DeviceState
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
from webhook.store.sqlite_connections import Connections

Q = query_file("sqlite_queries.sql")


class SqliteInspection:
    """Reads for operators, on the store's per-thread connections."""

    _db: Connections
    clock: Callable[[], float]

    def status(self) -> dict[str, Any]:
        """Counts by event state and uplink status, and the age of the oldest open event."""
        with self._db.read() as conn:
            by_state = conn.execute(Q["count_events_by_state"]).fetchall()
            by_status = conn.execute(Q["count_uplinks_by_status"]).fetchall()
            oldest = conn.execute(Q["oldest_open_event"]).fetchone()[0]
        return store_status(by_state, by_status, oldest, self.clock())

    def get_event(self, event_id: int) -> EventRow | None:
        row = self._db.conn().execute(Q["get_event"], {"id": event_id}).fetchone()
        return None if row is None else EventRow(*row)

    def list_events(self, state: EventState | None = None, limit: int = 50) -> list[EventRow]:
        """Newest first."""
        rows = self._db.conn().execute(Q["list_events"], {"state": state, "limit": limit})
        return [EventRow(*r) for r in rows]

    def list_uplinks(
        self, status: UplinkStatus | None = None, limit: int = 50
    ) -> list[StoredUplink]:
        """Newest first."""
        rows = self._db.conn().execute(Q["list_uplinks"], {"status": status, "limit": limit})
        return [stored_uplink(r) for r in rows]

    def undecodable_uplinks(self, limit: int = 1000) -> list[StoredUplink]:
        """Oldest first: the order to re-decode them in."""
        rows = self._db.conn().execute(Q["undecodable_uplinks"], {"limit": limit})
        return [stored_uplink(r) for r in rows]

    def get_uplink(self, uplink_id: int) -> StoredUplink | None:
        row = self._db.conn().execute(Q["get_uplink"], {"id": uplink_id}).fetchone()
        return None if row is None else stored_uplink(row)

    def seen_devices(self, limit: int = 50) -> Newest[SeenDevice]:
        """The network devices of the stored uplinks, the one heard from last first."""
        rows = self._db.conn().execute(Q["seen_devices"], {"limit": limit}).fetchall()
        return Newest(rows[0][-1] if rows else 0, tuple(SeenDevice(*r[:-1]) for r in rows))

    def device_states(self, keys: Sequence[str]) -> dict[str, DeviceState]:
        params = {"keys": json.dumps(list(keys))}
        rows = self._db.conn().execute(Q["device_states"], params)
        return {key: DeviceState.from_json(json.loads(state)) for key, state in rows}

    def refusals(self, limit: int = 50) -> Newest[EventRow]:
        """Events not delivered whose last answer from AURA was a 4xx, newest first."""
        with self._db.read() as conn:  # the rows and their count from one snapshot
            rows = conn.execute(Q["refusals"], {"limit": limit}).fetchall()
            (total,) = conn.execute(Q["count_refusals"]).fetchone()
        return Newest(total, tuple(EventRow(*r) for r in rows))
