"""``milesight-at101``: Milesight AT101 outdoor asset tracker (GNSS, Wi-Fi scan; no SOS button).

Sources: Milesight-IoT/SensorDecoders AT_Series/AT101 (README.md payload table and examples,
AT101_Decoder.js); thingsboard/data-converters VENDORS/Milesight/AT101/guide.md (the example
whose location is all 0xFF: no GNSS fix). fPort 85 (Milesight's convention; the README does not
say). Records ``[channel id][channel type][value]`` as on the WS101 (``milesight_ws101``, whose
device attribute records FF xx are reused), little-endian:

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

Choices made here:
- A latitude or longitude of 0xFFFFFFFF means "no GNSS fix" (the example above; Milesight's
  EM400 manual says the same) and parses as None; then, or at 0/0, the record gives
  ``Status("no_fix")``, never a Location. Otherwise impossible coordinates are
  ``ValueOutOfRange`` (the AT101 has no alarm to lose).
- Bit 7 of a Milesight channel id marks an alarm report (0x83 is temperature with its abnormal
  flag); the vendor decoder reads 84 88 exactly as 04 88, and so does this model (record name
  ``location_alarm``, same messages).
- A Wi-Fi scan is not a fix: fields only (an all-0xFF BSSID is the decoder's "scan timeout").
- History records are old positions uploaded later: ``Location`` with a ``cached`` fix dated by
  the record's time, never a fresh one.
- Tamper "uninstall" and an abnormal temperature give a ``Status``; so do power-on and reset.
- Unknown channel/type pairs are ``UnknownMessageType`` at their offset; Milesight's
  downlink-reply records (FE/FF xx) are not decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from construct import BitsInteger, BitStruct, Int8sb, Int8ub, Int16sl, Int32sl, Int32ul

from decoders.model import Model
from decoders.models.milesight_ws101 import ATTRIBUTES, device_status, record
from decoders.schema import HexBytes, Named, Scaled, records
from decoders.types import Battery, Fix, Location, Message, Status

MODEL_ID = "milesight-at101"
PORT = 85
NO_FIX = -1  # 0xFFFFFFFF
GEOFENCE = {0: "inside", 1: "outside", 2: "unset", 3: "unknown"}
MOTION = {0: "unknown", 1: "start", 2: "moving", 3: "stop"}

STATUS = "status" / BitStruct(
    "geofence" / Named(BitsInteger(4), GEOFENCE), "motion" / Named(BitsInteger(4), MOTION)
)
LATITUDE = "latitude" / Scaled(Int32sl, 1e-6, unknown=NO_FIX, valid=(-90, 90))
LONGITUDE = "longitude" / Scaled(Int32sl, 1e-6, unknown=NO_FIX, valid=(-180, 180))
TEMPERATURE = "temperature_c" / Scaled(Int16sl, 0.1)

LAYOUTS = dict(
    (
        record(0x0175, "battery", "battery_pct" / Scaled(Int8ub, valid=(0, 100))),
        record(0x0367, "temperature", TEMPERATURE),
        record(0x0488, "location", LATITUDE, LONGITUDE, STATUS),
        record(0x8488, "location_alarm", LATITUDE, LONGITUDE, STATUS),
        record(0x0500, "position", "position" / Named(Int8ub, {0: "normal", 1: "tilt"})),
        record(
            0x06D9,
            "wifi_scan",
            "group" / Int8ub,
            "bssid" / HexBytes(6),
            "rssi_dbm" / Int8sb,
            STATUS,
        ),
        record(0x0700, "tamper", "tamper" / Named(Int8ub, {0: "install", 1: "uninstall"})),
        record(0x8367, "temperature_alarm", TEMPERATURE, "abnormal" / Int8ub),
        record(0x20CE, "history", "time_s" / Int32ul, LONGITUDE, LATITUDE),
        *ATTRIBUTES,
    )
)
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    found = records(frame, LAYOUTS, model=MODEL_ID, key_size=2, name="records", key_field="record")
    return {"records": found}


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (each record by name)."""
    return b"".join(LAYOUT_BY_NAME[r["record"]].build(r) for r in fields["records"])


def _fix(rec: Mapping[str, Any], **kind: Any) -> Fix | None:
    latitude, longitude = rec["latitude"], rec["longitude"]
    if latitude is None or longitude is None or latitude == longitude == 0:
        return None
    return Fix(latitude, longitude, **kind)


def _record_messages(rec: Mapping[str, Any]) -> list[Message]:
    kind = rec["record"]
    if kind == "battery":
        return [Battery(percent=rec["battery_pct"])]
    if kind in ("location", "location_alarm"):
        fix = _fix(rec, source="gps")
        return [Location(fix) if fix else Status("no_fix")]
    if kind == "history":
        when = datetime.fromtimestamp(rec["time_s"], UTC)
        fix = _fix(rec, source="cached", fixed_at=when)
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
    source="Milesight-IoT/SensorDecoders AT_Series/AT101 (README.md, AT101_Decoder.js)",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=(PORT,),
)
