"""Field values from construct schemas, for :mod:`decoders.testing`.

:func:`values` walks a schema and gives a strategy of what ``plain(schema.parse(frame))`` can
return for a frame the schema accepts: names for :class:`~decoders.adapters.Named` codes, scaled
numbers inside a :class:`~decoders.adapters.Scaled` field's ``valid`` range (or ``None`` for its
``unknown`` sentinel), hex text for raw bytes. Values are drawn on the wire side (raw integers,
bytes) and converted by the schema's own adapters, so they are exactly what parsing gives and
build back to bytes that parse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import construct as cs
from hypothesis import strategies as st

from decoders.adapters import HexBytes, Named, Scaled
from decoders.schema import Layout

Strategy = st.SearchStrategy[Any]
_FLAG = type(cs.Flag)  # construct exports a singleton of this class
_FLOAT_WIDTHS: dict[str, Literal[16, 32, 64]] = {"e": 16, "f": 32, "d": 64}


def integer_range(length_bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (length_bits - 1)), (1 << (length_bits - 1)) - 1
    return 0, (1 << length_bits) - 1


def raw_range(con: cs.Construct) -> tuple[int, int]:
    """The wire integers a fixed-size integer field can hold."""
    con = _strip(con)
    if isinstance(con, cs.BitsInteger):
        return integer_range(con.length, con.signed)
    if isinstance(con, cs.BytesInteger):
        return integer_range(8 * con.length, con.signed)
    if isinstance(con, cs.FormatField) and con.fmtstr[-1] in "bBhHiIlLqQ":
        return integer_range(8 * con.length, con.fmtstr[-1].islower())
    raise TypeError(f"not a fixed-size integer field: {con!r}")


def _strip(con: cs.Construct) -> cs.Construct:
    while isinstance(con, cs.Renamed):
        con = con.subcon
    return con


def _scaled(con: Scaled) -> Strategy:
    """Raw integers whose scaled value lies in ``valid``, plus ``unknown``, then scaled."""
    low, high = raw_range(con.subcon)
    if con.valid is not None:
        # Solve valid[0] <= raw * scale + offset <= valid[1] for raw, then step past any raw
        # that rounding still puts outside the range.
        bounds = sorted((v - con.offset) / con.scale for v in con.valid)
        low, high = max(low, math.ceil(bounds[0])), min(high, math.floor(bounds[1]))
        while low <= high and not _accepts(con, low):
            low += 1
        while high >= low and not _accepts(con, high):
            high -= 1
    raws = st.integers(low, high) if low <= high else st.nothing()
    if con.unknown is not None:
        raws = st.one_of(st.just(con.unknown), raws)
    return raws.map(lambda raw: con._decode(raw, None, ""))


def _accepts(con: Scaled, raw: int) -> bool:
    try:
        con._decode(raw, None, "")
    except cs.ValidationError:
        return False
    return True


def _struct(con: cs.Struct) -> Strategy:
    # Unnamed parts (padding) build from nothing and parse to nothing.
    return st.fixed_dictionaries({sub.name: values(sub) for sub in con.subcons if sub.name})


def _padding(con: cs.Padded) -> Strategy:
    if not isinstance(con.subcon, type(cs.Pass)):
        raise TypeError(f"cannot generate padded data: {con!r}")
    return st.none()  # a named Padding parses to None


def _bytes_as_hex(length: int) -> Strategy:
    return st.binary(min_size=length, max_size=length).map(lambda raw: raw.hex().upper())


def _format_field(con: cs.FormatField) -> Strategy:
    code = con.fmtstr[-1]
    if code in _FLOAT_WIDTHS:
        return st.floats(width=_FLOAT_WIDTHS[code], allow_nan=False, allow_infinity=False)
    return st.integers(*raw_range(con))


def _array(con: cs.Array) -> Strategy:
    if not isinstance(con.count, int):
        raise TypeError(f"cannot generate an array of varying length: {con!r}")
    return st.lists(values(con.subcon), min_size=con.count, max_size=con.count)


# (construct class, strategy maker), tried in order: the project's adapters before the generic
# wrappers they are subclasses of.
RULES: list[tuple[type, Callable[[Any], Strategy]]] = [
    (cs.Renamed, lambda con: values(con.subcon)),
    (Named, lambda con: st.sampled_from(list(con.names.values()))),
    (Scaled, _scaled),
    (HexBytes, lambda con: _bytes_as_hex(con.subcon.length)),
    (cs.Struct, _struct),
    # BitStruct (bits of bytes) and ByteSwapped: same values as the struct they wrap
    (cs.Transformed, lambda con: values(con.subcon)),
    (cs.Restreamed, lambda con: values(con.subcon)),
    (cs.Array, _array),
    (cs.Padded, _padding),
    (_FLAG, lambda con: st.booleans()),
    (cs.BitsInteger, lambda con: st.integers(*raw_range(con))),
    (cs.BytesInteger, lambda con: st.integers(*raw_range(con))),
    (cs.FormatField, _format_field),
    (cs.Bytes, lambda con: _bytes_as_hex(con.length)),  # plain() shows raw bytes as hex
]


def values(con: cs.Construct) -> Strategy:
    """What parsing ``con`` can give, for bytes it accepts (see the module docstring)."""
    for kind, make in RULES:
        if isinstance(con, kind):
            return make(con)
    raise TypeError(f"decoders.testing cannot generate values for {con!r}")


def layout_fields(
    layout: Layout, tail: Callable[[Layout], st.SearchStrategy[int]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """The fields of one layout; a layout with a free ``tail`` gets ``tail(layout)`` bytes
    there, as hex (no bytes when ``tail`` is not given)."""
    head = values(layout.schema)
    if layout.tail is None:
        return head
    name = layout.tail
    sizes = tail(layout) if tail is not None else st.just(0)
    tails = sizes.flatmap(_bytes_as_hex)
    return st.tuples(head, tails).map(lambda pair: {**pair[0], name: pair[1]})
