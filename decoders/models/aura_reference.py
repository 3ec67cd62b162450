"""``aura-reference``: the AURA reference frame for firmware that can choose its format.

Layout: docs/design.md §7 (one 12-byte Sigfox frame at most; big-endian).

    byte 0      message type: 1 alert, 2 location, 3 cancel, 4 battery
    type 1 & 2  1-4 latitude int32 ×1e-7°, 5-8 longitude int32 ×1e-7°, 9 accuracy ×4 m (FF
                unknown), 10 battery % (FF unknown), 11 flags: bit0 fix is stale, bit1 moving
    type 3      1 reason: 0 user, 1 timeout, 2 remote
    type 4      1 battery %, 2-3 battery mV uint16
An alert with no fix sets latitude = longitude = 0x7FFFFFFF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int8ub, Int16ub, Int32sb, Struct

from decoders.model import Model
from decoders.schema import Layout, Named, Scaled, need, select
from decoders.types import Alert, Battery, Cancel, Fix, Location, Message, Status

MODEL_ID = "aura-reference"
NO_FIX = 0x7FFFFFFF
UNKNOWN = 0xFF

MESSAGE_TYPES = {1: "alert", 2: "location", 3: "cancel", 4: "battery"}
CANCEL_REASONS = {0: "user", 1: "timeout", 2: "remote"}

position = Struct(
    "message_type" / Named(Int8ub, {1: "alert", 2: "location"}),
    "latitude" / Scaled(Int32sb, 1e-7, unknown=NO_FIX, valid=(-90, 90)),
    "longitude" / Scaled(Int32sb, 1e-7, unknown=NO_FIX, valid=(-180, 180)),
    "accuracy_m" / Scaled(Int8ub, 4, unknown=UNKNOWN),
    "battery_percent" / Scaled(Int8ub, unknown=UNKNOWN, valid=(0, 100)),
    "flags" / BitStruct("reserved" / BitsInteger(6), "moving" / Flag, "stale" / Flag),
)
cancel = Struct(
    "message_type" / Named(Int8ub, {3: "cancel"}),
    "reason" / Named(Int8ub, CANCEL_REASONS),
)
battery = Struct(
    "message_type" / Named(Int8ub, {4: "battery"}),
    "battery_percent" / Scaled(Int8ub, valid=(0, 100)),
    "battery_mv" / Int16ub,
)

LAYOUTS = {
    1: Layout("alert", position),
    2: Layout("location", position),
    3: Layout("cancel", cancel),
    4: Layout("battery", battery),
}
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    layout = LAYOUTS.get(frame[0]) if frame else None
    if layout is None:  # the error path names what is wrong; the hot path skips it
        need(frame, 1, model=MODEL_ID, field="message_type")
        layout = select(
            LAYOUTS, frame[0], model=MODEL_ID, field="message_type", offset=0, frame=frame
        )
    return layout.parse(frame, MODEL_ID)


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (``message_type`` by name)."""
    return LAYOUT_BY_NAME[fields["message_type"]].build(fields)


def _fix(fields: Mapping[str, Any]) -> Fix | None:
    if fields["latitude"] is None or fields["longitude"] is None:
        return None
    return Fix(
        latitude=fields["latitude"],
        longitude=fields["longitude"],
        accuracy_m=fields["accuracy_m"],
        source="cached" if fields["flags"]["stale"] else "gps",
    )


def _battery(fields: Mapping[str, Any]) -> list[Message]:
    percent = fields["battery_percent"]
    voltage = fields.get("battery_mv")
    return [] if percent is None and voltage is None else [Battery(percent, voltage)]


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    kind = fields["message_type"]
    if kind == "alert":
        return [Alert("alert", _fix(fields)), *_battery(fields)]
    if kind == "location":
        fix = _fix(fields)
        head: list[Message] = [Location(fix)] if fix else [Status("no_fix")]
        return [*head, *_battery(fields)]
    if kind == "cancel":
        return [Cancel(fields["reason"])]
    return _battery(fields)


MODEL = Model(
    id=MODEL_ID,
    title="AURA reference frame (12-byte Sigfox / any LoRaWAN port)",
    network="any",  # 12 bytes fit a Sigfox frame and any LoRaWAN port
    source="docs/design.md §7",
    parse=parse,
    interpret=interpret,
    build=build,
)
