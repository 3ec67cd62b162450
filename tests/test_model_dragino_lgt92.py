"""dragino-lgt92: fixture frames build back, the alarm state, placeholder positions, properties."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import (
    Alert,
    Battery,
    DecodeError,
    Fix,
    Location,
    Status,
    UnknownPort,
    decode,
)
from decoders.models import dragino_lgt92
from decoders.schema import plain

MODEL = "dragino-lgt92"
FIXTURE = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "frames" / f"{MODEL}.json").read_text()
)


def test_fixture_is_for_this_model() -> None:
    assert FIXTURE["model"] == MODEL
    assert {case["port"] for case in FIXTURE["frames"]} == {2}


def test_public_vector() -> None:
    decoded = decode(MODEL, "015A785406CF33D80D2060004B019000", 2)
    assert (decoded.fields["latitude"], decoded.fields["longitude"]) == (22.70626, 114.24252)
    assert decoded.fields["status"]["alarm"] is False
    assert decoded.fields["status"]["battery_mv"] == 3360  # BatV 3.36
    assert decoded.fields["mode"]["firmware"] == 160
    assert (decoded.fields["roll_deg"], decoded.fields["pitch_deg"]) == (0.75, 4.0)
    assert "altitude_m" not in decoded.fields  # 16 bytes: the vendor's "0" is not invented
    assert decoded.messages == (
        Status("alarm_clear"),
        Location(Fix(22.70626, 114.24252, source="gps")),
        Battery(voltage_mv=3360),
    )


def test_model_is_lorawan_port_2() -> None:
    assert dragino_lgt92.MODEL.network == "lorawan"
    assert dragino_lgt92.MODEL.ports == (2,)


@pytest.mark.parametrize("port", [None, 0, 1, 3, 85, 223])
def test_other_ports_are_refused(port: int | None) -> None:
    with pytest.raises(UnknownPort) as caught:
        decode(MODEL, "015A785406CF33D80D2060004B019000", port)
    assert caught.value.field == "port"


def _frame(lat: int, lon: int, alarm: bool, rest: bytes) -> bytes:
    word = (0x4000 if alarm else 0) | int.from_bytes(rest[:2], "big") & 0x3FFF
    return struct.pack(">iiH", lat, lon, word) + rest[2:]


int32 = st.integers(-(2**31), 2**31 - 1)
tails = st.one_of(st.binary(min_size=8, max_size=8), st.binary(min_size=10, max_size=10))


@given(int32, int32, st.booleans(), tails)
def test_any_position_decodes_and_the_alarm_is_never_lost(
    lat: int, lon: int, alarm: bool, rest: bytes
) -> None:
    messages = decode(MODEL, _frame(lat, lon, alarm, rest), 2).messages
    alerts = [m for m in messages if isinstance(m, Alert)]
    if alarm:
        assert alerts == [Alert("sos", alerts[0].fix, sustained=True)]
        assert not any(isinstance(m, Location | Status) for m in messages)
    else:
        assert not alerts
        assert messages[0] == Status("alarm_clear")
    assert isinstance(messages[-1], Battery)


@given(st.sampled_from(["lat", "lon", "both"]), int32, st.booleans(), tails)
def test_zero_coordinates_are_never_a_position(
    which: str, other: int, alarm: bool, rest: bytes
) -> None:
    lat = 0 if which in ("lat", "both") else other
    lon = 0 if which in ("lon", "both") else other
    messages = decode(MODEL, _frame(lat, lon, alarm, rest), 2).messages
    assert not any(isinstance(m, Location) for m in messages)
    assert all(m.fix is None for m in messages if isinstance(m, Alert))
    if not alarm:
        assert Status("no_fix") in messages


@given(st.integers(1, 16_777_215), st.integers(1, 180_000_000), tails)
def test_fixes_with_a_zero_first_byte_are_kept(lat: int, lon: int, rest: bytes) -> None:
    # the vendor decoder zeroes any latitude whose byte 0 is 0 (0° to 16.77° N)
    messages = decode(MODEL, _frame(lat, lon, False, rest), 2).messages
    assert Location(Fix(lat / 1e6, lon / 1e6, source="gps")) in messages


@given(st.booleans(), tails, int32, int32)
def test_valid_frames_build_back_and_compiled_parsers_agree(
    alarm: bool, rest: bytes, lat: int, lon: int
) -> None:
    frame = _frame(lat, lon, alarm, rest)
    decoded = decode(MODEL, frame, 2)
    assert dragino_lgt92.build(decoded.fields) == frame
    layout = dragino_lgt92.LONG if len(frame) == 18 else dragino_lgt92.SHORT
    assert plain(layout.compiled.parse(frame)) == plain(layout.schema.parse(frame))


@pytest.mark.parametrize("length", [*range(16), 17, 19, 30])
def test_only_16_or_18_bytes_decode(length: int) -> None:
    with pytest.raises(DecodeError):
        decode(MODEL, bytes(length), 2)
