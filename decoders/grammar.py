"""Compile a Sigfox "custom payload config" grammar into a decoder (and an encoder).

A grammar such as ``lat::float:32:little-endian alarm::bool:7`` is what a Sigfox backend user types
to name the bytes of a frame. :func:`compile_grammar` turns it, once (the result is cached by the
grammar text), into a :class:`Grammar` whose ``parse`` gives a JSON-safe ``{name: value}`` dict.
Syntax, its public sources and where they disagree: ``docs/grammar.md`` §2.

Where the sources disagree or are silent, this module decides (``docs/grammar.md`` says why):

* Positioning. A cursor starts at byte 0; a field with no byte index starts at the cursor. After
  a non-bool field the cursor moves to the byte after the last byte it read, or stays on that last
  byte when the field wrote an explicit bit offset (so bit fields can be chained). Bool fields never
  move the cursor: consecutive bools share the "current byte", and the field after them starts on
  that same byte. Explicit indexes move the cursor like omitted ones.
* Bits are numbered 7 (MSB) to 0. ``bool:N`` reads bit N. For the other types the bit offset
  (default 7) is the bit of the first byte where reading starts; N bits are then read MSB-first,
  across byte boundaries. ``char:N`` reads 8·N bits.
* The endianness slot may be left empty before a bit offset (``uint:4::3``), or left out
  (``uint:4:3``: a bare number there can only be the bit offset).
* Little-endian reverses the byte order of the bits read; it is a no-op up to 8 bits and a
  ``GrammarError`` for lengths over 8 that are not whole bytes (no source defines it).
* A frame shorter than the grammar: every field that does not fit is ``None`` (the Sigfox backend
  sends null); fields that fit are still decoded, so an alarm bit early in a truncated frame is not
  lost. A longer frame: the extra bytes are ignored, as the Sigfox backend does.
* ``char`` bytes decode as latin-1 (each byte to the code point of the same value): decoding never
  fails and is lossless; NUL padding is kept. NaN and ±infinity floats become ``None`` (not JSON).
* Names: ASCII letters, digits, ``_``, ``#`` and ``-``; duplicates are an error. Byte indexes and
  char lengths are limited to 0..255 / 1..255 (the largest LPWAN frame is 242 bytes). An empty
  grammar is an error. Fields are separated by any run of whitespace.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import construct as cs

from decoders.errors import DecodeError, GrammarError

FieldKind = Literal["bool", "char", "float", "uint", "int"]
KINDS: tuple[FieldKind, ...] = ("bool", "char", "float", "uint", "int")
ENDIANNESS = {"little-endian": True, "big-endian": False}
MAX_INDEX = 255
MAX_CHARS = 255

_FIELD_TEXT = re.compile(r"\S+")
_NAME = re.compile(r"[A-Za-z0-9_#-]+")
_NUMBER = re.compile(r"[0-9]{1,6}")  # six digits: never trips int()'s huge-number guard
_Fail = Callable[[str, int], GrammarError]  # (reason, index of the ':'-part) -> error to raise


@dataclass(frozen=True, slots=True)
class GrammarField:
    """One compiled field. ``start_bit`` counts bits MSB-first from bit 7 of byte 0, so byte ``b``
    bit ``k`` is ``8*b + 7 - k``. ``index`` and ``bit_offset`` are as written (``None`` when
    omitted); for a bool, ``bit_offset`` is its bit number."""

    name: str
    kind: FieldKind
    bits: int
    start_bit: int
    little_endian: bool
    index: int | None
    bit_offset: int | None
    column: int

    @property
    def first_byte(self) -> int:
        return self.start_bit // 8

    @property
    def last_byte(self) -> int:
        return (self.start_bit + self.bits - 1) // 8


@dataclass(frozen=True)
class Grammar:
    """A compiled grammar: its fields in order and one construct codec per field."""

    text: str
    fields: tuple[GrammarField, ...]
    _codecs: tuple[cs.Construct, ...] = field(repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def size(self) -> int:
        """The frame length the grammar describes: one past the last byte any field reads."""
        return max(f.last_byte for f in self.fields) + 1

    def parse(self, frame: bytes) -> dict[str, Any]:
        """Decode a frame; a field past the end of the frame is ``None``, extra bytes are ignored.
        Raises only :class:`DecodeError` (and in practice never: every field slice is checked)."""
        frame = bytes(frame)
        out: dict[str, Any] = {}
        for spec, codec in zip(self.fields, self._codecs, strict=True):
            if spec.last_byte >= len(frame):
                out[spec.name] = None
                continue
            try:
                raw = codec.parse(frame[spec.first_byte : spec.last_byte + 1])["value"]
            except cs.ConstructError as error:  # pragma: no cover - the slice always fits
                raise DecodeError(
                    f"grammar field does not parse: {error}",
                    field=spec.name,
                    offset=spec.first_byte,
                    frame=frame,
                ) from None
            out[spec.name] = _plain(spec, raw)
        return out

    def build(self, values: Mapping[str, Any]) -> bytes:
        """Encode field values into a frame of :attr:`size` bytes: the reverse of :meth:`parse`.

        A missing or ``None`` value leaves its bits zero. Fields are OR-ed into the frame, so the
        result is exact only for grammars whose fields do not overlap. Raises ``ValueError`` naming
        the field for an unknown name or a value the field cannot hold."""
        unknown = [name for name in values if name not in self.names]
        if unknown:
            raise ValueError(f"no grammar field named {unknown[0]!r}; fields: {list(self.names)}")
        frame = bytearray(self.size)
        for spec, codec in zip(self.fields, self._codecs, strict=True):
            value = values.get(spec.name)
            if value is None:
                continue
            try:
                span = codec.build({"value": _wire(spec, value)})
            except (cs.ConstructError, TypeError, ValueError, OverflowError) as error:
                raise ValueError(f"field {spec.name!r} cannot hold {value!r}: {error}") from None
            for i, byte in enumerate(span):
                frame[spec.first_byte + i] |= byte
        return bytes(frame)


def compile_grammar(text: str) -> Grammar:
    """Compile grammar text into a :class:`Grammar`, or raise :class:`GrammarError` saying what
    is wrong and where. Compiled once per distinct text (cached)."""
    if not isinstance(text, str):
        raise GrammarError("a grammar is text", token=type(text).__name__, column=1)
    return _compile(text)


@functools.lru_cache(maxsize=256)
def _compile(text: str) -> Grammar:
    specs = [_field_spec(m.group(), m.start() + 1) for m in _FIELD_TEXT.finditer(text)]
    if not specs:
        raise GrammarError("the grammar has no fields", token=text, column=1)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise GrammarError("duplicate field name", token=spec.name, column=spec.column)
        seen.add(spec.name)
    fields = tuple(_place(specs))
    return Grammar(text, fields, tuple(_codec(f) for f in fields))


@dataclass(frozen=True, slots=True)
class _Spec:
    """One field as written, before the positioning rules give it a place."""

    name: str
    kind: FieldKind
    bits: int
    index: int | None
    bit_offset: int | None
    little_endian: bool
    column: int


def _field_spec(text: str, column: int) -> _Spec:
    parts = text.split(":")
    # Column of each ':'-separated part, so every error can point at the exact piece.
    columns = [column]
    for part in parts[:-1]:
        columns.append(columns[-1] + len(part) + 1)

    def fail(reason: str, at: int) -> GrammarError:
        if at >= len(parts):  # the piece is missing: point at the whole field
            return GrammarError(reason, token=text, column=column)
        return GrammarError(reason, token=parts[at], column=columns[at])

    if len(parts) < 3 or parts[2] not in KINDS:
        if len(parts) >= 2 and parts[1] in KINDS:
            raise fail(f"missing ':' before the type: write '{parts[0]}::{parts[1]}…'", 1)
        if len(parts) < 3:
            raise fail("a field is name:byte_index:type:parameters", 0)
        hint = " (types are lower case)" if parts[2].lower() in KINDS else ""
        what = "missing type" if parts[2] == "" else "unknown type"
        raise fail(f"{what}; expected one of {', '.join(KINDS)}{hint}", 2)
    name, index_text, kind, params = parts[0], parts[1], parts[2], parts[3:]
    if not name:
        raise fail("missing field name", 0)
    if not _NAME.fullmatch(name):
        raise fail("a field name may hold only letters, digits, '_', '#' and '-'", 0)
    index = None if index_text == "" else _number(index_text, 0, MAX_INDEX, "byte index", fail, 1)
    if not params:
        raise fail(f"{kind} needs a parameter (write '{kind}:…')", 2)

    if kind == "bool":
        if len(params) > 1:
            raise fail("bool takes one parameter, its bit number 0-7", 4)
        bit = _number(params[0], 0, 7, "bool bit number", fail, 3)
        return _Spec(name, kind, 1, index, bit, False, column)
    if kind == "char":
        length = _number(params[0], 1, MAX_CHARS, "char length (bytes)", fail, 3)
        if len(params) > 2:
            raise fail("char takes a length and an optional bit offset", 5)
        offset = None if len(params) == 1 else _number(params[1], 0, 7, "bit offset", fail, 4)
        return _Spec(name, kind, 8 * length, index, offset, False, column)
    if kind == "float":
        if params[0] not in ("32", "64"):
            raise fail("float length must be 32 or 64", 3)
        bits = int(params[0])
    else:
        bits = _number(params[0], 1, 64, f"{kind} length (bits)", fail, 3)
    little, offset = _endian_and_offset(params[1:], fail)
    if little and bits > 8 and bits % 8:
        raise fail("little-endian needs a length in whole bytes (8, 16, 24 …)", 4)
    return _Spec(name, kind, bits, index, offset, little, column)


def _endian_and_offset(rest: list[str], fail: _Fail) -> tuple[bool, int | None]:
    """The optional ``[:endianness][:bit offset]`` tail (parts 4 and 5 of the field)."""
    if not rest:
        return False, None
    if len(rest) > 2:
        raise fail("too many parameters", 6)
    if len(rest) == 1:
        if rest[0] in ENDIANNESS:
            return ENDIANNESS[rest[0]], None
        if rest[0].isascii() and rest[0].isdigit():
            return False, _number(rest[0], 0, 7, "bit offset", fail, 4)
        raise fail("expected little-endian, big-endian or a bit offset 0-7", 4)
    if rest[0] not in ENDIANNESS and rest[0] != "":
        raise fail("expected little-endian or big-endian (or nothing)", 4)
    return ENDIANNESS.get(rest[0], False), _number(rest[1], 0, 7, "bit offset", fail, 5)


def _number(text: str, low: int, high: int, what: str, fail: _Fail, at: int) -> int:
    if not text:
        raise fail(f"missing {what}", at)
    if not text.isascii() or not text.isdigit():
        raise fail(f"{what} must be a number", at)
    if not _NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise fail(f"{what} must be {low}..{high}", at)
    return int(text)


def _place(specs: list[_Spec]) -> list[GrammarField]:
    """Give each field its first bit, following the cursor rule in the module docstring."""
    placed: list[GrammarField] = []
    cursor = 0
    for spec in specs:
        byte = cursor if spec.index is None else spec.index
        bit = 7 if spec.bit_offset is None else spec.bit_offset
        here = GrammarField(
            name=spec.name,
            kind=spec.kind,
            bits=spec.bits,
            start_bit=8 * byte + 7 - bit,
            little_endian=spec.little_endian,
            index=spec.index,
            bit_offset=spec.bit_offset,
            column=spec.column,
        )
        if spec.kind != "bool":
            cursor = here.last_byte if spec.bit_offset is not None else here.last_byte + 1
        placed.append(here)
    return placed


def _codec(spec: GrammarField) -> cs.Construct:
    """The construct that reads ``spec`` from the bytes ``first_byte..last_byte`` of a frame."""
    skip = spec.start_bit % 8
    tail = 8 * (spec.last_byte - spec.first_byte + 1) - skip - spec.bits
    swapped = spec.little_endian and spec.bits > 8
    if spec.kind != "bool" and skip == 0 and tail == 0:
        # Byte-aligned: plain byte constructs, compiled (several times faster than interpreted).
        inner: cs.Construct
        if spec.kind == "float":
            inner = _float_codec(spec)
        elif spec.kind == "char":
            inner = cs.Bytes(spec.bits // 8)
        else:
            inner = cs.BytesInteger(spec.bits // 8, signed=spec.kind == "int", swapped=swapped)
        return cs.Struct("value" / inner).compile()
    if spec.kind == "bool":
        inner = cs.Flag  # inside Bitwise, one bit
    elif spec.kind == "float":
        inner = cs.Bytewise(_float_codec(spec))
    elif spec.kind == "char":
        inner = cs.Bytewise(cs.Bytes(spec.bits // 8))
    else:
        inner = cs.BitsInteger(spec.bits, signed=spec.kind == "int", swapped=swapped)
    return cs.Bitwise(cs.Struct(cs.Padding(skip), "value" / inner, cs.Padding(tail)))


def _float_codec(spec: GrammarField) -> cs.Construct:
    if spec.bits == 32:
        return cs.Float32l if spec.little_endian else cs.Float32b
    return cs.Float64l if spec.little_endian else cs.Float64b


def _plain(spec: GrammarField, raw: Any) -> Any:
    """A parsed value made JSON-safe."""
    if spec.kind == "char":
        return bytes(raw).decode("latin-1")
    if spec.kind == "float":
        return raw if math.isfinite(raw) else None
    if spec.kind == "bool":
        return bool(raw)
    return int(raw)


def _wire(spec: GrammarField, value: Any) -> Any:
    """A field value as its construct builds it (the reverse of :func:`_plain`)."""
    if spec.kind == "char":
        data = str(value).encode("latin-1")
        if len(data) > spec.bits // 8:
            raise ValueError(f"longer than {spec.bits // 8} characters")
        return data.ljust(spec.bits // 8, b"\x00")
    if spec.kind == "bool":
        if value not in (True, False):  # 0 and 1 compare equal to False and True
            raise ValueError("expected true or false")
        return bool(value)
    if spec.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    return value
