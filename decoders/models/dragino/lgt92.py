"""``dragino-lgt92``: Dragino LGT-92 LoRaWAN GPS tracker with an alarm (SOS) button.

Sources:
- [LGT-FW] Dragino's firmware source, github dragino/LGT-92_-LoRa_GPS_Tracker,
  ``Projects/Multi/Applications/LoRa/DRAGINO-LRWAN(AT)/src/main.c`` (function ``Send()``), with
  ``src/command.c`` (AT+SGM, AT+MD) — commits cc52c63 (v1.5) … 625db8e (v1.6.0), 3f6976f
  (v1.6.4), 9e15412 (v1.6.7).
- [TTN-LGT] TheThingsNetwork/lorawan-devices vendor/dragino/lgt92.js and lgt92-codec.yaml
  (decoder and the 16-byte example).
- The Dragino LGT-92 user manual (downlink 0x02 "exit alarm"; the alarm mode).

fPort 2, big-endian::

    bytes 0-3    latitude int32 ×1e-6°
    bytes 4-7    longitude int32 ×1e-6°
    byte 8       bit 7 reserved, bit 6 alarm (SOS); bits 5-0 and byte 9: battery mV (14 bits)
    byte 10      bits 7-6 motion mode (0 disable, 1 move, 2 collide, 3 user), bit 5 LED on,
                 bits 4-0 firmware code, shown as 160 + code (the vendor decoder's convention)
    bytes 11-12  roll int16 ×0.01°            bytes 13-14  pitch int16 ×0.01°
    byte 15      HDOP ×0.01                    bytes 16-17  altitude int16 ×0.01 m

Variants, told apart by length ([LGT-FW] ``Send()``; ``message_type`` names the one read):

    11 bytes  position_no_sensor  motion sensor off (AT+SGM=1), every firmware v1.5 – v1.6.7;
                                  probably the factory state (``LORA_HasJoined()`` sets SGM=1
                                  when no settings are stored — an inference from the code)
    15 bytes  position_no_hdop    v1.5 – v1.6.0 with the motion sensor on: roll, pitch
    16 bytes  position            HDOP after pitch: the vendor's TTN example only; no published
                                  firmware builds it (kept: uncertain, the v1.6.x manual may)
    18 bytes  position_altitude   v1.6.4 / v1.6.7 with the motion sensor on: roll, pitch,
                                  HDOP, altitude

Firmware facts the values carry ([LGT-FW]):
- Firmware code: v1.5 sends 0, v1.5.1 1, v1.5.2 2, v1.5.3 / v1.5.3.1 / v1.6.0 3, v1.6.4 /
  v1.6.7 4. "160 + code" is not a version number (163 is v1.5.3 *and* v1.6.0).
- HDOP is ``(int)(HDOP*100)`` cut to 8 bits: above 2.55 it wraps (3.0 reads 0.44); altitude
  wraps above 327.67 m. Roll, pitch and altitude are signed (the vendor decoder reads them
  unsigned); the motion mode is decoded from its two bits (the vendor decoder always says
  "Disable", a precedence bug).
- South and west coordinates are sent as one's complement (``~(|x|·1e6)``): read as two's
  complement they are 1e-6° further from zero, as every decoder reads them.
- Lengths 0 (class-switch confirmation) and 1 (``0x11`` before a reset, v1.6.4+) also occur on
  port 2; they carry nothing for AURA and stay ``ShortFrame``.

Positions (the project's policy, docs/design.md §14, :mod:`decoders.position`):
- 00000000 / 00000000: no fix within the positioning time, and the immediate frame the alarm
  button sends before any fix ([LGT-FW] ``STATE_GPS_OFF``): no fix.
- FFFFFFFF / FFFFFFFF (−0.000001°, −0.000001°): low battery, GPS not started ([LGT-FW]
  ``STATE_GPS_NO``, ADC ≤ 2840): the vendor's sentinel, no fix. (The v1.4 manual's 3-byte filler
  0x0FFFFF does not apply to v1.5+; coordinates beyond ±90°/±180° are no fix anyway.)
- One zero coordinate is a real place. The vendor decoder's shortcut (latitude = 0 whenever
  byte 0 is 0) is not copied: it would drop every fix from 0° to 16.77°.

The alarm: a state, repeated in every frame until the device leaves alarm mode (after 60 alarm
frames, or the "exit alarm" downlink 0x02): the ``alarm`` role, whose rising edge alone opens a
callout. A frame of another length whose alarm bit can be read and is set still raises the
alarm, with a warning; otherwise it is ``ShortFrame`` / ``TrailingBytes``. The battery is
reported in mV; the template's curve turns it into percent.
"""

from __future__ import annotations

from construct import BitsInteger, BitStruct, Flag, Int8ub, Int16sb, Int32sb, Struct

from decoders.frames import ByPort, Sized
from decoders.model import Model
from decoders.roles import Roles
from decoders.schema import Layout, Named, Scaled

MODEL_ID = "dragino-lgt92"
PORT = 2
MOTION_MODES = {0: "disable", 1: "move", 2: "collide", 3: "user"}
# Dragino's alarm + battery word, shared with the TrackerD
ALARM_BATTERY = BitStruct(
    "reserved" / BitsInteger(1), "alarm" / Flag, "battery_mv" / BitsInteger(14)
)
# Dragino's coordinates and their "GPS not started" sentinel 0xFFFFFFFF (int32 −1 × 1e-6),
# shared with the TrackerD
POSITION = ("latitude" / Scaled(Int32sb, 1e-6), "longitude" / Scaled(Int32sb, 1e-6))
NO_GPS = -0.000001

FIELDS = (
    *POSITION,
    "status" / ALARM_BATTERY,
    "mode"
    / BitStruct(
        "motion_mode" / Named(BitsInteger(2), MOTION_MODES),
        "led_on" / Flag,
        "firmware" / Scaled(BitsInteger(5), offset=160),
    ),
)
MOTION = ("roll_deg" / Scaled(Int16sb, 0.01), "pitch_deg" / Scaled(Int16sb, 0.01))
HDOP = "hdop" / Scaled(Int8ub, 0.01)

NO_SENSOR = Layout("position_no_sensor", Struct(*FIELDS))
NO_HDOP = Layout("position_no_hdop", Struct(*FIELDS, *MOTION))
SHORT = Layout("position", Struct(*FIELDS, *MOTION, HDOP))
LONG = Layout(
    "position_altitude", Struct(*FIELDS, *MOTION, HDOP, "altitude_m" / Scaled(Int16sb, 0.01))
)
LAYOUTS = (NO_SENSOR, NO_HDOP, SHORT, LONG)
FRAMES = ByPort({PORT: Sized(*LAYOUTS)})

# Dragino's roles, shared with the TrackerD
ROLES = Roles(
    latitude="latitude",
    longitude="longitude",
    alarm="status.alarm",
    battery_mv="status.battery_mv",
    sentinels=(NO_GPS,),
)

MODEL = Model(
    id=MODEL_ID,
    title="Dragino LGT-92 LoRaWAN GPS tracker (alarm button)",
    network="lorawan",
    source="dragino/LGT-92_-LoRa_GPS_Tracker firmware main.c (v1.5-v1.6.7);"
    " TheThingsNetwork/lorawan-devices vendor/dragino/lgt92.js, lgt92-codec.yaml;"
    " Dragino LGT-92 user manual",
    frames=FRAMES,
    roles=ROLES,
)

build = MODEL.build
