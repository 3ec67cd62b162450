"""``sensit-v3``: Sigfox Sens'it Discovery V3 (multi-sensor; a double click is the alert signal).

Source: sigfox/sensit-payload (src/sensit_payload_v3.h and .cc, index.js, test/parse-test.js),
https://github.com/sigfox/sensit-payload. The C bitfields are LSB-first; construct's ``BitStruct``
reads MSB first, so every byte below is declared from bit 7 down to bit 0.

    byte 0      bits 7-3 battery, mV = raw × 50 + 2700; bits 2-0 reserved, must be 0b110
    byte 1      bits 7-3 mode; bit 2 button (1 = double-click message); bits 1-0 special value
    bytes 2-3   by mode:
                0 standby     firmware major (4 bits), minor (6 bits), patch (6 bits)
                1 temperature special + byte 2 = 10-bit raw, °C = (raw − 200) / 8; byte 3 humidity
                              in 0.5 % steps
                2 light       u16 BE, lux = raw / 96 (rounded to 2 dp, as the vendor does)
                3 door        u16 BE event counter; special: 0 none, 1 opening, 2 closing
                4 vibration   u16 BE event counter; special: 0 none, 1 start, 2 stop, 3 ongoing
                5 magnet      u16 BE event counter; special bit 0: magnet detected
    bytes 4-11  optional configuration; its layout is not used here, kept as hex ``config``

Messages: the button flag gives ``Button("double")``; standby gives the firmware version, door
and vibration events and a detected magnet a ``Status``; every frame gives ``Battery``.

Choices made here:
- Frame length: 4 or 12 bytes. Fewer than 4 is ``ShortFrame``; 5-11 bytes and more than 12 are
  ``TrailingBytes`` (bytes after the 4-byte data that do not make up an 8-byte config).
- Modes 6-31 are undefined: ``UnknownMessageType`` on field ``mode`` (byte 1), as the vendor's
  parser reports a mode error. Wrong reserved bits are ``ValueOutOfRange`` on ``reserved``.
- Sensor readings are not range-checked, and the undefined door code 3 decodes as
  ``"undefined"``: a sensor glitch must not make a double click undecodable.
- Humidity keeps its 0.5 % step (the vendor's JS rounds it to a whole percent).
- Firmware minor is the contiguous 6-bit value; the vendor's C code shifts its upper 4 bits by 4
  instead of 2, which gives the same number only for minor < 4.
- Battery percent follows index.js piecewise, its step from 28 % at 3.55 V down to 20 % at
  3.6 V included, except above 4.2 V (raw 31 = 4250 mV), where index.js gives 0 %: that is a
  full battery, so 100 % here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag

from decoders.errors import TrailingBytes
from decoders.model import Model
from decoders.schema import Layout, Named, Scaled, need, select
from decoders.types import Battery, Button, Message, Status

MODEL_ID = "sensit-v3"
DATA_SIZE = 4
CONFIG_SIZE = 8

MODES = {0: "standby", 1: "temperature", 2: "light", 3: "door", 4: "vibration", 5: "magnet"}
DOOR = {0: "none", 1: "opening", 2: "closing", 3: "undefined"}
VIBRATION = {0: "none", 1: "start", 2: "stop", 3: "ongoing"}


COUNTER = "event_counter" / BitsInteger(16)
MODE_BITS = {  # by mode: the special value (byte 1 bits 1-0), then bytes 2-3
    0: [
        "special" / BitsInteger(2),
        "firmware_major" / BitsInteger(4),
        "firmware_minor" / BitsInteger(6),
        "firmware_patch" / BitsInteger(6),
    ],
    1: [
        "temperature_msb" / BitsInteger(2),
        "temperature_lsb" / BitsInteger(8),
        "humidity_percent" / Scaled(BitsInteger(8), 0.5),
    ],
    2: ["special" / BitsInteger(2), "light_lux" / Scaled(BitsInteger(16), 1 / 96, digits=2)],
    3: ["door" / Named(BitsInteger(2), DOOR), COUNTER],
    4: ["vibration" / Named(BitsInteger(2), VIBRATION), COUNTER],
    5: ["special_spare" / BitsInteger(1), "magnet" / Flag, COUNTER],
}
LAYOUTS = {
    mode: Layout(
        MODES[mode],
        BitStruct(
            "battery_mv" / Scaled(BitsInteger(5), 50, offset=2700),
            "reserved" / Scaled(BitsInteger(3), valid=(0b110, 0b110)),
            "mode" / Named(BitsInteger(5), {mode: MODES[mode]}),
            "button" / Flag,
            *bits,
        ),
        tail="config",
    )
    for mode, bits in MODE_BITS.items()
}
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    if len(frame) > DATA_SIZE and len(frame) != DATA_SIZE + CONFIG_SIZE:
        incomplete = len(frame) < DATA_SIZE + CONFIG_SIZE
        raise TrailingBytes(
            "frame has bytes after its data that are not an 8-byte config",
            model=MODEL_ID,
            field="config" if incomplete else None,
            offset=DATA_SIZE if incomplete else DATA_SIZE + CONFIG_SIZE,
            expected=f"{DATA_SIZE} or {DATA_SIZE + CONFIG_SIZE} bytes",
            got=f"{len(frame)} bytes",
            frame=frame,
        )
    need(frame, 2, model=MODEL_ID, field="mode")
    layout = select(LAYOUTS, frame[1] >> 3, model=MODEL_ID, field="mode", offset=1, frame=frame)
    fields = layout.parse(frame, MODEL_ID)
    fields["config"] = fields["config"] or None
    if "temperature_msb" in fields:
        # Derived here rather than with construct's Computed, so the layout stays fixed bits
        # that the fast path can read: 10-bit value, offset 200, eighths of a degree.
        raw = fields["temperature_msb"] << 8 | fields["temperature_lsb"]
        fields["temperature_c"] = (raw - 200) / 8
    return fields


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (``mode`` by name)."""
    return LAYOUT_BY_NAME[fields["mode"]].build(fields)


def battery_percent(voltage_mv: int) -> int:
    """Remaining charge, piecewise as the vendor's index.js (rounding half up), full above 4.2 V."""

    def ratio(numerator: int, denominator: int) -> int:
        return (2 * numerator + denominator) // (2 * denominator)

    if voltage_mv > 4200:
        return 100
    if voltage_mv >= 3900:
        return ratio(voltage_mv - 3200, 10)
    if voltage_mv >= 3600:
        return ratio(voltage_mv - 3480, 6)
    if voltage_mv >= 2700:
        return ratio(voltage_mv - 2700, 30)
    return 0


def _mode_status(fields: Mapping[str, Any]) -> list[Message]:
    mode = fields["mode"]
    if mode == "standby":
        version = (
            f"{fields['firmware_major']}.{fields['firmware_minor']}.{fields['firmware_patch']}"
        )
        return [Status("firmware", version)]
    if mode in ("door", "vibration") and fields[mode] != "none":
        return [Status(mode, fields[mode])]
    if mode == "magnet" and fields["magnet"]:
        return [Status("magnet", "detected")]
    return []


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    head: list[Message] = [Button("double")] if fields["button"] else []
    voltage = fields["battery_mv"]
    return [*head, *_mode_status(fields), Battery(battery_percent(voltage), voltage)]


MODEL = Model(
    id=MODEL_ID,
    title="Sigfox Sens'it Discovery V3",
    network="sigfox",
    source="https://github.com/sigfox/sensit-payload (src/sensit_payload_v3.h, index.js)",
    parse=parse,
    interpret=interpret,
    build=build,
    alert_gestures=("double",),
)
