"""What a device model is: the bytes of one hardware family and what they mean, as data.

A model declares its frames (layouts and how one is chosen: :mod:`decoders.frames`), the roles
of its fields (:mod:`decoders.roles`) and, only where the device has logic no role expresses, an
``interpret`` function. The engine (:func:`decoders.decode`) does the rest: it parses, applies
the rule that readable alarm bits always raise the alarm, and the position policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from decoders.frames import ByPort, Frames
from decoders.roles import Roles
from decoders.types import Message

Interpreter = Callable[[Mapping[str, Any]], Sequence[Message]]


@dataclass(frozen=True, slots=True)
class Model:
    """A device model. ``ports`` lists the LoRaWAN fPorts the model uses (a ``ByPort`` model's
    own, when not given); Sigfox models have none. ``interpret``, when given, turns a frame's
    fields (values the decoder warned about read as None) into messages instead of the roles.

    ``alert_gestures`` / ``cancel_gestures`` are the meanings of button gestures a template gets
    when its config says nothing, taken from the vendor's own documentation. ``examples`` is the
    examples file beside the model's module (input, expected fields, messages and warnings)."""

    id: str
    title: str
    network: Literal["sigfox", "lorawan", "any"]
    source: str
    frames: Frames
    roles: Roles = field(default_factory=Roles)
    interpret: Interpreter | None = None
    ports: tuple[int, ...] = ()
    alert_gestures: tuple[str, ...] = ()
    cancel_gestures: tuple[str, ...] = ()
    examples: str | None = None

    def __post_init__(self) -> None:
        if not self.ports and isinstance(self.frames, ByPort):
            object.__setattr__(self, "ports", self.frames.ports)

    def parse(self, frame: bytes, port: int | None = None) -> dict[str, Any]:
        """The fields of a frame; :class:`~decoders.errors.DecodeError` when no layout fits."""
        fields = self.frames.quick(frame, port)
        if fields is not None:  # a whole frame by its derived parser: nothing to warn about
            return fields
        read = self.frames.read(frame, port, self.id)
        if read.misfit is not None:
            raise read.misfit
        return read.fields

    def build(self, fields: Mapping[str, Any]) -> bytes:
        """The frame :meth:`parse` reads these fields from (where the layouts can build)."""
        return self.frames.build(fields)
