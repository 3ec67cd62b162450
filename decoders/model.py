"""What a device model is: the bytes of one hardware family and what they mean."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from decoders.types import Message

Parser = Callable[[bytes, int | None], dict[str, Any]]
Interpreter = Callable[[Mapping[str, Any]], Sequence[Message]]
Builder = Callable[[Mapping[str, Any]], bytes]


@dataclass(frozen=True, slots=True)
class Model:
    """A device model. ``parse`` turns a frame into fields (raising only ``DecodeError``),
    ``interpret`` turns fields into messages, ``build`` (where the layout allows) does the reverse
    of ``parse``. ``ports`` lists the LoRaWAN fPorts the model uses; Sigfox models have none.

    ``alert_gestures`` / ``cancel_gestures`` are the meanings of button gestures a template gets
    when its config says nothing, taken from the vendor's own documentation."""

    id: str
    title: str
    network: Literal["sigfox", "lorawan", "any"]
    source: str
    parse: Parser
    interpret: Interpreter
    build: Builder | None = None
    ports: tuple[int, ...] = ()
    alert_gestures: tuple[str, ...] = ()
    cancel_gestures: tuple[str, ...] = ()
