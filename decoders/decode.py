"""The one entry point from bytes to meaning: :func:`decode`."""

from __future__ import annotations

from decoders.errors import DecodeError, InvalidHex, UnknownPort
from decoders.model import Model
from decoders.models import MODELS, get_model
from decoders.types import Decoded


def frame_bytes(payload: bytes | bytearray | memoryview | str) -> bytes:
    """Bytes from bytes, or from hex text (either case, surrounding space ignored)."""
    if type(payload) is bytes:  # the common case, checked first: decode() is a hot path
        return payload
    if not isinstance(payload, str):
        return bytes(payload)  # bytearray, memoryview
    text = payload.strip()
    for index, char in enumerate(text):
        if char not in "0123456789abcdefABCDEF":
            raise InvalidHex(
                "payload is not hex",
                field="payload",
                offset=index // 2,
                expected="hex digits 0-9 A-F",
                got=repr(char),
            )
    if len(text) % 2:
        raise InvalidHex(
            "payload has an odd number of hex digits",
            field="payload",
            offset=len(text) // 2,
            expected="an even number of hex digits",
            got=f"{len(text)} digits",
        )
    return bytes.fromhex(text)


def decode(model: str | Model, payload: bytes | str, port: int | None = None) -> Decoded:
    """Decode one frame with a model (an id, or a :class:`Model` such as one compiled from a
    grammar). Raises only :class:`~decoders.errors.DecodeError`, and
    :class:`~decoders.errors.UnknownModel` for an id that does not exist."""
    spec = model if isinstance(model, Model) else MODELS.get(model) or get_model(model)
    try:
        frame = payload if type(payload) is bytes else frame_bytes(payload)
        if spec.ports and port not in spec.ports:
            raise UnknownPort(
                "frame arrived on a port this model does not use",
                field="port",
                expected="fPort " + " or ".join(str(p) for p in spec.ports),
                got=port,
                frame=frame,
            )
        fields = spec.parse(frame, port)
        messages = tuple(spec.interpret(fields))
    except DecodeError as error:
        raise error.with_context(model=spec.id) from None
    return Decoded(spec.id, fields, messages, port)
