"""Hand-written ``struct.unpack_from`` decoders: the baseline of the decode benchmark
(docs/design.md §11).

Each function takes a frame (and the LoRaWAN port) and returns the SAME fields dict as
``decoders.decode(model, frame, port).fields`` — same names, same nesting, same scaling and
rounding (``round(raw * scale + offset, digits)``, as ``decoders.schema.Scaled`` does), same
range checks, same length rules — so the baseline does the same work as the library's parse, by
hand. :mod:`bench.decode_speed` checks that equality (types included) on every fixture frame of
the model, and that every fixture frame the library rejects is rejected here too, before timing.

``Reject`` is raised where the library raises a ``DecodeError``; ``Unsupported`` where a model
has a layout not written here (it is then left out of the equality check, never timed).
"""

from __future__ import annotations

import struct
from typing import Any


class Reject(ValueError):
    """The frame is not valid (the library raises a DecodeError for it)."""


class Unsupported(Exception):
    """No hand-written decoder for this layout (not part of the benchmark)."""


def _fix(raw: int, scale: float, digits: int, limit: float) -> float:
    """A coordinate; one beyond ``limit`` is kept (the library warns about it, never rejects)."""
    return round(raw * scale, digits)


# -- aura-reference (docs/design.md §7, big-endian) -----------------------------------------

_AURA_POSITION = struct.Struct(">BiiBBB")
_AURA_BATTERY = struct.Struct(">BBH")
_AURA_KINDS = {1: "alert", 2: "location"}
_AURA_REASONS = {0: "user", 1: "timeout", 2: "remote"}
_NO_FIX = 0x7FFFFFFF


