"""``browan-tbpb100``: Browan (TrackNet) Tabs TBPB100 push button, two buttons.

Sources: TheThingsNetwork/lorawan-devices vendor/browan/tbpb100.js, tbpb100-codec.yaml (decoder
and example) and tbpb100.yaml ("The Tabs Push Button with two buttons"); the full 8/11-byte
layout follows TrackNet's payload description v1.3/v1.4 as read by the ELEMENT IoT parsers for
Tabs devices (button states, remaining capacity, elapsed time, counters). fPort 147 only.

    byte 0      bits 7-2 reserved, bit 1 button 1 pushed, bit 0 button 0 pushed
    byte 1      bits 7-4 remaining capacity in fifteenths, bits 3-0 battery (25 + v) / 10 V
    byte 2      bit 7 reserved, bits 6-0 temperature + 32 °C
    bytes 3-4   time elapsed since the last trigger, u16 LE (unit not published)
    bytes 5-7   button 0 press count, u24 LE
    bytes 8-10  button 1 press count, u24 LE (payload v1.4 only)

Variants, told apart by length (``Sized``; fPort 147 only):

    8 bytes   status       payload v1.3
    11 bytes  status_v14   payload v1.4: + button 1 press count

Choices made here:
- Any other length does not fit: a frame cut short or too long whose button bits can be read
  and show a press of an alert gesture ("press" by default) is still a call for help, with a
  warning; otherwise it is ``ShortFrame`` (fewer than 8 bytes) or ``TrailingBytes`` (9-10, or
  more than 11, naming ``button_1_count``).
- A pushed button is a ``Button`` ("press" for button 0, the one the vendor decoder reports;
  "press_button_1" for the other), and the template decides what it means; by default "press"
  is an alert (``alert_gestures``), button 1 has no meaning. The bit is the button state when
  the message was sent: Tabs devices send a status message on each trigger and as a periodic
  keep-alive, where a released button reads 0, so a press is not repeated as a state (a
  keep-alive sent while the button is held would repeat it; AURA folds a second new-callout into
  the open one). The press counters let a consumer tell a new press from a repeat.
- Battery: ``Battery(percent = capacity × 100 / 15 rounded, voltage_mv)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import BitsInteger, BitStruct, Flag, Int16ul, Int24ul, Struct

from decoders.frames import Sized
from decoders.model import Model
from decoders.roles import value_at
from decoders.schema import Layout, Scaled
from decoders.types import Battery, Button, Message

MODEL_ID = "browan-tbpb100"
PORT = 147

FIELDS = (
    "buttons"
    / BitStruct("reserved" / BitsInteger(6), "button_1_pushed" / Flag, "button_0_pushed" / Flag),
    "battery"
    / BitStruct(
        "capacity_15ths" / BitsInteger(4),
        "battery_mv" / Scaled(BitsInteger(4), 100, offset=2500),
    ),
    "temperature"
    / BitStruct("reserved" / BitsInteger(1), "temperature_c" / Scaled(BitsInteger(7), offset=-32)),
    "since_trigger" / Int16ul,
    "button_0_count" / Int24ul,
)
V13 = Layout("status", Struct(*FIELDS))
V14 = Layout("status_v14", Struct(*FIELDS, "button_1_count" / Int24ul))
FRAMES = Sized(V13, V14)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """Two buttons, each its own gesture, and the battery from its capacity in fifteenths: device
    logic no role expresses. A frame cut short gives what its whole bytes say."""
    messages: list[Message] = []
    if value_at(fields, "buttons.button_0_pushed"):
        messages.append(Button("press"))
    if value_at(fields, "buttons.button_1_pushed"):
        messages.append(Button("press_button_1"))
    capacity = value_at(fields, "battery.capacity_15ths")
    millivolts = value_at(fields, "battery.battery_mv")
    if capacity is not None or millivolts is not None:
        percent = None if capacity is None else (capacity * 200 + 15) // 30  # ×100/15, half up
        messages.append(Battery(percent=percent, voltage_mv=millivolts))
    return messages


MODEL = Model(
    id=MODEL_ID,
    title="Browan Tabs TBPB100 push button",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/browan/tbpb100.js, tbpb100-codec.yaml",
    frames=FRAMES,
    interpret=interpret,
    ports=(PORT,),
    alert_gestures=("press",),
)

build = MODEL.build
