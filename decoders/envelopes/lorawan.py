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

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from decoders.envelopes.coerce import Warnings, field, integer, mapping, number, text
from decoders.envelopes.limits import CHIRPSTACK, OFFLINE, TTN, Limits
from decoders.envelopes.lorawan_fields import (
    base64_payload,
    battery_level,
    body_digest,
    decoded_json_text,
    decoded_object,
    decoder_warnings,
    epoch_ms_or_s,
    hex_payload,
    network_fix,
    read_eui,
    rfc3339,
)
from decoders.envelopes.shown import name
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
    ``now`` is the received time when the body has no ``received_at``.

    The ids, ``session_key_id`` and ``f_cnt`` make the dedup key, ``f_port`` and ``frm_payload``
    the frame: invalid, they are an :class:`EnvelopeError`. ``received_at``, ``locations`` and
    ``location_solved`` are optional: invalid, they are dropped with a warning (The Things Stack
    never retries, so refusing the body would lose the press)."""
    body = mapping(body, "body")
    at = "end_device_ids"
    ids = mapping(field(body, at), at)
    application = mapping(field(ids, "application_ids", at=at), f"{at}.application_ids")
    app_id = _required(application, "application_id", TTN, at=f"{at}.application_ids")
    device_id = _required(ids, "device_id", TTN, at=at)
    # dev_eui is absent for ABP devices registered without one; the device id stands in.
    dev_eui = ids.get("dev_eui")
    eui = read_eui(dev_eui, f"{at}.dev_eui") if dev_eui else device_id.upper()
    kind = next((k for k in TTN_MESSAGE_TYPES if k in body), None)
    dropped = Warnings()
    received = dropped.optional(rfc3339, body, "received_at", TTN) or now
    hints = Hints(ttn_application=app_id)
    if kind == "uplink_message":
        message = mapping(body["uplink_message"], "uplink_message")
        at = "uplink_message"
        f_cnt = integer(message, "f_cnt", TTN, required=False, at=at) or 0
        session = text(message, "session_key_id", TTN, required=False, at=at)
        if session is None:
            # No session key (hand-made bodies): the received time stands in for it in the key,
            # so here it is required to be valid.
            rfc3339(body, "received_at", TTN)
            session = f"received:{body.get('received_at')}"
        payload, error = base64_payload(message.get("frm_payload"))
        decoded = dropped.optional(
            decoded_object, message.get("decoded_payload"), "uplink_message.decoded_payload"
        )
        level = dropped.optional(
            battery_level,
            message.get("last_battery_percentage"),
            "uplink_message.last_battery_percentage",
        )
        return Uplink(
            network="lorawan",
            device=eui,
            payload=payload,
            payload_error=error,
            received_at=received,
            dedup_key=f"ttn:{app_id}:{device_id}:{session}:{f_cnt}",
            port=integer(message, "f_port", TTN, required=False, at=at) or 0,
            sequence=f_cnt,
            network_location=_ttn_location(message.get("locations"), received, dropped),
            raw=dict(body),
            hints=hints,
            battery_percent=None if level is None else level[0],
            battery_at=None if level is None else level[1],
            decoded=decoded,
            decoded_warnings=decoder_warnings(message.get("decoded_payload_warnings")),
            warnings=dropped.all(),
        )
    location = None
    if kind == "location_solved":
        location = dropped.optional(_solved_location, body, received)
    return Uplink(
        network="lorawan",
        device=eui,
        payload=b"",
        received_at=received,
        dedup_key=f"ttn:{kind or 'unknown'}:{app_id}:{device_id}:{body_digest(body)}",
        network_location=location,
        raw=dict(body),
        hints=hints,
        kind="location" if location is not None else "other",
        warnings=dropped.all(),
    )


def parse_chirpstack(body: Mapping[str, Any], event: str = "up", *, now: datetime) -> Uplink:
    """A ChirpStack v4 HTTP-integration event (``?event=`` names it); v3 JSON is read too.
    ``now`` is the received time when the body has no ``time``.

    The EUI, ``deduplicationId``, ``fCnt``, ``fPort`` and ``data`` are required to be valid (an
    :class:`EnvelopeError`); the application and device-profile hints, ``time``, a ``location``
    and a status ``batteryLevel`` are dropped with a warning when invalid."""
    body = mapping(body, "body")
    dropped = Warnings()
    info = body.get("deviceInfo")
    if isinstance(info, Mapping):
        eui = read_eui(field(info, "devEui", at="deviceInfo"), "deviceInfo.devEui")
        hints = Hints(
            chirpstack_application=_hint(dropped, info, "applicationId", "deviceInfo"),
            chirpstack_device_profile=_hint(dropped, info, "deviceProfileId", "deviceInfo"),
            chirpstack_application_name=_hint(dropped, info, "applicationName", "deviceInfo"),
            chirpstack_device_profile_name=_hint(dropped, info, "deviceProfileName", "deviceInfo"),
        )
    else:  # ChirpStack v3: top-level devEUI, base64 in its protobuf-JSON mode
        eui = read_eui(field(body, "devEUI"), "devEUI")
        hints = Hints(
            chirpstack_application=_hint(dropped, body, "applicationID", ""),
            chirpstack_application_name=_hint(dropped, body, "applicationName", ""),
        )
    received = dropped.optional(rfc3339, body, "time", CHIRPSTACK) or now
    dedup = text(body, "deduplicationId", CHIRPSTACK, required=False)
    key_tail = dedup if dedup else body_digest(body)
    kind: UplinkKind = "other"
    payload, error, location, battery = b"", None, None, None
    port = sequence = None
    decoded: dict[str, Any] | None = None
    if event == "up":
        kind = "uplink"
        payload, error = base64_payload(body.get("data"))
        if "object" in body:
            decoded = dropped.optional(decoded_object, body.get("object"), "object")
        else:  # ChirpStack v3 sends the codec's output as JSON text
            decoded = dropped.optional(decoded_json_text, body.get("objectJSON"), "objectJSON")
        port = integer(body, "fPort", CHIRPSTACK, required=False) or 0
        sequence = integer(body, "fCnt", CHIRPSTACK, required=False) or 0
    elif event == "location":
        location = dropped.optional(network_fix, body.get("location"), "location", received)
        kind = "location" if location is not None else "other"
    elif event == "status":
        # A device-status report is health news even without a level (mains power, or the
        # level unavailable): the mapping turns it into a heartbeat of the last known level.
        kind = "status"
        if not body.get("batteryLevelUnavailable"):
            battery = dropped.optional(number, body, "batteryLevel", CHIRPSTACK, required=False)
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload,
        payload_error=error,
        received_at=received,
        dedup_key=f"chirpstack:{event}:{key_tail}" if event != "up" else f"chirpstack:{key_tail}",
        port=port,
        sequence=sequence,
        network_location=location,
        raw=dict(body),
        hints=hints,
        kind=kind,
        battery_percent=battery,
        decoded=decoded,
        warnings=dropped.all(),
    )


def parse_helium(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """A Helium Console HTTP integration body; ``now`` stands in for a missing ``reported_at``."""
    body = mapping(body, "body")
    payload = base64_payload(body.get("payload"))
    stamp = number(body, "reported_at", OFFLINE, required=False)
    return _counted("helium", body, field(body, "dev_eui"), "dev_eui", payload, stamp, now)


def parse_loriot(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """A LORIOT ``rx`` message; ``now`` stands in for a missing ``ts``."""
    body = mapping(body, "body")
    if "data" not in body and "encdata" in body:
        raise EnvelopeError("LORIOT sent 'encdata': it has no AppSKey to decrypt", field="data")
    stamp = number(body, "ts", OFFLINE, required=False)
    payload = hex_payload(body.get("data"))
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
    eui = read_eui(eui_value, eui_field)
    f_cnt = integer(body, "fcnt", OFFLINE, required=False) or 0
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload[0],
        payload_error=payload[1],
        received_at=now if stamp is None else epoch_ms_or_s(stamp),
        dedup_key=f"{network}:{eui}:{f_cnt}:{stamp}",
        port=integer(body, "port", OFFLINE, required=False) or 0,
        sequence=f_cnt,
        raw=dict(body),
    )


def parse_thingpark(body: Mapping[str, Any], *, now: datetime) -> Uplink:
    """An Actility ThingPark ``DevEUI_uplink`` body; ``now`` stands in for a missing ``Time``."""
    outer = mapping(body, "body")
    at = "DevEUI_uplink"
    inner = mapping(field(outer, at), at)
    eui = read_eui(field(inner, "DevEUI", at=at), f"{at}.DevEUI")
    f_cnt = integer(inner, "FCntUp", OFFLINE, required=False, at=at) or 0
    payload, error = hex_payload(inner.get("payload_hex"))
    return Uplink(
        network="lorawan",
        device=eui,
        payload=payload,
        payload_error=error,
        received_at=rfc3339(inner, "Time", OFFLINE, at=at) or now,
        dedup_key=f"thingpark:{eui}:{f_cnt}:{inner.get('Time')}",
        port=integer(inner, "FPort", OFFLINE, required=False, at=at) or 0,
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


def _required(body: Mapping[str, Any], name: str, limits: Limits, *, at: str) -> str:
    value = text(body, name, limits, at=at)
    assert value is not None  # required: text() raised for a missing one
    return value


def _hint(dropped: Warnings, body: Mapping[str, Any], name: str, at: str) -> str | None:
    """A template-matching hint; an invalid one is dropped with a warning (then maybe no
    template matches, and the uplink is kept as undecodable, replayable)."""
    return dropped.optional(text, body, name, CHIRPSTACK, required=False, at=at)


def _solved_location(body: Mapping[str, Any], received: datetime) -> Fix | None:
    """The fix of a TTS ``location_solved`` message."""
    solved = mapping(body["location_solved"], "location_solved")
    return network_fix(solved.get("location"), "location_solved.location", received)


def _ttn_location(value: Any, received: datetime, dropped: Warnings) -> Fix | None:
    """A network-solved position from ``uplink_message.locations``: the first valid one, each
    invalid one dropped with a warning. ``user`` is where someone registered the device
    (SOURCE_REGISTRY), not where it is: never taken."""
    if value in (None, "", {}):
        return None
    locations = dropped.optional(mapping, value, "uplink_message.locations")
    for key, location in (locations or {}).items():
        if key == "user":
            continue
        where = f"uplink_message.locations.{name(key)}"
        fix = dropped.optional(network_fix, location, where, received)
        if fix is not None:
            return fix
    return None
