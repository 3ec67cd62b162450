"""``dragino-lgt92``: Dragino LGT-92 LoRaWAN GPS tracker with an alarm (SOS) button.

Sources: TheThingsNetwork/lorawan-devices vendor/dragino/lgt92.js and lgt92-codec.yaml (decoder
and example), and the Dragino LGT-92 user manual (uplink payload notes; downlink 0x02 "exit
alarm"). fPort 2 only, big-endian.

    bytes 0-3    latitude int32 ×1e-6°
    bytes 4-7    longitude int32 ×1e-6°
    byte 8       bit 7 reserved, bit 6 alarm (SOS); bits 5-0 and byte 9: battery mV (14 bits)
    byte 10      bits 7-6 motion mode (0 disable, 1 move, 2 collide, 3 user), bit 5 LED on,
                 bits 4-0 firmware, version = 160 + value
    bytes 11-12  roll int16 ×0.01°            bytes 13-14  pitch int16 ×0.01°
    byte 15      HDOP ×0.01                    bytes 16-17  altitude int16 ×0.01 m (optional)

Choices made here:
- 16 or 18 bytes: the vendor's own example has 16 (no altitude), the decoder reads 18. Fewer
  than 16 is ``ShortFrame``; 17 is ``TrailingBytes`` naming ``altitude_m``; more than 18 is
  ``TrailingBytes``.
- The alarm bit is a state, repeated in every frame until the alarm is left (the manual's "exit
  alarm" downlink): set gives ``Alert("sos", fix, sustained=True)``, whose rising edge alone opens
  a callout (its fix updates the callout afterwards, so no separate Location goes with it); clear
  gives ``Status("alarm_clear")`` and then the position.
- Placeholder positions are no fix (``Status("no_fix")``, an Alert without a fix): latitude or
  longitude 0 (the manual: GPS timeout sends zeros) and impossible values (the manual's low-power
  "GPS off" filler 0x0FFFFF… is beyond 90°/180°). The vendor decoder's shortcut (latitude = 0
  whenever byte 0 is 0) is not copied: it would also drop every real fix from 0° to 16.77° N/E.
- Coordinates are never a decode error: an alarm frame decodes whatever the GPS wrote.
- Roll, pitch and altitude are signed (the vendor decoder reads them unsigned); the motion mode
  is decoded from its two bits (the vendor decoder always says "Disable", a precedence bug).
- The battery is reported in mV; the template's curve turns it into percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int8ub, Int16sb, Int32sb, Struct

from decoders.model import Model
from decoders.schema import Layout, Named, Scaled, short_or_long
from decoders.types import Alert, Battery, Fix, Location, Message, Status

MODEL_ID = "dragino-lgt92"
PORT = 2
MOTION_MODES = {0: "disable", 1: "move", 2: "collide", 3: "user"}
# Dragino's alarm + battery word, shared with the TrackerD
ALARM_BATTERY = BitStruct(
    "reserved" / BitsInteger(1), "alarm" / Flag, "battery_mv" / BitsInteger(14)
)

FIELDS = (
    "latitude" / Scaled(Int32sb, 1e-6),
    "longitude" / Scaled(Int32sb, 1e-6),
    "status" / ALARM_BATTERY,
    "mode"
    / BitStruct(
        "motion_mode" / Named(BitsInteger(2), MOTION_MODES),
        "led_on" / Flag,
        "firmware" / Scaled(BitsInteger(5), offset=160),
    ),
    "roll_deg" / Scaled(Int16sb, 0.01),
    "pitch_deg" / Scaled(Int16sb, 0.01),
    "hdop" / Scaled(Int8ub, 0.01),
)
SHORT = Layout("position", Struct(*FIELDS))
LONG = Layout("position_altitude", Struct(*FIELDS, "altitude_m" / Scaled(Int16sb, 0.01)))


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    return short_or_long(SHORT, LONG, frame, model=MODEL_ID, field="altitude_m")


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (18 bytes with ``altitude_m``)."""
    return (LONG if "altitude_m" in fields else SHORT).build(fields)


def gps_fix(latitude: float, longitude: float) -> Fix | None:
    """The position, or None for Dragino's placeholders (a zero or impossible coordinate)."""
    if latitude == 0 or longitude == 0 or abs(latitude) > 90 or abs(longitude) > 180:
        return None
    return Fix(latitude, longitude, source="gps")


def alarm_messages(
    status: Mapping[str, Any], fix: Fix | None, *, positioned: bool = True
) -> list[Message]:
    """What a Dragino alarm + battery word means, with the frame's fix if it carries a position
    (``positioned``); shared by the LGT-92 and the TrackerD."""
    battery = Battery(voltage_mv=status["battery_mv"])
    if status["alarm"]:
        return [Alert("sos", fix, sustained=True), battery]
    where: list[Message] = [Location(fix) if fix else Status("no_fix")] if positioned else []
    return [Status("alarm_clear"), *where, battery]


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    return alarm_messages(fields["status"], gps_fix(fields["latitude"], fields["longitude"]))


MODEL = Model(
    id=MODEL_ID,
    title="Dragino LGT-92 LoRaWAN GPS tracker (alarm button)",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/dragino/lgt92.js, lgt92-codec.yaml",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=(PORT,),
)
