"""``milesight-ws101``: Milesight WS101 smart button, also sold as "WS101 SOS" (panic button).

Sources: Milesight-IoT/SensorDecoders WS_Series/WS101 (README.md and WS101_Decoder.js) and
TheThingsNetwork/lorawan-devices vendor/milesight-iot/ws101.js, ws101-codec.yaml. fPort 85.

A frame is a run of records ``[channel id][channel type][value]``, in any order; the two-byte
key (``record`` below, id then type) fixes the value's size. Multi-byte values little-endian.

    01 75   battery %                              1 byte
    FF 2E   button press: 1 short, 2 long, 3 double  1 byte
    FF 01   protocol (IPSO) version                1 byte
    FF 09   hardware version                       2 bytes (kept as hex)
    FF 0A   firmware version                       2 bytes (kept as hex)
    FF FF   TSL version                            2 bytes (kept as hex)
    FF 16   serial number                          8 bytes (kept as hex)
    FF 0F   LoRaWAN class: 0 A, 1 B, 2 C, 3 C-to-B 1 byte
    FF 0B   power on (value not used by Milesight) 1 byte
    FF FE   reset event (value not used)           1 byte

Choices made here:
- A press is a ``Button`` with the vendor's gesture name; the model's default meaning is alert
  for all three (``alert_gestures``): the SOS variant is the same hardware, and Milesight's
  documentation gives no gesture a cancel meaning. A template can say otherwise.
- An undefined press code is ``ValueOutOfRange``, not a silent "unknown" press: the undecodable
  uplink is kept raw and can be replayed, where an unknown gesture would go nowhere.
- An undefined channel/type pair is ``UnknownMessageType`` at its offset: record sizes are only
  known from the table, so nothing after it can be read. A record cut short is ``ShortFrame``.
  Milesight's downlink-reply records (FE/FF xx) are not decoded.
- Power-on and reset records give a ``Status``; the other attributes are fields only. The
  battery percent is not range-checked: a battery glitch must not make a press undecodable.
- There is no GPS: location comes from the network or the device's registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import Int8ub, Int16ub, Struct

from decoders.model import Model
from decoders.schema import HexBytes, Layout, Named, records
from decoders.types import Battery, Button, Message, Status

MODEL_ID = "milesight-ws101"
PORT = 85
PRESSES = {1: "short", 2: "long", 3: "double"}
CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}


def record(key: int, name: str, *fields: Any) -> tuple[int, Layout]:
    """One Milesight record by its two-byte key: the key (by name), then the value."""
    return key, Layout(name, Struct("record" / Named(Int16ub, {key: name}), *fields))


# Device attributes every Milesight device reports (reused by the AT101).
ATTRIBUTES = (
    record(0xFF01, "protocol_version", "protocol_version" / Int8ub),
    record(0xFF09, "hardware_version", "hardware_version" / HexBytes(2)),
    record(0xFF0A, "firmware_version", "firmware_version" / HexBytes(2)),
    record(0xFFFF, "tsl_version", "tsl_version" / HexBytes(2)),
    record(0xFF16, "serial_number", "serial_number" / HexBytes(8)),
    record(0xFF0F, "lorawan_class", "lorawan_class" / Named(Int8ub, CLASSES)),
    record(0xFF0B, "power_on", "value" / Int8ub),
    record(0xFFFE, "reset", "value" / Int8ub),
)
RECORDS = (
    record(0x0175, "battery", "battery_pct" / Int8ub),
    record(0xFF2E, "press", "press" / Named(Int8ub, PRESSES)),
    *ATTRIBUTES,
)

LAYOUTS = dict(RECORDS)
LAYOUT_BY_NAME = {layout.name: layout for layout in LAYOUTS.values()}


def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
    found = records(frame, LAYOUTS, model=MODEL_ID, key_size=2, name="records", key_field="record")
    return {"records": found}


def build(fields: Mapping[str, Any]) -> bytes:
    """Build a frame from the same fields :func:`parse` returns (each record by name)."""
    return b"".join(LAYOUT_BY_NAME[r["record"]].build(r) for r in fields["records"])


def device_status(rec: Mapping[str, Any]) -> list[Message]:
    """The messages of Milesight's device attribute records (power on, reset)."""
    if rec["record"] in ("power_on", "reset"):
        return [Status(rec["record"])]
    return []


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    messages: list[Message] = []
    for rec in fields["records"]:
        if rec["record"] == "press":
            messages.append(Button(rec["press"]))
        elif rec["record"] == "battery":
            messages.append(Battery(percent=rec["battery_pct"]))
        else:
            messages.extend(device_status(rec))
    return messages


MODEL = Model(
    id=MODEL_ID,
    title="Milesight WS101 smart button / WS101 SOS",
    network="lorawan",
    source="Milesight-IoT/SensorDecoders WS_Series/WS101 (README.md, WS101_Decoder.js)",
    parse=parse,
    interpret=interpret,
    build=build,
    ports=(PORT,),
    alert_gestures=("short", "long", "double"),
)
