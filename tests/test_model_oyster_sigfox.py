"""oyster-sigfox: the vendor's vectors, the position policy (failed fixes, 0/0, impossible
coordinates as warnings), record types, and properties: random bytes raise only DecodeError,
build -> parse round trips."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import (
    Battery,
    DecodeError,
    Fix,
    Location,
    ShortFrame,
    Status,
    TrailingBytes,
    UnknownMessageType,
    decode,
)
from decoders.frames import BySelector
from decoders.models import EXAMPLES
from decoders.models.digitalmatter import oyster_sigfox
from decoders.schema import plain

MODEL = "oyster-sigfox"
EXAMPLE = json.loads(EXAMPLES[MODEL].read_text())


def test_examples_are_for_this_model() -> None:
    assert EXAMPLE["model"] == MODEL


def test_public_vector() -> None:
    decoded = decode(MODEL, "10b67dcc0006efda3d9816c2")
    assert decoded.fields["header"]["in_trip"] is True
    assert decoded.fields["header"]["last_fix_failed"] is False
    assert decoded.fields["heading_deg"] == 304
    assert decoded.fields["speed_kmh"] == 22
    assert decoded.messages == (
        Location(Fix(1.3401526, 103.7758214, source="gps")),
        Battery(voltage_mv=4850),
    )


def test_model_is_declared_as_data() -> None:
    frames = oyster_sigfox.MODEL.frames
    assert isinstance(frames, BySelector)
    assert (frames.offset, frames.mask, frames.max_size) == (0, 0x0F, 12)
    assert oyster_sigfox.MODEL.roles.fix_failed == "header.last_fix_failed"
    assert oyster_sigfox.MODEL.network == "sigfox"
    assert oyster_sigfox.MODEL.alert_gestures == ()


@pytest.mark.parametrize("record_type", range(3, 16))
def test_undefined_record_types_are_unknown(record_type: int) -> None:
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, bytes([0x10 | record_type]) + bytes(11))
    assert (caught.value.field, caught.value.offset) == ("header.record_type", 0)


@pytest.mark.parametrize("length", range(1, 16))
def test_stats_take_1_to_12_bytes(length: int) -> None:
    frame = bytes([0x32]) + bytes(range(1, length))
    if length > 12:
        with pytest.raises(TrailingBytes):
            decode(MODEL, frame)
        return
    decoded = decode(MODEL, frame)
    assert decoded.fields["stats"] == frame[1:].hex().upper()
    assert decoded.fields["header"]["stats_head"] == 3
    assert decoded.messages == (Status("stats"),)


@pytest.mark.parametrize("record_type", [0, 1])
@pytest.mark.parametrize("length", [1, 2, 5, 11])
def test_short_fixed_records(record_type: int, length: int) -> None:
    with pytest.raises(ShortFrame) as caught:
        decode(MODEL, bytes([record_type]) + bytes(length - 1))
    assert caught.value.offset == length


def _position(flags: int, lat_raw: int, lon_raw: int, tail: bytes) -> bytes:
    return bytes([flags << 4]) + struct.pack("<ii", lat_raw, lon_raw) + tail


def test_both_coordinates_zero_is_no_fix_one_zero_is_a_place() -> None:
    assert decode(MODEL, _position(1, 0, 0, b"\0\0\x90")).messages[0] == Status("no_fix")
    equator = decode(MODEL, _position(1, 0, 13401526, b"\0\0\x90")).messages[0]
    assert equator == Location(Fix(0.0, 1.3401526, source="gps"))


int32 = st.integers(-(2**31), 2**31 - 1)
in_range = st.tuples(
    st.integers(-900_000_000, 900_000_000), st.integers(-1_800_000_000, 1_800_000_000)
)


@settings(max_examples=300)
@given(st.integers(0, 15), int32, int32, st.binary(min_size=3, max_size=3))
def test_any_position_decodes_under_the_position_policy(
    flags: int, lat: int, lon: int, tail: bytes
) -> None:
    decoded = decode(MODEL, _position(flags, lat, lon, tail))
    head, battery = decoded.messages
    assert battery == Battery(voltage_mv=tail[2] * 25)
    impossible = abs(lat) > 900_000_000 or abs(lon) > 1_800_000_000
    assert [w["field"] for w in decoded.warnings] == [
        name
        for name, bad in (
            ("latitude", abs(lat) > 900_000_000),
            ("longitude", abs(lon) > 1_800_000_000),
        )
        if bad
    ]
    if flags & 0b10:  # byte 0 bit 5: last fix failed
        assert head == Status("fix_failed")
    elif impossible or lat == lon == 0:
        assert head == Status("no_fix")
    else:
        assert head == Location(Fix(lat / 1e7, lon / 1e7, source="gps"))
        assert head.fix.is_fresh  # type: ignore[attr-defined]


@settings(max_examples=500)
@given(st.binary(max_size=16))
def test_random_bytes_decode_or_raise_decode_error_only(frame: bytes) -> None:
    try:
        decode(MODEL, frame)
    except DecodeError as error:
        assert error.model == MODEL


valid_frames = st.one_of(
    st.builds(
        lambda flags, coords, tail: _position(flags, *coords, tail),
        st.integers(0, 15),
        in_range,
        st.binary(min_size=3, max_size=3),
    ),
    st.builds(
        lambda f, rest: bytes([f << 4 | 1]) + rest,
        st.integers(0, 15),
        st.binary(min_size=11, max_size=11),
    ),
    st.builds(
        lambda f, rest: bytes([f << 4 | 2]) + rest, st.integers(0, 15), st.binary(max_size=11)
    ),
)


@given(valid_frames)
def test_valid_frames_build_back_and_compiled_parsers_agree(frame: bytes) -> None:
    decoded = decode(MODEL, frame)
    assert decoded.trusted
    assert oyster_sigfox.MODEL.build(decoded.fields) == frame
    layout = oyster_sigfox.LAYOUTS[frame[0] & 0x0F]
    head = frame[: layout.size]
    assert plain(layout.compiled.parse(head)) == plain(layout.schema.parse(head))
