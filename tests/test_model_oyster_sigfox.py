"""oyster-sigfox: fixture frames field by field, error cases, failed fixes, and properties."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import (
    Battery,
    Fix,
    Location,
    ShortFrame,
    Status,
    TrailingBytes,
    UnknownMessageType,
    decode,
)
from decoders.models import oyster_sigfox
from decoders.schema import plain

MODEL = "oyster-sigfox"
FIXTURE = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "frames" / f"{MODEL}.json").read_text()
)


def test_fixture_is_for_this_model() -> None:
    assert FIXTURE["model"] == MODEL


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


def test_model_is_sigfox_without_gestures() -> None:
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


coordinates = st.tuples(
    st.integers(-900_000_000, 900_000_000), st.integers(-1_800_000_000, 1_800_000_000)
)


def _position(flags: int, lat_raw: int, lon_raw: int, tail: bytes) -> bytes:
    return bytes([flags << 4]) + struct.pack("<ii", lat_raw, lon_raw) + tail


@given(st.integers(0, 15), coordinates, st.binary(min_size=3, max_size=3))
def test_a_failed_fix_never_becomes_a_location(flags: int, coords: Any, tail: bytes) -> None:
    decoded = decode(MODEL, _position(flags, *coords, tail))
    kinds = [m.kind for m in decoded.messages]
    if flags & 0b10:  # byte 0 bit 5: last fix failed
        assert kinds == ["status", "battery"]
        assert decoded.messages[0] == Status("fix_failed")
    else:
        assert kinds == ["location", "battery"]
        fix = decoded.messages[0].fix  # type: ignore[attr-defined]
        assert fix == Fix(coords[0] / 1e7, coords[1] / 1e7, source="gps")
        assert fix.is_fresh
    assert decoded.messages[1] == Battery(voltage_mv=tail[2] * 25)


valid_frames = st.one_of(
    st.builds(
        _position,
        st.integers(0, 15),
        st.integers(-900_000_000, 900_000_000),
        st.integers(-1_800_000_000, 1_800_000_000),
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
def test_valid_frames_decode_and_build_back(frame: bytes) -> None:
    decoded = decode(MODEL, frame)
    assert oyster_sigfox.build(decoded.fields) == frame


@given(valid_frames)
def test_compiled_and_interpreted_parsers_agree(frame: bytes) -> None:
    layout = oyster_sigfox.LAYOUTS[frame[0] & 0x0F]
    head = frame[: layout.size]
    assert plain(layout.compiled.parse(head)) == plain(layout.schema.parse(head))
