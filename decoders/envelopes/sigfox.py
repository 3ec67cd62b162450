"""Sigfox backend callback bodies (DATA UPLINK, BIDIR, DATA_ADVANCED) -> :class:`Uplink`.

Variables and their types: ``docs/networks.md`` §1.3 (support.sigfox.com/docs/uplink,
/docs/data-advanced). ``time`` is epoch seconds; ``seqNumber`` is optional ("if available") and
wraps at 4096, so the natural key is (device, seqNumber, time) — the same for the UPLINK and the
DATA_ADVANCED callbacks of one message.

The backend always sends ``time``, so :func:`parse_sigfox` requires it, as the webhook must.
Saved bodies may lack it (hand-written captures): a caller reading those passes ``now``, the
received time it wants for them. This module never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from decoders.envelopes.coerce import (
    Warnings,
    boolean,
    epoch_seconds,
    field,
    hex_id,
    integer,
    mapping,
    number,
    text,
)
from decoders.envelopes.limits import SIGFOX, SIGFOX_LOCATION
from decoders.envelopes.shown import shown
from decoders.errors import EnvelopeError
from decoders.position import position
from decoders.types import Fix, Hints, Uplink

# computedLocation.status 1 = "location available" (public receivers; the code table itself was
# not retrievable, see the spec). A missing status with coordinates present is taken as usable.
LOCATION_AVAILABLE = 1
# Network metadata (NETWORK METADATA option), read by nothing: only checked, to warn.
METADATA = ("rssi", "snr", "station")


def dedup_key(device: str, sequence: int | None, time: datetime | None) -> str:
    seconds = "?" if time is None else str(int(time.timestamp()))
    return f"sigfox:{device}:{'' if sequence is None else sequence}:{seconds}"


def parse_sigfox(body: Mapping[str, Any], *, now: datetime | None = None) -> Uplink:
    """An uplink from a Sigfox DATA (UPLINK/BIDIR) or DATA_ADVANCED callback body.

    Without ``now`` a missing ``time`` is an :class:`EnvelopeError` (the backend always sends
    it). With ``now`` a missing ``time`` is allowed: ``now`` becomes the received time, and the
    dedup key and any network fix say the time is unknown.

    ``device``, ``time`` and ``seqNumber`` make the dedup key: invalid, they are an
    :class:`EnvelopeError`. ``computedLocation`` and ``deviceTypeId`` are optional: invalid, they
    are dropped with a warning (``Uplink.warnings``) and the frame is kept."""
    if not isinstance(body, Mapping):
        raise EnvelopeError("callback body must be an object of Sigfox variables", field="body")
    device = hex_id(body, "device", SIGFOX)
    time = epoch_seconds(body, "time", SIGFOX, required=now is None)
    received = time if time is not None else now
    assert received is not None  # epoch_seconds raised for a missing time when now is None
    sequence = integer(body, "seqNumber", SIGFOX, required=False)
    payload, payload_error = _payload(field(body, "data", required=False))
    dropped = Warnings()
    location = dropped.optional(computed_location, body, time)
    device_type = dropped.optional(_device_type, body)
    dropped.check(body, SIGFOX, METADATA)
    return Uplink(
        network="sigfox",
        device=device,
        payload=payload,
        received_at=received,
        dedup_key=dedup_key(device, sequence, time),
        sequence=sequence,
        network_location=location,
        raw=dict(body),
        payload_error=payload_error,
        hints=Hints(sigfox_device_type=device_type),
        warnings=dropped.all(),
    )


def _device_type(body: Mapping[str, Any]) -> str | None:
    value = text(body, "deviceTypeId", SIGFOX, required=False)
    return None if value is None else value.upper()


def wants_downlink(body: Mapping[str, Any]) -> bool:
    """BIDIR: the device asked for a downlink (``{ack}``)."""
    return boolean(body, "ack")


def computed_location(body: Mapping[str, Any], time: datetime | None) -> Fix | None:
    """The Atlas network fix of a DATA_ADVANCED callback, or None when absent/unavailable;
    :class:`EnvelopeError` naming the part that is malformed or out of range."""
    location = body.get("computedLocation")
    if location in (None, "", {}):
        return None
    location = mapping(location, "computedLocation")
    at = "computedLocation"
    status = integer(location, "status", SIGFOX_LOCATION, required=False, at=at)
    if status is not None and status != LOCATION_AVAILABLE:
        return None
    latitude = number(location, "lat", SIGFOX_LOCATION, required=False, at=at)
    longitude = number(location, "lng", SIGFOX_LOCATION, required=False, at=at)
    # The one position policy (docs/design.md §14): 0/0 and the like are no fix.
    return position(
        latitude,
        longitude,
        accuracy_m=number(location, "radius", SIGFOX_LOCATION, required=False, at=at),
        source="network",
        fixed_at=time,
    )


def _payload(value: Any) -> tuple[bytes, str | None]:
    """The frame from ``data``; text that is not hex is kept as a payload error (the uplink is
    stored as undecodable: it might be a panic)."""
    if value is None:
        return b"", None
    if not isinstance(value, str | int) or isinstance(value, bool):
        return b"", f"data is not hex: {shown(value)}"
    text = str(value).strip() if isinstance(value, str) or value.bit_length() <= 128 else "?"
    try:
        return bytes.fromhex(text), None
    except ValueError:
        return b"", f"data is not hex: {shown(text)}"
