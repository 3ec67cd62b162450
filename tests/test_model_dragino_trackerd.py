"""dragino-trackerd: fixture frames build back, per-port layouts, the alarm on every port that
carries it, dated positions never fresh, and properties."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import Alert, Battery, Location, Status, UnknownPort, decode
from decoders.models import dragino_trackerd
from decoders.schema import plain

MODEL = "dragino-trackerd"
FIXTURE = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures" / "frames" / f"{MODEL}.json").read_text()
)
SIZES = {2: 15, 3: 11, 4: 15, 7: 3, 8: 10}
ALARM_WORD = {2: 8, 3: 8, 7: 0, 8: 7}  # byte offset of the alarm + battery word


def _id(case: dict[str, Any]) -> str:
    return f"{case['port']}:{case['hex'] or 'empty'}"


def test_fixture_covers_every_port() -> None:
    assert FIXTURE["model"] == MODEL
    assert {case["port"] for case in FIXTURE["frames"]} == set(SIZES)


def test_public_vector() -> None:
    decoded = decode(MODEL, "015A706606CF3CF80FA23001AE00DA", 2)
    assert (decoded.fields["latitude"], decoded.fields["longitude"]) == (22.70423, 114.244856)
    assert (decoded.fields["humidity_pct"], decoded.fields["temperature_c"]) == (43.0, 21.8)
    assert decoded.fields["mode"]["led_on"] and decoded.fields["mode"]["moving"]
    assert decoded.fields["status"] == {"reserved": 0, "alarm": False, "battery_mv": 4002}


def test_ports_and_sizes() -> None:
    assert dragino_trackerd.MODEL.ports == (2, 3, 4, 7, 8)
    assert {port: layout.size for port, layout in dragino_trackerd.LAYOUTS.items()} == SIZES


@pytest.mark.parametrize("port", [None, 1, 5, 6, 9, 85])
def test_undefined_ports_are_refused(port: int | None) -> None:
    with pytest.raises(UnknownPort):
        decode(MODEL, bytes(15), port)


def test_parse_alone_refuses_an_undefined_port() -> None:
    with pytest.raises(UnknownPort):
        dragino_trackerd.parse(bytes(15), 5)


def _with_alarm(port: int, body: bytes, alarm: bool) -> bytes:
    at = ALARM_WORD[port]
    byte = body[at] & 0xBF | (0x40 if alarm else 0)
    return body[:at] + bytes([byte]) + body[at + 1 :]


alarm_ports = st.sampled_from(sorted(ALARM_WORD))


@given(alarm_ports, st.booleans(), st.data())
def test_the_alarm_is_a_sustained_alert_on_every_port_that_carries_it(
    port: int, alarm: bool, data: st.DataObject
) -> None:
    body = data.draw(st.binary(min_size=SIZES[port], max_size=SIZES[port]))
    messages = decode(MODEL, _with_alarm(port, body, alarm), port).messages
    alerts = [m for m in messages if isinstance(m, Alert)]
    if alarm:
        assert [(a.trigger, a.sustained) for a in alerts] == [("sos", True)]
        assert not any(isinstance(m, Location) for m in messages)
    else:
        assert alerts == [] and messages[0] == Status("alarm_clear")
    assert isinstance(messages[-1], Battery)
    if port in (7, 8):  # no position on these ports (a Wi-Fi SSID is not a fix)
        assert all(a.fix is None for a in alerts)
        assert Status("no_fix") not in messages


@given(st.sampled_from([2, 3]), st.booleans(), st.binary(min_size=7, max_size=7))
def test_zero_coordinates_are_never_a_position(port: int, alarm: bool, rest: bytes) -> None:
    frame = _with_alarm(port, bytes(8) + rest[: SIZES[port] - 8], alarm)
    messages = decode(MODEL, frame, port).messages
    assert not any(isinstance(m, Location) for m in messages)
    assert all(m.fix is None for m in messages if isinstance(m, Alert))


@given(st.binary(min_size=15, max_size=15))
def test_dated_positions_are_never_fresh(frame: bytes) -> None:
    messages = decode(MODEL, frame, 4).messages
    assert len(messages) == 1
    assert not any(isinstance(m, Alert | Battery) for m in messages)
    for message in messages:
        if isinstance(message, Location):
            assert not message.fix.is_fresh


def test_an_impossible_date_keeps_the_position_undated() -> None:
    frame = struct.pack(">iiHBBBBB", 47376887, 8541694, 2024, 13, 40, 0, 0, 0)
    (message,) = decode(MODEL, frame, 4).messages
    assert isinstance(message, Location)
    assert message.fix.source == "cached" and message.fix.fixed_at is None


@given(st.sampled_from(sorted(SIZES)), st.data())
def test_valid_frames_build_back_and_compiled_parsers_agree(port: int, data: Any) -> None:
    frame = data.draw(st.binary(min_size=SIZES[port], max_size=SIZES[port]))
    decoded = decode(MODEL, frame, port)
    assert dragino_trackerd.build(decoded.fields) == frame
    layout = dragino_trackerd.LAYOUTS[port]
    assert plain(layout.compiled.parse(frame)) == plain(layout.schema.parse(frame))
