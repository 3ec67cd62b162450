"""``milesight-at101``: Milesight AT101 outdoor asset tracker (GNSS, Wi-Fi scan; no SOS button).

Sources: Milesight-IoT/SensorDecoders (main at ``e79c9d8``) ``at-series/at101/README.md``
(payload table and examples) and ``at-series/at101/at101-decoder.js`` (record sizes, the
downlink replies); thingsboard/data-converters ``VENDORS/Milesight/AT101/guide.md`` (an example
whose location is all 0xFF: no GNSS fix). fPort 85 (Milesight's convention; the README does not
say). Records ``[channel id][channel type][value]`` as on every Milesight device
(:mod:`decoders.models.milesight.channels`, attributes included), little-endian:

    01 75   battery %                                                     1 byte
    03 67   temperature int16 ×0.1 °C                                     2 bytes
    04 88   location: latitude int32 ×1e-6°, longitude int32 ×1e-6°,
            status: bits 7-4 geofence (0 inside, 1 outside, 2 unset, 3 unknown),
            bits 3-0 motion (0 unknown, 1 start, 2 moving, 3 stop)        9 bytes
    84 88   the same location record with bit 7 of the channel set        9 bytes
    05 00   position: 0 normal, 1 tilt                                    1 byte
    06 D9   Wi-Fi scan: group, BSSID (6 bytes), RSSI int8 dBm, status     9 bytes
    07 00   tamper: 0 install, 1 uninstall                                1 byte
    83 67   temperature int16 ×0.1 °C, abnormal flag (0 normal)           3 bytes
    20 CE   history: time u32 (Unix s), LONGITUDE then latitude ×1e-6°    12 bytes
    FF 16   serial number (8 bytes; the WS101 has ``FF 08``, 6 bytes)     8 bytes

Replies to downlinks, on channel FF or FE (the decoder reads both alike; the FE copy's record
is named ``<name>_fe``), type and value size as in the decoder's ``handle_downlink_response``:
10 reboot (1), 13 motion_report_config (enable, interval u16), 17 time_zone (int16: hours ×10,
e.g. 80 = UTC+8, 57 = UTC+5:45), 28 report_status (1), 2D wifi_positioning_config (mode,
BSSID count, timeout), 3B time_sync_enable, 3C gnss_positioning_timeout (u8), 4A sync_time (1),
58 detection_config (0 motion / 1 static, delta g u8, duration u16), 66 report_strategy,
71 positioning_strategy, 7E geofence_alarm_config (enable, interval u16, count u8),
87 tamper_detection_enable, 88 geofence_center (latitude, longitude int32 ×1e-6°),
89 geofence_radius (u32), 8A timed_report_config (index from 0, time u16),
8E report_interval_config (0 periodic / 1 motion, interval u16), 8F bluetooth_enable.
Units of the intervals and timeouts are not stated by Milesight: kept raw.

Firmware variants accepted: the records of the retail AT101 decoder above. Customer (ODM)
branches of the vendor repository add an angle record (08 9B) and an 18-byte history record:
not accepted (``08 9B`` is an unknown record; an 18-byte history reads as 12 bytes, then an
unknown record).

Choices made here:
- Positions follow the project's position policy (:mod:`decoders.position`): a latitude or
  longitude of 0xFFFFFFFF means "no GNSS fix" (the ThingsBoard example; Milesight's EM400-MUD
  manual says the same of its GNSS devices — applied to the AT101 by inference) and parses as
  None; then, or at 0/0, the record gives ``Status("no_fix")``, never a Location. One zero
  coordinate alone is a real place.
- Values the datasheet rules out are warnings, never errors: a coordinate beyond ±90°/±180°
  (no fix), a battery above 100 % (no ``Battery`` message), a geofence or motion nibble above 3
  (undocumented; the vendor decoder names them "unknown") — the rest of the frame still counts.
- Bit 7 of a Milesight channel id marks an alarm report (0x83 is temperature with its abnormal
  flag); the vendor decoder reads 84 88 exactly as 04 88, and so does this model (record name
  ``location_alarm``, same messages).
- A Wi-Fi scan is not a fix: fields only (an all-0xFF BSSID is the decoder's "scan timeout").
- History records are old positions uploaded later: ``Location`` with a ``cached`` fix dated by
  the record's time (the position policy's ``cached``), never a fresh one; no message when the
  old position was no fix.
- Tamper "uninstall" and an abnormal temperature give a ``Status``; so do power-on and reset.
- An unknown channel/type pair stops the reading (sizes come only from the table): the records
  before it are kept, with a warning; a first record unknown or cut short is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from construct import BitsInteger, BitStruct, Int8sb, Int8ub, Int16sl, Int16ul, Int32sl, Int32ul

from decoders.model import Model
from decoders.models.milesight.channels import ENABLE, attributes, device_status, record, replies
from decoders.position import position
from decoders.records import Records
from decoders.roles import Roles, meaning
from decoders.schema import HexBytes, Named, Scaled
from decoders.types import Location, Message, Status

MODEL_ID = "milesight-at101"
PORT = 85
NO_FIX = -1  # 0xFFFFFFFF
SERIAL_KEY = 0xFF16
SERIAL_SIZE = 8
GEOFENCE = {0: "inside", 1: "outside", 2: "unset", 3: "unknown"}
MOTION = {0: "unknown", 1: "start", 2: "moving", 3: "stop"}

STATUS = "status" / BitStruct(
    "geofence" / Named(BitsInteger(4), GEOFENCE), "motion" / Named(BitsInteger(4), MOTION)
)
LATITUDE = "latitude" / Scaled(Int32sl, 1e-6, unknown=NO_FIX, valid=(-90, 90))
LONGITUDE = "longitude" / Scaled(Int32sl, 1e-6, unknown=NO_FIX, valid=(-180, 180))
TEMPERATURE = "temperature_c" / Scaled(Int16sl, 0.1)
INTERVAL = "interval" / Int16ul

REPORT_STRATEGIES = {0: "periodic", 1: "motion", 2: "timing"}
POSITIONING_STRATEGIES = {0: "gnss", 1: "wifi", 2: "wifi_gnss"}
REPLIES = (
    (0x10, "reboot", ("value" / Int8ub,)),
    (0x13, "motion_report_config", ("enable" / Named(Int8ub, ENABLE), INTERVAL)),
    (0x17, "time_zone", ("time_zone" / Int16sl,)),
    (0x28, "report_status", ("value" / Int8ub,)),
    (
        0x2D,
        "wifi_positioning_config",
        (
            "mode" / Named(Int8ub, {0: "low_power", 1: "high_accuracy"}),
            "bssid_count" / Int8ub,
            "timeout" / Int8ub,
        ),
    ),
    (0x3B, "time_sync_enable", ("enable" / Named(Int8ub, ENABLE),)),
    (0x3C, "gnss_positioning_timeout", ("timeout" / Int8ub,)),
    (0x4A, "sync_time", ("value" / Int8ub,)),
    (
        0x58,
        "detection_config",
        (
            "detection" / Named(Int8ub, {0: "motion", 1: "static"}),
            "delta_g" / Int8ub,
            "duration" / Int16ul,
        ),
    ),
    (0x66, "report_strategy", ("strategy" / Named(Int8ub, REPORT_STRATEGIES),)),
    (0x71, "positioning_strategy", ("strategy" / Named(Int8ub, POSITIONING_STRATEGIES),)),
    (
        0x7E,
        "geofence_alarm_config",
        ("enable" / Named(Int8ub, ENABLE), INTERVAL, "count" / Int8ub),
    ),
    (0x87, "tamper_detection_enable", ("enable" / Named(Int8ub, ENABLE),)),
    (
        0x88,
        "geofence_center",
        ("latitude" / Scaled(Int32sl, 1e-6), "longitude" / Scaled(Int32sl, 1e-6)),
    ),
    (0x89, "geofence_radius", ("radius" / Int32ul,)),
    (0x8A, "timed_report_config", ("index" / Int8ub, "time" / Int16ul)),
    (
        0x8E,
        "report_interval_config",
        ("report" / Named(Int8ub, {0: "periodic", 1: "motion"}), INTERVAL),
    ),
    (0x8F, "bluetooth_enable", ("enable" / Named(Int8ub, ENABLE),)),
)

RECORDS = (
    record(0x0175, "battery", "battery_pct" / Scaled(Int8ub, valid=(0, 100))),
    record(0x0367, "temperature", TEMPERATURE),
    record(0x0488, "location", LATITUDE, LONGITUDE, STATUS),
    record(0x8488, "location_alarm", LATITUDE, LONGITUDE, STATUS),
    record(0x0500, "position", "position" / Named(Int8ub, {0: "normal", 1: "tilt"})),
    record(
        0x06D9, "wifi_scan", "group" / Int8ub, "bssid" / HexBytes(6), "rssi_dbm" / Int8sb, STATUS
    ),
    record(0x0700, "tamper", "tamper" / Named(Int8ub, {0: "install", 1: "uninstall"})),
    record(0x8367, "temperature_alarm", TEMPERATURE, "abnormal" / Int8ub),
    record(0x20CE, "history", "time_s" / Int32ul, LONGITUDE, LATITUDE),
    *attributes(SERIAL_KEY, SERIAL_SIZE),
    *replies(REPLIES),
)
LAYOUTS = dict(RECORDS)
FRAMES = Records(LAYOUTS, key_size=2, key_field="record")
# Per record: a location record's position, a battery record's percent.
ROLES = Roles(latitude="latitude", longitude="longitude", battery="battery_pct")
LOCATIONS = ("location", "location_alarm")


def _record_messages(rec: Mapping[str, Any]) -> list[Message]:
    kind = rec["record"]
    if kind in LOCATIONS or kind == "battery":
        return meaning(ROLES, rec)
    if kind == "history":
        fix = position(
            rec["latitude"],
            rec["longitude"],
            fixed_at=datetime.fromtimestamp(rec["time_s"], UTC),
            cached=True,
        )
        return [Location(fix)] if fix else []
    if kind == "tamper" and rec["tamper"] == "uninstall":
        return [Status("tamper", "uninstall")]
    if kind == "temperature_alarm" and rec["abnormal"]:
        return [Status("temperature_abnormal", f"{rec['temperature_c']} °C")]
    return device_status(rec)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    return [message for rec in fields["records"] for message in _record_messages(rec)]


MODEL = Model(
    id=MODEL_ID,
    title="Milesight AT101 asset tracker",
    network="lorawan",
    source="Milesight-IoT/SensorDecoders at-series/at101 (README.md, at101-decoder.js)",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
    ports=(PORT,),
)
