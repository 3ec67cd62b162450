"""``oyster-sigfox``: Digital Matter Oyster Sigfox (battery GPS tracker).

Sources: https://digitalmatter.helpjuice.com/400886-integration/205-decoding-the-oyster-sigfox-payload-examples
(older copy: https://support.digitalmatter.com/support/solutions/articles/16000061215-decoding-the-oyster-sigfox-payload-examples;
its second longitude, 103.7762054, is a typo for 0x3DDAEF06 / 1e7 = 103.7758214) and
https://support.digitalmatter.com/400886-integration/210-decoding-the-oyster-sigfox-payload-javascript-example-code;
Digital Matter's Sigfox configuration and usage guide ("the Oyster will attempt a GPS fix, then
transmit the results whether or not the fix succeeded"). Byte 0 is a bit field, bit 7 first.

    byte 0      bits 3-0 record type (the selector): 0 GPS position, 1 downlink ACK,
                2 device statistics
    type 0      byte 0: bits 7-6 reserved, bit 5 last fix failed, bit 4 in trip;
                1-4 latitude int32 LE ×1e-7°, 5-8 longitude int32 LE ×1e-7°, 9 heading ×2°,
                10 speed km/h, 11 battery ×25 mV                                (12 bytes)
    type 1      byte 0: bits 7-5 reserved, bit 4 downlink accepted; 1 not documented (kept);
                2 firmware major, 3 firmware minor, 4-11 the downlink data echoed (12 bytes)
    type 2      a bit-packed little-endian table starting at byte 0 bit 4 (uptime, counters, ...)
                whose full layout is not published: the high nibble of byte 0 is kept as
                ``stats_head`` and bytes 1.. as hex ``stats``                   (1-12 bytes)

Variants: one layout per record type; only the statistics record varies in length. Nothing
longer than 12 bytes (one Sigfox uplink) fits.

Choices made here (the project's position policy, docs/design.md §14):
- "Last fix failed" means the coordinates are not a fresh position (the ``fix_failed`` role):
  ``Status("fix_failed")``, never a Location.
- Both coordinates exactly 0 is no fix (``Status("no_fix")``); one zero coordinate is a place.
- Coordinates beyond ±90° / ±180° are a decoder warning and no fix, never an undecodable frame.
- Downlink ACK and statistics records give a ``Status``. Other record types are
  ``UnknownMessageType``; a record cut short is ``ShortFrame``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int8ub, Int32sl, Struct

from decoders.frames import BySelector, Sized
from decoders.model import Model
from decoders.roles import Roles, meaning
from decoders.schema import HexBytes, Layout, Named, Scaled
from decoders.types import Message, Status

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
    "downlink" / HexBytes(8),
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
FRAMES = BySelector(
    {code: Sized(layout) for code, layout in LAYOUTS.items()},
    field="header.record_type",
    offset=0,
    mask=0x0F,
    max_size=MAX_SIZE,
)
ROLES = Roles(
    latitude="latitude",
    longitude="longitude",
    fix_failed="header.last_fix_failed",
    battery_mv="battery_mv",
)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """A position by the roles; a downlink ACK or statistics record as a ``Status``."""
    kind = fields["header"]["record_type"]
    if kind == "downlink_ack":
        verdict = "accepted" if fields["header"].get("downlink_accepted") else "rejected"
        return [Status("downlink_ack", verdict)]
    if kind == "stats":
        return [Status("stats")]
    return meaning(ROLES, fields)


MODEL = Model(
    id=MODEL_ID,
    title="Digital Matter Oyster Sigfox (GPS tracker)",
    network="sigfox",
    source="https://digitalmatter.helpjuice.com/400886-integration/"
    "205-decoding-the-oyster-sigfox-payload-examples",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
)
