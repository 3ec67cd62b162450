"""oyster-lorawan: the vendor examples, failed fixes never a location, man down as a sustained
alert whatever else the frame holds, impossible coordinates as warnings, the stats bit field
against oyster.js's formulas, random bytes, build -> parse round trips."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
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
from decoders.frames import ByPort
from decoders.models import EXAMPLES
from decoders.models.digitalmatter import oyster_lorawan
from decoders.schema import plain

MODEL = "oyster-lorawan"
FIXTURE = json.loads(EXAMPLES[MODEL].read_text())
SIZES = {1: 11, 2: 3, 3: 11, 4: 9}


def _id(case: dict[str, Any]) -> str:
    return f"{case['port']}:{case['hex'] or 'empty'}"


def test_fixture_covers_every_port() -> None:
    assert {case["port"] for case in FIXTURE["frames"]} == set(SIZES)


def test_public_vectors() -> None:
    valid = decode(MODEL, "0030EDEC003224450000DE", 1)
    assert (valid.fields["latitude"], valid.fields["longitude"]) == (-32.0, 116.0)
    assert valid.fields["battery_mv"] == 5550  # batV 5.55
    assert valid.messages == (Location(Fix(-32.0, 116.0, source="gps")), Battery(voltage_mv=5550))
    failed = decode(MODEL, "85A8C5EBD8763F0B0301BE", 1)
    assert failed.fields["flags"] == {"heading_deg": 0.0, "fix_failed": True, "in_trip": True}
    assert (failed.fields["latitude"], failed.fields["longitude"]) == (-33.9367803, 18.8708568)
    assert failed.messages == (Status("fix_failed"), Battery(voltage_mv=4750))


def test_ports() -> None:
    assert isinstance(oyster_lorawan.MODEL.frames, ByPort)
    assert oyster_lorawan.MODEL.ports == (1, 2, 3, 4)
    assert {p: layout.size for p, layout in oyster_lorawan.LAYOUTS.items()} == SIZES
    assert oyster_lorawan.MODEL.roles.alarm == "flags.man_down"
    assert oyster_lorawan.MODEL.roles.fix_failed == "flags.fix_failed"
    with pytest.raises(UnknownPort):
        decode(MODEL, bytes(11), 5)
    with pytest.raises(UnknownPort):
        oyster_lorawan.MODEL.parse(bytes(11), None)


latitudes = st.integers(-900_000_000, 900_000_000)
longitudes = st.integers(-1_800_000_000, 1_800_000_000)


int32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=300)
@given(int32, int32, st.integers(0, 255), st.binary(min_size=2, max_size=2))
def test_port_1_positions_follow_the_position_policy(
    lat: int, lon: int, flags: int, tail: bytes
) -> None:
    frame = struct.pack("<iiB", lat, lon, flags) + tail
    decoded = decode(MODEL, frame, 1)
    messages = decoded.messages
    assert messages[-1] == Battery(voltage_mv=tail[1] * 25)
    bad = [("latitude", abs(lat) > 900_000_000), ("longitude", abs(lon) > 1_800_000_000)]
    assert [w["field"] for w in decoded.warnings] == [name for name, out in bad if out]
    if flags & 2:
        assert messages[0] == Status("fix_failed")
    elif lat == lon == 0 or decoded.warnings:
        assert messages[0] == Status("no_fix")
    else:
        assert messages[0] == Location(Fix(lat / 1e7, lon / 1e7, source="gps"))


def test_port_1_impossible_latitude_is_a_warning_and_no_fix() -> None:
    decoded = decode(MODEL, struct.pack("<iiBBB", 900_000_001, 0, 0, 0, 0), 1)
    assert [(w["field"], w["offset"]) for w in decoded.warnings] == [("latitude", 0)]
    assert decoded.messages == (Status("no_fix"), Battery(voltage_mv=0))


@settings(max_examples=300)
@given(st.binary(min_size=9, max_size=9))
def test_port_4_always_decodes_and_man_down_is_a_sustained_alert(frame: bytes) -> None:
    messages = decode(MODEL, frame, 4).messages
    man_down, failed = bool(frame[8] & 4), bool(frame[8] & 2)
    alerts = [m for m in messages if isinstance(m, Alert)]
    if man_down:
        assert [(a.trigger, a.sustained) for a in alerts] == [("man_down", True)]
        assert Status("alarm_clear") not in messages
    else:
        assert alerts == [] and messages[0] == Status("alarm_clear")
    if failed:
        assert man_down or Status("fix_failed") in messages
        assert not any(isinstance(m, Location) for m in messages)
        assert all(a.fix is None for a in alerts)
    assert messages[-1] == Battery(voltage_mv=frame[7] * 25)


@settings(max_examples=300)
@given(st.binary(min_size=9, max_size=9), st.integers(9, 20), st.binary(max_size=11))
def test_man_down_in_a_cut_or_overlong_frame_still_raises_the_alarm(
    frame: bytes, length: int, more: bytes
) -> None:
    frame = (frame[:8] + bytes([frame[8] | 0b100]) + more)[:length]
    decoded = decode(MODEL, frame, 4)
    assert [(m.trigger, m.sustained) for m in decoded.messages if isinstance(m, Alert)] == [
        ("man_down", True)
    ]
    if len(frame) != 9:
        assert not decoded.trusted  # the length is a warning


@settings(max_examples=500)
@given(st.sampled_from([1, 2, 3, 4]), st.binary(max_size=16))
def test_random_bytes_decode_or_raise_decode_error_only(port: int, frame: bytes) -> None:
    try:
        decoded = decode(MODEL, frame, port)
    except DecodeError as error:
        assert error.model == MODEL
        return
    if port == 4 and len(frame) > 8 and frame[8] & 0b100:
        assert any(isinstance(m, Alert) for m in decoded.messages)


def _stats_by_oyster_js(b: bytes) -> dict[str, int]:
    """oyster.js's port-3 arithmetic, written out again here."""
    return {
        "initial_battery_mv": 4000 + 100 * (b[0] & 0xF),
        "tx_count": 32 * ((b[0] >> 4) + (b[1] & 0x7F) * 16),
        "trip_count": 32 * ((b[1] >> 7) + b[2] * 2 + (b[3] & 0x0F) * 512),
        "gps_successes": 32 * ((b[3] >> 4) + (b[4] & 0x3F) * 16),
        "gps_fails": 32 * ((b[4] >> 6) + (b[5] & 0x3F) * 4),
        "avg_gps_fix_s": (b[5] >> 6) + (b[6] & 0x7F) * 4,
        "avg_gps_fail_s": (b[6] >> 7) + b[7] * 2,
        "avg_gps_freshen_s": b[8],
        "wakeups_per_trip": b[9] & 0x7F,
        "uptime_weeks": (b[9] >> 7) + b[10] * 2,
    }


