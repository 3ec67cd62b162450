"""LoRaWAN network-server bodies -> :class:`Uplink` (docs/networks.md §2).

The Things Stack v3 and ChirpStack v4 reach the webhook; Helium, LORIOT and ThingPark bodies are
read for offline decoding. These servers omit fields whose value is 0, "" or false, so a missing
``f_cnt``/``f_port`` means 0. Device EUIs become upper-case hex (ChirpStack v3 sends base64).

Every parser takes the caller's ``now`` (keyword-only, required): it is the received time of a
body that carries none. This module never reads a clock, so a saved body parses the same way
every time, and the webhook and the CLI decide what "now" is.

Natural keys (docs/reliability.md §6.1 rule 3): ChirpStack ``deduplicationId``; The Things Stack
(application_id, device_id, session_key_id, f_cnt) — a re-join starts a new session, so the same
f_cnt after it is a new uplink.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from decoders.envelopes.coerce import field, integer, number
from decoders.errors import EnvelopeError
from decoders.types import Fix, Hints, Uplink, UplinkKind

TTN_MESSAGE_TYPES = (
    "uplink_message",
    "uplink_normalized",
    "join_accept",
    "downlink_ack",
    "downlink_nack",
    "downlink_sent",
    "downlink_failed",
    "downlink_queued",
    "downlink_queue_invalidated",
    "location_solved",
    "service_data",
)


class BodyParser(Protocol):
    """What :func:`detect` returns: one network's parser, called as ``parser(body, now=now)``."""

    def __call__(self, body: Mapping[str, Any], *, now: datetime) -> Uplink: ...


def parse_ttn(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """A The Things Stack v3 webhook body (any message type; only uplinks carry a frame).
    ``now`` is the received time when the body has no ``received_at``."""
    body = _object(body, "body")
    ids = _object(field(body, "end_device_ids"), "end_device_ids")
    application = _object(field(ids, "application_ids"), "end_device_ids.application_ids")
    app_id = str(field(application, "application_id"))
    device_id = str(field(ids, "device_id"))
    # dev_eui is absent for ABP devices registered without one; the device id stands in.
    dev_eui = ids.get("dev_eui")
    eui = _eui(dev_eui, "end_device_ids.dev_eui") if dev_eui else device_id.upper()
    kind = next((k for k in TTN_MESSAGE_TYPES if k in body), None)
    received = _rfc3339(body, "received_at", required=False) or now
    hints = Hints(ttn_application=app_id)
    if kind == "uplink_message":
        message = _object(body["uplink_message"], "uplink_message")
        f_cnt = integer(message, "f_cnt", required=False) or 0
        session = message.get("session_key_id") or f"received:{body.get('received_at')}"
        payload, error = _base64(message.get("frm_payload"))
        return Uplink(
            network="lorawan",
            device=eui,
            payload=payload,
            payload_error=error,
            received_at=received,
            dedup_key=f"ttn:{app_id}:{device_id}:{session}:{f_cnt}",
            port=integer(message, "f_port", required=False) or 0,
            sequence=f_cnt,
            network_location=_ttn_location(message.get("locations"), received, user_ok=False),
            raw=dict(body),
            hints=hints,
        )
    location = None
    if kind == "location_solved":
        solved = _object(body["location_solved"], "location_solved")
        location = _fix(solved.get("location"), "location_solved.location", received)
    return Uplink(
        network="lorawan",
        device=eui,
        payload=b"",
        received_at=received,
        dedup_key=f"ttn:{kind or 'unknown'}:{app_id}:{device_id}:{_digest(body)}",
        network_location=location,
        raw=dict(body),
        hints=hints,
        kind="location" if location is not None else "other",
    )


def parse_chirpstack(body: Mapping[str, Any], event: str = "up", *, now: datetime) -> Uplink:
    """A ChirpStack v4 HTTP-integration event (``?event=`` names it); v3 JSON is read too.
    ``now`` is the received time when the body has no ``time``."""
    body = _object(body, "body")
    info = body.get("deviceInfo")
    if isinstance(info, Mapping):
        eui = _eui(field(info, "devEui"), "deviceInfo.devEui")
        hints = Hints(
            chirpstack_application=_optional_str(info.get("applicationId")),
            chirpstack_device_profile=_optional_str(info.get("deviceProfileId")),
        )
    else:  # ChirpStack v3: top-level devEUI, base64 in its protobuf-JSON mode
        eui = _eui(field(body, "devEUI"), "devEUI")
        hints = Hints(chirpstack_application=_optional_str(body.get("applicationID")))
    received = _rfc3339(body, "time", required=False) or now
    dedup = body.get("deduplicationId")
    key_tail = str(dedup) if dedup else _digest(body)
    kind: UplinkKind = "other"
    payload, error, location, battery = b"", None, None, None
    if event == "up":
        kind = "uplink"
        payload, error = _base64(body.get("data"))
    elif event == "location":
        location = _fix(body.get("location"), "location", received, source="network")
        kind = "location" if location is not None else "other"
    elif event == "status":
        # A device-status report is health news even without a level (mains power, or the
        # level unavailable): the mapping turns it into a heartbeat of the last known level.
        kind = "status"
        if not body.get("batteryLevelUnavailable"):
            battery = number(body, "batteryLevel", required=False)
    f_cnt = integer(body, "fCnt", required=False) or 0
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload,
        payload_error=error,
        received_at=received,
        dedup_key=f"chirpstack:{event}:{key_tail}" if event != "up" else f"chirpstack:{key_tail}",
        port=(integer(body, "fPort", required=False) or 0) if event == "up" else None,
        sequence=f_cnt if event == "up" else None,
        network_location=location,
        raw=dict(body),
        hints=hints,
        kind=kind,
        battery_percent=battery,
    )


