"""What ``/status`` shows, read from the store into plain values for the page's template: the
devices, the events still on their way to AURA, the dead letters, the undecodable uplinks and
AURA's refusals, each the newest ``limit`` with the full count. No Flask here: the view is
computed whole, then rendered (webhook/http/status_page.py)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from decoders.aura import ACTION_NAMES
from decoders.templates import Template
from webhook.aura.answers import event_answer
from webhook.store import EventRow, Newest, SeenDevice, Store, StoredUplink

# How the delivery worker records AURA's 4xx (webhook/delivery/aura_client.py): the status,
# then AURA's body (``{"message": ...}`` by docs/aura-api.md §4.2), cut at 500 characters.
_ANSWERED = re.compile(r"HTTP (\d{3}): (.*)", re.DOTALL)
# A 401 that a fresh token did not cure (the client's own wording).
_UNAUTHORIZED = "unauthorized"
_PAYLOAD_SHOWN = 64  # hex digits of an undecodable payload; the rest is elided


@dataclass(frozen=True, slots=True)
class DeviceLine:
    """One device: the network's id, AURA's ``deviceId`` if linked, when it was last heard, and
    what its state says (None where it has none yet: no uplink of it was decoded)."""

    network: str
    device: str
    aura_device_id: str | None
    template: str | None
    uplinks: int
    last_seen: float
    last_status: str
    battery_percent: int | None
    callout_open: bool | None
    alarm_active: bool | None


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event as an operator reads it: what it tells AURA about which device, and how its
    delivery went so far."""

    id: int
    uplink_id: int
    device_key: str
    device_id: str
    action: str
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str | None
    delivered_at: float | None
    callout_id: Any


@dataclass(frozen=True, slots=True)
class RefusalLine:
    """An event AURA answered with a 4xx, and what AURA said."""

    event: EventLine
    status: int
    message: str


@dataclass(frozen=True, slots=True)
class UplinkLine:
    """An undecodable uplink: enough to recognise it, and why it could not be decoded."""

    id: int
    network: str
    device: str
    received_at: str
    stored_at: float
    payload: str
    port: int | None
    template: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the page shows, each list newest first with its full count."""

    now: float
    limit: int
    counts: Mapping[str, Any]
    devices: Newest[DeviceLine]
    undelivered: Newest[EventLine]
    dead: Newest[EventLine]
    delivered: Newest[EventLine]
    undecodable: Newest[UplinkLine]
    refusals: Newest[RefusalLine]


def read_view(store: Store, templates: Mapping[str, Template], limit: int) -> StatusView:
    """The page's content, read from ``store`` now; ``templates`` name each device's state."""
    counts = store.status()
    events, uplinks = counts["events"], counts["uplinks"]
    open_rows = store.list_events("pending", limit) + store.list_events("in_flight", limit)
    open_rows.sort(key=lambda row: row.id, reverse=True)
    return StatusView(
        now=time.time(),
        limit=limit,
        counts=counts,
        devices=_devices(store, templates, store.seen_devices(limit)),
        undelivered=Newest(
            events["pending"] + events["in_flight"], tuple(map(event_line, open_rows[:limit]))
        ),
        dead=Newest(events["dead"], tuple(map(event_line, store.list_events("dead", limit)))),
        delivered=Newest(
            events["delivered"], tuple(map(event_line, store.list_events("delivered", limit)))
        ),
        undecodable=Newest(
            uplinks["undecodable"],
            tuple(map(uplink_line, store.list_uplinks("undecodable", limit))),
        ),
        refusals=_refusals(store.refusals(limit)),
    )


def state_key(template: Template, network_id: str) -> str:
    """The key of a device's state and queue: the one webhook/ingest.py's plan gives it."""
    return f"{template.device_type_id}:{template.device_id.derive(network_id)}"


def _devices(
    store: Store, templates: Mapping[str, Template], seen: Newest[SeenDevice]
) -> Newest[DeviceLine]:
    keys: dict[int, str] = {}
    for index, device in enumerate(seen.rows):
        template = templates.get(device.template) if device.template else None
        if template is not None:  # a template since renamed or removed names no state
            keys[index] = state_key(template, device.device)
    states = store.device_states(sorted(set(keys.values())))
    lines = []
    for index, device in enumerate(seen.rows):
        state = states.get(keys.get(index, ""))
        lines.append(
            DeviceLine(
                network=device.network,
                device=device.device,
                aura_device_id=device.aura_device_id,
                template=device.template,
                uplinks=device.uplinks,
                last_seen=device.last_seen,
                last_status=device.last_status,
                battery_percent=None if state is None else state.battery_percent,
                callout_open=None if state is None else state.callout_open,
                alarm_active=None if state is None else state.alarm_active,
            )
        )
    return Newest(seen.total, tuple(lines))


def event_line(row: EventRow) -> EventLine:
    try:
        body = json.loads(row.body)
    except ValueError:  # the store keeps what it was given; the page must still render
        body = {}
    body = body if isinstance(body, dict) else {}
    answer = event_answer(row.response) or {}
    return EventLine(
        id=row.id,
        uplink_id=row.uplink_id,
        device_key=row.device_key,
        device_id=str(body.get("device_id", "")),
        action=ACTION_NAMES.get(row.action, str(row.action)),
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        callout_id=answer.get("calloutId"),
    )


def uplink_line(stored: StoredUplink) -> UplinkLine:
    record = stored.record
    payload = record.payload.hex().upper()
    if len(payload) > _PAYLOAD_SHOWN:
        payload = payload[:_PAYLOAD_SHOWN] + "…"
    return UplinkLine(
        id=stored.id,
        network=record.network,
        device=record.device,
        received_at=record.received_at.isoformat(),
        stored_at=stored.stored_at,
        payload=payload,
        port=record.port,
        template=stored.template,
        error=stored.error,
    )


def refusal(last_error: str | None) -> tuple[int, str] | None:
    """AURA's status and message from an event's ``last_error``, if it records a 4xx."""
    if last_error == _UNAUTHORIZED:
        return 401, "unauthorized, even with a fresh token: check [aura] client_id/client_secret"
    found = _ANSWERED.fullmatch(last_error or "")
    if found is None or not found.group(1).startswith("4"):
        return None
    text = found.group(2)
    try:
        body = json.loads(text)
    except ValueError:  # not JSON, or cut short at the excerpt's length: shown as it came
        return int(found.group(1)), text
    said = body.get("message") if isinstance(body, dict) else None
    return int(found.group(1)), said if isinstance(said, str) else text


def _refusals(found: Newest[EventRow]) -> Newest[RefusalLine]:
    lines = []
    for row in found.rows:
        answered = refusal(row.last_error)
        if answered is not None:  # always, by the store's query; checked, not assumed
            lines.append(RefusalLine(event_line(row), *answered))
    return Newest(found.total, tuple(lines))


def when(epoch: float | None) -> str:
    """An instant as the page prints it: UTC, to the second."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(seconds: float) -> str:
    """A duration, roughly, as a person says it: "42 s", "7 min", "3 h", "12 d"."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
