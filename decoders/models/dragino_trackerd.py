"""``dragino-trackerd``: Dragino TrackerD LoRaWAN tracker (GPS, Wi-Fi, BLE; alarm button).

Sources: TheThingsNetwork/lorawan-devices vendor/dragino/trackerd.js and trackerd-codec.yaml
(decoder and example), and the Dragino TrackerD user manual (wiki.dragino.com: port 3 is "the
first 11 bytes of port 2"). Big-endian. The fPort says what the frame holds:

    port 2   0-3 latitude int32 ×1e-6°, 4-7 longitude int32 ×1e-6°,
             8-9 alarm + battery: bit 15 reserved, bit 14 alarm (SOS), bits 13-0 battery mV,
             10 bits 7-6 motion mode, bit 5 LED on, bit 4 moving, bits 3-0 reserved,
             11-12 humidity ×0.1 %, 13-14 temperature int16 ×0.1 °C          (15 bytes)
    port 3   port 2 without humidity and temperature                          (11 bytes)
    port 4   0-7 latitude, longitude as port 2; 8-9 year, 10 month, 11 day,
             12 hour, 13 minute, 14 second                                    (15 bytes)
    port 7   0-1 alarm + battery, 2 bits 7-6 motion mode, bit 5 LED on        (3 bytes)
    port 8   0-5 strongest Wi-Fi SSID (kept as hex), 6 RSSI int8 dBm, 7-8 alarm + battery,
             9 as port 7 byte 2                                               (10 bytes)

Choices made here:
- The alarm bit is a state repeated while the alarm lasts, exactly as on the LGT-92 (see
  ``dragino_lgt92``, whose alarm word, placeholder rule and messages are reused): set gives
  ``Alert("sos", fix, sustained=True)``, clear gives ``Status("alarm_clear")``. Ports 7 and 8
  carry the alarm without a position (a Wi-Fi SSID is not a fix).
- Zero or impossible coordinates are placeholders, never a Location; never a decode error.
- Port 4 dates its position: it is treated as a stored record, ``Location`` with a
  ``cached`` fix (``fixed_at`` from its date, taken as UTC), never a fresh one. Its alarm state is
  not sent, so it says nothing about the alarm.
- Ports 4 and 8 follow the decoder (the manual pages found do not give their bytes).
- Ports 5 (device status) and 6 (iBeacon) are left out of ``ports`` (``UnknownPort``): the
  decoder and the manual disagree on port 5's length (9 or 10 bytes) and the decoder's port 6
  reads the UUID and the Tx power from the same byte.
- Humidity and temperature follow the decoder's ×0.1 (the manual's revisions disagree);
  temperature is signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int8sb, Int8ub, Int16sb, Int16ub, Struct

from decoders.model import Model
from decoders.models.dragino_lgt92 import ALARM_BATTERY, FIELDS, alarm_messages, gps_fix
from decoders.schema import HexBytes, Layout, Scaled, parse_by_port
from decoders.types import Fix, Location, Message, Status

MODEL_ID = "dragino-trackerd"

POSITION = FIELDS[:2]  # latitude, longitude as on the LGT-92
GPS_MODE = "mode" / BitStruct(
    "motion_mode" / BitsInteger(2),
    "led_on" / Flag,
    "moving" / Flag,
    "reserved" / BitsInteger(4),
)
SHORT_MODE = "mode" / BitStruct(
    "motion_mode" / BitsInteger(2), "led_on" / Flag, "reserved" / BitsInteger(5)
)

LAYOUTS = {
    2: Layout(
        "position_sensors",
        Struct(
            *POSITION,
            "status" / ALARM_BATTERY,
            GPS_MODE,
            "humidity_pct" / Scaled(Int16ub, 0.1),
            "temperature_c" / Scaled(Int16sb, 0.1),
        ),
    ),
    3: Layout("position", Struct(*POSITION, "status" / ALARM_BATTERY, GPS_MODE)),
    4: Layout(
        "dated_position",
        Struct(
            *POSITION,
            "year" / Int16ub,
            "month" / Int8ub,
            "day" / Int8ub,
            "hour" / Int8ub,
            "minute" / Int8ub,
            "second" / Int8ub,
        ),
    ),
    7: Layout("alarm", Struct("status" / ALARM_BATTERY, SHORT_MODE)),
    8: Layout(
        "wifi",
        Struct(
            "ssid" / HexBytes(6),
            "rssi_dbm" / Int8sb,
            "status" / ALARM_BATTERY,
            SHORT_MODE,
        ),
    ),
}
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    return parse_by_port(LAYOUTS, frame, port, MODEL_ID)


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (the port's layout by
    ``message_type``)."""
    return LAYOUT_BY_NAME[fields["message_type"]].build(fields)


def _dated_fix(fields: Mapping[str, Any]) -> Fix | None:
    fix = gps_fix(fields["latitude"], fields["longitude"])
    if fix is None:
        return None
    try:
        when = datetime(
            fields["year"],
            fields["month"],
            fields["day"],
            fields["hour"],
            fields["minute"],
            fields["second"],
            tzinfo=UTC,
        )
    except ValueError:  # an impossible date still leaves the position, undated
        when = None
    return Fix(fix.latitude, fix.longitude, source="cached", fixed_at=when)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    kind = fields["message_type"]
    if kind == "dated_position":
        fix = _dated_fix(fields)
        return [Location(fix) if fix else Status("no_fix")]
    if kind in ("alarm", "wifi"):
        return alarm_messages(fields["status"], None, positioned=False)
    return alarm_messages(fields["status"], gps_fix(fields["latitude"], fields["longitude"]))


MODEL = Model(
    id=MODEL_ID,
    title="Dragino TrackerD LoRaWAN tracker (alarm button)",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/dragino/trackerd.js, trackerd-codec.yaml",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=tuple(LAYOUTS),
)
