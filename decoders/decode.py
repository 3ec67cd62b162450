"""The one entry point from bytes to meaning: :func:`decode`."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from decoders.envelopes.shown import printable
from decoders.errors import DecodeError, InvalidHex, NoDecodedPayload, UnknownPort
from decoders.frames import Read
from decoders.model import Model
from decoders.models import MODELS, get_model
from decoders.records import Records
from decoders.roles import meaning
from decoders.types import Alert, Battery, Button, Decoded, Message, Uplink, UplinkWarning

if TYPE_CHECKING:  # templates imports the models; decode is imported by them all
    from decoders.templates import Template


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
    :class:`~decoders.errors.UnknownModel` for an id that does not exist.

    What can be read is decoded: an impossible value, a record the model does not know, or
    bytes past the end become ``warnings``, not errors. A frame no layout fits (cut short, too
    long) is decoded only when what it holds raises the alarm; otherwise it is the error."""
    # A str first: the common call names a model by id, and decode() is a hot path.
    spec: Model = (MODELS.get(model) or get_model(model)) if type(model) is str else model  # type: ignore[assignment, arg-type]
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
        fields = spec.frames.quick(frame, port)
        if fields is not None:  # the hot path: a whole frame, no warning possible
            return Decoded(spec.id, fields, tuple(interpret_fields(spec, fields)), port)
        read = spec.frames.read(frame, port, spec.id)
        messages = _messages(spec, read)
        misfit = read.misfit
        if misfit is not None and not _calls_for_help(spec, messages):
            # A frame no layout fits counts only if some reading of it calls for help.
            for other in read.alternatives:
                other_messages = _messages(spec, other)
                if _calls_for_help(spec, other_messages):
                    read, messages = other, other_messages
                    break
            else:
                raise misfit
    except DecodeError as error:
        raise error.with_context(model=spec.id) from None
    return Decoded(spec.id, read.fields, messages, port, tuple(read.warnings))


def _messages(spec: Model, read: Read) -> tuple[Message, ...]:
    if read.misfit is not None:
        # A cut frame lacks fields a model's interpret may rely on: what it cannot interpret
        # does not call for help, and the frame stays the misfit error.
        try:
            return tuple(interpret_fields(spec, _trusted_view(read.fields, read.warnings)))
        except (KeyError, TypeError, ValueError):
            return ()
    if read.warnings:
        return tuple(interpret_fields(spec, _trusted_view(read.fields, read.warnings)))
    return tuple(interpret_fields(spec, read.fields))


def interpret_fields(spec: Model, fields: dict[str, Any]) -> list[Message]:
    """The messages a model's fields mean: its ``interpret``, else its roles (per record)."""
    if spec.interpret is not None:
        return list(spec.interpret(fields))
    if isinstance(spec.frames, Records):
        out: list[Message] = []
        for record in fields[spec.frames.name]:
            out.extend(meaning(spec.roles, record))
        return out
    return meaning(spec.roles, fields)


def _calls_for_help(spec: Model, messages: tuple[Message, ...]) -> bool:
    """Whether the messages ask for help: an alert, or a press of an alert gesture."""
    return any(
        isinstance(m, Alert) or (isinstance(m, Button) and m.gesture in spec.alert_gestures)
        for m in messages
    )


def _trusted_view(fields: dict[str, Any], warnings: list[UplinkWarning]) -> dict[str, Any]:
    """A copy of the fields where every value a warning names reads as None: shown to the
    user, never acted on."""
    view = copy.deepcopy(fields)
    for warning in warnings:
        path = warning.get("field")
        if not path:
            continue
        holder: Any = view
        *parents, leaf = _steps(str(path))
        for step in parents:
            try:
                holder = holder[step]
            except (KeyError, IndexError, TypeError):
                holder = None
                break
        if isinstance(holder, dict) and leaf in holder:
            holder[leaf] = None
    return view


def _steps(path: str) -> list[str | int]:
    """``records[2].press`` → ``["records", 2, "press"]``."""
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            steps.append(int(index))
            rest = rest.lstrip("[")
    return steps


def decode_uplink(template: Template, uplink: Uplink) -> Decoded:
    """Decode one uplink as its template says: with the template's model (or grammar), the
    network's decoded payload (``decoded = "network"``) or a vendor codec, the last two read
    through the template's ``fields``. Raises only :class:`DecodeError` (a codec's failure is a
    ``CodecError``; a network template on an uplink without a decoded payload is
    :class:`NoDecodedPayload`), so the uplink is kept as undecodable and can be replayed.

    A battery level the network reports with the uplink (TTS ``last_battery_percentage``) is
    the battery of a template that maps none (:func:`_maps_battery`)."""
    decoded = _decode_uplink(template, uplink)
    if uplink.battery_percent is not None and not _maps_battery(template, decoded):
        level = Battery(percent=max(0, min(100, round(uplink.battery_percent))))
        decoded.messages = (*decoded.messages, level)
    return decoded


def _maps_battery(template: Template, decoded: Decoded) -> bool:
    """Whether the template has a battery of its own: mapped in its ``fields``, a battery role
    of its model, or (a model with device logic of its own, ``interpret``) one in this uplink.
    Decided per template where it can be, so that a device that reports its level in some
    frames does not alternate with the network's older reading."""
    if template.fields is not None:
        return template.fields.maps_battery
    roles = template.model.roles
    if roles.battery is not None or roles.battery_mv is not None:
        return True
    return any(isinstance(m, Battery) for m in decoded.messages)


def _decode_uplink(template: Template, uplink: Uplink) -> Decoded:
    fields_map = template.fields
    if template.source == "network" and fields_map is not None:
        if uplink.decoded is None:
            raise NoDecodedPayload(
                'the template reads the network\'s decoded payload (decoded = "network") and'
                " this uplink has none (uplink_message.decoded_payload / object): is a payload"
                " formatter or codec set on the network server?",
                model=template.model.id,
            )
        reading = fields_map.read(uplink.decoded)
        said = tuple(
            {"source": "decoder", "field": "decoded_payload_warnings", "message": text}
            for text in uplink.decoded_warnings
        )
        return Decoded(
            template.model.id,
            uplink.decoded,
            reading.messages,
            uplink.port,
            (*said, *reading.warnings),
        )
    if template.source == "codec" and fields_map is not None:
        # The codec decodes the frame itself, even when the network sent a decoded payload.
        try:
            result = template.codec.decode(uplink.payload, uplink.port, uplink.received_at)
        except DecodeError as error:
            raise error.with_context(model=template.model.id, frame=uplink.payload) from None
        reading = fields_map.read(result.fields)
        said = tuple(
            {"source": "decoder", "field": "codec", "message": printable(str(text), 200)}
            for text in result.warnings
        )
        return Decoded(
            template.model.id,
            dict(result.fields),
            reading.messages,
            uplink.port,
            (*said, *reading.warnings),
        )
    return decode(template.model, uplink.payload, uplink.port)
