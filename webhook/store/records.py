"""The rows of the store as Python values, shared by every backend: what an accepted uplink is
stored as, what decoding made of it, and one outbox event. The tables behind them are described
in ``migrations/sqlite/0001_initial.sql``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from decoders.types import Uplink

UplinkStatus = Literal["decoded", "undecodable", "ignored"]
EventState = Literal["pending", "in_flight", "delivered", "dead"]
EVENT_STATES: tuple[EventState, ...] = ("pending", "in_flight", "delivered", "dead")
UPLINK_STATUSES: tuple[UplinkStatus, ...] = ("decoded", "undecodable", "ignored")
T = TypeVar("T")


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
    # Optional parts of the body that were invalid and dropped (docs/design.md §14).
    warnings: tuple[Mapping[str, str], ...] = ()

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
            "warnings": [dict(w) for w in r.warnings],
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


@dataclass(frozen=True, slots=True)
class Newest(Generic[T]):
    """The newest rows of a list, at most the limit asked, and how many there are in all (the
    status page shows both: a bounded list never hides how long the real one is)."""

    total: int
    rows: tuple[T, ...]


def store_status(
    by_state: Iterable[tuple[str, int]],
    by_status: Iterable[tuple[str, int]],
    oldest_open_at: float | None,
    now: float,
) -> dict[str, Any]:
    """``Store.status()`` from its three reads: every event state and uplink status counted
    (0 where the store has none), and the age of the oldest open event."""
    return {
        "events": dict.fromkeys(EVENT_STATES, 0) | dict(by_state),
        "uplinks": dict.fromkeys(UPLINK_STATUSES, 0) | dict(by_status),
        "oldest_undelivered_age_s": None if oldest_open_at is None else now - oldest_open_at,
    }


@dataclass(frozen=True, slots=True)
class SeenDevice:
    """A network device as the stored uplinks know it (the status page's devices): how many of
    its uplinks are kept, when the newest was stored and what became of it, the template of its
    newest uplink that had one (the template names the key of its state), and the ``deviceId``
    AURA gave it if it is linked."""

    network: str
    device: str
    uplinks: int
    last_seen: float
    last_status: UplinkStatus
    template: str | None
    aura_device_id: str | None


# The columns of an ``uplinks`` row in the order :func:`stored_uplink` reads them.
UPLINK_COLUMNS = (
    "id",
    "network",
    "dedup_key",
    "device",
    "received_at",
    "payload_hex",
    "port",
    "sequence",
    "raw_json",
    "status",
    "error",
    "model",
    "template",
    "stored_at",
    "warnings_json",
)


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
        "raw_json": json_text(record.raw),
        "stored_at": stored_at,
        "warnings_json": json_text([dict(w) for w in record.warnings]),
    }


def json_text(value: Any) -> str:
    """JSON for a TEXT column: non-ASCII kept as it is, unless the value holds text that is not
    valid Unicode (a lone surrogate, which a JSON ``"\\ud800"`` escape produces) and so cannot
    be UTF-8, which SQLite requires: then every non-ASCII character is escaped, which loses
    nothing (the JSON reads back the same)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, default=str)
    return text


def stored_uplink(row: Sequence[Any]) -> StoredUplink:
    (id_, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json) = row[:9]
    status, error, model, template, stored_at, warnings_json = row[9:]
    record = UplinkRecord(
        network=network,
        dedup_key=dedup_key,
        device=device,
        received_at=datetime.fromisoformat(received_at),
        payload=bytes.fromhex(payload_hex),
        raw=json.loads(raw_json),
        port=port,
        sequence=sequence,
        warnings=tuple(json.loads(warnings_json)),
    )
    return StoredUplink(id_, record, status, error, model, template, stored_at)


@dataclass(frozen=True, slots=True)
class DeviceLink:
    """A device linked to an AURA customer: what was asked, and the ``device_id`` AURA derived
    (the ``device_id`` of every event of the device)."""

    network_id: str
    serial: str
    device_id: str
    customer_id: int
    supplier: str
    device_type: int | None = None
    alias: str | None = None
    firmware: str | None = None
    answer: Mapping[str, Any] = field(default_factory=dict)
    linked_at: float | None = None
    updated_at: float | None = None

    def to_row(self, now: float) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "serial": self.serial,
            "device_id": self.device_id,
            "customer_id": self.customer_id,
            "supplier": self.supplier,
            "device_type": self.device_type,
            "alias": self.alias,
            "firmware": self.firmware,
            "answer_json": json.dumps(self.answer, ensure_ascii=False),
            "now": now,
        }

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> DeviceLink:
        network_id, serial, device_id, customer_id, supplier, device_type, alias = row[:7]
        firmware, answer_json, linked_at, updated_at = row[7:]
        return cls(
            network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
            json.loads(answer_json), linked_at, updated_at,
        )  # fmt: skip

    def as_json(self) -> dict[str, Any]:
        """The local registry's view (``devices list``)."""
        return {
            "serial": self.serial,
            "networkId": self.network_id,
            "deviceId": self.device_id,
            "customerId": self.customer_id,
            "deviceSupplier": self.supplier,
            "deviceType": self.device_type,
            "alias": self.alias,
            "firmwareVersion": self.firmware,
            "linkedAt": self.linked_at,
            "updatedAt": self.updated_at,
        }


def merged_warnings(stored_json: str | None, warnings: Sequence[Mapping[str, Any]]) -> str:
    """An uplink's warnings after decoding it again: the envelope's kept, the earlier decode's
    replaced by ``warnings`` (the JSON for ``warnings_json``)."""
    kept = [w for w in json.loads(stored_json or "[]") if w.get("source") != "decoder"]
    return json_text([*kept, *(dict(w) for w in warnings)])
