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

from decoders.envelopes.coerce import boolean, epoch_seconds, field, hex_id, integer, number
from decoders.errors import EnvelopeError
from decoders.types import Fix, Hints, Uplink

# computedLocation.status 1 = "location available" (public receivers; the code table itself was
# not retrievable, see the spec). A missing status with coordinates present is taken as usable.
LOCATION_AVAILABLE = 1


def dedup_key(device: str, sequence: int | None, time: datetime | None) -> str:
    seconds = "?" if time is None else str(int(time.timestamp()))
    return f"sigfox:{device}:{'' if sequence is None else sequence}:{seconds}"


def parse_sigfox(body: Mapping[str, Any], *, now: datetime | None = None) -> Uplink:
    """An uplink from a Sigfox DATA (UPLINK/BIDIR) or DATA_ADVANCED callback body.

    Without ``now`` a missing ``time`` is an :class:`EnvelopeError` (the backend always sends
    it). With ``now`` a missing ``time`` is allowed: ``now`` becomes the received time, and the
    dedup key and any network fix say the time is unknown."""
    if not isinstance(body, Mapping):
        raise EnvelopeError("callback body must be an object of Sigfox variables")
    device = hex_id(body, "device")
    time = epoch_seconds(body, "time", required=now is None)
    received = time if time is not None else now
    assert received is not None  # epoch_seconds raised for a missing time when now is None
    sequence = integer(body, "seqNumber", required=False)
    data = field(body, "data", required=False) or ""
    payload, payload_error = _payload(str(data))
    return Uplink(
        network="sigfox",
        device=device,
        payload=payload,
        received_at=received,
        dedup_key=dedup_key(device, sequence, time),
        sequence=sequence,
        network_location=computed_location(body, time),
        raw=dict(body),
        payload_error=payload_error,
        hints=Hints(sigfox_device_type=_device_type(body)),
    )


def _device_type(body: Mapping[str, Any]) -> str | None:
    value = body.get("deviceTypeId")
    return str(value).strip().upper() if value not in (None, "") else None


def wants_downlink(body: Mapping[str, Any]) -> bool:
    """BIDIR: the device asked for a downlink (``{ack}``)."""
    return boolean(body, "ack")


def computed_location(body: Mapping[str, Any], time: datetime | None) -> Fix | None:
    """The Atlas network fix of a DATA_ADVANCED callback, or None when absent/unavailable."""
    location = body.get("computedLocation")
    if location in (None, "", {}):
        return None
    if not isinstance(location, Mapping):
        raise EnvelopeError(
            "field 'computedLocation': expected an object", field="computedLocation"
        )
    status = integer(location, "status", required=False)
    if status is not None and status != LOCATION_AVAILABLE:
        return None
    latitude = number(location, "lat", required=False)
    longitude = number(location, "lng", required=False)
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise EnvelopeError(
            f"field 'computedLocation': coordinates out of range: {latitude}, {longitude}",
            field="computedLocation",
        )
    return Fix(
        latitude=latitude,
        longitude=longitude,
        accuracy_m=number(location, "radius", required=False),
        source="network",
        fixed_at=time,
    )


def _payload(text: str) -> tuple[bytes, str | None]:
    text = text.strip()
    try:
        return bytes.fromhex(text), None
    except ValueError:
        return b"", f"data is not hex: {text[:48]!r}"
