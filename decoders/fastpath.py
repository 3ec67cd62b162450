"""A fast parser derived from a declarative fixed-layout schema.

construct interprets (or compiles) a schema field by field, at a few percent of the speed of one
``struct.unpack_from`` call. Most device frames are fixed layouts of integers, bytes and bit
fields, which one ``struct`` format plus shifts and masks read exactly. :func:`derive` walks a
schema once and generates that reader as Python source (as construct's own compiler does, but
around ``struct``); the schema stays the single declaration.

Value conversion follows the schema's adapters: the project's adapters (``Scaled``, ``Named``,
``HexBytes``) emit their own inline code through ``_emit_decode``; any other adapter is called.
A derived parser never reports errors itself: a rejected value raises :class:`Unfit` and the
caller re-parses with construct, which names the field. Anything the deriver does not know
(``Computed``, ``Array``, byte-swapped parts, floats in two byte orders) makes :func:`derive` return
``None``, and that layout always uses construct. Equality with construct is a tested property
(``tests/test_fastpath.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import construct as cs

from decoders.errors import AuraUplinkError

FastParser = Callable[[bytes], dict[str, Any]]
_FLAG = type(cs.Flag)  # construct exports singletons for these
_PASS = type(cs.Pass)
_INTEGER_CODES = set("bBhHiIlLqQ")


class Unfit(AuraUplinkError):
    """A value the schema's adapters reject: let construct parse and report it. Internal: it
    never leaves :class:`decoders.schema.Layout`."""


class _Underivable(AuraUplinkError):
    """A schema part with no struct equivalent: that layout keeps construct's parser."""


def derive(schema: cs.Construct, tail: str | None = None) -> FastParser | None:
    """A parser equal to ``plain(schema.parse(frame))`` for frames of at least the schema's
    size, or ``None`` when the schema has parts it cannot derive. Bytes after the schema are
    ignored, or returned as hex under ``tail`` when it is given."""
    try:
        return _Generator().build(schema, tail)
    except _Underivable:
        return None