def aura_reference(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if not frame:
        raise Reject("empty")
    kind = frame[0]
    if kind == 1 or kind == 2:
        if len(frame) != 12:
            if kind == 1 and len(frame) < 12:
                raise Unsupported("an alert cut short (decoded, with a warning)")
            raise Reject("position is 12 bytes")
        _, lat, lon, accuracy, battery, flags = _AURA_POSITION.unpack_from(frame)
        return {
            "message_type": _AURA_KINDS[kind],
            "latitude": None if lat == _NO_FIX else _fix(lat, 1e-7, 7, 90),
            "longitude": None if lon == _NO_FIX else _fix(lon, 1e-7, 7, 180),
            "accuracy_m": None if accuracy == 0xFF else accuracy * 4,
            "battery_percent": None if battery == 0xFF else battery,
            "flags": {"reserved": flags >> 2, "moving": bool(flags & 2), "stale": bool(flags & 1)},
        }
    if kind == 3:
        if len(frame) != 2:
            raise Reject("cancel is 2 bytes")
        return {"message_type": "cancel", "reason": _AURA_REASONS.get(frame[1], frame[1])}
    if kind == 4:
        if len(frame) != 4:
            raise Reject("battery is 4 bytes")
        _, percent, millivolts = _AURA_BATTERY.unpack_from(frame)
        return {"message_type": "battery", "battery_percent": percent, "battery_mv": millivolts}
    raise Reject("message_type")


# -- oyster-sigfox (little-endian; byte 0 a bit field) -------------------------------------------

_OYSTER_POSITION = struct.Struct("<BiiBBB")
_OYSTER_ACK = struct.Struct("<BBBB")


def oyster_sigfox(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if not frame:
        raise Reject("empty")
    if len(frame) > 12:
        raise Reject("longer than a Sigfox uplink")
    head = frame[0]
    kind = head & 0x0F
    if kind == 0:
        if len(frame) != 12:
            raise Reject("position is 12 bytes")
        _, lat, lon, heading, speed, battery = _OYSTER_POSITION.unpack_from(frame)
        return {
            "header": {
                "reserved": head >> 6,
                "last_fix_failed": bool(head & 0x20),
                "in_trip": bool(head & 0x10),
                "record_type": "position",
            },
            "latitude": _fix(lat, 1e-7, 7, 90),
            "longitude": _fix(lon, 1e-7, 7, 180),
            "heading_deg": heading * 2,
            "speed_kmh": speed,
            "battery_mv": battery * 25,
        }
    if kind == 1:
        if len(frame) != 12:
            raise Reject("downlink ack is 12 bytes")
        _, undocumented, major, minor = _OYSTER_ACK.unpack_from(frame)
        return {
            "header": {
                "reserved": head >> 5,
                "downlink_accepted": bool(head & 0x10),
                "record_type": "downlink_ack",
            },
            "undocumented": undocumented,
            "firmware_major": major,
            "firmware_minor": minor,
            "downlink": frame[4:12].hex().upper(),
        }
    if kind == 2:
        return {
            "header": {"stats_head": head >> 4, "record_type": "stats"},
            "stats": frame[1:].hex().upper(),
        }
    raise Reject("record_type")


# -- sensit-v3 (4 bytes of bit fields, optional 8-byte config) ------------------------------------

_SENSIT_HEAD = struct.Struct(">BBH")
_SENSIT_MODES = ("standby", "temperature", "light", "door", "vibration", "magnet")
_DOOR = ("not_calibrated", "movement", "closed", "open")
_VIBRATION = {0: "none", 1: "ongoing"}
_LUX = 1 / 96  # the schema's scale, multiplied (not divided) so the float is the same


def sensit_v3(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if len(frame) > 1 and frame[1] >> 3 > 5:
        raise Reject("mode")
    if len(frame) != 4 and len(frame) != 12:
        if 1 < len(frame) < 12 and frame[1] & 4 and frame[0] & 7 == 6:
            raise Unsupported("a double click in a frame of another length (decoded, warned)")
        raise Reject("4 or 12 bytes")
    b0, b1, word = _SENSIT_HEAD.unpack_from(frame)
    mode = b1 >> 3
    fields: dict[str, Any] = {
        "battery_mv": (b0 >> 3) * 50 + 2700,
        "reserved": b0 & 7,
        "mode": _SENSIT_MODES[mode],
        "button": bool(b1 & 4),
    }
    low = b1 & 3
    if mode == 0:
        fields["special"] = low
        fields["firmware_major"] = word >> 12
        fields["firmware_minor"] = (word >> 6) & 0x3F
        fields["firmware_patch"] = word & 0x3F
    elif mode == 1:
        fields["temperature_c"] = round((low << 8 | word >> 8) * 0.125 - 25, 3)
        fields["humidity_percent"] = round((word & 0xFF) * 0.5, 1)
    elif mode == 2:
        fields["special"] = low
        fields["light_lux"] = round(word * _LUX, 2)
    elif mode == 3:
        fields["door"] = _DOOR[low]
        fields["event_counter"] = word
    elif mode == 4:
        fields["vibration"] = _VIBRATION.get(low, low)
        fields["event_counter"] = word
    else:
        fields["special_spare"] = low >> 1
        fields["magnet"] = bool(low & 1)
        fields["event_counter"] = word
    if len(frame) == 12:
        fields["config"] = frame[4:].hex().upper()
    return fields


# -- simplepack (API 6) ---------------------------------------------------------------------------

_SIMPLEPACK_MODES = {
    0x01: "press_me",
    0x02: "guard_me",
    0x14: "press_me_wifi",
    0x23: "press_me_wifi_atlas",
    0x50: "press_me_wifi_superlocal",
}
_SIMPLEPACK_PLAIN = {
    0x10: "arming_started",
    0x11: "armed",
    0x14: "disarmed",
    0x15: "config_confirmed_15",
    0x16: "config_confirmed_16",
    0x30: "short_press",
    0x31: "double_click",
    0x32: "long_press",
}
_SIMPLEPACK_WIFI = {
    0x9C: "short_press_wifi_1",
    0x9D: "short_press_wifi_2",
    0x9E: "double_click_wifi_1",
    0x9F: "double_click_wifi_2",
    0xA0: "long_press_wifi_1",
    0xA1: "long_press_wifi_2",
}
_SIMPLEPACK_EXTRA = struct.Struct(">BBBBB2s")


def simplepack(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if len(frame) < 2:
        raise Reject("mode and event")
    mode: str | int = _SIMPLEPACK_MODES.get(frame[0], frame[0])
    code = frame[1]
    if len(frame) > 12:
        raise Reject("longer than a Sigfox uplink")
    event = _SIMPLEPACK_PLAIN.get(code)
    if event is not None:
        return {"mode": mode, "event": event, "appended": frame[2:].hex().upper()}
    event = _SIMPLEPACK_WIFI.get(code)
    if event is not None:
        return {"mode": mode, "event": event, "wifi": frame[2:].hex().upper()}
    if code == 0x81:
        if len(frame) < 7:
            raise Reject("extra long press is 7 bytes")
        _, _, api, major, minor, hw = _SIMPLEPACK_EXTRA.unpack_from(frame)
        return {
            "mode": mode,
            "event": "extra_long_press",
            "api_version": api,
            "fw_major": major,
            "fw_minor": minor,
            "hw": hw.hex().upper(),
            "appended": frame[7:].hex().upper(),
        }
    raise Reject("event")


# -- dragino-lgt92 (big-endian, 11, 15, 16 or 18 bytes) --------------------------------------------

_LGT92_HEAD = struct.Struct(">iiHB")
_LGT92_MOTION = struct.Struct(">hh")
_LGT92_LAYOUTS = {
    11: "position_no_sensor",
    15: "position_no_hdop",
    16: "position",
    18: "position_altitude",
}
_MOTION_MODES = ("disable", "move", "collide", "user")


def _alarm_readable(frame: bytes, at: int, bit: int = 0x40) -> bool:
    """A frame of no layout's length whose alarm bit is there and set: the library reads it,
    with warnings (not written here)."""
    return len(frame) > at and bool(frame[at] & bit)


def dragino_lgt92(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if port != 2:
        raise Reject("port")
    size = len(frame)
    name = _LGT92_LAYOUTS.get(size)
    if name is None:
        if _alarm_readable(frame, 8):
            raise Unsupported("cut or long frame with the alarm set")
        raise Reject("11, 15, 16 or 18 bytes")
    lat, lon, status, mode = _LGT92_HEAD.unpack_from(frame)
    fields: dict[str, Any] = {
        "message_type": name,
        "latitude": round(lat * 1e-6, 6),
        "longitude": round(lon * 1e-6, 6),
        "status": {
            "reserved": status >> 15,
            "alarm": bool(status & 0x4000),
            "battery_mv": status & 0x3FFF,
        },
        "mode": {
            "motion_mode": _MOTION_MODES[mode >> 6],
            "led_on": bool(mode & 0x20),
            "firmware": (mode & 0x1F) + 160,
        },
    }
    if size >= 15:
        roll, pitch = _LGT92_MOTION.unpack_from(frame, 11)
        fields["roll_deg"] = round(roll * 0.01, 2)
        fields["pitch_deg"] = round(pitch * 0.01, 2)
    if size >= 16:
        fields["hdop"] = round(frame[15] * 0.01, 2)
    if size == 18:
        fields["altitude_m"] = round(int.from_bytes(frame[16:18], "big", signed=True) * 0.01, 2)
    return fields


# -- dragino-trackerd port 2 (big-endian, 15 bytes) -----------------------------------------------

_TRACKERD_2 = struct.Struct(">iiHBHh")


def dragino_trackerd(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if port not in (2, 3, 4, 5, 6, 7, 8, 9, 10):
        raise Reject("port")
    if port != 2 or len(frame) != 15:  # the other layouts (and misfits) are not written here
        raise Unsupported(f"port {port}, {len(frame)} bytes")
    lat, lon, status, mode, humidity, temperature = _TRACKERD_2.unpack_from(frame)
    return {
        "message_type": "position_sensors",
        "latitude": round(lat * 1e-6, 6),
        "longitude": round(lon * 1e-6, 6),
        "status": {
            "reserved": status >> 15,
            "alarm": bool(status & 0x4000),
            "battery_mv": status & 0x3FFF,
        },
        "mode": {
            "work_mode": mode >> 6,
            "led_on": bool(mode & 0x20),
            "moving": bool(mode & 0x10),
            "hybrid": bool(mode & 0x08),
            "reserved": mode & 0x07,
        },
        "humidity_pct": round(humidity * 0.1, 1),
        "temperature_c": round(temperature * 0.1, 1),
    }


# -- browan-tbpb100 (little-endian, 8 or 11 bytes) ------------------------------------------------

_TBPB100 = struct.Struct("<BBBHHB")
_TBPB100_V14 = struct.Struct("<BBBHHBHB")


def browan_tbpb100(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if port != 147:
        raise Reject("port")
    size = len(frame)
    if size == 8:
        b0, b1, b2, since, count_lo, count_hi = _TBPB100.unpack_from(frame)
    elif size == 11:
        b0, b1, b2, since, count_lo, count_hi, one_lo, one_hi = _TBPB100_V14.unpack_from(frame)
    elif _alarm_readable(frame, 0, 0x01):
        raise Unsupported("cut or long frame with button 0 pushed")
    else:
        raise Reject("8 or 11 bytes")
    fields = {
        "buttons": {
            "reserved": b0 >> 2,
            "button_1_pushed": bool(b0 & 2),
            "button_0_pushed": bool(b0 & 1),
        },
        "battery": {"capacity_15ths": b1 >> 4, "battery_mv": (b1 & 0x0F) * 100 + 2500},
        "temperature": {"reserved": b2 >> 7, "temperature_c": (b2 & 0x7F) - 32},
        "since_trigger": since,
        "button_0_count": count_hi << 16 | count_lo,
    }
    if size == 11:
        fields["button_1_count"] = one_hi << 16 | one_lo
    return fields


# -- oyster-lorawan port 1 (little-endian, 11 bytes) ----------------------------------------------

_OYSTER_LORAWAN_1 = struct.Struct("<iiBBB")


def oyster_lorawan(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if port in (2, 3, 4):
        raise Unsupported(f"port {port}")
    if port != 1:
        raise Reject("port")
    if len(frame) != 11:
        raise Reject("11 bytes")
    lat, lon, flags, speed, battery = _OYSTER_LORAWAN_1.unpack_from(frame)
    return {
        "message_type": "position",
        "latitude": _fix(lat, 1e-7, 7, 90),
        "longitude": _fix(lon, 1e-7, 7, 180),
        "flags": {
            "heading_deg": round((flags >> 2) * 5.625, 3),
            "fix_failed": bool(flags & 2),
            "in_trip": bool(flags & 1),
        },
        "speed_kmh": speed,
        "battery_mv": battery * 25,
    }


# -- milesight-ws101 (TLV records; variable layout, reported without a target) -------------------

_PRESSES = {1: "short", 2: "long", 3: "double"}
_CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}


def _ws101_hex(name: str, size: int) -> tuple[str, int, Any]:
    return name, size, lambda value: {name: value.hex().upper()}


def _ws101_byte(name: str, field: str, table: dict[int, str] | None = None) -> tuple:
    def read(value: bytes) -> dict[str, Any]:
        if table is None:
            return {field: value[0]}
        if value[0] not in table:
            raise Reject(field)
        return {field: table[value[0]]}

    return name, 1, read


_WS101 = {
    0x0175: _ws101_byte("battery", "battery_pct"),
    0xFF2E: _ws101_byte("press", "press", _PRESSES),
    0xFF01: _ws101_byte("protocol_version", "protocol_version"),
    0xFF09: _ws101_hex("hardware_version", 2),
    0xFF0A: _ws101_hex("firmware_version", 2),
    0xFFFF: _ws101_hex("tsl_version", 2),
    0xFF16: _ws101_hex("serial_number", 8),
    0xFF0F: _ws101_byte("lorawan_class", "lorawan_class", _CLASSES),
    0xFF0B: _ws101_byte("power_on", "value"),
    0xFFFE: _ws101_byte("reset", "value"),
}
_KEY = struct.Struct(">H")


def milesight_ws101(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if port != 85:
        raise Reject("port")
    records = []
    start, size = 0, len(frame)
    while True:
        if size < start + 2:
            raise Reject("record key")
        (key,) = _KEY.unpack_from(frame, start)
        entry = _WS101.get(key)
        if entry is None:
            raise Reject("record")
        name, length, read = entry
        end = start + 2 + length
        if size < end:
            raise Reject("record value")
        records.append({"record": name, **read(frame[start + 2 : end])})
        start = end
        if start == size:
            return {"records": records}
