"""dragino-lgt92: the firmware variants by length (11, 15, 16, 18 bytes), the alarm state, the
position placeholders (0/0, FFFFFFFF), and properties: the alarm is never lost."""

from __future__ import annotations

import contextlib
import json
import struct

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
from decoders.models import EXAMPLES
from decoders.models.dragino import lgt92 as dragino_lgt92
from decoders.schema import plain

MODEL = "dragino-lgt92"
EXAMPLE = json.loads(EXAMPLES[MODEL].read_text())
SIZES = {11: "position_no_sensor", 15: "position_no_hdop", 16: "position", 18: "position_altitude"}


def test_examples_are_for_this_model() -> None:
    assert EXAMPLE["model"] == MODEL
    assert {case["port"] for case in EXAMPLE["frames"]} == {2}
    assert {len(case["hex"]) // 2 for case in EXAMPLE["frames"]} >= set(SIZES)


def test_public_vector() -> None:
    decoded = decode(MODEL, "015A785406CF33D80D2060004B019000", 2)
    assert decoded.fields["message_type"] == "position"
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


def test_issue_15_byte_frame_raises_the_alarm() -> None:
    decoded = decode(MODEL, "0120E43AFFE983A74D345AF0C5F28D", 2)
    assert decoded.fields["message_type"] == "position_no_hdop"
    assert (decoded.fields["roll_deg"], decoded.fields["pitch_deg"]) == (-38.99, -34.43)
    assert "hdop" not in decoded.fields
    assert decoded.messages == (
        Alert("sos", Fix(18.932794, -1.473625, source="gps"), sustained=True),
        Battery(voltage_mv=3380),
    )
    assert decoded.warnings == ()


def test_motion_sensor_off_sends_11_bytes() -> None:
    decoded = decode(MODEL, "015A785406CF33D80D2063", 2)
    assert decoded.fields["message_type"] == "position_no_sensor"
    assert decoded.fields["mode"] == {"motion_mode": "move", "led_on": True, "firmware": 163}
    assert "roll_deg" not in decoded.fields
    assert Location(Fix(22.70626, 114.24252, source="gps")) in decoded.messages


@pytest.mark.parametrize("alarm", [False, True])
def test_low_battery_sentinel_is_no_fix(alarm: bool) -> None:
    frame = struct.pack(">iiHB", -1, -1, (0x4000 if alarm else 0) | 2800, 0x63)
    messages = decode(MODEL, frame, 2).messages
    assert not any(isinstance(m, Location) for m in messages)
    if alarm:
        assert messages == (Alert("sos", None, sustained=True), Battery(voltage_mv=2800))
    else:
        assert messages == (Status("alarm_clear"), Status("no_fix"), Battery(voltage_mv=2800))


def test_model_is_lorawan_port_2() -> None:
    assert dragino_lgt92.MODEL.network == "lorawan"
    assert dragino_lgt92.MODEL.ports == (2,)
    assert {layout.size: layout.name for layout in dragino_lgt92.LAYOUTS} == SIZES


@pytest.mark.parametrize("port", [None, 0, 1, 3, 85, 223])
def test_other_ports_are_refused(port: int | None) -> None:
    with pytest.raises(UnknownPort) as caught:
        decode(MODEL, "015A785406CF33D80D2060004B019000", port)
    assert caught.value.field == "port"


def _frame(lat: int, lon: int, alarm: bool, rest: bytes) -> bytes:
    word = (0x4000 if alarm else 0) | int.from_bytes(rest[:2], "big") & 0x3FFF
    return struct.pack(">iiH", lat, lon, word) + rest[2:]


int32 = st.integers(-(2**31), 2**31 - 1)
# what follows the coordinates: the alarm word, then the rest of an 11/15/16/18-byte frame
tails = st.sampled_from(sorted(SIZES)).flatmap(
    lambda size: st.binary(min_size=size - 8, max_size=size - 8)
)


@given(int32, int32, st.booleans(), tails)
def test_any_position_decodes_and_the_alarm_is_never_lost(
    lat: int, lon: int, alarm: bool, rest: bytes
) -> None:
    decoded = decode(MODEL, _frame(lat, lon, alarm, rest), 2)
    messages = decoded.messages
    alerts = [m for m in messages if isinstance(m, Alert)]
    if alarm:
        assert alerts == [Alert("sos", alerts[0].fix, sustained=True)]
        assert not any(isinstance(m, Location | Status) for m in messages)
    else:
        assert not alerts
        assert messages[0] == Status("alarm_clear")
    assert isinstance(messages[-1], Battery)
    assert decoded.warnings == ()


@given(st.binary(min_size=9, max_size=40), st.integers(0, 255))
def test_alarm_set_with_garbage_everywhere_else_is_an_alert(body: bytes, byte8: int) -> None:
    # any length from 9 bytes (the alarm bit whole) on: fitting, cut or too long
    frame = body[:8] + bytes([byte8 | 0x40]) + body[9:]
    messages = decode(MODEL, frame, 2).messages
    assert [type(m) for m in messages if isinstance(m, Alert)] == [Alert]
    assert messages[0].trigger == "sos"


@given(st.binary(min_size=0, max_size=40), st.sampled_from([None, 1, 2, 3]))
def test_random_bytes_decode_or_raise_decode_error(frame: bytes, port: int | None) -> None:
    with contextlib.suppress(DecodeError):
        decode(MODEL, frame, port)


@given(st.sampled_from(["lat", "lon", "both"]), st.integers(1, 90_000_000), st.booleans(), tails)
def test_both_zero_is_no_fix_one_zero_is_a_place(
    which: str, other: int, alarm: bool, rest: bytes
) -> None:
    lat = 0 if which in ("lat", "both") else other
    lon = 0 if which in ("lon", "both") else other
    messages = decode(MODEL, _frame(lat, lon, alarm, rest), 2).messages
    fixes = [m.fix for m in messages if isinstance(m, Alert | Location)]
    if which == "both":
        assert fixes in ([None], [])
        if not alarm:
            assert Status("no_fix") in messages
    else:
        assert fixes == [Fix(lat / 1e6, lon / 1e6, source="gps")]


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
    (layout,) = [layout for layout in dragino_lgt92.LAYOUTS if layout.size == len(frame)]
    assert decoded.fields["message_type"] == layout.name
    assert plain(layout.compiled.parse(frame)) == plain(layout.schema.parse(frame))


@pytest.mark.parametrize("length", [n for n in range(31) if n not in SIZES])
def test_other_lengths_without_the_alarm_are_errors(length: int) -> None:
    with pytest.raises(DecodeError):
        decode(MODEL, bytes(length), 2)
