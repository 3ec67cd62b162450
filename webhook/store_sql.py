"""SQLite specifics behind :class:`webhook.store.SqliteStore`: schema, statements, the row
types they map to, and per-thread connections set up for durability.

Kept apart from :mod:`webhook.store` (the interface and the store's logic) so the data model
can be read in one place, and ported to PostgreSQL statement by statement. Times are Unix
seconds (REAL) from the store's clock, except ``uplinks.received_at``, which is the network's
own ISO-8601 UTC timestamp.

Tables
------
``uplinks``  every accepted uplink, raw, forever: the replay source when a template was wrong.
    ``dedup_key`` is the network's natural key (DESIGN §9) and UNIQUE, so a redelivered callback
    can never insert a second row. ``status`` says what decoding made of it.
``events``   the outbox: one AURA request body per row, in the order the mapping produced them.
    ``idempotency_key`` is derived from the uplink's dedup key and the event's position in it, so
    every retry (and a replay) sends the same key. ``state`` moves
    pending -> in_flight -> delivered | pending (retry) | dead; dead -> pending only by replay.
    ``claim`` counts claims: a worker's result only lands if the row still carries its claim.
    ``alerted_at`` records the one "undelivered for N s" alert per event.
``devices``  the mapping's per-device memory (:class:`decoders.aura.DeviceState` as JSON),
    written in the same transaction as the events it led to, so the two never disagree.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from decoders.types import Uplink

if sqlite3.sqlite_version_info < (3, 35, 0):  # UPDATE ... RETURNING is what makes claim atomic
    raise ImportError(f"webhook.store needs SQLite >= 3.35, found {sqlite3.sqlite_version}")

UplinkStatus = Literal["decoded", "undecodable", "ignored"]
EventState = Literal["pending", "in_flight", "delivered", "dead"]
EVENT_STATES: tuple[EventState, ...] = ("pending", "in_flight", "delivered", "dead")
UPLINK_STATUSES: tuple[UplinkStatus, ...] = ("decoded", "undecodable", "ignored")


@dataclass(frozen=True, slots=True)
class UplinkRecord:
    """One accepted uplink as stored: enough to decode it again later."""

    network: str
    dedup_key: str
    device: str
    received_at: datetime
    payload: bytes
    raw: Mapping[str, Any] = field(default_factory=dict)
    port: int | None = None
    sequence: int | None = None

    @classmethod
    def from_uplink(cls, uplink: Uplink) -> UplinkRecord:
        # Every field here has the same name and meaning on Uplink.
        return cls(**{f.name: getattr(uplink, f.name) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class StoredUplink:
    """An ``uplinks`` row: the record plus what decoding made of it."""

    id: int
    record: UplinkRecord
    status: UplinkStatus
    error: str | None
    model: str | None
    template: str | None
    stored_at: float

    def as_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": self.id,
            "network": r.network,
            "dedup_key": r.dedup_key,
            "device": r.device,
            "received_at": r.received_at.isoformat(),
            "payload": r.payload.hex(),
            "port": r.port,
            "sequence": r.sequence,
            "status": self.status,
            "error": self.error,
            "model": self.model,
            "template": self.template,
            "stored_at": self.stored_at,
        }


@dataclass(frozen=True, slots=True)
class EventRow:
    """One outbox row. ``body`` is the exact request body; ``claim`` identifies this claim."""

    id: int
    uplink_id: int
    device_key: str
    position: int
    idempotency_key: str
    body: str
    action: int
    state: EventState
    attempts: int
    claim: int
    next_attempt_at: float
    lease_until: float | None
    created_at: float
    first_attempt_at: float | None
    last_error: str | None
    delivered_at: float | None
    response: str | None
    alerted_at: float | None

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS uplinks (
    id          INTEGER PRIMARY KEY,
    network     TEXT NOT NULL,
    dedup_key   TEXT NOT NULL UNIQUE,
    device      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload_hex TEXT NOT NULL,
    port        INTEGER,
    sequence    INTEGER,
    raw_json    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('decoded', 'undecodable', 'ignored')),
    error       TEXT,
    model       TEXT,
    template    TEXT,
    stored_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS uplinks_by_status ON uplinks (status, id);

CREATE TABLE IF NOT EXISTS events (
    id               INTEGER PRIMARY KEY,
    uplink_id        INTEGER NOT NULL REFERENCES uplinks (id),
    device_key       TEXT NOT NULL,
    position         INTEGER NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL,
    action           INTEGER NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    claim            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    lease_until      REAL,
    created_at       REAL NOT NULL,
    first_attempt_at REAL,
    last_error       TEXT,
    delivered_at     REAL,
    response         TEXT,
    alerted_at       REAL,
    UNIQUE (uplink_id, position)
);
-- (state, id) finds the open rows (the backlog) without scanning the delivered history; claim()
-- and next_due() group just those by device.
CREATE INDEX IF NOT EXISTS events_by_state ON events (state, id);

CREATE TABLE IF NOT EXISTS devices (
    device_key TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""

# Derived from EventRow, so a row maps onto the dataclass positionally, always in step.
EVENT_COLUMNS = ", ".join(f.name for f in fields(EventRow))
UPLINK_COLUMNS = (
    "id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json, status,"
    " error, model, template, stored_at"
)

# Per device with open events: its head (oldest event neither delivered nor dead) and until
# when it is busy (the latest lease of any of its in-flight events). Only a head may be sent, and
# only when the device is not busy: that is the whole per-device FIFO rule. Dead rows drop out of
# the open set, so a dead-lettered location update never stalls a later panic; "busy" also covers
# a replayed dead event that is older than an event already in flight (it waits for it).
_OPEN_DEVICES = """
WITH open_devices AS (
    SELECT device_key,
           MIN(id) AS head,
           MAX(CASE WHEN state = 'in_flight' THEN lease_until END) AS busy_until
      FROM events
     WHERE state IN ('pending', 'in_flight')
     GROUP BY device_key)
