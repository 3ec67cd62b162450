"""``oyster-sigfox``: Digital Matter Oyster Sigfox (battery GPS tracker).

Sources: https://support.digitalmatter.com/205-decoding-the-oyster-sigfox-payload-examples and
https://support.digitalmatter.com/400886-integration/210-decoding-the-oyster-sigfox-payload-javascript-example-code
(both also on digitalmatter.helpjuice.com). Byte 0 is a bit field, bit 7 first below.

    byte 0      bits 3-0 record type: 0 GPS position, 1 downlink ACK, 2 device statistics
    type 0      byte 0: bits 7-6 reserved, bit 5 last fix failed, bit 4 in trip;
                1-4 latitude int32 LE ×1e-7°, 5-8 longitude int32 LE ×1e-7°, 9 heading ×2°,
                10 speed km/h, 11 battery ×25 mV (12 bytes)
    type 1      byte 0: bits 7-5 reserved, bit 4 downlink accepted; 1 not documented (kept);
                2 firmware major, 3 firmware minor, 4-11 the downlink data echoed (12 bytes)
    type 2      a bit-packed little-endian table starting at byte 0 bit 4 (uptime, counters, ...)
                whose full layout is not published: the high nibble of byte 0 is kept as
                ``stats_head`` and bytes 1.. as hex ``stats`` (1-12 bytes in all)

The device transmits after every fix attempt, successful or not. A record flagged "last fix
failed" carries no fresh position, so it becomes ``Status("fix_failed")`` and never a Location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Bytes, Flag, Int8ub, Int32sl, Struct

from decoders.model import Model
from decoders.schema import Layout, Named, Scaled, at_most, need, select
from decoders.types import Battery, Fix, Location, Message, Status

MODEL_ID = "oyster-sigfox"
MAX_SIZE = 12  # one Sigfox uplink

position = Struct(
    "header"
    / BitStruct(
        "reserved" / BitsInteger(2),
        "last_fix_failed" / Flag,
        "in_trip" / Flag,
        "record_type" / Named(BitsInteger(4), {0: "position"}),
    ),
    "latitude" / Scaled(Int32sl, 1e-7, valid=(-90, 90)),
    "longitude" / Scaled(Int32sl, 1e-7, valid=(-180, 180)),
    "heading_deg" / Scaled(Int8ub, 2),
    "speed_kmh" / Int8ub,
    "battery_mv" / Scaled(Int8ub, 25),
)
downlink_ack = Struct(
    "header"
    / BitStruct(
        "reserved" / BitsInteger(3),
        "downlink_accepted" / Flag,
        "record_type" / Named(BitsInteger(4), {1: "downlink_ack"}),
    ),
    "undocumented" / Int8ub,
    "firmware_major" / Int8ub,
    "firmware_minor" / Int8ub,
    "downlink" / Bytes(8),
)
stats = Struct(
    "header"
    / BitStruct(
        "stats_head" / BitsInteger(4),
        "record_type" / Named(BitsInteger(4), {2: "stats"}),
    ),
)

LAYOUTS = {
    0: Layout("position", position),
    1: Layout("downlink_ack", downlink_ack),
    2: Layout("stats", stats, tail="stats"),
}
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    layout = LAYOUTS.get(frame[0] & 0x0F) if 0 < len(frame) <= MAX_SIZE else None
    if layout is not None:  # the hot path; the checks below name what is wrong
        return layout.parse(frame, MODEL_ID)
    need(frame, 1, model=MODEL_ID, field="header.record_type")
    layout = select(
        LAYOUTS, frame[0] & 0x0F, model=MODEL_ID, field="header.record_type", offset=0, frame=frame
    )
    at_most(frame, MAX_SIZE, model=MODEL_ID)
    return layout.parse(frame, MODEL_ID)


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (record type by name)."""
    data = dict(fields)
    if "downlink" in data:  # parse gives hex text, construct builds from bytes
        data["downlink"] = bytes.fromhex(data["downlink"])
    return LAYOUT_BY_NAME[data["header"]["record_type"]].build(data)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    header = fields["header"]
    kind = header["record_type"]
    if kind == "position":
        head: Message
        if header["last_fix_failed"]:
            head = Status("fix_failed")
        else:
            head = Location(Fix(fields["latitude"], fields["longitude"], source="gps"))
        return [head, Battery(voltage_mv=fields["battery_mv"])]
    if kind == "downlink_ack":
        verdict = "accepted" if header["downlink_accepted"] else "rejected"
        return [Status("downlink_ack", verdict)]
    return [Status("stats")]


MODEL = Model(
    id=MODEL_ID,
    title="Digital Matter Oyster Sigfox (GPS tracker)",
    network="sigfox",
    source="https://support.digitalmatter.com/205-decoding-the-oyster-sigfox-payload-examples",
    parse=parse,
    interpret=interpret,
    build=build,
)
