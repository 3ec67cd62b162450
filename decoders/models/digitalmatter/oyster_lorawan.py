"""``oyster-lorawan``: Digital Matter Oyster LoRaWAN (battery GPS tracker; man-down on port 4).

Sources: TheThingsNetwork/lorawan-devices vendor/digital-matter/oyster.js and oyster-codec.yaml
(decoder and its two examples, fix valid and fix failed). Little-endian; the fPort says what the
frame holds:

    port 1   0-3 latitude int32 ×1e-7°, 4-7 longitude int32 ×1e-7°,
             8 bits 7-2 heading ×5.625°, bit 1 fix failed, bit 0 in trip,
             9 speed km/h, 10 battery ×25 mV                                  (11 bytes)
    port 2   downlink ack: 0 bit 7 accepted, bits 6-0 sequence;
             1 firmware major, 2 firmware minor                               (3 bytes)
    port 3   statistics: one 88-bit little-endian bit field, from bit 0: initial battery
             4000 + 100 mV × 4 bits, tx count ×32 (11), trip count ×32 (13), GPS successes ×32
             (10), GPS fails ×32 (8), average fix s (9), average fail s (9), average freshen s
             (8), wake-ups per trip (7), uptime weeks (9)                       (11 bytes)
    port 4   compact: 0-2 latitude int24 ×256e-7°, 3-5 longitude int24 ×256e-7°,
             6 bits 7-3 speed ×5 km/h, bits 2-0 heading ×45°, 7 battery ×25 mV,
             8 bits 7-3 reserved, bit 2 man down, bit 1 fix failed, bit 0 in trip  (9 bytes)

Variants: one fixed layout per fPort (ports 1-4); the port's layout name is ``message_type``.
Other ports are ``UnknownPort``; another length on a port does not fit (``ShortFrame`` /
``TrailingBytes``) unless a port-4 frame's man-down bit can still be read.

Choices made here (the project's position policy, docs/design.md §14):
- A fix flagged "failed" carries the last (cached) coordinates (the vendor decoder moves them
  to ``cached``, with the warning "fix failed"): the ``fix_failed`` role, ``Status("fix_failed")``,
  never a Location, and no fix in an alert.
- Man down is a state (no movement for the configured time), repeated in every port-4 frame
  while it lasts: the ``alarm`` role, ``Alert("man_down", fix, sustained=True)``, whose rising
  edge alone opens a callout; a port-4 frame without it gives ``Status("alarm_clear")``. Port 1
  has no man-down bit, so it says nothing about the alarm.
- Both coordinates exactly 0 is no fix (``Status("no_fix")``); one zero coordinate is a place.
  Coordinates beyond ±90° / ±180° (the vendor defines none) are a decoder warning and no fix on
  both ports, never an undecodable frame: a man-down alarm always gets through.
- Ports 2 and 3 give a ``Status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import (
    BitsInteger,
    BitStruct,
    ByteSwapped,
    Flag,
    Int8ub,
    Int24sl,
    Int32sl,
    Struct,
)

from decoders.frames import ByPort
from decoders.model import Model
from decoders.roles import Roles, meaning
from decoders.schema import Layout, Scaled
from decoders.types import Message, Status

MODEL_ID = "oyster-lorawan"

position = Struct(
    "latitude" / Scaled(Int32sl, 1e-7, valid=(-90, 90)),
    "longitude" / Scaled(Int32sl, 1e-7, valid=(-180, 180)),
    "flags"
    / BitStruct(
        "heading_deg" / Scaled(BitsInteger(6), 5.625), "fix_failed" / Flag, "in_trip" / Flag
    ),
    "speed_kmh" / Int8ub,
    "battery_mv" / Scaled(Int8ub, 25),
)
downlink_ack = Struct(
    "ack" / BitStruct("accepted" / Flag, "sequence" / BitsInteger(7)),
    "firmware_major" / Int8ub,
    "firmware_minor" / Int8ub,
)
stats = Struct(  # a little-endian bit field: swapped, its last field comes first
    "stats"
    / ByteSwapped(
        BitStruct(
            "uptime_weeks" / BitsInteger(9),
            "wakeups_per_trip" / BitsInteger(7),
            "avg_gps_freshen_s" / BitsInteger(8),
            "avg_gps_fail_s" / BitsInteger(9),
            "avg_gps_fix_s" / BitsInteger(9),
            "gps_fails" / Scaled(BitsInteger(8), 32),
            "gps_successes" / Scaled(BitsInteger(10), 32),
            "trip_count" / Scaled(BitsInteger(13), 32),
            "tx_count" / Scaled(BitsInteger(11), 32),
            "initial_battery_mv" / Scaled(BitsInteger(4), 100, offset=4000),
        )
    )
)
compact = Struct(
    "latitude" / Scaled(Int24sl, 256e-7, valid=(-90, 90)),
    "longitude" / Scaled(Int24sl, 256e-7, valid=(-180, 180)),
    "motion"
    / BitStruct(
        "speed_kmh" / Scaled(BitsInteger(5), 5), "heading_deg" / Scaled(BitsInteger(3), 45)
    ),
    "battery_mv" / Scaled(Int8ub, 25),
    "flags"
    / BitStruct(
        "reserved" / BitsInteger(5), "man_down" / Flag, "fix_failed" / Flag, "in_trip" / Flag
    ),
)

LAYOUTS = {
    1: Layout("position", position),
    2: Layout("downlink_ack", downlink_ack),
    3: Layout("stats", stats),
    4: Layout("compact_position", compact),
}
FRAMES = ByPort(LAYOUTS)
ROLES = Roles(
    latitude="latitude",
    longitude="longitude",
    alarm="flags.man_down",  # port 4 only
    fix_failed="flags.fix_failed",
    battery_mv="battery_mv",
    trigger="man_down",
)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """Positions by the roles; a downlink ACK or the statistics as a ``Status``."""
    kind = fields["message_type"]
    if kind == "downlink_ack":
        accepted = (fields.get("ack") or {}).get("accepted")
        return [Status("downlink_ack", "accepted" if accepted else "rejected")]
    if kind == "stats":
        return [Status("stats")]
    return meaning(ROLES, fields)


MODEL = Model(
    id=MODEL_ID,
    title="Digital Matter Oyster LoRaWAN (GPS tracker, man down)",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/digital-matter/oyster.js, oyster-codec.yaml",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
)
