"""aura-reference: build -> parse round trips over arbitrary valid values (docs/design.md §7),
the position policy, alerts that always get through, and cancels that are only trusted from a
frame without warnings (docs/design.md §14)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders.frames import BySelector
from decoders.models.aura import reference as aura_reference
from decoders.testing import fields

# Every valid value of every field, from the schema (decoders.testing); positions are alerts and
# locations, the two types that carry a fix.
any_fields = fields("aura-reference")
position_fields = any_fields.filter(lambda values: values["message_type"] in ("alert", "location"))


@given(values=any_fields)
def test_build_then_parse_gives_the_same_fields(values: dict) -> None:
    frame = aura_reference.MODEL.build(values)
    assert len(frame) <= 12  # one Sigfox frame
    assert decoders.decode("aura-reference", frame).fields == values


@given(values=position_fields)
def test_alert_without_fix_round_trips_as_no_fix(values: dict) -> None:
    values = {**values, "message_type": "alert", "latitude": None, "longitude": None}
    frame = aura_reference.MODEL.build(values)
    assert frame[1:9] == bytes.fromhex("7FFFFFFF7FFFFFFF")
    decoded = decoders.decode("aura-reference", frame)
    assert decoded.messages[0] == decoders.Alert("alert", None)


def test_stale_flag_marks_the_fix_cached_not_fresh() -> None:
    decoded = decoders.decode("aura-reference", "01EBC779D30AFB49A9FFFF01")
    alert = decoded.messages[0]
    assert isinstance(alert, decoders.Alert)
    assert alert.fix is not None and not alert.fix.is_fresh


def test_model_is_declared_as_data() -> None:
    frames = aura_reference.MODEL.frames
    assert isinstance(frames, BySelector)
    assert (frames.field, frames.offset, frames.max_size) == ("message_type", 0, 12)
    assert {code: sized.sizes for code, sized in frames.table.items()} == {
        1: (12,),
        2: (12,),
        3: (2,),
        4: (4,),
    }


def test_a_cancel_decoded_with_warnings_is_not_trusted() -> None:
    # reason 3 is undefined (docs/design.md §7): a warning, so the cancel must not stand a
    # callout down (docs/design.md §14 "Safety asymmetry"; the mapping drops it)
    decoded = decoders.decode("aura-reference", "0303")
    assert decoded.messages == (decoders.Cancel("unknown"),)
    assert [(w["field"], w["offset"]) for w in decoded.warnings] == [("reason", 1)]
    assert decoded.trusted is False
    assert decoders.decode("aura-reference", "0300").trusted is True


@pytest.mark.parametrize("frame", ["030000", "03"])
def test_a_cancel_of_the_wrong_length_is_an_error_not_a_stand_down(frame: str) -> None:
    with pytest.raises(decoders.FrameLengthError):
        decoders.decode("aura-reference", frame)


def test_positions_follow_the_position_policy() -> None:
    both_zero = decoders.decode("aura-reference", "010000000000000000FF5000")
    assert both_zero.messages[0] == decoders.Alert("alert", None)
    equator = decoders.decode("aura-reference", "0200000000FFECFBD2026400")
    assert equator.messages[0] == decoders.Location(
        decoders.Fix(0.0, -0.1246254, accuracy_m=8, source="gps")
    )


int32 = st.integers(-(2**31), 2**31 - 1)


@settings(max_examples=300)
@given(st.binary(min_size=11, max_size=11), st.integers(1, 12))
def test_an_alert_with_garbage_elsewhere_is_always_an_alert(rest: bytes, length: int) -> None:
    frame = (b"\x01" + rest)[:length]
    decoded = decoders.decode("aura-reference", frame)
    alerts = [m for m in decoded.messages if isinstance(m, decoders.Alert)]
    assert [a.trigger for a in alerts] == ["alert"]
    if len(frame) < 12:
        assert not decoded.trusted


@settings(max_examples=300)
@given(int32, int32, st.binary(min_size=3, max_size=3))
def test_impossible_coordinates_are_warnings_and_no_fix(lat: int, lon: int, tail: bytes) -> None:
    frame = b"\x01" + struct.pack(">ii", lat, lon) + tail
    decoded = decoders.decode("aura-reference", frame)
    alert = decoded.messages[0]
    assert isinstance(alert, decoders.Alert)
    impossible = {
        "latitude": lat != 0x7FFFFFFF and abs(lat) > 900_000_000,
        "longitude": lon != 0x7FFFFFFF and abs(lon) > 1_800_000_000,
    }
    warned = {w["field"] for w in decoded.warnings}
    assert {name for name, bad in impossible.items() if bad} <= warned
    if any(impossible.values()) or 0x7FFFFFFF in (lat, lon) or lat == lon == 0:
        assert alert.fix is None


@settings(max_examples=500)
@given(st.binary(max_size=16))
def test_random_bytes_decode_or_raise_decode_error_only(frame: bytes) -> None:
    try:
        decoded = decoders.decode("aura-reference", frame)
    except decoders.DecodeError as error:
        assert error.model == "aura-reference"
        return
    if frame[0] == 1:
        assert isinstance(decoded.messages[0], decoders.Alert)
