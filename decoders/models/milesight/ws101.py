"""``milesight-ws101``: Milesight WS101 smart button, also sold as "WS101 SOS" (panic button).

Sources: Milesight-IoT/SensorDecoders (main at ``e79c9d8``) ``ws-series/ws101/README.md`` and
``ws-series/ws101/ws101-decoder.js`` — the serial-number record is ``FF 08`` (6 bytes) since
commit ``f935150`` (2025-07-29, "fix: bugs"; the first published version, ``WS_Series/WS101``,
said ``FF 16``, 8 bytes); TheThingsNetwork/lorawan-devices ``vendor/milesight-iot/ws101.js``
and ``ws101-codec.yaml`` (the example ``FF 2E 01``). fPort 85.

A frame is a run of records ``[channel id][channel type][value]`` in any order (the format and
attribute records shared by Milesight devices: :mod:`decoders.models.milesight.channels`); the
two-byte key (``record``) fixes the value's size. Multi-byte values little-endian.

    01 75   battery %                                   1 byte
    FF 2E   button press: 1 short, 2 long, 3 double     1 byte
    FF 01   protocol (IPSO) version                     1 byte
    FF 09   hardware version                            2 bytes (kept as hex)
    FF 0A   firmware version                            2 bytes (kept as hex)
    FF FF   TSL version                                 2 bytes (kept as hex)
    FF 08   serial number                               6 bytes (kept as hex)
    FF 0F   LoRaWAN class: 0 A, 1 B, 2 C, 3 C-to-B      1 byte
    FF 0B   device status, power on (value not read)    1 byte
    FF FE   reset event (value not read)                1 byte

Replies to downlinks (the README's "Downlink" table; the decoder reads channel FF and FE alike,
the FE copy's record is named ``<name>_fe``):

    xx 03   reporting_interval u16 (unit not stated by Milesight)   2 bytes
    xx 10   reboot (value not read)                                 1 byte
    xx 28   query_device_status (value not read)                    1 byte
    xx 2F   led_indicator_enable: 0 disable, 1 enable               1 byte
    xx 3E   buzzer_enable: 0 disable, 1 enable                      1 byte
    xx 74   double_click_enable: 0 disable, 1 enable                1 byte

Firmware variants accepted: every frame of the current README; ``FF 16`` (the first published
decoder's serial record, which no WS101 is documented to send) is an unknown record.

Choices made here:
- A press is a ``Button`` with the vendor's gesture name; the model's default meaning is alert
  for all three (``alert_gestures``): the SOS variant is the same hardware, and Milesight's
  documentation gives no gesture a cancel meaning. A template can say otherwise.
- A press with an undefined code (the vendor decoder says "unknown") is still a press: a
  warning, and ``Alert("button:unknown")`` — when in doubt, a call for help.
- An undefined channel/type pair stops the reading there (record sizes are only known from the
  table): the records before it are kept, with a warning naming its offset; a press before it
  still raises the alert, a cancel gesture is not trusted (docs/design.md §14). A frame whose
  first record is unknown or cut short has nothing to trust: ``UnknownMessageType`` /
  ``ShortFrame``.
- Power-on and reset records give a ``Status``; the other attributes and replies are fields
  only. A battery percent above 100 is a warning (no ``Battery`` message), never an error.
- There is no GPS: location comes from the network or the device's registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import Int8ub, Int16ul

from decoders.model import Model
from decoders.models.milesight.channels import ENABLE, attributes, device_status, record, replies
from decoders.records import Records
from decoders.roles import Roles, meaning
from decoders.schema import Named, Scaled
from decoders.types import Message

MODEL_ID = "milesight-ws101"
PORT = 85
PRESSES = {1: "short", 2: "long", 3: "double"}
SERIAL_KEY = 0xFF08
SERIAL_SIZE = 6

REPLIES = (
    (0x03, "reporting_interval", ("reporting_interval" / Int16ul,)),
    (0x10, "reboot", ("value" / Int8ub,)),
    (0x28, "query_device_status", ("value" / Int8ub,)),
    (0x2F, "led_indicator_enable", ("led_indicator" / Named(Int8ub, ENABLE),)),
    (0x3E, "buzzer_enable", ("buzzer" / Named(Int8ub, ENABLE),)),
    (0x74, "double_click_enable", ("double_click" / Named(Int8ub, ENABLE),)),
)
RECORDS = (
    record(0x0175, "battery", "battery_pct" / Scaled(Int8ub, valid=(0, 100))),
    record(0xFF2E, "press", "press" / Named(Int8ub, PRESSES)),
    *attributes(SERIAL_KEY, SERIAL_SIZE),
    *replies(REPLIES),
)

LAYOUTS = dict(RECORDS)
FRAMES = Records(LAYOUTS, key_size=2, key_field="record")
ROLES = Roles(button="press", battery="battery_pct")


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    """Each record's role messages (press, battery), and power-on / reset statuses."""
    messages: list[Message] = []
    for rec in fields["records"]:
        messages.extend(meaning(ROLES, rec))
        messages.extend(device_status(rec))
    return messages


MODEL = Model(
    id=MODEL_ID,
    title="Milesight WS101 smart button / WS101 SOS",
    network="lorawan",
    source="Milesight-IoT/SensorDecoders ws-series/ws101 (README.md, ws101-decoder.js)",
    frames=FRAMES,
    roles=ROLES,
    interpret=interpret,
    ports=(PORT,),
    alert_gestures=("short", "long", "double"),
)
