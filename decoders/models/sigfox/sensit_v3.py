"""``sensit-v3``: Sigfox Sens'it Discovery V3 (multi-sensor; a double click is the alert signal).

Source: sigfox/sensit-payload, https://github.com/sigfox/sensit-payload, v0.7.2 (HEAD ``bed5955``,
2018-10-31): ``src/sensit_payload_v3.h`` / ``.cc`` (layout), ``src/sensit_payload.h`` (door
states), ``src/sensit_payload.cc`` (payload type), ``index.js`` (battery curve, door and
vibration meaning) and ``test/parse-test.js`` (the vendor's test vectors). The C bitfields are
LSB-first; construct's ``BitStruct`` reads MSB first, so every byte below is declared from bit 7
down to bit 0.

    byte 0      bits 7-3 battery, mV = raw × 50 + 2700; bits 2-0 payload type, 0b110 = V3
    byte 1      bits 7-3 mode (the selector); bit 2 button (1 = double-click message);
                bits 1-0 special value, by mode
    bytes 2-3   by mode:
                0 standby     firmware major (4 bits), minor (6 bits), patch (6 bits)
                1 temperature special + byte 2: one 10-bit value, °C = raw × 0.125 − 25
                              (the vendor's (raw − 200) / 8); byte 3 humidity in 0.5 % steps
                2 light       u16 BE, lux = raw / 96 (rounded to 2 dp, as the vendor does)
                3 door        u16 BE event counter; special = door state (below)
                4 vibration   u16 BE event counter; special 0 none, 1 vibration ongoing
                5 magnet      u16 BE event counter; special bit 0: magnet detected
    bytes 4-11  optional configuration (8 bytes); its layout is not used here, kept as hex
                ``config``

Door states: ``sensit_payload.h`` ``door_e`` is 0 NONE, 1 MOVEMENT, 2 CLOSE, 3 OPEN, and
``index.js`` reports a V3 door state 0 as ``DOOR_NOT_CALIBRATED`` (the vendor test ``b6180000``
expects it): here 0 ``not_calibrated``, 1 ``movement``, 2 ``closed``, 3 ``open``. Vibration:
``index.js`` knows only ``VIBRATION_NONE`` 0 and ``VIBRATION_ONGOING`` 1 (the V3 header: "01 ->
vibration detected"); codes 2 and 3 are undefined and decode with a warning.

Variants, by mode (byte 1 bits 7-3) and then by length: 4 bytes (data) or 12 bytes (data and
configuration), for every mode. Nothing else is a Sens'it V3 frame (the vendor's parser takes 8
or 24 hex digits).

Messages: the button flag gives ``Button("double")`` (an alert by default); standby gives the
firmware version, a door state, an ongoing vibration and a detected magnet a ``Status``; every
frame gives ``Battery``.

Choices made here:
- A frame of another length does not fit: ``ShortFrame`` under 4 bytes, ``TrailingBytes`` for
  5-11 (naming ``config``) or over 12 bytes. A 2-11 byte frame whose double-click bit is set
  still gives the Button, with a warning (the project's rule: a readable press always counts).
- Modes 6-31 are undefined: ``UnknownMessageType`` on ``mode`` (byte 1), as the vendor's parser
  reports a mode error.
- Payload type bits other than 0b110 mean the frame is not a V3 payload (``sensit_payload.cc``
  parses 0-5 as a Sens'it V2 payload, 7 is its type error): the frame decodes with a warning on
  ``reserved`` and gives no message at all, since none of its V3 bits can be trusted (a V2
  frame read as V3 would show a random double click).
- Sensor readings are not range-checked: a sensor glitch must not make a double click
  undecodable. Humidity keeps its 0.5 % step (the vendor's JS rounds it to a whole percent).
- Firmware minor is the contiguous 6-bit value; the vendor's C code shifts its upper 4 bits by 4
  instead of 2, which gives the same number only for minor < 4.
- Battery percent is the vendor's current curve (``index.js`` ``getBatteryPercentage`` since
  commit ``59a7c97``, 2018-05-24, released in 0.7.1): ≥ 4.15 V 100 %; 3.8-4.15 V
  round((V − 3.275) × 114); 3.6-3.8 V round((V − 3.56) × 250); 3-3.6 V round((V − 3) × 16);
  else 0. It is monotonic (3800 mV is 60 %, as the vendor's tests expect).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Bytewise, Flag

from decoders.frames import BySelector, Sized
from decoders.model import Model
from decoders.schema import HexBytes, Layout, Named, Scaled
from decoders.types import Battery, Button, Message, Status

MODEL_ID = "sensit-v3"
DATA_SIZE = 4
CONFIG_SIZE = 8
V3 = 0b110  # byte 0 bits 2-0 of every V3 payload (sensit_payload.cc PAYLOAD_V3_ID)

MODES = {0: "standby", 1: "temperature", 2: "light", 3: "door", 4: "vibration", 5: "magnet"}
DOOR = {0: "not_calibrated", 1: "movement", 2: "closed", 3: "open"}
VIBRATION = {0: "none", 1: "ongoing"}

COUNTER = "event_counter" / BitsInteger(16)
MODE_BITS = {  # by mode: the special value (byte 1 bits 1-0), then bytes 2-3
    0: [
        "special" / BitsInteger(2),
        "firmware_major" / BitsInteger(4),
        "firmware_minor" / BitsInteger(6),
        "firmware_patch" / BitsInteger(6),
    ],
    1: [
        "temperature_c" / Scaled(BitsInteger(10), 0.125, offset=-25),
        "humidity_percent" / Scaled(BitsInteger(8), 0.5),
    ],
    2: ["special" / BitsInteger(2), "light_lux" / Scaled(BitsInteger(16), 1 / 96, digits=2)],
    3: ["door" / Named(BitsInteger(2), DOOR), COUNTER],
    4: ["vibration" / Named(BitsInteger(2), VIBRATION), COUNTER],
    5: ["special_spare" / BitsInteger(1), "magnet" / Flag, COUNTER],
}


def _data(mode: int) -> list[Any]:
    """The 4 data bytes of one mode, as bit fields."""
    return [
        "battery_mv" / Scaled(BitsInteger(5), 50, offset=2700),
        "reserved" / Scaled(BitsInteger(3), valid=(V3, V3)),
        "mode" / Named(BitsInteger(5), {mode: MODES[mode]}),
        "button" / Flag,
        *MODE_BITS[mode],
    ]


# By mode: the data alone (4 bytes), and the data followed by the configuration (12 bytes).
LAYOUTS = {mode: Layout(name, BitStruct(*_data(mode))) for mode, name in MODES.items()}
WITH_CONFIG = {
    mode: Layout(
        f"{name}_config", BitStruct(*_data(mode), "config" / Bytewise(HexBytes(CONFIG_SIZE)))
    )
    for mode, name in MODES.items()
}
FRAMES = BySelector(
    {mode: Sized(LAYOUTS[mode], WITH_CONFIG[mode]) for mode in MODES},
    field="mode",
    offset=1,
    shift=3,
    mask=0x1F,
    max_size=DATA_SIZE + CONFIG_SIZE,
)


def battery_percent(voltage_mv: int) -> int:
    """Remaining charge by the vendor's current curve (index.js ``getBatteryPercentage``,
    commit 59a7c97), with JavaScript's float arithmetic and ``Math.round`` (half up)."""
    volts = voltage_mv / 1000
    if volts >= 4.15:
        return 100
    if volts >= 3.8:
        percent = (volts - 3.275) * 114
    elif volts >= 3.6:
        percent = (volts - 3.56) * 250
    elif volts > 3:
        percent = (volts - 3) * 16
    else:
        return 0
    return max(0, math.floor(percent + 0.5))


