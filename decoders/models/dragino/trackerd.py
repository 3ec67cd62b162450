"""``dragino-trackerd``: Dragino TrackerD / TrackerD-LS LoRaWAN tracker (GPS, Wi-Fi, BLE; alarm
button).

Sources:
- [TD-FW] Dragino's firmware source, github dragino/TrackerD,
  ``Example/LoRaWAN/examples/TrackerD/TrackerD.ino`` (``do_send``, ``device_send``,
  ``Alarm_send``), ``GPS.cpp``: HEAD 17da65a (v1.5.3), 496b917 (v1.4.9), a66935b (v1.4.6).
- [TD-DEC154] Dragino's decoder for TrackerD 1.5.4 / TrackerD-LS 1.0.5, github
  dragino/dragino-end-node-decoder ``TrackerD/TrackerD  1.5.4_TrackerD-LS1.0.5 Decoder.txt``
  (954a1ea). No 1.5.4 firmware source is public: its layouts rest on this decoder alone.
- [TD-DEC151] the same repository, ``TrackerD/TrackerD TTN Decoder 1.5.1.txt``.
- [TTN-TD] TheThingsNetwork/lorawan-devices vendor/dragino/trackerd.js, trackerd-codec.yaml
  (the 15-byte port-2 example).
- [TD-WIKI] wiki.dragino.com "TrackerD -- LoRaWAN Tracker User Manual" (port 3 is "the first
  11 bytes of port 2").

Big-endian. Common parts:

    position   int32 latitude ×1e-6°, int32 longitude ×1e-6°
    status     alarm + battery word: bit 15 reserved, bit 14 alarm (SOS), bits 13-0 battery mV
    mode       GPS ports: bits 7-6 work mode (AT+SMOD's: 0 port 2, 1 port 3, 2 port 3 + speed),
               bit 5 LED on, bit 4 moving, bit 3 BLE/GPS hybrid (the frame carries the GPS
               date and time), bits 2-0 reserved
    date       year u16, month, day, hour, minute, second (GPS time, UTC)

The fPort says what the frame holds; within a port, the length says which firmware built it
(``message_type`` names the layout read):

    port 2  15  position_sensors          ≤1.5.3, work mode 0: position, status, mode,
                                          humidity u16 ×0.1 %, temperature int16 ×0.1 °C
            18  position_time             1.4.6 – 1.4.9 hybrid: position, status, mode, date
                                          (humidity/temperature left out)
            22  position_sensors_time     1.5.3 hybrid: position_sensors, then date
            23  position_course_sensors   1.5.4: position, speed u32, course u32, status,
                                          mode, humidity, temperature
            19  position_course           1.5.4 with the hybrid flag: [TD-DEC154] reads
                                          humidity/temperature only when bit 3 is clear, so
                                          such a frame ends after the mode (inferred)
    port 3  11  position                  ≤1.5.3, work mode 1 (the default): position,
                                          status, mode
            17  position_speed_sensors    1.5.3, work mode 2: position, status, mode,
                                          speed u16 ×0.01 m/s, humidity, temperature
            18  position_time             hybrid: position, status, mode, date
            24  position_speed_sensors_time  1.5.3, work mode 2, hybrid
            19  position_course           1.5.4: position, speed u32, course u32, status, mode
    port 4  15  dated_position            stored position replayed: position, date
            17  dated_position_battery    TrackerD-LS: + battery mV u16
            25  dated_position_course     1.5.4: position, speed, course, date, then a word
                                          whose bit 14 [TD-DEC154] calls "movement" (not
                                          alarm) and bits 13-0 battery mV
    port 5   9  device_status             model (0x13 TrackerD, 0x22 TrackerD-LS), firmware
                                          (hex: 0153 is 1.5.3), band, sub-band (0xFF none),
                                          battery mV u16, sensor/GPS/BLE modes, flags
    port 6  27  ibeacon                   UUID (16 B), major u16, minor u16, 0, Tx power at
                                          1 m int8, 0, RSSI int8, status, BLE mode byte
    port 7   3  alarm                     status, mode (bits 7-6 work mode, bit 5 LED)
    port 8  10  wifi                      SSID (6 B, kept as hex), RSSI int8, status, BLE mode
    port 9  3+  ble_beacons               status, BLE mode, then 5-byte beacons (major u16,
                                          minor u16, RSSI int8) kept as hex in ``beacons``
    port 10 24  ble_macs                  ≤1.5.3: 3 × (MAC 6 B, RSSI int8), status, BLE flags
            38  ble_macs_5                1.5.4: 5 × (MAC, RSSI), status, BLE flags
                                          (bits 7-5 BLE mode, bit 4 LED, bit 3 moving)

BLE mode byte (ports 6, 8, 9): bits 7-6 BLE mode, bit 5 LED on, bit 4 moving.

Uncertain (flagged, not guessed further):
- 1.5.4 speed and course (ports 2, 3, 4): raw u32, units not stated by [TD-DEC154] (≤1.5.3
  sent m/s ×100 in a u16); kept raw as ``speed`` / ``course``.
- The 19-byte port-2 frame is inferred from [TD-DEC154]'s hybrid condition, not seen.
- Port 4's bit 14 in 1.5.4 is "movement" in [TD-DEC154] and alarm everywhere else; it is read
  as ``moving``: a replayed log is history, never a call for help.
- Port 6 bytes 20 and 22: the firmware's hex-string loop leaves them zero; kept as fields.

Meaning:
- The alarm bit is a state repeated while the alarm lasts, as on the LGT-92 (``lgt92.ROLES``):
  set gives ``Alert("sos", fix, sustained=True)``, clear ``Status("alarm_clear")``. Every port
  that carries the word (2, 3, 6, 7, 8, 9, 10) raises the alarm; ports 6-10 carry no position
  (a Wi-Fi SSID or a beacon is not a fix).
- Positions follow the project's policy (docs/design.md §14): 0/0 is no fix ([TD-FW] leaves the
  coordinates at zero without a fix), FFFFFFFF/FFFFFFFF is the low-battery sentinel ([TD-FW]:
  battery < 2800 mV in GPS mode, "do not start GPS"), beyond ±90°/±180° is no fix; one zero
  coordinate is a real place.
- Port 4 replays stored positions ([TD-FW] ``loggpsdata_send``): a ``Location`` with a
  ``cached`` fix dated by its date (UTC; an impossible date leaves it undated), never a fresh
  one and never an alarm; its battery is from the time of logging and is not reported.
- Port 5 (device status) gives the battery only.
- A frame of no listed length for its port whose alarm bit can still be read and is set raises
  the alarm, with a warning; otherwise it is ``ShortFrame`` / ``TrailingBytes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from construct import (
    BitsInteger,
    BitStruct,
    Flag,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32ub,
    Struct,
)

from decoders.frames import ByPort, Sized
from decoders.model import Model
from decoders.models.dragino.lgt92 import ALARM_BATTERY, NO_GPS, POSITION, ROLES
from decoders.position import position
from decoders.roles import meaning, value_at
from decoders.schema import HexBytes, Layout, Named, Scaled
from decoders.types import Battery, Location, Message, Status

MODEL_ID = "dragino-trackerd"

STATUS = "status" / ALARM_BATTERY
GPS_MODE = "mode" / BitStruct(
    "work_mode" / BitsInteger(2),
    "led_on" / Flag,
    "moving" / Flag,
    "hybrid" / Flag,
    "reserved" / BitsInteger(3),
)
ALARM_MODE = "mode" / BitStruct(
    "work_mode" / BitsInteger(2), "led_on" / Flag, "reserved" / BitsInteger(5)
)
BLE_MODE = "mode" / BitStruct(
    "ble_mode" / BitsInteger(2), "led_on" / Flag, "moving" / Flag, "reserved" / BitsInteger(4)
)
MAC_MODE = "mode" / BitStruct(
    "ble_mode" / BitsInteger(3), "led_on" / Flag, "moving" / Flag, "reserved" / BitsInteger(3)
)
SENSORS = ("humidity_pct" / Scaled(Int16ub, 0.1), "temperature_c" / Scaled(Int16sb, 0.1))
DATE = (
    "year" / Int16ub,
    "month" / Int8ub,
    "day" / Int8ub,
    "hour" / Int8ub,
    "minute" / Int8ub,
    "second" / Int8ub,
)
COURSE = ("speed" / Int32ub, "course" / Int32ub)  # 1.5.4: units not published
SPEED_MPS = "speed_mps" / Scaled(Int16ub, 0.01)  # 1.5.3 work mode 2: (int)(m/s × 100)

# ports 2 and 3
POSITION_SENSORS = Layout("position_sensors", Struct(*POSITION, STATUS, GPS_MODE, *SENSORS))
POSITION_TIME = Layout("position_time", Struct(*POSITION, STATUS, GPS_MODE, *DATE))
POSITION_SENSORS_TIME = Layout(
    "position_sensors_time", Struct(*POSITION, STATUS, GPS_MODE, *SENSORS, *DATE)
)
POSITION_COURSE = Layout("position_course", Struct(*POSITION, *COURSE, STATUS, GPS_MODE))
POSITION_COURSE_SENSORS = Layout(
    "position_course_sensors", Struct(*POSITION, *COURSE, STATUS, GPS_MODE, *SENSORS)
)
POSITION_ONLY = Layout("position", Struct(*POSITION, STATUS, GPS_MODE))
POSITION_SPEED_SENSORS = Layout(
    "position_speed_sensors", Struct(*POSITION, STATUS, GPS_MODE, SPEED_MPS, *SENSORS)
)
POSITION_SPEED_SENSORS_TIME = Layout(
    "position_speed_sensors_time",
    Struct(*POSITION, STATUS, GPS_MODE, SPEED_MPS, *SENSORS, *DATE),
)
# port 4
DATED = Layout("dated_position", Struct(*POSITION, *DATE))
DATED_BATTERY = Layout("dated_position_battery", Struct(*POSITION, *DATE, "battery_mv" / Int16ub))
DATED_COURSE = Layout(
    "dated_position_course",
    Struct(
        *POSITION,
        *COURSE,
        *DATE,
        "battery"
        / BitStruct("reserved" / BitsInteger(1), "moving" / Flag, "battery_mv" / BitsInteger(14)),
    ),
)
# port 5
BANDS = {
    1: "EU868",
    2: "US915",
    3: "IN865",
    4: "AU915",
    5: "KZ865",
    6: "RU864",
    7: "AS923",
    8: "AS923_1",
    9: "AS923_2",
    10: "AS923_3",
    11: "CN470",
    12: "EU433",
    13: "KR920",
    14: "MA869",
}
DEVICE_STATUS = Layout(
    "device_status",
    Struct(
        "sensor_model" / Named(Int8ub, {0x13: "TrackerD", 0x22: "TrackerD-LS"}),
        "firmware" / HexBytes(2),
        "band" / Named(Int8ub, BANDS),
        "sub_band" / Scaled(Int8ub, unknown=0xFF),
        "battery_mv" / Int16ub,
        "modes"
        / BitStruct(
            "sensor_mode" / BitsInteger(2), "gps_mode" / BitsInteger(2), "ble_mode" / BitsInteger(4)
        ),
        "flags"
        / BitStruct(
            "reserved" / BitsInteger(5),
            "pnack_mode" / Flag,
            "led_on" / Flag,
            "moving" / Flag,
        ),
    ),
)
# ports 6-10: no position
IBEACON = Layout(
    "ibeacon",
    Struct(
        "uuid" / HexBytes(16),
        "major" / Int16ub,
        "minor" / Int16ub,
        "unused_20" / Int8ub,
        "power_1m_dbm" / Int8sb,
        "unused_22" / Int8ub,
        "rssi_dbm" / Int8sb,
        STATUS,
        BLE_MODE,
    ),
)
ALARM = Layout("alarm", Struct(STATUS, ALARM_MODE))
WIFI = Layout("wifi", Struct("ssid" / HexBytes(6), "rssi_dbm" / Int8sb, STATUS, BLE_MODE))
BEACONS = Layout("ble_beacons", Struct(STATUS, BLE_MODE), tail="beacons")


def _macs(count: int) -> tuple[Any, ...]:
    out: list[Any] = []
    for n in range(1, count + 1):
        out += [f"mac_{n}" / HexBytes(6), f"rssi_{n}_dbm" / Int8sb]
    return tuple(out)


MACS_3 = Layout("ble_macs", Struct(*_macs(3), STATUS, MAC_MODE))
MACS_5 = Layout("ble_macs_5", Struct(*_macs(5), STATUS, MAC_MODE))

PORTS: dict[int, Sized] = {
    2: Sized(
        POSITION_SENSORS,
        POSITION_TIME,
        POSITION_COURSE,
        POSITION_SENSORS_TIME,
        POSITION_COURSE_SENSORS,
    ),
    3: Sized(
        POSITION_ONLY,
        POSITION_SPEED_SENSORS,
        POSITION_TIME,
        POSITION_COURSE,
        POSITION_SPEED_SENSORS_TIME,
    ),
    4: Sized(DATED, DATED_BATTERY, DATED_COURSE),
    5: Sized(DEVICE_STATUS),
    6: Sized(IBEACON),
    7: Sized(ALARM),
    8: Sized(WIFI),
    9: Sized(BEACONS),
    10: Sized(MACS_3, MACS_5),
}
FRAMES = ByPort(PORTS)
DATED_TYPES = {DATED.name, DATED_BATTERY.name, DATED_COURSE.name}


def _dated_location(fields: Mapping[str, Any]) -> list[Message]:
    """A replayed stored position: cached, dated when its date is a real one."""
    when: datetime | None
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
    except (KeyError, TypeError, ValueError):  # cut, or an impossible date: undated
        when = None
    if "latitude" not in fields or "longitude" not in fields:
        return []
    fix = position(
        fields["latitude"], fields["longitude"], sentinels=(NO_GPS,), cached=True, fixed_at=when
    )
    return [Location(fix) if fix else Status("no_fix")]


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """The roles (``lgt92.ROLES``), except for the device logic no role says: a replayed stored
    position (port 4) is history, and the status report (port 5) gives the battery only."""
    kind = fields.get("message_type")
    if kind in DATED_TYPES:
        return _dated_location(fields)
    if kind == DEVICE_STATUS.name:
        millivolts = value_at(fields, "battery_mv")
        return [] if millivolts is None else [Battery(voltage_mv=millivolts)]
    return meaning(ROLES, fields)


MODEL = Model(
    id=MODEL_ID,
    title="Dragino TrackerD / TrackerD-LS LoRaWAN tracker (alarm button)",
    network="lorawan",
    source="dragino/TrackerD firmware TrackerD.ino (v1.4.6-v1.5.3);"
    " dragino/dragino-end-node-decoder TrackerD 1.5.4 / TrackerD-LS 1.0.5 decoder;"
    " TheThingsNetwork/lorawan-devices vendor/dragino/trackerd.js, trackerd-codec.yaml",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
)

build = MODEL.build
