"""``sensecap-t1000``: Seeed SenseCAP T1000-A/B card tracker (GNSS, Wi-Fi, BLE; SOS button).

Sources: https://wiki.seeedstudio.com/T1000_payload/ (packet tables and examples) and
Seeed-Solution/SenseCAP-Decoder ``T1000/TTN/SenseCAP_T1000_TTN_Decoder.js`` (commit ``8f1cbf3``;
frame lengths, ``getPositingStatus`` for the 0x11 codes). fPort 5, big-endian. One uplink holds
one or more frames ``[frame id][fixed-length value]`` (read as records by frame id):

    id    bytes  content after the id (names as in the fields)
    0x01  47     status, event mode: battery %, software and hardware version, work mode,
                 positioning strategy, 3 intervals (min, u16), temp & light switch, SOS mode,
                 then the 0x03 settings
    0x02  16     status, periodic mode: 0x01 without the settings
    0x03  32     event settings: motion, motionless, shock, temperature (×0.1 °C), light
    0x04  10     work mode, a byte the decoder skips, 3 intervals (min, u16), SOS mode
    0x05  5      heartbeat: battery %, work mode, positioning strategy, SOS mode
    0x06  22     event status (3), motion segment, UTC time u32 s, LONGITUDE int32 ×1e-6°,
                 latitude int32 ×1e-6°, temperature int16 ×0.1 °C, light u16 %, battery %
    0x07  42     as 0x06 with 4 × (BSSID, RSSI int8 dBm) from a Wi-Fi scan instead of a fix
    0x08  35     as 0x07 with 3 BLE beacons
    0x09  18     0x06 without temperature and light;  0x0A (38): 0x07 without them;
                 0x0B (31): 0x08 without them
    0x0D  5      error code u32: 1 UTC time failed, 2 almanac too old, 3 Doppler error
    0x11  14     positioning status (0 success, 1-14 why it failed), event status, UTC time,
                 temperature, light, battery %

Event status: bits of its last byte, 0x01 start moving, 0x02 end of movement, 0x04 motionless,
0x08 shock, 0x10 temperature, 0x20 light, 0x40 SOS, 0x80 press once. Temperature and light
0x8000 mean "no reading" (None).

Firmware variants accepted: the T1000-A/B frames above, any number per uplink, in any order.

Choices made here:
- SOS (0x40) is the alarm state (role ``alarm``): ``Alert("sos", fix, sustained=True)``; every
  event frame without it gives ``Status("alarm_clear")``. In SOS mode 1 ("continuous") the
  device repeats the SOS event in its frames while SOS lasts, so only the rising edge may open a
  callout; in mode 0 ("single") the next event frame clears the bit and re-arms. Two
  single-mode presses with no frame between them fold into one callout (as AURA folds a second
  new-callout into an open one).
- Press once (0x80) is ``Button("press")`` with no default meaning: SOS is the alarm.
- Positions follow the project's position policy (:mod:`decoders.position`): only 0x06 and
  0x09 carry a fix (``fixed_at`` from their UTC time); both coordinates zero or beyond
  ±90°/±180° is no fix (``Status("no_fix")``), never an error; one zero coordinate alone is a
  real place (the equator, Greenwich). The vendor decoder has no coordinate sentinel. Wi-Fi and
  BLE scans are not fixes. Frames the device uploads late from its cache look the same: their
  ``fixed_at`` tells their age.
- 0x11 is the device's "fix failed" frame: it is sent instead of 0x06/0x09 when positioning
  fails and carries no coordinates. A non-zero status gives ``Status("fix_failed", why)`` (the
  decoder's reasons, e.g. ``gnss_timeout``), never a location; status 0 (success) says nothing
  about the position. With SOS set, the alert goes out without a fix.
- A frame id the model does not know (0x0C, 0x0E-0x10: T1000-C/D LoRa Cloud GNSS shards; others)
  stops the reading: the frames before it are kept with a warning (an SOS among them still
  raises the alert; docs/design.md §14). An uplink whose first frame is unknown or cut short is
  ``UnknownMessageType`` / ``ShortFrame``; fPorts 192/199 are ``UnknownPort``.
- Nothing is range-checked: an SOS frame must decode whatever its sensors say.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from construct import (
    Array,
    BitsInteger,
    BitStruct,
    Flag,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int32ub,
    Struct,
)

from decoders.model import Model
from decoders.position import position
from decoders.records import Records
from decoders.roles import Roles
from decoders.schema import HexBytes, Layout, Named, Scaled
from decoders.types import Alert, Battery, Button, Fix, Location, Message, Status

MODEL_ID = "sensecap-t1000"
PORT = 5
ERRORS = {1: "utc_time_failed", 2: "almanac_too_old", 3: "doppler_error"}
POSITIONING = dict(enumerate((
    "success", "gnss_timeout", "wifi_timeout", "wifi_gnss_timeout", "gnss_wifi_timeout",
    "ble_timeout", "ble_wifi_timeout", "ble_gnss_timeout", "ble_wifi_gnss_timeout",
    "server_gnss_failed", "server_wifi_failed", "server_ble_failed", "gnss_poor_accuracy",
    "time_sync_failed", "almanac_too_old",
)))  # fmt: skip
# event status bits 7 .. 0 of its last byte; the two bytes before it are reserved
EVENT_BITS = ("press_once", "sos", "light", "temperature", "shock", "motionless",
              "movement_end", "movement_start")  # fmt: skip
EVENTS = "event_status" / BitStruct("reserved" / BitsInteger(16), *(b / Flag for b in EVENT_BITS))
UTC_TIME = "utc_time_s" / Int32ub
HEAD = (EVENTS, "motion_segment" / Int8ub, UTC_TIME)
POSITION = ("longitude" / Scaled(Int32sb, 1e-6), "latitude" / Scaled(Int32sb, 1e-6))
SENSORS = (
    "temperature_c" / Scaled(Int16sb, 0.1, unknown=-0x8000),
    "light_pct" / Scaled(Int16ub, unknown=0x8000),
)
BATTERY = "battery_pct" / Int8ub
MINUTES = ("heartbeat_interval_min", "uplink_interval_min", "event_uplink_interval_min")
VERSION = Struct("major" / Int8ub, "minor" / Int8ub)
STATUS = (
    BATTERY,
    "software_version" / VERSION,
    "hardware_version" / VERSION,
    "work_mode" / Int8ub,
    "positioning_strategy" / Int8ub,
    *(name / Int16ub for name in MINUTES),
    "temp_light_switch" / Int8ub,
    "sos_mode" / Int8ub,
)


def _sensor_settings(kind: str, unit: str, threshold: Any) -> tuple[Any, ...]:
    return (
        f"{kind}_event_enabled" / Int8ub,
        f"{kind}_event_uplink_interval_min" / Int16ub,
        f"{kind}_sample_interval_s" / Int16ub,
        f"{kind}_threshold_max_{unit}" / threshold,
        f"{kind}_threshold_min_{unit}" / threshold,
        f"{kind}_warning_type" / Int8ub,
    )


SETTINGS = (
    "motion_event_enabled" / Int8ub,
    "motion_threshold_mg" / Int16ub,
    "motion_start_interval_min" / Int16ub,
    "motionless_event_enabled" / Int8ub,
    "motionless_timeout_min" / Int16ub,
    "shock_event_enabled" / Int8ub,
    "shock_threshold_mg" / Int16ub,
    *_sensor_settings("temp", "c", Scaled(Int16sb, 0.1)),
    *_sensor_settings("light", "pct", Int16ub),
)
BEACON = Struct("bssid" / HexBytes(6), "rssi_dbm" / Int8sb)
SCAN = {count: "scan" / Array(count, BEACON) for count in (3, 4)}  # Wi-Fi: 4, BLE: 3


FRAME_TYPES = {
    0x01: ("status_event_mode", STATUS + SETTINGS),
    0x02: ("status_periodic_mode", STATUS),
    0x03: ("event_settings", SETTINGS),
    0x04: ("mode_settings", ("work_mode" / Int8ub, "undocumented" / Int8ub,
                             *(name / Int16ub for name in MINUTES), "sos_mode" / Int8ub)),
    0x05: ("heartbeat", (BATTERY, "work_mode" / Int8ub, "positioning_strategy" / Int8ub,
                         "sos_mode" / Int8ub)),
    0x06: ("gnss_sensors", (*HEAD, *POSITION, *SENSORS, BATTERY)),
    0x07: ("wifi_sensors", (*HEAD, SCAN[4], *SENSORS, BATTERY)),
    0x08: ("ble_sensors", (*HEAD, SCAN[3], *SENSORS, BATTERY)),
    0x09: ("gnss", (*HEAD, *POSITION, BATTERY)),
    0x0A: ("wifi", (*HEAD, SCAN[4], BATTERY)),
    0x0B: ("ble", (*HEAD, SCAN[3], BATTERY)),
    0x0D: ("error", ("error_code" / Int32ub,)),
    0x11: ("positioning_status", ("positioning_status" / Int8ub, EVENTS, UTC_TIME, *SENSORS,
                                  BATTERY)),
}  # fmt: skip
LAYOUTS = {
    code: Layout(name, Struct("frame_id" / Named(Int8ub, {code: name}), *fields))
    for code, (name, fields) in FRAME_TYPES.items()
}
FRAMES = Records(LAYOUTS, key_size=1, name="frames", key_field="frame_id")
# Per frame: the SOS bit is the alarm state, 0x06 / 0x09 carry the position, 0x11 is a failed
# fix. Documentation of the fields AURA needs; :func:`interpret` adds what roles cannot say
# (the fix's time, the single press, the failure's reason).
ROLES = Roles(
    latitude="latitude",
    longitude="longitude",
    alarm="event_status.sos",
    battery="battery_pct",
)


def _fix(frame: Mapping[str, Any]) -> Fix | None:
    """The frame's position under the project's policy, dated by its UTC time (0: unknown)."""
    seconds = frame.get("utc_time_s")
    return position(
        frame["latitude"],
        frame["longitude"],
        fixed_at=datetime.fromtimestamp(seconds, UTC) if seconds else None,
    )


def _where(frame: Mapping[str, Any]) -> list[Message]:
    """What an event frame without SOS says about the position: a fix, no fix, a failed fix,
    or nothing (a Wi-Fi or BLE scan, a 0x11 frame reporting success)."""
    if "latitude" in frame:
        fix = _fix(frame)
        return [Location(fix) if fix else Status("no_fix")]
    code = frame.get("positioning_status")
    if code:  # 0x11 instead of a fix: the device says why it has none
        return [Status("fix_failed", POSITIONING.get(code, f"code {code}"))]
    return []


def _frame_messages(frame: Mapping[str, Any]) -> list[Message]:
    kind = frame["frame_id"]
    out: list[Message] = []
    if kind == "error" and frame["error_code"]:
        code = frame["error_code"]
        out.append(Status("error", ERRORS.get(code, f"code {code}")))
    events = frame.get("event_status")
    if events is not None:
        if events["sos"]:
            out.append(Alert("sos", _fix(frame) if "latitude" in frame else None, sustained=True))
        else:
            out.append(Status("alarm_clear"))
            out.extend(_where(frame))
        if events["press_once"]:
            out.append(Button("press"))
    if kind.startswith("status_"):
        version = frame["software_version"]
        out.append(Status("firmware", f"{version['major']}.{version['minor']}"))
    if frame.get("battery_pct") is not None:
        out.append(Battery(percent=frame["battery_pct"]))
    return out


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    return [message for frame in fields["frames"] for message in _frame_messages(frame)]


MODEL = Model(
    id=MODEL_ID,
    title="Seeed SenseCAP T1000-A/B tracker (SOS button)",
    network="lorawan",
    source="https://wiki.seeedstudio.com/T1000_payload/; Seeed-Solution/SenseCAP-Decoder"
    " T1000/TTN/SenseCAP_T1000_TTN_Decoder.js",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
    ports=(PORT,),
)
