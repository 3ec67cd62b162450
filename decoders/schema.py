"""Helpers that let device models stay declarative construct tables.

A model declares one fixed-layout ``Struct`` per message type. This module runs them: it checks the
frame length against the layout before parsing (so a short frame names the field it cuts through),
turns construct's own errors into the project's :class:`~decoders.errors.DecodeError` family, and
hands back plain JSON-safe dicts instead of ``Container`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import construct as cs

# Re-exported: models declare their schemas with these next to Layout.
from decoders.adapters import HexBytes as HexBytes
from decoders.adapters import Invalid
from decoders.adapters import Named as Named
from decoders.adapters import Scaled as Scaled
from decoders.errors import (
    DecodeError,
    ShortFrame,
    TrailingBytes,
)
from decoders.fastpath import FastParser, Unfit, derive
from decoders.types import UplinkWarning


def plain(obj: Any, invalid: list[tuple[str, Invalid]] | None = None, path: str = "") -> Any:
    """Turn construct results into JSON-safe values: dicts, lists, ints, floats, str, hex.
    An :class:`Invalid` value becomes its value; with ``invalid`` given, it is also listed there
    by its field path, so the caller can warn about it."""
    if isinstance(obj, Mapping):
        return {
            k: plain(v, invalid, f"{path}{k}" if not path else f"{path}.{k}")
            for k, v in obj.items()
            if not k.startswith("_")
        }
    if isinstance(obj, list):
        return [plain(v, invalid, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, Invalid):
        if invalid is not None:
            invalid.append((path, obj))
        return plain(obj.value)
    if isinstance(obj, bytes | bytearray):
        return bytes(obj).hex().upper()
    if isinstance(obj, cs.EnumIntegerString):
        return str(obj)
    return obj


def decoder_warning(field: str | None, message: str, offset: int | None = None) -> UplinkWarning:
    """One decoder warning in the shape of docs/design.md §14."""
    out: UplinkWarning = {"source": "decoder", "field": field, "message": message}
    if offset is not None:
        out["offset"] = offset
    return out


def field_offsets(schema: cs.Construct, base: int = 0, prefix: str = "") -> dict[str, int]:
    """Byte offset of every named field of a fixed-layout struct (bit fields: their byte)."""
    return {
        name: start // 8 for name, (start, _end) in field_bits(schema, base * 8, prefix).items()
    }


def field_bits(schema: cs.Construct, base: int = 0, prefix: str = "") -> dict[str, tuple[int, int]]:
    """The bits [start, end) of every named field of a fixed-layout struct, from the frame's
    first bit (bit 7 of byte 0). A field without a fixed size ends the walk."""
    spans: dict[str, tuple[int, int]] = {}
    inner = _unwrap(schema)
    if not isinstance(inner, cs.Struct):
        return spans
    unit = 1 if _is_bitwise(schema) else 8
    position = base
    for sub in inner.subcons:
        name = getattr(sub, "name", None)
        try:
            width = sub.sizeof() * unit
        except cs.SizeofError:
            width = None
        if name:
            spans[prefix + name] = (position, position + (width or 0))
            if _is_bitwise(sub) or isinstance(_unwrap(sub), cs.Struct):
                spans.update(field_bits(sub, position, prefix + name + "."))
        if width is None:
            break
        position += width
    return spans


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

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The top-level fields a parse returns (and a build needs), tail excluded."""
        return tuple(n for n in self.offsets if "." not in n and not n.startswith("_"))

    @cached_property
    def bits(self) -> dict[str, tuple[int, int]]:
        return field_bits(self.schema)

    def read(self, frame: bytes, model: str) -> Reading:
        """Fields of a frame at least as long as the layout (bytes after it: only into ``tail``,
        which a caller checks), with a warning for every value the datasheet rules out."""
        fast = self.fast
        if fast is not None:
            try:
                return Reading(fast(frame))
            except Unfit:  # a value the adapters rule out: construct names it
                pass
        reading = self._read_with_construct(frame, model)
        if self.tail is not None:
            reading.fields[self.tail] = frame[self.size :].hex().upper()
        return reading

    def parse(self, frame: bytes, model: str) -> dict[str, Any]:
        """Fields of a frame of this layout's length (or longer, into ``tail``); values the
        datasheet rules out are kept, with warnings that :meth:`read` returns."""
        size = len(frame)
        if size != self.size and (size < self.size or self.tail is None):
            self._raise_length(frame, model)
        return self.read(frame, model).fields

    def read_cut(self, frame: bytes, model: str) -> Reading:
        """What a frame shorter than the layout still says: the fields whose bits it holds
        whole, and a warning naming the first field it cuts through."""
        padded = frame + bytes(self.size - len(frame))
        reading = self._read_with_construct(padded, model)
        have = len(frame) * 8
        leaves = [n for n in self.bits if not any(o.startswith(n + ".") for o in self.bits)]
        cut = [name for name in leaves if self.bits[name][1] > have]
        for name in cut:
            _drop(reading.fields, name)
        _drop_empty(reading.fields)
        reading.warnings = [w for w in reading.warnings if w["field"] not in cut]
        first = min(cut, key=lambda name: self.bits[name][0]) if cut else None
        reading.warnings.append(
            decoder_warning(
                first,
                f"{self.name} frame is too short: {len(frame)} of {self.size} bytes; "
                f"fields from {first!r} on are missing",
                len(frame),
            )
        )
        return reading

    def _read_with_construct(self, frame: bytes, model: str) -> Reading:
        invalid: list[tuple[str, Invalid]] = []
        try:
            fields = plain(self.compiled.parse(frame[: self.size]), invalid)
        except cs.ConstructError as error:  # no adapter raises; anything else is still ours
            raise DecodeError(
                f"{self.name} frame does not parse: {error}",
                model=model,
                field=_path_field(error.path),
                frame=frame,
            ) from None
        warnings = [
            decoder_warning(
                path,
                f"{path} is out of range: expected {bad.expected}, got {bad.value}",
                self.offsets.get(path),
            )
            for path, bad in invalid
        ]
        return Reading(fields, warnings)

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


def _drop(fields: dict[str, Any], path: str) -> None:
    """Remove a dotted field path (and an emptied parent stays, holding what was read)."""
    *parents, leaf = path.split(".")
    for name in parents:
        fields = fields.get(name, {})
        if not isinstance(fields, dict):
            return
    fields.pop(leaf, None)


def _drop_empty(fields: dict[str, Any]) -> None:
    """Remove sub-structures a cut left without any field."""
    for name, value in list(fields.items()):
        if isinstance(value, dict):
            _drop_empty(value)
            if not value:
                del fields[name]


@dataclass(slots=True)
class Reading:
    """What a layout read from a frame: its fields and its warnings (docs/design.md §14)."""

    fields: dict[str, Any]
    warnings: list[UplinkWarning] = field(default_factory=list)
