"""sensecap-t1000: several frames per uplink, SOS as a sustained alert wherever it is (also
before unknown or cut frames), the position policy, the 0x11 fix-failed frame, scans never a
location, and properties."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_support import assert_decodes_or_raises_decode_error

from decoders import (
    Alert,
    Battery,
    Button,
    Fix,
    Location,
    ShortFrame,
    Status,
    UnknownMessageType,
    decode,
)
from decoders.models.seeed import sensecap_t1000 as sensecap_t1000
from decoders.schema import plain
from decoders.testing_values import layout_fields

MODEL = "sensecap-t1000"
BUILD = sensecap_t1000.MODEL.build
# total frame sizes, id included (the SenseCAP TTN decoder's package lengths / 2)
SIZES = {
    0x01: 47, 0x02: 16, 0x03: 32, 0x04: 10, 0x05: 5, 0x06: 22, 0x07: 42, 0x08: 35, 0x09: 18,
    0x0A: 38, 0x0B: 31, 0x0D: 5, 0x11: 14,
}  # fmt: skip
EVENT_FRAMES = {0x06: 1, 0x07: 1, 0x08: 1, 0x09: 1, 0x0A: 1, 0x0B: 1, 0x11: 2}  # events at
POSITION_FRAMES = {0x06, 0x09}


def test_frame_sizes_match_the_vendor_decoder() -> None:
    assert {code: layout.size for code, layout in sensecap_t1000.LAYOUTS.items()} == SIZES


def test_public_gnss_vector() -> None:
    (frame,) = decode(MODEL, "06000008006462248D06CA502801587EC600FE000057", 5).fields["frames"]
    assert (frame["longitude"], frame["latitude"]) == (113.922088, 22.576838)  # longitude first
    assert frame["event_status"]["shock"] and not frame["event_status"]["sos"]
    assert (frame["utc_time_s"], frame["temperature_c"], frame["battery_pct"]) == (
        1684153485,
        25.4,
        87,
    )


def test_model_metadata() -> None:
    assert sensecap_t1000.MODEL.ports == (5,)
    assert sensecap_t1000.MODEL.alert_gestures == ()  # SOS is the alarm, "press" means nothing


def _frame(code: int, body: bytes, events: int | None = None) -> bytes:
    frame = bytes([code]) + body[: SIZES[code] - 1]
    if events is not None and code in EVENT_FRAMES:
        at = EVENT_FRAMES[code] + 2  # the last byte of the 3-byte event status
        frame = frame[:at] + bytes([events]) + frame[at + 1 :]
    return frame


frames = st.builds(
    _frame,
    st.sampled_from(sorted(SIZES)),
    st.binary(min_size=46, max_size=46),
    st.integers(0, 255),
)


@given(st.lists(frames, min_size=1, max_size=4))
def test_several_frames_per_uplink_decode_in_order_and_build_back(parts: list[bytes]) -> None:
    uplink = b"".join(parts)
    decoded = decode(MODEL, uplink, 5)
    assert [f["frame_id"] for f in decoded.fields["frames"]] == [
        sensecap_t1000.LAYOUTS[p[0]].name for p in parts
    ]
    assert BUILD(decoded.fields) == uplink
    json.dumps(decoded.as_dict())


@given(st.lists(frames, max_size=2), frames, st.lists(frames, max_size=2))
def test_sos_anywhere_is_a_sustained_alert(
    before: list[bytes], sos: bytes, after: list[bytes]
) -> None:
    if sos[0] not in EVENT_FRAMES:
        return
    sos = _frame(sos[0], sos[1:], sos[EVENT_FRAMES[sos[0]] + 2] | 0x40)
    messages = decode(MODEL, b"".join([*before, sos, *after]), 5).messages
    alerts = [m for m in messages if isinstance(m, Alert)]
    assert alerts and all(a.trigger == "sos" and a.sustained for a in alerts)


@given(frames, st.integers(0, 255))
def test_event_bits_give_one_alert_or_one_clear_and_a_press(part: bytes, events: int) -> None:
    if part[0] not in EVENT_FRAMES:
        return
    messages = decode(MODEL, _frame(part[0], part[1:], events), 5).messages
    alerts = [m for m in messages if isinstance(m, Alert)]
    assert len(alerts) == (1 if events & 0x40 else 0)
    assert (Status("alarm_clear") in messages) is not bool(events & 0x40)
    assert (Button("press") in messages) is bool(events & 0x80)
    assert isinstance(messages[-1], Battery)


@given(frames)
def test_only_gnss_frames_can_carry_a_fix(part: bytes) -> None:
    messages = decode(MODEL, part, 5).messages
    fixes = [m.fix for m in messages if isinstance(m, Location | Alert) and m.fix is not None]
    if part[0] not in POSITION_FRAMES:
        assert fixes == []
    for fix in fixes:  # the position policy: both zero is no fix, one zero is a place
        assert not (fix.latitude == 0 and fix.longitude == 0)
        assert abs(fix.latitude) <= 90 and abs(fix.longitude) <= 180


@given(st.integers(1, 255), st.binary(min_size=13, max_size=13))
def test_the_fix_failed_frame_is_never_a_location(code: int, body: bytes) -> None:
    messages = decode(MODEL, bytes([0x11, code]) + body[:12], 5).messages
    assert not any(isinstance(m, Location) for m in messages)
    if body[2] & 0x40:  # SOS: the alert goes out without a fix
        assert messages[0] == Alert("sos", None, sustained=True)
    else:
        reason = sensecap_t1000.POSITIONING.get(code, f"code {code}")
        assert messages[:2] == (Status("alarm_clear"), Status("fix_failed", reason))


def test_a_fix_failed_frame_reporting_success_says_nothing_of_the_position() -> None:
    messages = decode(MODEL, "110000000065F5E10000C9000C3E", 5).messages
    assert messages == (Status("alarm_clear"), Battery(percent=62))


def test_gnss_fix_is_dated_and_zero_is_no_fix() -> None:
    body = struct.pack(">3sBIiihHB", b"\0\0\0", 0, 1710612736, 151209290, -33868820, 200, 5, 60)
    (loc,) = [m for m in decode(MODEL, b"\x06" + body, 5).messages if isinstance(m, Location)]
    assert loc.fix.fixed_at is not None and loc.fix.fixed_at.timestamp() == 1710612736
    zero = struct.pack(">3sBIiiB", b"\0\0\0", 0, 0, 0, 0, 60)
    assert Status("no_fix") in decode(MODEL, b"\x09" + zero, 5).messages


@pytest.mark.parametrize(("lon", "lat"), [(8_541_694, 0), (0, 47_376_887)])
def test_one_zero_coordinate_is_a_fix(lon: int, lat: int) -> None:
    body = struct.pack(">3sBIiiB", b"\0\0\0", 0, 0, lon, lat, 60)
    messages = decode(MODEL, b"\x09" + body, 5).messages
    assert Location(Fix(lat / 1e6, lon / 1e6, source="gps")) in messages


@pytest.mark.parametrize("code", [c for c in range(256) if c not in SIZES])
def test_undefined_frame_ids_are_an_error_first_and_a_warning_later(code: int) -> None:
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, bytes([code]) + bytes(30), 5)
    assert (caught.value.field, caught.value.offset) == ("frames[0].frame_id", 0)
    decoded = decode(MODEL, bytes.fromhex("0564010001") + bytes([code]) + bytes(30), 5)
    assert decoded.messages == (Battery(percent=100),)
    assert [(w["field"], w["offset"]) for w in decoded.warnings] == [("frames[1].frame_id", 5)]


@pytest.mark.parametrize("code", sorted(SIZES))
def test_a_cut_frame_is_short_first_and_a_warning_later(code: int) -> None:
    whole = bytes([code]) + bytes(SIZES[code] - 1)
    for cut in range(0, len(whole)):
        with pytest.raises(ShortFrame) as caught:
            decode(MODEL, whole[:cut], 5)
        assert caught.value.offset == cut
        decoded = decode(MODEL, bytes.fromhex("0564010001") + whole[:cut], 5)
        assert decoded.messages == (Battery(percent=100),)
        assert [w["offset"] for w in decoded.warnings] == ([5] if cut else [])
        if cut:
            assert decoded.warnings[0]["field"].startswith("frames[1].")


@given(frames)
def test_compiled_and_interpreted_parsers_agree(part: bytes) -> None:
    layout = sensecap_t1000.LAYOUTS[part[0]]
    assert plain(layout.compiled.parse(part)) == plain(layout.schema.parse(part))


# -- the rule: readable SOS bits always raise the alarm (docs/design.md §14) --------------------


@settings(max_examples=300)
@given(st.lists(frames, max_size=2), frames, st.binary(max_size=40))
def test_sos_before_unknown_or_cut_frames_is_still_an_alert(
    before: list[bytes], sos: bytes, junk: bytes
) -> None:
    if sos[0] not in EVENT_FRAMES:
        return
    sos = _frame(sos[0], sos[1:], sos[EVENT_FRAMES[sos[0]] + 2] | 0x40)
    decoded = decode(MODEL, b"".join([*before, sos]) + junk, 5)
    assert any(isinstance(m, Alert) and m.trigger == "sos" for m in decoded.messages)


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    assert_decodes_or_raises_decode_error(MODEL, frame, 5, BUILD)


FRAME_FIELDS = st.sampled_from(list(sensecap_t1000.LAYOUTS.values())).flatmap(layout_fields)


@given(st.lists(FRAME_FIELDS, min_size=1, max_size=3))
def test_generated_fields_build_and_parse_back(parts: list[dict]) -> None:
    values = {"frames": parts}
    decoded = decode(MODEL, BUILD(values), 5)
    assert decoded.fields == values
    assert decoded.trusted
