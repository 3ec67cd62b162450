"""Helpers that let device models stay declarative construct tables.

A model declares one fixed-layout ``Struct`` per message type. This module runs them: it checks the
frame length against the layout before parsing (so a short frame names the field it cuts through),
turns construct's own errors into the project's :class:`~decoders.errors.DecodeError` family, and
hands back plain JSON-safe dicts instead of ``Container`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import construct as cs

# Re-exported: models declare their schemas with these next to Layout.
from decoders.adapters import HexBytes as HexBytes
from decoders.adapters import Named as Named
from decoders.adapters import Scaled as Scaled
from decoders.errors import (
    DecodeError,
    ShortFrame,
    TrailingBytes,
    UnknownMessageType,
    UnknownPort,
    ValueOutOfRange,
)
from decoders.fastpath import FastParser, Unfit, derive


def plain(obj: Any) -> Any:
    """Turn construct results into JSON-safe values: dicts, lists, ints, floats, str, hex."""
    if isinstance(obj, Mapping):
        return {k: plain(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).hex().upper()
    if isinstance(obj, cs.EnumIntegerString):
        return str(obj)
    return obj


def field_offsets(schema: cs.Construct, base: int = 0, prefix: str = "") -> dict[str, int]:
    """Byte offset of every named field of a fixed-layout struct (bit fields: their byte)."""
    offsets: dict[str, int] = {}
    inner = _unwrap(schema)
    if not isinstance(inner, cs.Struct):
        return offsets
    bits = _is_bitwise(schema)
    position = 0
    for sub in inner.subcons:
        name = getattr(sub, "name", None)
        here = base + (position // 8 if bits else position)
        if name:
            offsets[prefix + name] = here
            if _is_bitwise(sub) or isinstance(_unwrap(sub), cs.Struct):
                offsets.update(field_offsets(sub, here, prefix + name + "."))
        try:
            position += sub.sizeof()
        except cs.SizeofError:
            break
    return offsets


def _unwrap(con: cs.Construct) -> cs.Construct:
    while isinstance(con, cs.Renamed | cs.Transformed | cs.Restreamed | cs.Adapter):
        con = con.subcon
    return con


def _is_bitwise(con: cs.Construct) -> bool:
    while isinstance(con, cs.Renamed):
        con = con.subcon
    return isinstance(con, cs.Transformed | cs.Restreamed)


# Every layout the models declare, so tests can check each derived fast parser against construct.
ALL_LAYOUTS: list[Layout] = []


@dataclass(frozen=True)
class Layout:
    """One fixed-size frame layout. ``tail`` names a final field that takes any remaining bytes
    (kept as hex), for frames whose vendor documents optional appended data."""

    name: str
    schema: cs.Construct
    tail: str | None = None

    def __post_init__(self) -> None:
        ALL_LAYOUTS.append(self)

    @cached_property
    def size(self) -> int:
        return int(self.schema.sizeof())

    @cached_property
    def offsets(self) -> dict[str, int]:
        return field_offsets(self.schema)

    @cached_property
    def compiled(self) -> cs.Construct:
        # Compiled once at load and reused: construct's interpreter is several times slower.
        return self.schema.compile()

    def field_at(self, offset: int) -> str | None:
        """The last top-level field starting at or before ``offset``."""
        found = None
        for name, start in self.offsets.items():
            if "." not in name and start <= offset:
                found = name
        return found

    @cached_property
    def fast(self) -> FastParser | None:
        """A ``struct`` reader derived from the schema (see :mod:`decoders.fastpath`)."""
        return derive(self.schema, self.tail)

    def parse(self, frame: bytes, model: str) -> dict[str, Any]:
        size = len(frame)
        if size != self.size and (size < self.size or self.tail is None):
            self._raise_length(frame, model)
        fast = self.fast
        if fast is not None:
            try:
                return fast(frame)
            except Unfit:  # a rejected value: construct re-parses it and names it
                pass
        fields = self.parse_with_construct(frame, model)
        if self.tail is not None:
            fields[self.tail] = frame[self.size :].hex().upper()
        return fields

    def _raise_length(self, frame: bytes, model: str) -> None:
        if len(frame) < self.size:
            raise ShortFrame(
                f"{self.name} frame is too short",
                model=model,
                field=self.field_at(len(frame)),
                offset=len(frame),
                expected=f"{self.size} bytes",
                got=f"{len(frame)} bytes",
                frame=frame,
            )
        raise TrailingBytes(
            f"{self.name} frame has bytes after its end",
            model=model,
            offset=self.size,
            expected=f"{self.size} bytes",
            got=f"{len(frame)} bytes",
            frame=frame,
        )

    def parse_with_construct(self, frame: bytes, model: str) -> dict[str, Any]:
        """The reference parse (construct, compiled), which also names every error."""
        try:
            return plain(self.compiled.parse(frame[: self.size]))
        except cs.ValidationError:
            # Compiled parsers do not know field paths; the interpreter does. Errors are rare,
            # so re-parse only then to name the field.
            error = self._interpreted_error(frame)
            field = _path_field(error.path)
            raise ValueOutOfRange(
                f"{self.name} field out of range",
                model=model,
                field=field,
                offset=self.offsets.get(field or ""),
                expected=_after(str(error), "expected ", ", got"),
                got=_after(str(error), ", got ", None),
                frame=frame,
            ) from None
        except cs.ConstructError as error:  # any other construct failure is still ours to name
            raise DecodeError(
                f"{self.name} frame does not parse: {error}",
                model=model,
                field=_path_field(error.path),
                frame=frame,
            ) from None

    def _interpreted_error(self, frame: bytes) -> cs.ValidationError:
        try:
            self.schema.parse(frame[: self.size])
        except cs.ValidationError as error:
            return error
        raise AssertionError("compiled and interpreted parsers disagree")  # pragma: no cover

    def build(self, fields: Mapping[str, Any]) -> bytes:
        data = dict(fields)
        tail = data.pop(self.tail, "") if self.tail else ""
        return bytes(self.schema.build(data)) + bytes.fromhex(tail or "")


def _path_field(path: str | None) -> str | None:
    if not path:
        return None
    parts = [p.strip() for p in path.split("->")]
    names = [p for p in parts if p and not p.startswith("(")]
    return ".".join(names) or None


def _after(text: str, start: str, end: str | None) -> str | None:
    if start not in text:
        return None
    rest = text.split(start, 1)[1]
    return rest.split(end, 1)[0] if end and end in rest else rest.strip()


def select(
    table: Mapping[int, Layout],
    key: int,
    *,
    model: str,
    field: str,
    offset: int,
    frame: bytes,
) -> Layout:
    """The layout for a selector value, or :class:`UnknownMessageType` naming the choices."""
    try:
        return table[key]
    except KeyError:
        raise UnknownMessageType(
            f"unknown {field}",
            model=model,
            field=field,
            offset=offset,
            expected="one of " + ", ".join(f"0x{k:02X}" for k in sorted(table)),
            got=f"0x{key:02X}",
            frame=frame,
        ) from None


def need(frame: bytes, size: int, *, model: str, field: str) -> None:
    """Raise :class:`ShortFrame` when a frame is too short to read its selector ``field``."""
    if len(frame) < size:
        raise ShortFrame(
            "frame is too short",
            model=model,
            field=field,
            offset=len(frame),
            expected=f"at least {size} bytes",
            got=f"{len(frame)} bytes",
            frame=frame,
        )


def records(
    frame: bytes,
    table: Mapping[int, Layout],
    *,
    model: str,
    key_size: int,
    name: str,
    key_field: str,
) -> list[dict[str, Any]]:
    """Parse a frame that is a run of records (Milesight channels, SenseCAP multi-frame uplinks):
    each record is the fixed layout its first ``key_size`` bytes (big-endian) select, key included.
    At least one record is required. Errors name the record (``name[i].field``) and give byte
    offsets in the whole frame, so a bad record deep in an uplink is still easy to find."""
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        prefix = f"{name}[{len(out)}]."
        need(frame, start + key_size, model=model, field=prefix + key_field)
        key = int.from_bytes(frame[start : start + key_size], "big")
        if key not in table:
            raise UnknownMessageType(
                f"unknown {key_field}",
                model=model,
                field=prefix + key_field,
                offset=start,
                expected="one of " + ", ".join(f"0x{k:0{2 * key_size}X}" for k in sorted(table)),
                got=f"0x{key:0{2 * key_size}X}",
                frame=frame,
            )
        layout = table[key]
        end = start + layout.size
        if len(frame) < end:
            raise ShortFrame(
                f"{layout.name} record is too short",
                model=model,
                field=prefix + (layout.field_at(len(frame) - start) or key_field),
                offset=len(frame),
                expected=f"{layout.size} bytes from byte {start}",
                got=f"{len(frame) - start} bytes",
                frame=frame,
            )
        try:
            out.append(layout.parse(frame[start:end], model))
        except DecodeError as error:
            raise type(error)(
                error.reason,
                model=model,
                field=None if error.field is None else prefix + error.field,
                offset=None if error.offset is None else start + error.offset,
                expected=error.expected,
                got=error.got,
                frame=frame,
            ) from None
        start = end
        if start == len(frame):
            return out


def parse_by_port(
    layouts: Mapping[int, Layout], frame: bytes, port: int | None, model: str
) -> dict[str, Any]:
    """Fields of a frame whose LoRaWAN fPort chooses its layout, named in ``message_type``."""
    layout = layouts.get(port) if port is not None else None
    if layout is None:  # decode() refuses these first; parse may be called alone
        raise UnknownPort("no layout for this port", model=model, field="port", got=port)
    return {"message_type": layout.name, **layout.parse(frame, model)}


def at_most(frame: bytes, size: int, *, model: str) -> None:
    """Raise :class:`TrailingBytes` for a frame longer than one Sigfox uplink can be."""
    if len(frame) > size:
        raise TrailingBytes(
            "frame is longer than a Sigfox uplink",
            model=model,
            offset=size,
            expected=f"at most {size} bytes",
            got=f"{len(frame)} bytes",
            frame=frame,
        )


def short_or_long(
    short: Layout, long: Layout, frame: bytes, *, model: str, field: str
) -> dict[str, Any]:
    """Fields of a frame that is ``short``, or ``long`` when it carries the optional trailing
    ``field``; a length in between is :class:`TrailingBytes` naming that field."""
    if short.size < len(frame) < long.size:
        raise TrailingBytes(
            f"frame has bytes after its {short.size}-byte layout that do not complete {field}",
            model=model,
            field=field,
            offset=short.size,
            expected=f"{short.size} or {long.size} bytes",
            got=f"{len(frame)} bytes",
            frame=frame,
        )
    return (long if len(frame) >= long.size else short).parse(frame, model)
