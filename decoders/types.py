"""Network-neutral value types: uplinks, fixes, the messages a frame means, and a decode result.

Messages are plain slotted dataclasses; none of them ever holds a construct ``Container``, so they
can be compared, logged and turned into JSON without knowing how they were parsed. They are not
frozen: a frozen dataclass's ``__init__`` costs four times as much, and one is made per message on
the decode hot path. Treat them as values all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Literal

FixSource = Literal["gps", "wifi", "network", "cached"]
# A part of an uplink that was dropped or is doubtful, in one shape everywhere (docs/design.md
# §14): {"source": "envelope" | "decoder", "field", "message"}, plus "offset" when known.
UplinkWarning = dict[str, Any]


@dataclass(slots=True)
class Fix:
    """A position in degrees. ``source == "cached"`` marks a fix the device says is not fresh."""

    latitude: float
    longitude: float
    accuracy_m: float | None = None
    source: FixSource = "gps"
    fixed_at: datetime | None = None

    @property
    def is_fresh(self) -> bool:
        return self.source != "cached"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"latitude": self.latitude, "longitude": self.longitude}
        if self.accuracy_m is not None:
            out["accuracy_m"] = self.accuracy_m
        out["source"] = self.source
        if self.fixed_at is not None:
            out["fixed_at"] = self.fixed_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class Hints:
    """What a network says about an uplink besides its device id: the groupings templates
    match on (Sigfox device type, TTS application, ChirpStack application / device profile)."""

    sigfox_device_type: str | None = None
    ttn_application: str | None = None
    chirpstack_application: str | None = None
    chirpstack_device_profile: str | None = None
    # The names ChirpStack's UI shows (deviceInfo.applicationName / deviceProfileName): a
    # template may match them instead of the UUIDs (docs/networks.md §3).
    chirpstack_application_name: str | None = None
    chirpstack_device_profile_name: str | None = None


UplinkKind = Literal["uplink", "location", "status", "other"]


@dataclass(frozen=True, slots=True)
class Uplink:
    """One uplink as any network delivered it, reduced to what decoding and dedup need."""

    network: Literal["sigfox", "lorawan"]
    device: str
    payload: bytes
    received_at: datetime
    dedup_key: str
    port: int | None = None
    sequence: int | None = None
    network_location: Fix | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # Set when the envelope was fine but its payload text was not (bad hex/base64): the uplink
    # is still kept, raw, as undecodable, because it might be a panic.
    payload_error: str | None = None
    hints: Hints = Hints()
    # "uplink" carries a frame to decode; "location" only a network fix (TTS location_solved,
    # ChirpStack location); "status" only a battery level; "other" nothing we act on.
    kind: UplinkKind = "uplink"
    # A battery level the network reports: a ChirpStack status event's, or The Things Stack's
    # last_battery_percentage on an uplink, which the device sent earlier (at ``battery_at``).
    battery_percent: float | None = None
    battery_at: datetime | None = None
    # The network's own decoding of the frame (TTS decoded_payload, ChirpStack object): a JSON
    # object within the bounds of decoders/envelopes/limits.py (DECODED), else None and a
    # warning. Templates with ``decoded = "network"`` read it instead of the frame.
    decoded: dict[str, Any] | None = field(default=None, compare=False)
    # What the network's decoder warned about (TTS decoded_payload_warnings): decoder warnings
    # of a decoded = "network" template, so such an uplink never stands a callout down.
    decoded_warnings: tuple[str, ...] = ()
    # Optional parts of the body that were invalid and dropped (a network fix out of range, a
    # malformed device type hint), each {"source": "envelope", "field", "message"}
    # (docs/design.md §14). The rest of the uplink, its frame above all, is kept.
    warnings: tuple[UplinkWarning, ...] = ()


class Message:
    """Base of the messages a frame can mean; ``kind`` is the CLI/JSON name."""

    __slots__ = ()
    kind: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Fix):
                out.update(value.as_dict())
            elif value is not None:
                out[f.name] = value
        return out


@dataclass(slots=True)
class Alert(Message):
    """The wearer asks for help. ``sustained`` marks devices that repeat the alarm as a state in
    every frame while it is active: only its rising edge opens a callout."""

    kind: ClassVar[str] = "alert"
    trigger: str
    fix: Fix | None = None
    sustained: bool = False


@dataclass(slots=True)
class Location(Message):
    kind: ClassVar[str] = "location"
    fix: Fix


@dataclass(slots=True)
class Cancel(Message):
    kind: ClassVar[str] = "cancel"
    reason: str = "user"


@dataclass(slots=True)
class Battery(Message):
    kind: ClassVar[str] = "battery"
    percent: int | None = None
    voltage_mv: int | None = None


@dataclass(slots=True)
class Button(Message):
    """A press the template decides the meaning of (alert, cancel, or nothing)."""

    kind: ClassVar[str] = "button"
    gesture: str


@dataclass(slots=True)
class Status(Message):
    """Anything informational: arming, configuration, firmware, an alarm state clearing."""

    kind: ClassVar[str] = "status"
    event: str
    detail: str | None = None


@dataclass(slots=True)
class Decoded:
    """The result of decoding one frame. ``warnings`` name what was read but not trusted (an
    impossible value, a record the model does not know, bytes missing after the alarm bits);
    a frame with warnings is never trusted to stand a callout down (docs/design.md §14)."""

    model: str
    fields: dict[str, Any]
    messages: tuple[Message, ...]
    port: int | None = None
    warnings: tuple[UplinkWarning, ...] = ()

    @property
    def trusted(self) -> bool:
        """Decoded without any warning: only such a frame may cancel a callout."""
        return not self.warnings

    def as_dict(self) -> dict[str, Any]:
        out = {
            "model": self.model,
            "port": self.port,
            "fields": self.fields,
            "messages": [m.as_dict() for m in self.messages],
        }
        if self.warnings:
            out["warnings"] = [dict(w) for w in self.warnings]
        return out
