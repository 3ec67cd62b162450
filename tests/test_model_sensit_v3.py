"""sensit-v3: fixture frames field by field, error cases, the battery curve, and properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import (
    Battery,
    Button,
    FrameLengthError,
    ShortFrame,
    Status,
    TrailingBytes,
    UnknownMessageType,
    ValueOutOfRange,
    decode,
)
from decoders.models import sensit_v3
from decoders.schema import plain

MODEL = "sensit-v3"
FIXTURE = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "frames" / f"{MODEL}.json").read_text()
)


def test_fixture_is_for_this_model() -> None:
    assert FIXTURE["model"] == MODEL


def test_public_vector_light() -> None:
    decoded = decode(MODEL, "f6100065")
    assert decoded.fields["battery_mv"] == 4200
    assert decoded.fields["mode"] == "light"
    assert decoded.fields["light_lux"] == 1.05
    assert decoded.fields["button"] is False
    assert decoded.messages == (Battery(percent=100, voltage_mv=4200),)


def test_double_click_is_a_button_and_the_default_alert() -> None:
    decoded = decode(MODEL, "A6043045")
    assert decoded.messages[0] == Button("double")
    assert Status("firmware", "3.1.5") in decoded.messages
    assert sensit_v3.MODEL.alert_gestures == ("double",)
    assert sensit_v3.MODEL.network == "sigfox"
    assert sensit_v3.MODEL.ports == ()


@pytest.mark.parametrize(
    ("voltage_mv", "percent"),
    [
        (0, 0),
        (2650, 0),
        (2700, 0),
        (3050, 12),
        (3200, 17),
        (3550, 28),
        (3599, 30),
        (3600, 20),
        (3700, 37),
        (3899, 70),
        (3900, 70),
        (4100, 90),
        (4200, 100),
        (4250, 100),
    ],
)
def test_battery_percent_piecewise(voltage_mv: int, percent: int) -> None:
    assert sensit_v3.battery_percent(voltage_mv) == percent


@pytest.mark.parametrize("mode", range(6, 32))
def test_undefined_modes_are_unknown_message_types(mode: int) -> None:
    frame = bytes([0xF6, mode << 3, 0, 0])
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, frame)
    assert (caught.value.field, caught.value.offset) == ("mode", 1)


@pytest.mark.parametrize("reserved", [r for r in range(8) if r != 0b110])
def test_wrong_reserved_bits_are_out_of_range(reserved: int) -> None:
    with pytest.raises(ValueOutOfRange) as caught:
        decode(MODEL, bytes([0xF0 | reserved, 0x10, 0, 0x65]))
    assert (caught.value.field, caught.value.offset) == ("reserved", 0)


@pytest.mark.parametrize("length", range(0, 20))
def test_only_4_or_12_bytes_decode(length: int) -> None:
    frame = (bytes.fromhex("f6100065") + bytes(16))[:length]
    if length in (4, 12):
        assert decode(MODEL, frame).fields["config"] == (frame[4:].hex().upper() or None)
        return
    with pytest.raises(FrameLengthError) as caught:
        decode(MODEL, frame)
    assert isinstance(caught.value, ShortFrame if length < 4 else TrailingBytes)


valid_frames = st.builds(
    lambda battery, mode, low, data, config: (
        bytes([battery << 3 | 0b110, mode << 3 | low]) + data + config
    ),
    st.integers(0, 31),
    st.integers(0, 5),
    st.integers(0, 7),
    st.binary(min_size=2, max_size=2),
    st.sampled_from([b""]) | st.binary(min_size=8, max_size=8),
)


@given(valid_frames)
def test_valid_frames_decode_and_build_back(frame: bytes) -> None:
    decoded = decode(MODEL, frame)
    assert sensit_v3.build(decoded.fields) == frame
    battery = decoded.messages[-1]
    assert isinstance(battery, Battery)
    assert battery.voltage_mv == decoded.fields["battery_mv"]
    assert 0 <= (battery.percent or 0) <= 100
    assert (Button("double") in decoded.messages) == bool(frame[1] & 0b100)


@given(valid_frames)
def test_compiled_and_interpreted_parsers_agree(frame: bytes) -> None:
    layout = sensit_v3.LAYOUTS[frame[1] >> 3]
    assert plain(layout.compiled.parse(frame[:4])) == plain(layout.schema.parse(frame[:4]))
