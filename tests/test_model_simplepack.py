"""simplepack: the vendor's vectors, error cases, no lost presses (whatever the mode byte or the
appended bytes hold), random bytes, build -> parse round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import (
    Alert,
    Button,
    DecodeError,
    ShortFrame,
    Status,
    TrailingBytes,
    UnknownMessageType,
    decode,
)
from decoders.frames import BySelector
from decoders.models import EXAMPLES
from decoders.models.simplehw import simplepack
from decoders.testing import fields

MODEL = "simplepack"
FIXTURE = json.loads(EXAMPLES[MODEL].read_text())
PRESSES = {0x30: "short", 0x31: "double", 0x32: "long"}
WIFI_PRESSES = {
    0x9C: "short",
    0x9D: "short",
    0x9E: "double",
    0x9F: "double",
    0xA0: "long",
    0xA1: "long",
}
STATUS_EVENTS = [0x10, 0x11, 0x14, 0x15, 0x16]


def test_fixture_is_for_this_model() -> None:
    assert FIXTURE["model"] == MODEL


def test_public_vectors() -> None:
    extra_long = decode(MODEL, "018106010A3536")
    assert extra_long.fields["mode"] == "press_me"
    assert extra_long.fields["event"] == "extra_long_press"
    assert (extra_long.fields["api_version"], extra_long.fields["fw_major"]) == (6, 1)
    assert extra_long.fields["fw_minor"] == 10
    assert extra_long.messages[0] == Button("extra_long")
    armed = decode(MODEL, "0211")
    assert (armed.fields["mode"], armed.fields["event"]) == ("guard_me", "armed")
    assert armed.messages == (Status("armed"),)


def test_default_gestures() -> None:
    assert simplepack.MODEL.alert_gestures == ("short", "double", "long")
    assert "extra_long" not in simplepack.MODEL.alert_gestures
    assert simplepack.MODEL.cancel_gestures == ()


def test_model_is_declared_as_data() -> None:
    frames = simplepack.MODEL.frames
    assert isinstance(frames, BySelector)
    assert (frames.field, frames.offset, frames.mask, frames.max_size) == ("event", 1, 0xFF, 12)


def test_every_mode_is_named() -> None:
    assert set(simplepack.MODES) == {0x01, 0x02, 0x14, 0x23, 0x50}
    assert len(set(simplepack.MODES.values())) == len(simplepack.MODES)


@pytest.mark.parametrize("event", range(256))
def test_only_documented_events_decode(event: int) -> None:
    known = set(PRESSES) | set(WIFI_PRESSES) | set(STATUS_EVENTS)
    frame = bytes([0x01, event]) + (bytes(5) if event == 0x81 else b"")
    if event in known | {0x81}:
        decode(MODEL, frame)
        return
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, frame)
    assert (caught.value.field, caught.value.offset) == ("event", 1)


@pytest.mark.parametrize("mode", [m for m in range(256) if m not in (0x01, 0x02, 0x14, 0x23, 0x50)])
def test_an_unknown_mode_is_a_warning_and_the_press_counts(mode: int) -> None:
    decoded = decode(MODEL, bytes([mode, 0x30]))
    assert decoded.messages == (Button("short"),)
    assert decoded.fields["mode"] == mode
    assert [(w["field"], w["offset"]) for w in decoded.warnings] == [("mode", 0)]
    assert not decoded.trusted


@pytest.mark.parametrize("frame", ["", "03", "01"])
def test_a_frame_without_its_event_byte_is_short(frame: str) -> None:
    with pytest.raises(ShortFrame) as caught:
        decode(MODEL, frame)
    assert (caught.value.field, caught.value.offset) == ("event", len(frame) // 2)


def test_thirteen_bytes_are_not_a_sigfox_frame() -> None:
    with pytest.raises(TrailingBytes):
        decode(MODEL, bytes([0x01, 0x30]) + bytes(11))


def test_short_extra_long_press_names_the_missing_field() -> None:
    with pytest.raises(ShortFrame) as caught:
        decode(MODEL, "01810601")
    assert (caught.value.field, caught.value.offset) == ("fw_minor", 4)


modes = st.sampled_from(sorted(simplepack.MODES))


@settings(max_examples=300)
@given(
    st.integers(0, 255),
    st.sampled_from(sorted(PRESSES) + sorted(WIFI_PRESSES)),
    st.binary(max_size=10),
)
def test_a_press_with_garbage_elsewhere_is_always_an_alert_gesture(
    mode: int, event: int, rest: bytes
) -> None:
    decoded = decode(MODEL, bytes([mode, event]) + rest)
    (button,) = decoded.messages
    assert isinstance(button, Button)
    assert button.gesture in simplepack.MODEL.alert_gestures
    assert decoded.trusted == (mode in simplepack.MODES)


@settings(max_examples=500)
@given(st.binary(max_size=16))
def test_random_bytes_decode_or_raise_decode_error_only(frame: bytes) -> None:
    try:
        decoded = decode(MODEL, frame)
    except DecodeError as error:
        assert error.model == MODEL
        return
    presses = set(PRESSES) | set(WIFI_PRESSES)
    assert any(isinstance(m, Button) for m in decoded.messages) == (frame[1] in presses | {0x81})


@given(modes, st.sampled_from(sorted(PRESSES)), st.binary(max_size=10))
def test_a_press_with_appended_data_is_never_lost(mode: int, event: int, extra: bytes) -> None:
    decoded = decode(MODEL, bytes([mode, event]) + extra)
    assert decoded.messages == (Button(PRESSES[event]),)
    assert decoded.fields["appended"] == extra.hex().upper()
    assert PRESSES[event] in simplepack.MODEL.alert_gestures


@given(modes, st.sampled_from(sorted(WIFI_PRESSES)), st.binary(max_size=10))
def test_both_frames_of_a_wifi_press_give_the_button(mode: int, event: int, data: bytes) -> None:
    decoded = decode(MODEL, bytes([mode, event]) + data)
    assert decoded.messages == (Button(WIFI_PRESSES[event]),)
    assert decoded.fields["wifi"] == data.hex().upper()


@given(modes, st.sampled_from(STATUS_EVENTS), st.binary(max_size=10))
def test_arming_and_config_events_are_status_never_alert(
    mode: int, event: int, extra: bytes
) -> None:
    decoded = decode(MODEL, bytes([mode, event]) + extra)
    assert all(isinstance(m, Status) for m in decoded.messages)
    assert not any(isinstance(m, Alert | Button) for m in decoded.messages)


# Decode -> build gives the frame back: the generic property in test_properties.py.
@given(fields("simplepack"))
def test_build_then_parse_gives_the_fields_back(values: dict[str, Any]) -> None:
    frame = simplepack.MODEL.build(values)
    assert len(frame) <= 12
    assert decode(MODEL, frame).fields == values
