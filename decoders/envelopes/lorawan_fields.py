"""Field readers of the LoRaWAN envelopes (:mod:`decoders.envelopes.lorawan`): EUIs, payload
text, RFC 3339 and epoch times, network fixes. Each refuses with an :class:`EnvelopeError`
naming the field; payload text that is not base64/hex is instead returned as a payload error,
because the uplink is still kept (it might be a panic)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from decoders.envelopes.coerce import as_text, mapping, number, text
from decoders.envelopes.jsontext import load_json
from decoders.envelopes.limits import DECODED, EPOCH_S, POSITION, TTN, Limits, Tree
from decoders.envelopes.shown import printable, shown
from decoders.errors import EnvelopeError
from decoders.position import position
from decoders.types import Fix, FixSource


def read_eui(value: Any, name: str) -> str:
    """An EUI as 16 upper-case hex digits, from hex or (ChirpStack v3 protobuf-JSON) base64."""
    given = as_text(value) or ""
    if len(given) == 16 and all(c in "0123456789abcdefABCDEF" for c in given):
        return given.upper()
    try:
        raw = base64.b64decode(given, validate=True) if len(given) == 12 else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 8:
        return raw.hex().upper()
    message = f"field {name!r}: expected a 16-hex-digit EUI, got {shown(value)}"
    raise EnvelopeError(message, field=name)


def base64_payload(value: Any) -> tuple[bytes, str | None]:
    if value in (None, ""):
        return b"", None  # an empty frame is omitted, like every other empty field
    given = as_text(value)
    try:
        return base64.b64decode(given or "?", validate=True), None
    except (binascii.Error, ValueError):
        return b"", f"payload is not base64: {shown(value)}"


def hex_payload(value: Any) -> tuple[bytes, str | None]:
    given = "" if value is None else as_text(value)
    try:
        return bytes.fromhex("?" if given is None else given), None
    except ValueError:
        return b"", f"payload is not hex: {shown(value)}"


def rfc3339(
    body: Mapping[str, Any], name: str, limits: Limits, *, required: bool = False, at: str = ""
) -> datetime | None:
    """An RFC 3339 time (as these servers write it, up to nine fraction digits) from 1970 to
    the year 9999; a time without a zone is UTC."""
    value = text(body, name, limits, required=required, at=at)
    if value is None:
        return None
    given = value.replace("Z", "+00:00").replace("z", "+00:00")
    # Python 3.11 reads at most 6 fraction digits; these servers send 9.
    if "." in given:
        head, _, rest = given.partition(".")
        zone_at = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        digits, zone = rest[:zone_at], rest[zone_at:]
        given = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(given)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        usable = EPOCH_S.low <= parsed.timestamp() <= EPOCH_S.high
    except (ValueError, OverflowError):
        usable = False
    if not usable:
        where = f"{at}.{name}" if at else name
        raise EnvelopeError(f"field {where!r}: not an RFC 3339 time: {shown(value)}", field=where)
    return parsed


def epoch_ms_or_s(value: float) -> datetime:
    # Helium's page shows milliseconds, an older copy seconds: anything past year 10000 in
    # seconds is milliseconds. The bounds (limits.EPOCH_MS_OR_S) keep both within datetime.
    return datetime.fromtimestamp(value / 1000 if value > EPOCH_S.high else value, tz=UTC)


def network_fix(
    value: Any, where: str, received: datetime, *, source: FixSource = "network"
) -> Fix | None:
    """A network fix: None when absent or (0, 0); :class:`EnvelopeError` naming the part that
    is malformed or out of range."""
    if value is None:
        return None
    location = mapping(value, where)
    latitude = number(location, "latitude", POSITION, required=False, at=where)
    longitude = number(location, "longitude", POSITION, required=False, at=where)
    # The one position policy (docs/design.md §14): 0/0 and the like are no fix.
    return position(
        latitude,
        longitude,
        accuracy_m=number(location, "accuracy", POSITION, required=False, at=where),
        source=source,
        fixed_at=received,
    )


def body_digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:24]


def decoded_object(value: Any, where: str, bounds: Tree = DECODED) -> dict[str, Any] | None:
    """The network's decoded payload (TTS ``decoded_payload``, ChirpStack ``object``): None when
    absent; an :class:`EnvelopeError` naming ``where`` when it is not a JSON object within
    ``bounds`` (then the parser drops it with a warning and keeps the frame).

    Walked without recursion, so a deep object costs a loop, never Python's stack; values must
    be what JSON holds (a caller may hand in any dict, not only parsed text)."""
    if value is None:
        return None
    top = mapping(value, where)
    nodes = 0
    pending: list[tuple[Any, int]] = [(top, 0)]
    while pending:
        item, depth = pending.pop()
        nodes += 1
        if nodes > bounds.nodes:
            raise EnvelopeError(
                f"field {where!r}: more than {bounds.nodes} values in the decoded object",
                field=where,
            )
        if isinstance(item, Mapping):
            children: Any = item.values()
            if any(not isinstance(key, str) or len(key) > bounds.text for key in item):
                raise EnvelopeError(
                    f"field {where!r}: a key is not text of at most {bounds.text} characters",
                    field=where,
                )
        elif isinstance(item, list):
            children = item
        elif isinstance(item, str):
            if len(item) > bounds.text:
                raise EnvelopeError(
                    f"field {where!r}: a text value is longer than {bounds.text} characters",
                    field=where,
                )
            continue
        elif item is None or isinstance(item, bool | int | float):
            if isinstance(item, float) and not math.isfinite(item):
                raise EnvelopeError(f"field {where!r}: {item} is not a JSON number", field=where)
            continue
        else:
            raise EnvelopeError(
                f"field {where!r}: {type(item).__name__} is not a JSON value", field=where
            )
        if depth >= bounds.depth and children:
            raise EnvelopeError(
                f"field {where!r}: nests deeper than {bounds.depth} levels", field=where
            )
        pending.extend((child, depth + 1) for child in children)
    return dict(top)


def decoded_json_text(value: Any, where: str) -> dict[str, Any] | None:
    """ChirpStack v3's ``objectJSON``: the decoded object as JSON *text*."""
    if value in (None, ""):
        return None
    given = as_text(value)
    if given is None:
        raise EnvelopeError(f"field {where!r}: expected JSON text, got {shown(value)}", field=where)
    try:
        parsed = load_json(given, max_depth=DECODED.depth + 1)
    except EnvelopeError as error:
        raise EnvelopeError(f"field {where!r}: {error}", field=where) from None
    return decoded_object(parsed, where)


