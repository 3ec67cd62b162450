"""What an ingest's plan reads on PostgreSQL (:class:`webhook.store.TxReader`), for
:meth:`webhook.store.postgres.PostgresStore.ingest`: from the row its first statement fetched
ahead where it can, and every device state it read kept, for the write to insist on."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from decoders.aura import DeviceState
from webhook.store.base import PlanReads
from webhook.store.postgres_inspection import one_row
from webhook.store.sql_files import query_file

Q = query_file("postgres_queries.sql")


class IngestReader:
    """:class:`webhook.store.TxReader` for an ingest. ``locked``: inside the ingest transaction,
    each device's row locked before its state is read (made first if new). Otherwise reads in
    autocommit, answered from ``ahead`` (the ``ingest_reads`` row) where it has the key; either
    way each state's text is kept (:meth:`state_text`): the write must find it unchanged."""

    def __init__(
        self,
        conn: psycopg.Cursor[Any],
        now: float,
        *,
        locked: bool,
        reads: PlanReads | None = None,
        ahead: tuple[Any, ...] = (None, None, None, False),
    ) -> None:
        self._conn = conn
        self._now = now
        self._locked = locked
        self._reads = reads or PlanReads()
        self._ahead = ahead
        self._texts: dict[str, str | None] = {}  # device key -> its state as read

    def state(self, device_key: str) -> DeviceState:
        text = self.state_text(device_key)
        return DeviceState.from_json(None if text is None else json.loads(text))

    def state_text(self, device_key: str) -> str | None:
        """The device's state as stored when first read in this ingest (None: no row yet),
        read now if the plan did not: what the write must find unchanged."""
        if device_key not in self._texts:
            self._texts[device_key] = self._read_state(device_key)
        return self._texts[device_key]

    def _read_state(self, device_key: str) -> str | None:
        params = {"device_key": device_key, "now": self._now}
        if not self._locked:
            if device_key == self._reads.device_key:
                return self._ahead[1]  # type: ignore[no-any-return]
            row = self._conn.execute(Q["device_state"], params).fetchone()
            return None if row is None else row[0]
        row = self._conn.execute(Q["lock_device"], params).fetchone()
        if row is None:
            self._conn.execute(Q["make_device"], params)
            row = one_row(self._conn.execute(Q["lock_device"], params))
        return row[0]  # type: ignore[no-any-return]

    def uplink_exists(self, dedup_key: str) -> bool:
        if not self._locked and dedup_key == self._reads.partner_key:
            return bool(self._ahead[3])
        row = self._conn.execute(Q["uplink_id_by_key"], {"dedup_key": dedup_key}).fetchone()
        return row is not None

    def linked_device_id(self, network_id: str) -> str | None:
        if not self._locked and network_id == self._reads.network_id:
            linked = self._ahead[2]
        else:
            row = self._conn.execute(Q["linked_device_id"], {"network_id": network_id}).fetchone()
            linked = None if row is None else row[0]
        return None if linked is None else str(linked)
