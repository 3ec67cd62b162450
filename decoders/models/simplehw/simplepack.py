"""``simplepack``: SimpleHW SimplePack / SimplePack Plus, API 6 (Sigfox panic/eldercare button).

Sources: https://ask.simplehw.eu/kb/simple-api-6-generation/modes/api-6-standard-user-modes_15400961
(Press me), .../simple-api-6-generation/api-6/api-6-wifi-user-modes (Press me WiFi variants),
.../simple-api-6-generation/overview/basic-operations/what-should-you-see-on-the-sigfox-backend
(arming, downlink request and confirmation frames) and
.../api-6-mode-independent-information-and-events_15237121/appended-payload.

    byte 0      mode: 0x01 Press me, 0x02 Guard me, 0x14 Press me WiFi, 0x23 Press me WiFi Atlas,
                0x50 Press me WiFi SuperLocal
    byte 1      event:
                0x30 short press (≤ 2 s), 0x31 double click, 0x32 long press (2-6 s)
                0x10 start of arming, 0x11 armed, 0x14 disarmed
                0x15 / 0x16 downlink configuration confirmed (FW ≥ 6.0.228; the vendor does not
                say which of the two marks a chained downlink, so both keep their code)
                0x81 extra-long press = downlink request; bytes 2-6: API version, FW major,
                FW minor, 2 hardware bytes (kept as hex ``hw``)
                0x9C/0x9D, 0x9E/0x9F, 0xA0/0xA1 short press, double click, long press in the WiFi
                modes, sent as frames 1/2 and 2/2 with 3 MAC addresses between them; the split
                is not documented, so bytes 2.. are kept as hex ``wifi``
    bytes 2..   events below 0x80 may carry "appended payload" (voltage, temperature, MAC ...)
                configured by register 0x0D; its packing is not used here, kept as hex
                ``appended``

Variants: the event byte (byte 1) selects one of three layouts: a plain event (2 bytes, then
any appended payload), the extra-long press (7 bytes, then any appended payload) and a WiFi
press frame (2 bytes, then the WiFi data); a frame is at most 12 bytes (one Sigfox uplink).

Choices made here:
- A panic press must never be undecodable: bytes after an event's layout are kept, never an
  error (only more than 12 bytes, which no Sigfox uplink has, is ``TrailingBytes``). A mode
  byte the vendor does not list is a decoder warning, not an error: the event byte still says
  what was pressed (the vendor lets button events be sent as mode-independent events in any
  mode, so events are not tied to a mode either).
- An undefined event code is ``UnknownMessageType`` on ``event`` (byte 1): nothing in such a
  frame can be read. A frame without its event byte is ``ShortFrame``; an extra-long press cut
  short (a downlink request, not an alert) is ``ShortFrame`` naming the missing field.
- Both frames of a WiFi press give the Button, so losing one of them on the radio still raises
  the alert (AURA folds a second new-callout into the open one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import Int8ub, Struct

from decoders.frames import BySelector, Sized
from decoders.model import Model
from decoders.schema import HexBytes, Layout, Named
from decoders.types import Button, Message, Status

MODEL_ID = "simplepack"
MAX_SIZE = 12  # one Sigfox uplink

MODES = {
    0x01: "press_me",
    0x02: "guard_me",
    0x14: "press_me_wifi",
    0x23: "press_me_wifi_atlas",
    0x50: "press_me_wifi_superlocal",
}
# code: (event name, what it means); events below 0x80 may carry appended payload
PLAIN_EVENTS = {
    0x10: ("arming_started", Status("arming_started")),
    0x11: ("armed", Status("armed")),
    0x14: ("disarmed", Status("disarmed")),
    0x15: ("config_confirmed_15", Status("config_confirmed", "0x15")),
    0x16: ("config_confirmed_16", Status("config_confirmed", "0x16")),
    0x30: ("short_press", Button("short")),
    0x31: ("double_click", Button("double")),
    0x32: ("long_press", Button("long")),
}
WIFI_EVENTS = {
    0x9C: ("short_press_wifi_1", Button("short")),
    0x9D: ("short_press_wifi_2", Button("short")),
    0x9E: ("double_click_wifi_1", Button("double")),
    0x9F: ("double_click_wifi_2", Button("double")),
    0xA0: ("long_press_wifi_1", Button("long")),
    0xA1: ("long_press_wifi_2", Button("long")),
}
EXTRA_LONG = {0x81: "extra_long_press"}
MEANINGS = dict((*PLAIN_EVENTS.values(), *WIFI_EVENTS.values()))


def _names(table: Mapping[int, tuple[str, Message]]) -> dict[int, str]:
    return {code: name for code, (name, _) in table.items()}


plain_event = Struct(
    "mode" / Named(Int8ub, MODES),
    "event" / Named(Int8ub, _names(PLAIN_EVENTS)),
)
extra_long_press = Struct(
    "mode" / Named(Int8ub, MODES),
    "event" / Named(Int8ub, EXTRA_LONG),
    "api_version" / Int8ub,
    "fw_major" / Int8ub,
    "fw_minor" / Int8ub,
    "hw" / HexBytes(2),
)
wifi_press = Struct(
    "mode" / Named(Int8ub, MODES),
    "event" / Named(Int8ub, _names(WIFI_EVENTS)),
)

_PLAIN = Layout("event", plain_event, tail="appended")
_EXTRA_LONG = Layout("extra_long_press", extra_long_press, tail="appended")
_WIFI = Layout("wifi_press", wifi_press, tail="wifi")
LAYOUTS = {
    **dict.fromkeys(PLAIN_EVENTS, _PLAIN),
    **dict.fromkeys(EXTRA_LONG, _EXTRA_LONG),
    **dict.fromkeys(WIFI_EVENTS, _WIFI),
}
_SIZED = {id(layout): Sized(layout) for layout in LAYOUTS.values()}
FRAMES = BySelector(
    {code: _SIZED[id(layout)] for code, layout in LAYOUTS.items()},
    field="event",
    offset=1,
    max_size=MAX_SIZE,
)


def interpret(fields: Mapping[str, Any]) -> list[Message]:
    event = fields["event"]
    if event == "extra_long_press":
        api, major, minor = (fields.get(name) for name in ("api_version", "fw_major", "fw_minor"))
        version = f"api {api}, fw {major}.{minor}"
        return [Button("extra_long"), Status("downlink_request", version)]
    return [MEANINGS[event]]


MODEL = Model(
    id=MODEL_ID,
    title="SimpleHW SimplePack (API 6) Sigfox button",
    network="sigfox",
    source="https://ask.simplehw.eu/kb/simple-api-6-generation/modes/api-6-standard-user-modes_15400961",
    frames=FRAMES,
    interpret=interpret,
    alert_gestures=("short", "double", "long"),
)
