"""browan-tbpb100: the vendor example, the two payload versions (8 and 11 bytes), pushed buttons
as presses (never from a keep-alive), the battery formula, and properties: a press is never lost
to a wrong length."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import Battery, Button, DecodeError, UnknownPort, decode
from decoders.models.browan import tbpb100 as browan_tbpb100
from decoders.schema import plain

MODEL = "browan-tbpb100"


def test_public_vector() -> None:
    decoded = decode(MODEL, "01FE370000040000", 147)
    # the vendor decoder's status 1, battery 3.9 V, temperatureBoard 23
    assert decoded.fields["buttons"]["button_0_pushed"] is True
    assert decoded.fields["battery"]["battery_mv"] == 3900
    assert decoded.fields["temperature"]["temperature_c"] == 23
    assert decoded.messages == (Button("press"), Battery(100, 3900))


def test_vendor_unknown_port_example() -> None:
    with pytest.raises(UnknownPort):
        decode(MODEL, "01", 42)


def test_model_metadata() -> None:
    assert browan_tbpb100.MODEL.ports == (147,)
    assert browan_tbpb100.MODEL.alert_gestures == ("press",)
    assert browan_tbpb100.FRAMES.sizes == (8, 11)


@given(st.binary(min_size=1, max_size=30), st.integers(0, 255))
def test_button_0_pushed_with_garbage_and_any_length_is_a_press(body: bytes, byte0: int) -> None:
    frame = bytes([byte0 | 1]) + body[1:]
    decoded = decode(MODEL, frame, 147)
    assert Button("press") in decoded.messages
    assert bool(decoded.warnings) == (len(frame) not in (8, 11))


@given(st.binary(min_size=0, max_size=30).filter(lambda b: len(b) not in (8, 11)))
def test_other_lengths_without_a_press_are_errors(body: bytes) -> None:
    frame = (bytes([body[0] & 0xFE]) + body[1:]) if body else body
    with pytest.raises(DecodeError):
        decode(MODEL, frame, 147)


@given(st.binary(max_size=30), st.sampled_from([None, 1, 147]))
def test_random_bytes_decode_or_raise_decode_error(frame: bytes, port: int | None) -> None:
    with contextlib.suppress(DecodeError):
        decode(MODEL, frame, port)


body = st.binary(min_size=7, max_size=10).filter(lambda b: len(b) in (7, 10))


@given(st.integers(0, 255), body)
def test_pushed_bits_are_presses_and_nothing_else_is(status: int, rest: bytes) -> None:
    messages = decode(MODEL, bytes([status]) + rest, 147).messages
    presses = [m for m in messages if isinstance(m, Button)]
    expected = (["press"] if status & 1 else []) + (["press_button_1"] if status & 2 else [])
    assert [p.gesture for p in presses] == expected
    assert isinstance(messages[-1], Battery)


@given(st.integers(0, 255), body)
def test_battery_formula(byte1: int, rest: bytes) -> None:
    frame = rest[:1] + bytes([byte1]) + rest[1:]
    battery = decode(MODEL, frame, 147).messages[-1]
    assert battery == Battery(round((byte1 >> 4) * 100 / 15), (25 + (byte1 & 0x0F)) * 100)


@given(st.integers(0, 255), body)
def test_temperature_formula(byte2: int, rest: bytes) -> None:
    frame = rest[:2] + bytes([byte2]) + rest[2:]
    assert decode(MODEL, frame, 147).fields["temperature"]["temperature_c"] == (byte2 & 0x7F) - 32


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=3, max_size=3))
def test_both_payload_versions_build_back(v13: bytes, count: bytes) -> None:
    for frame in (v13, v13 + count):
        decoded = decode(MODEL, frame, 147)
        assert browan_tbpb100.build(decoded.fields) == frame
        layout = browan_tbpb100.V14 if len(frame) == 11 else browan_tbpb100.V13
        assert plain(layout.compiled.parse(frame)) == plain(layout.schema.parse(frame))
    assert decode(MODEL, v13 + count, 147).fields["button_1_count"] == int.from_bytes(
        count, "little"
    )