"""

# A head is claimable once its device is not busy (an expired lease means its worker died or
# hung) and, if pending, its backoff is over. One statement inside BEGIN IMMEDIATE: no other
# connection can claim between the choice and the update, in this process or any other.
CLAIM = f"""
{_OPEN_DEVICES}
UPDATE events
   SET state = 'in_flight',
       lease_until = :lease_until,
       claim = claim + 1,
       first_attempt_at = COALESCE(first_attempt_at, :now)
 WHERE id IN (
        SELECT e.id
          FROM open_devices AS o JOIN events AS e ON e.id = o.head
         WHERE COALESCE(o.busy_until, 0) <= :now
           AND (e.state = 'in_flight' OR e.next_attempt_at <= :now)
         ORDER BY e.id
         LIMIT :limit)
RETURNING {EVENT_COLUMNS}
"""

# The same rule as a time: when each device's head becomes claimable; the earliest of those.
NEXT_DUE = f"""
{_OPEN_DEVICES}
SELECT MIN(MAX(COALESCE(o.busy_until, 0),
               CASE e.state WHEN 'pending' THEN e.next_attempt_at ELSE 0 END))
  FROM open_devices AS o JOIN events AS e ON e.id = o.head
"""

INSERT_UPLINK = """
INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, port, sequence,
                     raw_json, status, error, model, template, stored_at)
VALUES (:network, :dedup_key, :device, :received_at, :payload_hex, :port, :sequence,
        :raw_json, :status, :error, :model, :template, :stored_at)
"""

SET_UPLINK_OUTCOME = """
UPDATE uplinks SET status = :status, error = :error, model = :model, template = :template
 WHERE id = :id
"""

INSERT_EVENT = """
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    next_attempt_at, created_at)
VALUES (:uplink_id, :device_key, :position, :idempotency_key, :body, :action, 'pending',
        :now, :now)
"""

UPSERT_DEVICE = """
INSERT INTO devices (device_key, state, updated_at) VALUES (:device_key, :state, :now)
ON CONFLICT (device_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
"""

# The worker's verdicts. Each is guarded by state AND claim: a worker whose lease expired and
# whose row was claimed again must not overwrite the newer worker's outcome.
MARK_DELIVERED = """
UPDATE events
   SET state = 'delivered', delivered_at = :now, response = :response, lease_until = NULL,
       attempts = attempts + 1
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim)
"""

MARK_RETRY = """
UPDATE events
   SET state = 'pending', next_attempt_at = :next_attempt_at, lease_until = NULL,
       last_error = :error, attempts = attempts + :count
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim)
"""

MARK_DEAD = """
UPDATE events
   SET state = 'dead', last_error = :error, lease_until = NULL, attempts = attempts + 1
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim)
"""

MARK_ALERTED = """
UPDATE events SET alerted_at = :now
 WHERE id = :id AND alerted_at IS NULL AND state IN ('pending', 'in_flight')
"""

OVERDUE = f"""
SELECT {EVENT_COLUMNS} FROM events
 WHERE state IN ('pending', 'in_flight') AND alerted_at IS NULL AND created_at <= :cutoff
 ORDER BY id LIMIT :limit
"""

# Replay keeps the idempotency key (AURA may have seen an earlier attempt) and alerted_at (the
# operator already knows about this event; replaying must not page them again).
REPLAY_DEAD = """
UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = :now, lease_until = NULL
 WHERE state = 'dead'
"""


def statements(script: str) -> Iterator[str]:
    """Split a script into statements (SQLite's own tokenizer decides where one ends)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                yield buffer
            buffer = ""


def uplink_params(record: UplinkRecord, stored_at: float) -> dict[str, Any]:
    """INSERT_UPLINK's parameters that come from the record (the decode outcome is added)."""
    return {
        "network": record.network,
        "dedup_key": record.dedup_key,
        "device": record.device,
        "received_at": record.received_at.isoformat(),
        "payload_hex": record.payload.hex(),
        "port": record.port,
        "sequence": record.sequence,
        "raw_json": json.dumps(record.raw, ensure_ascii=False, default=str),
        "stored_at": stored_at,
    }


def stored_uplink(row: Sequence[Any]) -> StoredUplink:
    (id_, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json) = row[:9]
    status, error, model, template, stored_at = row[9:]
    record = UplinkRecord(
        network=network,
        dedup_key=dedup_key,
        device=device,
        received_at=datetime.fromisoformat(received_at),
        payload=bytes.fromhex(payload_hex),
        raw=json.loads(raw_json),
        port=port,
        sequence=sequence,
    )
    return StoredUplink(id_, record, status, error, model, template, stored_at)
