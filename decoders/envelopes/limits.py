"""The bounds of every callback field the envelope parsers read, one table per network.

A value outside its bounds is refused by the readers of :mod:`decoders.envelopes.coerce`: a 400
naming the field when the uplink cannot be identified without it (device, time, sequence, the
frame), a warning and the part dropped when it is optional (a network fix, a hint, a battery
level). The bounds are the documented ranges (docs/networks.md) where there are some, and
otherwise what the value can physically be, so no real callback is refused. Numbers never exceed
SQLite's signed 64-bit INTEGER, and times stay where ``datetime`` can hold them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds of a number."""

    low: int | float
    high: int | float

    def __str__(self) -> str:
        return f"from {self.low} to {self.high}"


@dataclass(frozen=True, slots=True)
class Text:
    """Text that must match ``pattern`` as a whole; ``what`` says so in an error."""

    pattern: re.Pattern[str]
    what: str


Limit = Range | Text
Limits = Mapping[str, Limit]


def _text(pattern: str, what: str) -> Text:
    return Text(re.compile(pattern), what)


# -- shared --------------------------------------------------------------------------------------

# 1970-01-01 to 9999-12-31T00:00:00Z: what ``datetime`` holds, less a day, so that converting a
# time with a zone offset can never overflow.
EPOCH_S = Range(0, 253_402_214_400)
EPOCH_MS_OR_S = Range(0, 253_402_214_400_000)  # Helium and LORIOT send ms (or s, older Helium)
LATITUDE = Range(-90, 90)
LONGITUDE = Range(-180, 180)
ACCURACY_M = Range(0, 20_037_509)  # half the equator: no error radius on Earth is larger
PERCENT = Range(0, 100)
F_CNT = Range(0, 2**32 - 1)  # LoRaWAN frame counters are 32 bits (16 on air, extended by the NS)
F_PORT = Range(0, 255)  # FPort is one byte of the LoRaWAN frame
UPPER_HEX_ID = _text(r"[0-9A-Fa-f]{1,16}", "up to 16 hex digits")
# Ids that become part of a dedup key or a log line: printable ASCII, no space, bounded.
KEY_TEXT = _text(r"[!-~]{1,128}", "1 to 128 printable ASCII characters without spaces")
HINT_TEXT = KEY_TEXT
# Names a UI shows (ChirpStack application and device-profile names): spaces allowed, never a
# control character, bounded.
NAME_TEXT = _text(r"[^\x00-\x1f\x7f]{1,128}", "1 to 128 characters without control characters")
RFC3339_TEXT = _text(r"[0-9][0-9Tt:.+\-Zz ]{9,63}", "an RFC 3339 time")

# A network fix (TTS locations / location_solved, ChirpStack location).
POSITION: Limits = {"latitude": LATITUDE, "longitude": LONGITUDE, "accuracy": ACCURACY_M}


@dataclass(frozen=True, slots=True)
class Tree:
    """Bounds of a JSON object a network decoded for us (TTS ``decoded_payload``, ChirpStack
    ``object``): nesting below the object and the number of values in it. Real decoders return
    a few dozen values a few levels deep; the bounds keep a hostile one from costing the
    templates' path reads (or the store) more than a body already may."""

    depth: int
    nodes: int
    text: int  # the longest string value or key


DECODED = Tree(depth=16, nodes=4096, text=4096)

# -- Sigfox (docs/networks.md §1.3, §1.4) --------------------------------------------------------

SIGFOX: Limits = {
    "device": UPPER_HEX_ID,  # "hex, up to 8 characters"; 16 allowed, as before
    "time": EPOCH_S,
    "seqNumber": Range(0, 4095),  # 12 bits: wraps to 0 after 4096 messages (§1.4)
    # Device type ids are documented as "up to 8 characters" but are 24-hex-digit object ids.
    "deviceTypeId": _text(r"[0-9A-Fa-f]{1,32}", "up to 32 hex digits"),
    # Network metadata, never used: checked only so that a broken template is noticed.
    "rssi": Range(-250, 50),  # dBm
    "snr": Range(-50, 100),  # dB
    "station": _text(r"[0-9A-Fa-f]{1,16}", "up to 16 hex digits"),  # "4 hex characters"
}
SIGFOX_LOCATION: Limits = {  # DATA_ADVANCED computedLocation
    "lat": LATITUDE,
    "lng": LONGITUDE,
    "radius": ACCURACY_M,  # metres
    "status": Range(0, 255),  # a small code; 1 is "location available"
}

# -- The Things Stack v3 (§2.1) ------------------------------------------------------------------

# TTS ids are lower-case letters, digits and dashes, at most 36; a superset is accepted, but
# never a colon (the dedup key's separator), a space or a control character.
TTS_ID = _text(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", "an id of letters, digits, '.', '_', '-'")
TTN: Limits = {
    "application_id": TTS_ID,
    "device_id": TTS_ID,
    "session_key_id": KEY_TEXT,  # base64 of 16 bytes
    "received_at": RFC3339_TEXT,
    "f_cnt": F_CNT,
    "f_port": F_PORT,
    # uplink_message.last_battery_percentage {value, f_cnt, received_at} (TTS 3.33.1)
    "value": PERCENT,
}

# -- ChirpStack v4 (and v3 JSON) (§2.2, §2.3) ----------------------------------------------------

CHIRPSTACK: Limits = {
    "deduplicationId": KEY_TEXT,  # a UUID
    "time": RFC3339_TEXT,
    "applicationId": HINT_TEXT,
    "deviceProfileId": HINT_TEXT,
    "applicationName": NAME_TEXT,
    "deviceProfileName": NAME_TEXT,
    "applicationID": HINT_TEXT,  # v3: a number as a string
    "fCnt": F_CNT,
    "fPort": F_PORT,
    "batteryLevel": PERCENT,  # status events, a float percentage
}

# -- offline only: Helium, LORIOT, ThingPark (§2.4) ----------------------------------------------

OFFLINE: Limits = {
    "reported_at": EPOCH_MS_OR_S,
    "ts": EPOCH_MS_OR_S,
    "Time": RFC3339_TEXT,
    "fcnt": F_CNT,
    "FCntUp": F_CNT,
    "port": F_PORT,
    "FPort": F_PORT,
}