class _Generator:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.order: str | None = None  # byte order of multi-byte integers, if any
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"Unfit": Unfit, "MISSING": _MISSING}

    def build(self, schema: cs.Construct, tail: str | None) -> FastParser:
        schema = _strip_rename(schema)
        if isinstance(schema, cs.Struct):
            result = self._struct(schema)
        elif isinstance(schema, cs.Transformed):  # a frame that is one BitStruct
            result = self._bits(schema)
        else:
            raise _Underivable
        packed = struct.Struct((self.order or ">") + "".join(self.codes))
        self.env["unpack"] = packed.unpack_from
        if tail is not None:
            result = result[:-1] + f", {tail!r}: frame[{packed.size}:].hex().upper()}}"
        raws = ", ".join(f"r{i}" for i in range(len(self.codes)))
        source = "\n".join(
            [
                "def parse(frame):",
                f"    ({raws},) = unpack(frame)",
                *("    " + line for line in self.lines),
                f"    return {result}",
            ]
        )
        exec(compile(source, f"<fastpath {schema!r:.40}>", "exec"), self.env)
        return self.env["parse"]  # type: ignore[no-any-return]

    def constant(self, value: Any) -> str:
        name = f"k{len(self.env)}"
        self.env[name] = value
        return name

    def _struct(self, schema: cs.Struct) -> str:
        items = []
        for sub in schema.subcons:
            name = getattr(sub, "name", None)
            con = _strip_rename(sub)
            if _is_padding(con):
                self.codes.append(f"{con.sizeof()}x")
                if name:
                    items.append(f"{name!r}: None")
                continue
            if name is None:
                raise _Underivable  # unnamed data fields do not appear in the result
            value = self._field(con, name)
            if not name.startswith("_"):
                items.append(f"{name!r}: {value}")
        return "{" + ", ".join(items) + "}"

    def _field(self, con: cs.Construct, name: str) -> str:
        adapters, base = _adapters(con)
        raw = f"r{len(self.codes)}"
        if isinstance(base, cs.FormatField):
            order, code = ("<" if base.fmtstr[0] == "<" else ">"), base.fmtstr[1:]
            if base.length == 1 or self.order in (None, order):
                self.order = self.order if base.length == 1 else order
                self.codes.append(code)
            elif code in _INTEGER_CODES:  # the frame's other byte order: read it by hand
                self.codes.append(f"{base.length}s")
                endian = "little" if order == "<" else "big"
                signed = code.islower()
                self.lines.append(f"{raw} = int.from_bytes({raw}, {endian!r}, signed={signed})")
            else:
                raise _Underivable
        elif isinstance(base, cs.BytesInteger) and isinstance(base.length, int):
            self.codes.append(f"{base.length}s")
            order = "little" if base.swapped else "big"
            self.lines.append(f"{raw} = int.from_bytes({raw}, {order!r}, signed={base.signed})")
        elif isinstance(base, cs.Bytes) and isinstance(base.length, int):
            self.codes.append(f"{base.length}s")
            if not adapters:  # plain() shows leftover bytes as hex
                self.lines.append(f"{raw} = {raw}.hex().upper()")
        elif isinstance(base, _FLAG):
            self.codes.append("B")
            self.lines.append(f"{raw} = {raw} != 0")
        elif isinstance(base, cs.Transformed) and not adapters:
            return self._bits(base)
        else:
            raise _Underivable
        return self._convert(adapters, raw)

    def _convert(self, adapters: list[cs.Adapter], var: str) -> str:
        for adapter in reversed(adapters):
            emit = getattr(adapter, "_emit_decode", None)
            if emit is not None:
                self.lines.extend(emit(var, self.constant))
            else:
                call = self.constant(adapter._decode)
                self.lines.extend(
                    [
                        "try:",
                        f"    {var} = {call}({var}, None, '')",
                        "except Exception:",
                        "    raise Unfit",
                    ]
                )
        return var

    def _bits(self, bitwise: cs.Transformed) -> str:
        inner = bitwise.subcon
        if not isinstance(inner, cs.Struct):
            raise _Underivable
        size = bitwise.sizeof()
        raw = f"r{len(self.codes)}"
        self.codes.append("B" if size == 1 else f"{size}s")
        if size > 1:
            self.lines.append(f"{raw} = int.from_bytes({raw}, 'big')")
        total, position, items = size * 8, 0, []
        for index, sub in enumerate(inner.subcons):
            field = getattr(sub, "name", None)
            con = _strip_rename(sub)
            if _is_padding(con):
                position += con.sizeof()
                if field:
                    items.append(f"{field!r}: None")
                continue
            adapters, base = _adapters(con)
            if isinstance(base, cs.BitsInteger) and isinstance(base.length, int):
                if base.swapped:
                    raise _Underivable
                width, signed = base.length, base.signed
            elif isinstance(base, _FLAG):
                width, signed = 1, False
            else:
                raise _Underivable
            if field is None:
                raise _Underivable
            shift = total - position - width
            position += width
            var = f"{raw}_{index}"
            self.lines.append(f"{var} = ({raw} >> {shift}) & {(1 << width) - 1}")
            if signed:
                self.lines.append(f"if {var} >> {width - 1}: {var} -= {1 << width}")
            if isinstance(base, _FLAG):
                self.lines.append(f"{var} = {var} != 0")
            items.append(f"{field!r}: {self._convert(adapters, var)}")
        if position != total:
            raise _Underivable
        return "{" + ", ".join(items) + "}"


_MISSING = object()


def _strip_rename(con: cs.Construct) -> cs.Construct:
    while isinstance(con, cs.Renamed):
        con = con.subcon
    return con


def _is_padding(con: cs.Construct) -> bool:
    return isinstance(con, cs.Padded) and isinstance(con.subcon, _PASS)


def _adapters(con: cs.Construct) -> tuple[list[cs.Adapter], cs.Construct]:
    """The adapters around a field (outermost first) and the field they wrap."""
    adapters = []
    while isinstance(con, cs.Adapter):
        if not type(con).__module__.startswith("decoders."):
            # Only this project's adapters are known to ignore context and path.
            raise _Underivable
        adapters.append(con)
        con = _strip_rename(con.subcon)
    return adapters, con