def _mode_status(fields: Mapping[str, Any]) -> list[Message]:
    mode = fields["mode"]
    if mode == "standby" and "firmware_patch" in fields:
        version = (
            f"{fields['firmware_major']}.{fields['firmware_minor']}.{fields['firmware_patch']}"
        )
        return [Status("firmware", version)]
    if mode == "door" and fields.get("door") is not None:
        return [Status("door", fields["door"])]
    if mode == "vibration" and fields.get("vibration") == "ongoing":
        return [Status("vibration", "ongoing")]
    if mode == "magnet" and fields.get("magnet"):
        return [Status("magnet", "detected")]
    return []


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """The messages of a V3 payload; none for a frame whose payload type is not V3 (its
    ``reserved`` value was warned about and reads as None here)."""
    if fields.get("reserved") is None:
        return []
    head: list[Message] = [Button("double")] if fields.get("button") else []
    voltage = fields["battery_mv"]
    return [*head, *_mode_status(fields), Battery(battery_percent(voltage), voltage)]


MODEL = Model(
    id=MODEL_ID,
    title="Sigfox Sens'it Discovery V3",
    network="sigfox",
    source="https://github.com/sigfox/sensit-payload (src/sensit_payload_v3.h, index.js)",
    frames=FRAMES,
    interpret=interpret,
    alert_gestures=("double",),
)