def battery_level(value: Any, where: str) -> tuple[float, datetime | None] | None:
    """TTS ``last_battery_percentage`` ``{value, f_cnt?, received_at}``: the percent and when the
    device reported it (its own time: the level may come from an earlier uplink)."""
    if value is None:
        return None
    reading = mapping(value, where)
    percent = number(reading, "value", TTN, required=False, at=where)
    at = rfc3339(reading, "received_at", TTN, at=where)
    if percent is None:
        # TTS omits zero values: a reading with its time but no value is 0 %; without either
        # there is no reading at all.
        return None if at is None else (0.0, at)
    return percent, at


MAX_DECODER_WARNINGS = 16


def decoder_warnings(value: Any) -> tuple[str, ...]:
    """TTS ``decoded_payload_warnings``: the payload formatter's warnings, as text (escaped,
    clipped, at most ``MAX_DECODER_WARNINGS``). Never refused: whatever is there, malformed or
    not, says the decoding was doubtful, and dropping it would make the uplink look trusted."""
    if value in (None, [], ""):
        return ()
    items = value if isinstance(value, list) else [value]
    said = [item if isinstance(item, str) else shown(item) for item in items]
    out = [printable(text, 200) for text in said[:MAX_DECODER_WARNINGS]]
    if len(said) > MAX_DECODER_WARNINGS:
        out.append(f"and {len(said) - MAX_DECODER_WARNINGS} more")
    return tuple(out)
