"""What Milesight's LoRaWAN devices share: the record format and the device attribute records.

Source: Milesight-IoT/SensorDecoders (main at ``e79c9d8``, 2026-07-30), the per-device READMEs
and decoders, e.g. ``ws-series/ws101/README.md`` / ``ws101-decoder.js`` and
``at-series/at101/README.md`` / ``at101-decoder.js``.

A frame is a run of records ``[channel id][channel type][value]``; the two-byte key (id, type)
fixes the value's size, multi-byte values little-endian. Every device has these attribute
records (``FF xx``), with the same sizes:

    FF 01   protocol (IPSO) version        1 byte
    FF 09   hardware version               2 bytes (kept as hex)
    FF 0A   firmware version               2 bytes (kept as hex)
    FF FF   TSL version                    2 bytes (kept as hex)
    FF 0F   LoRaWAN class: 0 A, 1 B, 2 C, 3 C-to-B   1 byte
    FF 0B   device status ("on" at power-on; value not read by the vendor)   1 byte
    FF FE   reset event (value not read by the vendor)                     1 byte

The serial number is **not** shared: older devices (WS101, WS202, WS301, AM104/107, UC11xx,
VS121…) send ``FF 08`` with 6 bytes, newer ones (AT101, EM300, WS136/156, WT101…) ``FF 16``
with 8 bytes — each model names its own (:func:`attributes`).

Replies to downlink commands come back on channel ``FF`` or ``FE`` with the same type and size
(the vendor decoders read both alike); :func:`replies` declares both. Each device has its own
reply table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from construct import Int8ub, Int16ub, Struct

from decoders.schema import HexBytes, Layout, Named
from decoders.types import Message, Status

CLASSES = {0: "A", 1: "B", 2: "C", 3: "CtoB"}
ENABLE = {0: "disable", 1: "enable"}
# The channel ids a reply to a downlink comes back on; the FE copy's record name ends in "_fe".
REPLY_CHANNELS = {0xFF: "", 0xFE: "_fe"}


def record(key: int, name: str, *fields: Any) -> tuple[int, Layout]:
    """One Milesight record by its two-byte key: the key (by name), then the value."""
    return key, Layout(name, Struct("record" / Named(Int16ub, {key: name}), *fields))


def attributes(serial_key: int, serial_size: int) -> tuple[tuple[int, Layout], ...]:
    """The device attribute records, with the model's own serial-number record."""
    return (
        record(0xFF01, "protocol_version", "protocol_version" / Int8ub),
        record(0xFF09, "hardware_version", "hardware_version" / HexBytes(2)),
        record(0xFF0A, "firmware_version", "firmware_version" / HexBytes(2)),
        record(0xFFFF, "tsl_version", "tsl_version" / HexBytes(2)),
        record(serial_key, "serial_number", "serial_number" / HexBytes(serial_size)),
        record(0xFF0F, "lorawan_class", "lorawan_class" / Named(Int8ub, CLASSES)),
        record(0xFF0B, "power_on", "value" / Int8ub),
        record(0xFFFE, "reset", "value" / Int8ub),
    )


def replies(table: Iterable[tuple[int, str, tuple[Any, ...]]]) -> tuple[tuple[int, Layout], ...]:
    """Downlink-reply records ``(type, name, fields)``, each on channel FF and on FE."""
    return tuple(
        record(channel << 8 | kind, name + suffix, *fields)
        for kind, name, fields in table
        for channel, suffix in REPLY_CHANNELS.items()
    )


def device_status(rec: Mapping[str, Any]) -> list[Message]:
    """The messages of the attribute records: power on and reset are ``Status`` events."""
    if rec["record"] in ("power_on", "reset"):
        return [Status(rec["record"])]
    return []
