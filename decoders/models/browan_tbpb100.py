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

Choices made here:
- 8 or 11 bytes; fewer than 8 is ``ShortFrame``, 9-10 or more than 11 ``TrailingBytes``.
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

from decoders.model import Model
from decoders.schema import Layout, Scaled, short_or_long
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


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    return short_or_long(V13, V14, frame, model=MODEL_ID, field="button_1_count")


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (11 bytes with
    ``button_1_count``)."""
    return (V14 if "button_1_count" in fields else V13).build(fields)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    buttons, battery = fields["buttons"], fields["battery"]
    messages: list[Message] = []
    if buttons["button_0_pushed"]:
        messages.append(Button("press"))
    if buttons["button_1_pushed"]:
        messages.append(Button("press_button_1"))
    percent = (battery["capacity_15ths"] * 200 + 15) // 30  # × 100 / 15, rounded half up
    return [*messages, Battery(percent=percent, voltage_mv=battery["battery_mv"])]


MODEL = Model(
    id=MODEL_ID,
    title="Browan Tabs TBPB100 push button",
    network="lorawan",
    source="TheThingsNetwork/lorawan-devices vendor/browan/tbpb100.js, tbpb100-codec.yaml",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=(PORT,),
    alert_gestures=("press",),
)
