"""The struct readers derived from the schemas parse exactly as construct does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import construct as cs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders  # (also registers every model's layouts)
from decoders.fastpath import Unfit, derive
from decoders.schema import ALL_LAYOUTS, Layout, Named, Scaled, plain
from decoders.testing import frames

DERIVED = [layout for layout in ALL_LAYOUTS if layout.fast is not None]


def test_most_layouts_get_a_fast_parser() -> None:
    assert len(DERIVED) >= 0.7 * len(ALL_LAYOUTS)


@pytest.mark.parametrize("layout", DERIVED, ids=lambda layout: f"{layout.name}-{id(layout)}")
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_parser_equals_construct(layout, data: st.DataObject) -> None:
    frame = data.draw(st.binary(min_size=layout.size, max_size=layout.size))
    extra = data.draw(st.binary(max_size=4)) if layout.tail else b""
    invalid: list = []
    expected = plain(layout.compiled.parse(frame), invalid)
    if invalid:  # a value the datasheet rules out: construct reads it, with a warning
        with pytest.raises(Unfit):
            layout.fast(frame + extra)
        return
    if layout.tail:
        expected[layout.tail] = extra.hex().upper()
    assert layout.fast(frame + extra) == expected


@contextmanager
def construct_only() -> Iterator[None]:
    """Every layout parses with construct alone inside. ``Layout.fast`` is a cached property;
    a plain property on the class outranks the parsers already cached on the instances."""
    cached = Layout.__dict__["fast"]
    Layout.fast = property(lambda self: None)
    try:
        yield
    finally:
        Layout.fast = cached


# Random bytes rarely get past a two-byte record key or a type code; generated frames always do.
@pytest.mark.parametrize("model_id", sorted(decoders.MODELS))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_fast_parsers_equal_construct_on_frames_the_models_decode(
    model_id: str, data: st.DataObject
) -> None:
    port, frame = data.draw(frames(model_id))
    fast = decoders.decode(model_id, frame, port)
    with construct_only():
        reference = decoders.decode(model_id, frame, port)
    assert fast.fields == reference.fields
    assert fast.warnings == reference.warnings


def test_construct_only_really_turns_the_fast_parsers_off() -> None:
    layout = DERIVED[0]
    with construct_only():
        assert layout.fast is None
    assert layout.fast is not None


def test_floats_in_two_byte_orders_and_computed_fields_fall_back_to_construct() -> None:
    assert derive(cs.Struct("a" / cs.Float32b, "b" / cs.Float32l)) is None
    assert derive(cs.Struct("a" / cs.Int8ub, "b" / cs.Computed(cs.this.a * 2))) is None


def test_bit_fields_scaled_and_named_values() -> None:
    schema = cs.Struct(
        "kind" / Named(cs.Int8ub, {1: "one"}),
        "level" / Scaled(cs.Int16sb, 0.5, unknown=0x7FFF),
        "bits"
        / cs.BitStruct("high" / cs.BitsInteger(3, signed=True), "flag" / cs.Flag, cs.Padding(4)),
    )
    fast = derive(schema)
    assert fast is not None
    frame = bytes([1, 0xFF, 0xFE, 0b1011_0000])
    assert (
        fast(frame)
        == plain(schema.parse(frame))
        == {
            "kind": "one",
            "level": -1.0,
            "bits": {"high": -3, "flag": True},
        }
    )
    with pytest.raises(Unfit):
        fast(bytes([2, 0, 0, 0]))


def test_integers_in_both_byte_orders() -> None:
    schema = cs.Struct("key" / cs.Int16ub, "value" / cs.Int32sl, "tail" / cs.Int16sb)
    fast = derive(schema)
    assert fast is not None
    frame = bytes.fromhex("0488FFFFFFFF8001")
    assert fast(frame) == plain(schema.parse(frame)) == {"key": 0x0488, "value": -1, "tail": -32767}
