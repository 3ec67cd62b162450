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

Choices made here:
- A fix flagged "failed" carries the last (cached) coordinates: ``Status("fix_failed")``, never
  a Location, and no fix in an alert.
- Man down is a state (no movement for the configured time), repeated in every port-4 frame
  while it lasts: ``Alert("man_down", fix, sustained=True)``, whose rising edge alone opens a
  callout; a port-4 frame without it gives ``Status("alarm_clear")``. Port 1 has no man-down
  bit, so it says nothing about the alarm.
- Port 4 coordinates are never a decode error (an alarm frame must decode): impossible ones are
  no fix. Port 1, which carries no alarm, range-checks them (``ValueOutOfRange``) as the Sigfox
  Oyster does. On both ports 0/0 is no fix (``Status("no_fix")``).
- Ports 2 and 3 give a ``Status``. Other ports are ``UnknownPort``.
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

from decoders.model import Model
from decoders.schema import Layout, Scaled, parse_by_port
from decoders.types import Alert, Battery, Fix, Location, Message, Status

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
    "latitude" / Scaled(Int24sl, 256e-7),
    "longitude" / Scaled(Int24sl, 256e-7),
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
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    return parse_by_port(LAYOUTS, frame, port, MODEL_ID)


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (the port's layout by
    ``message_type``)."""
    return LAYOUT_BY_NAME[fields["message_type"]].build(fields)


def _fix(fields: Mapping[str, Any]) -> Fix | None:
    latitude, longitude = fields["latitude"], fields["longitude"]
    if fields["flags"]["fix_failed"] or abs(latitude) > 90 or abs(longitude) > 180:
        return None
    if latitude == longitude == 0:
        return None
    return Fix(latitude, longitude, source="gps")


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    kind = fields["message_type"]
    if kind == "downlink_ack":
        return [Status("downlink_ack", "accepted" if fields["ack"]["accepted"] else "rejected")]
    if kind == "stats":
        return [Status("stats")]
    fix = _fix(fields)
    failed = fields["flags"]["fix_failed"]
    where: Message = Location(fix) if fix else Status("fix_failed" if failed else "no_fix")
    battery = Battery(voltage_mv=fields["battery_mv"])
    if kind == "position":
        return [where, battery]
    if fields["flags"]["man_down"]:
        head = [Alert("man_down", fix, sustained=True)]
        return [*head, *([] if fix else [where]), battery]
    return [Status("alarm_clear"), where, battery]


MODEL = Model(
    id=MODEL_ID,
    title="Digital Matter Oyster LoRaWAN (GPS tracker, man down)",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/digital-matter/oyster.js, oyster-codec.yaml",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=tuple(LAYOUTS),
)