def parse_helium(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """A Helium Console HTTP integration body; ``now`` stands in for a missing ``reported_at``."""
    body = _object(body, "body")
    payload = _base64(body.get("payload"))
    stamp = number(body, "reported_at", required=False)
    return _counted("helium", body, field(body, "dev_eui"), "dev_eui", payload, stamp, now)


def parse_loriot(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """A LORIOT ``rx`` message; ``now`` stands in for a missing ``ts``."""
    body = _object(body, "body")
    if "data" not in body and "encdata" in body:
        raise EnvelopeError("LORIOT sent 'encdata': it has no AppSKey to decrypt", field="data")
    stamp = number(body, "ts", required=False)
    payload = _hex(body.get("data"))
    return _counted("loriot", body, field(body, "EUI"), "EUI", payload, stamp, now)


def _counted(
    network: str,
    body: Mapping[str, Any],
    eui_value: Any,
    eui_field: str,
    payload: tuple[bytes, str | None],
    stamp: float | None,
    now: datetime,
) -> Uplink:
    """Helium and LORIOT: ``fcnt``/``port`` keys, an epoch stamp, keyed by (EUI, fcnt, stamp)."""
    eui = _eui(eui_value, eui_field)
    f_cnt = integer(body, "fcnt", required=False) or 0
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload[0],
        payload_error=payload[1],
        received_at=now if stamp is None else _epoch_ms_or_s(stamp),
        dedup_key=f"{network}:{eui}:{f_cnt}:{stamp}",
        port=integer(body, "port", required=False) or 0,
        sequence=f_cnt,
        raw=dict(body),
    )


def parse_thingpark(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """An Actility ThingPark ``DevEUI_uplink`` body; ``now`` stands in for a missing ``Time``."""
    outer = _object(body, "body")
    inner = _object(field(outer, "DevEUI_uplink"), "DevEUI_uplink")
    eui = _eui(field(inner, "DevEUI"), "DevEUI_uplink.DevEUI")
    f_cnt = integer(inner, "FCntUp", required=False) or 0
    payload, error = _hex(inner.get("payload_hex"))
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload,
        payload_error=error,
        received_at=_rfc3339(inner, "Time", required=False) or now,
        dedup_key=f"thingpark:{eui}:{f_cnt}:{inner.get('Time')}",
        port=integer(inner, "FPort", required=False) or 0,
        sequence=f_cnt,
        raw=dict(outer),
    )


def detect(body: Mapping[str, Any]) -> BodyParser | None:
    """The parser for a saved body, recognised by the keys only that network uses."""
    if not isinstance(body, Mapping):
        return None
    if "end_device_ids" in body:
        return parse_ttn
    if "deviceInfo" in body or "deduplicationId" in body or "devEUI" in body:
        return parse_chirpstack
    if "DevEUI_uplink" in body:
        return parse_thingpark
    if "EUI" in body and body.get("cmd") in ("rx", "gw"):
        return parse_loriot
    if "dev_eui" in body and "payload" in body:
        return parse_helium
    return None


# -- field readers ---------------------------------------------------------------------------


def _object(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise EnvelopeError(f"field {name!r}: expected an object", field=name)
    return value


def _optional_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _eui(value: Any, name: str) -> str:
    """An EUI as 16 upper-case hex digits, from hex or (ChirpStack v3 protobuf-JSON) base64."""
    text = str(value).strip()
    if len(text) == 16 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.upper()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 8:
        return raw.hex().upper()
    raise EnvelopeError(f"field {name!r}: expected a 16-hex-digit EUI, got {value!r}", field=name)


def _base64(value: Any) -> tuple[bytes, str | None]:
    if value in (None, ""):
        return b"", None  # an empty frame is omitted, like every other empty field
    try:
        return base64.b64decode(str(value), validate=True), None
    except (binascii.Error, ValueError):
        return b"", f"payload is not base64: {str(value)[:48]!r}"


def _hex(value: Any) -> tuple[bytes, str | None]:
    try:
        return bytes.fromhex(str(value or "")), None
    except ValueError:
        return b"", f"payload is not hex: {str(value)[:48]!r}"


def _rfc3339(body: Mapping[str, Any], name: str, *, required: bool) -> datetime | None:
    value = field(body, name, required=required)
    if value is None:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    # Python 3.11 reads at most 6 fraction digits; these servers send 9.
    if "." in text:
        head, _, rest = text.partition(".")
        zone_at = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        digits, zone = rest[:zone_at], rest[zone_at:]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        message = f"field {name!r}: not an RFC 3339 time: {value!r}"
        raise EnvelopeError(message, field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch_ms_or_s(value: float) -> datetime:
    # Helium's page shows milliseconds, an older copy seconds: anything past year 10000 in
    # seconds is milliseconds.
    return datetime.fromtimestamp(value / 1000 if value > 253_402_300_799 else value, tz=UTC)


def _fix(value: Any, name: str, received: datetime, *, source: str = "network") -> Fix | None:
    if not isinstance(value, Mapping):
        return None
    latitude = number(value, "latitude", required=False)
    longitude = number(value, "longitude", required=False)
    if latitude is None or longitude is None or (latitude == 0 and longitude == 0):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise EnvelopeError(f"field {name!r}: coordinates out of range", field=name)
    return Fix(
        latitude=latitude,
        longitude=longitude,
        accuracy_m=number(value, "accuracy", required=False),
        source=source,  # type: ignore[arg-type]
        fixed_at=received,
    )


def _ttn_location(value: Any, received: datetime, *, user_ok: bool) -> Fix | None:
    """A network-solved position from ``uplink_message.locations``. ``user`` is where someone
    registered the device (SOURCE_REGISTRY), not where it is: kept out unless asked for."""
    if not isinstance(value, Mapping):
        return None
    for key, location in value.items():
        if key == "user" and not user_ok:
            continue
        fix = _fix(location, f"uplink_message.locations.{key}", received)
        if fix is not None:
            return fix
    return None


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]