@given(st.binary(min_size=11, max_size=11))
def test_stats_match_the_vendor_formulas(frame: bytes) -> None:
    decoded = decode(MODEL, frame, 3)
    assert decoded.fields["stats"] == _stats_by_oyster_js(frame)
    assert decoded.messages == (Status("stats"),)


@given(st.binary(min_size=3, max_size=3))
def test_downlink_acks(frame: bytes) -> None:
    decoded = decode(MODEL, frame, 2)
    assert decoded.fields["ack"] == {"accepted": frame[0] >= 0x80, "sequence": frame[0] & 0x7F}
    verdict = "accepted" if frame[0] & 0x80 else "rejected"
    assert decoded.messages == (Status("downlink_ack", verdict),)


@given(latitudes, longitudes, st.binary(min_size=3, max_size=3))
def test_port_1_frames_build_back(lat: int, lon: int, tail: bytes) -> None:
    frame = struct.pack("<ii", lat, lon) + tail
    assert oyster_lorawan.MODEL.build(decode(MODEL, frame, 1).fields) == frame


@given(st.sampled_from([2, 3, 4]), st.data())
def test_valid_frames_build_back_and_compiled_parsers_agree(port: int, data: Any) -> None:
    frame = data.draw(st.binary(min_size=SIZES[port], max_size=SIZES[port]))
    decoded = decode(MODEL, frame, port)
    if decoded.warnings:  # port 4 coordinates beyond ±90/±180: shown, not built
        return
    assert oyster_lorawan.MODEL.build(decoded.fields) == frame
    layout = oyster_lorawan.LAYOUTS[port]
    assert plain(layout.compiled.parse(frame)) == plain(layout.schema.parse(frame))
