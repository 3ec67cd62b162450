"""milesight-ws101: the current record table (FF 08 serial, downlink replies), records in any
order, a press never lost among other records — known, unknown, garbled — and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_support import assert_decodes_or_raises_decode_error

from decoders import (
    Alert,
    Battery,
    Button,
    ShortFrame,
    Status,
    UnknownMessageType,
    decode,
)
from decoders.models.milesight import at101 as milesight_at101
from decoders.models.milesight import ws101 as milesight_ws101
from decoders.testing_values import layout_fields

MODEL = "milesight-ws101"
BUILD = milesight_ws101.MODEL.build
PRESSES = {1: "short", 2: "long", 3: "double"}
ISSUE_EXAMPLE = "FF0BFFFF0101FF086538B2232131FF090100FF0A0102FF0F00"
# one example record of each kind, and what it means
RECORDS = {
    "017564": [Battery(percent=100)],
    "FF2E01": [Button("short")],
    "FF2E02": [Button("long")],
    "FF2E03": [Button("double")],
    "FF0110": [],
    "FF090140": [],
    "FF0A0114": [],
    "FFFF0100": [],
    "FF086538B2232131": [],
    "FF0F02": [],
    "FF0B01": [Status("power_on")],
    "FFFE01": [Status("reset")],
    "FF035802": [],
    "FE03B004": [],
    "FF10FF": [],
    "FE28FF": [],
    "FF2F01": [],
    "FE3E00": [],
    "FF7401": [],
}
KEYS = sorted(milesight_ws101.LAYOUTS)


def _calls_for_help(messages: tuple) -> bool:
    gestures = milesight_ws101.MODEL.alert_gestures
    return any(
        isinstance(m, Alert) or (isinstance(m, Button) and m.gesture in gestures) for m in messages
    )


def test_public_vectors() -> None:
    assert decode(MODEL, "FF2E01", 85).messages == (Button("short"),)
    readme = decode(MODEL, "017510FF2E01", 85)
    assert readme.fields["records"][0] == {"record": "battery", "battery_pct": 16}
    assert readme.messages == (Battery(percent=16), Button("short"))


def test_the_issue_example_decodes_record_by_record() -> None:
    decoded = decode(MODEL, ISSUE_EXAMPLE, 85)
    assert decoded.fields["records"] == [
        {"record": "power_on", "value": 0xFF},
        {"record": "protocol_version", "protocol_version": 1},
        {"record": "serial_number", "serial_number": "6538B2232131"},
        {"record": "hardware_version", "hardware_version": "0100"},
        {"record": "firmware_version", "firmware_version": "0102"},
        {"record": "lorawan_class", "lorawan_class": "A"},
    ]
    assert decoded.messages == (Status("power_on"),)
    assert decoded.trusted
    assert BUILD(decoded.fields) == bytes.fromhex(ISSUE_EXAMPLE)


def test_serial_number_records_differ_between_ws101_and_at101() -> None:
    ws101 = milesight_ws101.LAYOUTS
    at101 = milesight_at101.LAYOUTS
    assert ws101[0xFF08].name == at101[0xFF16].name == "serial_number"
    assert (ws101[0xFF08].size, at101[0xFF16].size) == (2 + 6, 2 + 8)
    assert 0xFF16 not in ws101 and 0xFF08 not in at101


def test_downlink_replies_on_both_channels() -> None:
    decoded = decode(MODEL, "FF03B004FE035802FF2F01FE7400FF2E01", 85)
    assert [r["record"] for r in decoded.fields["records"]] == [
        "reporting_interval",
        "reporting_interval_fe",
        "led_indicator_enable",
        "double_click_enable_fe",
        "press",
    ]
    assert [r.get("reporting_interval") for r in decoded.fields["records"][:2]] == [1200, 600]
    assert decoded.messages == (Button("short"),)


def test_model_metadata() -> None:
    assert milesight_ws101.MODEL.ports == (85,)
    assert milesight_ws101.MODEL.alert_gestures == ("short", "long", "double")
    assert milesight_ws101.MODEL.cancel_gestures == ()
    assert set(milesight_ws101.MODEL.alert_gestures) == set(PRESSES.values())


def test_every_record_layout_has_a_fast_parser() -> None:
    assert all(layout.fast is not None for layout in milesight_ws101.LAYOUTS.values())


@given(st.lists(st.sampled_from(sorted(RECORDS)), min_size=1, max_size=8))
def test_records_decode_in_any_order(keys: list[str]) -> None:
    frame = bytes.fromhex("".join(keys))
    decoded = decode(MODEL, frame, 85)
    assert [m for key in keys for m in RECORDS[key]] == list(decoded.messages)
    assert len(decoded.fields["records"]) == len(keys)
    assert decoded.trusted
    assert BUILD(decoded.fields) == frame


@given(
    st.lists(st.sampled_from(sorted(RECORDS)), max_size=4),
    st.sampled_from(sorted(PRESSES)),
    st.lists(st.sampled_from(sorted(RECORDS)), max_size=4),
)
def test_a_press_is_found_wherever_it_is(before: list[str], code: int, after: list[str]) -> None:
    frame = bytes.fromhex("".join(before) + f"FF2E{code:02X}" + "".join(after))
    assert Button(PRESSES[code]) in decode(MODEL, frame, 85).messages


@pytest.mark.parametrize("code", [c for c in range(256) if c not in PRESSES])
def test_an_undefined_press_code_is_still_a_call_for_help(code: int) -> None:
    decoded = decode(MODEL, f"017564FF2E{code:02X}", 85)
    assert decoded.messages == (Battery(percent=100), Alert("button:unknown"))
    assert decoded.fields["records"][1] == {"record": "press", "press": code}
    ((warning),) = decoded.warnings
    assert (warning["field"], warning["offset"]) == ("records[1].press", 5)
    assert not decoded.trusted


@pytest.mark.parametrize("percent", [101, 200, 255])
def test_an_impossible_battery_is_a_warning_not_an_error(percent: int) -> None:
    decoded = decode(MODEL, f"0175{percent:02X}FF2E02", 85)
    assert decoded.messages == (Button("long"),)
    assert [w["field"] for w in decoded.warnings] == ["records[0].battery_pct"]


@given(st.lists(st.sampled_from(sorted(RECORDS)), max_size=4), st.integers(0, 0xFFFF))
def test_an_unknown_first_record_is_an_error_a_later_one_a_warning(
    prefix: list[str], key: int
) -> None:
    if key in milesight_ws101.LAYOUTS:
        return
    head = bytes.fromhex("".join(prefix))
    frame = head + key.to_bytes(2, "big") + bytes(8)
    if not prefix:
        with pytest.raises(UnknownMessageType) as caught:
            decode(MODEL, frame, 85)
        assert (caught.value.field, caught.value.offset) == ("records[0].record", 0)
        return
    decoded = decode(MODEL, frame, 85)
    assert len(decoded.fields["records"]) == len(prefix)
    ((warning),) = decoded.warnings
    assert (warning["field"], warning["offset"]) == (f"records[{len(prefix)}].record", len(head))
    assert list(decoded.messages) == [m for key in prefix for m in RECORDS[key]]


@pytest.mark.parametrize("key", sorted(RECORDS))
def test_a_cut_record_is_short_first_and_a_warning_later(key: str) -> None:
    record = bytes.fromhex(key)
    for cut in range(0, len(record)):
        with pytest.raises(ShortFrame) as caught:
            decode(MODEL, record[:cut], 85)
        assert caught.value.offset == cut
        decoded = decode(MODEL, bytes.fromhex("FF2E03") + record[:cut], 85)
        assert decoded.messages == (Button("double"),)
        assert [w["offset"] for w in decoded.warnings] == ([3] if cut else [])


# -- the rule: a readable press always calls for help (docs/design.md §14) ----------------------

KNOWN_RECORD = st.sampled_from(KEYS).flatmap(
    lambda key: st.binary(
        min_size=milesight_ws101.LAYOUTS[key].size - 2,
        max_size=milesight_ws101.LAYOUTS[key].size - 2,
    ).map(lambda value: key.to_bytes(2, "big") + value)
)


@settings(max_examples=300)
@given(
    st.lists(KNOWN_RECORD, max_size=5),
    st.integers(0, 255),
    st.lists(KNOWN_RECORD, max_size=5),
    st.binary(max_size=24),
)
def test_a_press_among_garbage_still_calls_for_help(
    before: list[bytes], code: int, after: list[bytes], junk: bytes
) -> None:
    """Known records with random values around a press with any code, then random bytes
    (unknown records, a cut record): the press is an alert or an alert gesture."""
    frame = b"".join(before) + bytes([0xFF, 0x2E, code]) + b"".join(after) + junk
    decoded = decode(MODEL, frame, 85)
    assert _calls_for_help(decoded.messages)
    if code in PRESSES:
        assert Button(PRESSES[code]) in decoded.messages


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    assert_decodes_or_raises_decode_error(MODEL, frame, 85, BUILD)


RECORD_FIELDS = st.sampled_from(list(milesight_ws101.LAYOUTS.values())).flatmap(layout_fields)


@given(st.lists(RECORD_FIELDS, min_size=1, max_size=6))
def test_generated_fields_build_and_parse_back(records: list[dict]) -> None:
    values = {"records": records}
    frame = BUILD(values)
    decoded = decode(MODEL, frame, 85)
    assert decoded.fields == values
    assert decoded.trusted
