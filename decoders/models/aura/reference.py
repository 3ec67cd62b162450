"""``aura-reference``: the AURA reference frame for firmware that can choose its format.

Layout: docs/design.md §7 (one 12-byte Sigfox frame at most; big-endian).

    byte 0      message type (the selector): 1 alert, 2 location, 3 cancel, 4 battery
    type 1 & 2  1-4 latitude int32 ×1e-7°, 5-8 longitude int32 ×1e-7°, 9 accuracy ×4 m (FF
                unknown), 10 battery % (FF unknown), 11 flags: bit0 fix is stale, bit1 moving
                                                                                (12 bytes)
    type 3      1 reason: 0 user, 1 timeout, 2 remote                          (2 bytes)
    type 4      1 battery %, 2-3 battery mV uint16                             (4 bytes)

An alert with no fix sets latitude = longitude = 0x7FFFFFFF.

Variants: one fixed layout per message type; any other length does not fit.

Choices made here (docs/design.md §14):
- Positions follow the project's position policy (:mod:`decoders.position`): the 0x7FFFFFFF
  sentinel, both coordinates 0, or beyond ±90° / ±180° is no fix; a stale fix is ``cached``
  (shown, never sent to AURA as the wearer's current place).
- Out-of-range values (coordinates, battery over 100 %, an undefined cancel reason) are decoder
  warnings, never an undecodable frame: an alert always gets through, even cut short. A cancel
  with a warning gives ``Cancel("unknown")``, and a frame with warnings is not trusted to stand
  a callout down (the mapping drops it).
- An undefined message type is ``UnknownMessageType``; any other frame that does not fit its
  layout's length and is not an alert is ``ShortFrame`` / ``TrailingBytes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int8ub, Int16ub, Int32sb, Struct

from decoders.frames import BySelector, Sized
from decoders.model import Model
from decoders.position import position as policy
from decoders.schema import Layout, Named, Scaled
from decoders.types import Alert, Battery, Cancel, Fix, Location, Message, Status

MODEL_ID = "aura-reference"
NO_FIX = 0x7FFFFFFF
UNKNOWN = 0xFF
MAX_SIZE = 12  # one Sigfox uplink

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
FRAMES = BySelector(
    {code: Sized(layout) for code, layout in LAYOUTS.items()},
    field="message_type",
    offset=0,
    max_size=MAX_SIZE,
)


def _fix(fields: Mapping[str, Any]) -> Fix | None:
    flags = fields.get("flags") or {}
    return policy(
        fields.get("latitude"),
        fields.get("longitude"),
        accuracy_m=fields.get("accuracy_m"),
        cached=bool(flags.get("stale")),
    )


def _battery(fields: Mapping[str, Any]) -> list[Message]:
    percent = fields.get("battery_percent")
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
        return [Cancel(fields.get("reason") or "unknown")]
    return _battery(fields)


MODEL = Model(
    id=MODEL_ID,
    title="AURA reference frame (12-byte Sigfox / any LoRaWAN port)",
    network="any",  # 12 bytes fit a Sigfox frame and any LoRaWAN port
    source="docs/design.md §7",
    frames=FRAMES,
    interpret=interpret,
)
