"""milesight-at101: the published examples, no-fix and history records never fresh, Wi-Fi scans
never a fix, records in any order, impossible values as warnings, downlink replies, unknown
records after known ones kept, and properties."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_support import assert_decodes_or_raises_decode_error

from decoders import (
    Battery,
    Fix,
    Location,
    Message,
    Status,
    UnknownMessageType,
    decode,
)
from decoders.models.milesight import at101 as milesight_at101
from decoders.testing_values import layout_fields

MODEL = "milesight-at101"
BUILD = milesight_at101.MODEL.build
VECTOR = "01756403671B01050000048836BF7701F000090722"


def test_public_vector() -> None:
    decoded = decode(MODEL, VECTOR, 85)
    by_name = {r["record"]: r for r in decoded.fields["records"]}
    assert by_name["battery"]["battery_pct"] == 100
    assert by_name["temperature"]["temperature_c"] == 28.3
    assert by_name["position"]["position"] == "normal"
    location = by_name["location"]
    assert (location["latitude"], location["longitude"]) == (24.62495, 118.030576)
    assert location["status"] == {"geofence": "unset", "motion": "moving"}
    assert decoded.messages == (
        Battery(percent=100),
        Location(Fix(24.62495, 118.030576, source="gps")),
    )


def test_model_has_no_gestures() -> None:
    assert milesight_at101.MODEL.ports == (85,)
    assert milesight_at101.MODEL.alert_gestures == ()


def _location(lat: int, lon: int, status: int = 0x22, channel: int = 0x04) -> bytes:
    return bytes([channel, 0x88]) + struct.pack("<iiB", lat, lon, status)


@given(
    st.sampled_from([0x04, 0x84]),
    st.integers(-90_000_000, 90_000_000),
    st.integers(-180_000_000, 180_000_000),
)
def test_locations_are_fresh_fixes_unless_placeholders(channel: int, lat: int, lon: int) -> None:
    messages = decode(MODEL, _location(lat, lon, channel=channel), 85).messages
    if lat == lon == 0 or -1 in (lat, lon):
        assert messages == (Status("no_fix"),)
    else:
        assert messages == (Location(Fix(lat / 1e6, lon / 1e6, source="gps")),)


@given(st.integers(-90_000_000, 90_000_000), st.sampled_from(["lat", "lon", "both"]))
def test_all_ff_coordinates_are_no_fix(other: int, which: str) -> None:
    lat = -1 if which in ("lat", "both") else other
    lon = -1 if which in ("lon", "both") else other
    assert decode(MODEL, _location(lat, lon, 0x33), 85).messages == (Status("no_fix"),)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(-180_000_000, 180_000_000),
    st.integers(-90_000_000, 90_000_000),
)
def test_history_records_are_never_fresh(ts: int, lon: int, lat: int) -> None:
    frame = b"\x20\xce" + struct.pack("<Iii", ts, lon, lat)
    for message in decode(MODEL, frame, 85).messages:
        assert isinstance(message, Location)
        assert not message.fix.is_fresh
        assert message.fix.fixed_at is not None and message.fix.fixed_at.timestamp() == ts
        assert (message.fix.latitude, message.fix.longitude) == (lat / 1e6, lon / 1e6)


@given(st.lists(st.binary(min_size=9, max_size=9), min_size=1, max_size=6))
def test_wifi_scans_are_never_a_fix(scans: list[bytes]) -> None:
    frame = b"".join(b"\x06\xd9" + s[:8] + bytes([s[8] & 0x33]) for s in scans)
    decoded = decode(MODEL, frame, 85)
    assert decoded.messages == ()
    assert [r["record"] for r in decoded.fields["records"]] == ["wifi_scan"] * len(scans)


RECORDS = [
    "017564",
    "03671B01",
    "048836BF7701F000090722",
    "050001",
    "06D9081CC316222DF9C302",
    "070001",
    "8367C60101",
    "20CE00E1F565F000090736BF7701",
    "FF0B01",
]


@given(st.permutations(RECORDS))
def test_records_decode_in_any_order(order: list[str]) -> None:
    frame = bytes.fromhex("".join(order))
    decoded = decode(MODEL, frame, 85)
    assert len(decoded.fields["records"]) == len(order)
    assert BUILD(decoded.fields) == frame
    kinds = sorted(m.kind for m in decoded.messages)
    assert kinds == ["battery", "location", "location", "status", "status", "status"]


@given(st.permutations(RECORDS[:4]), st.integers(0, 0xFFFF))
def test_unknown_records_after_known_ones_are_a_warning(order: list[str], key: int) -> None:
    if key in milesight_at101.LAYOUTS:
        return
    head = bytes.fromhex("".join(order))
    decoded = decode(MODEL, head + key.to_bytes(2, "big") + bytes(12), 85)
    assert len(decoded.fields["records"]) == 4
    ((warning),) = decoded.warnings
    assert (warning["field"], warning["offset"]) == ("records[4].record", len(head))
    assert decode(MODEL, head, 85).messages == decoded.messages


@given(st.integers(0, 0xFFFF))
def test_an_unknown_first_record_is_an_error(key: int) -> None:
    if key in milesight_at101.LAYOUTS:
        return
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, key.to_bytes(2, "big") + bytes(12), 85)
    assert (caught.value.field, caught.value.offset) == ("records[0].record", 0)


@pytest.mark.parametrize("geofence", range(4, 16))
def test_a_geofence_nibble_above_3_is_a_warning_and_the_fix_counts(geofence: int) -> None:
    lat, lon = 24_624_950, 118_030_576
    decoded = decode(MODEL, b"\x01\x75\x64" + _location(lat, lon, geofence << 4 | 2), 85)
    assert decoded.fields["records"][1]["status"] == {"geofence": geofence, "motion": "moving"}
    assert decoded.messages == (
        Battery(percent=100),
        Location(Fix(24.62495, 118.030576, source="gps")),
    )
    ((warning),) = decoded.warnings
    assert (warning["field"], warning["offset"]) == ("records[1].status.geofence", 13)


@pytest.mark.parametrize("motion", range(4, 16))
def test_a_motion_nibble_above_3_is_a_warning(motion: int) -> None:
    decoded = decode(MODEL, _location(24_624_950, 118_030_576, 0x20 | motion), 85)
    assert decoded.messages == (Location(Fix(24.62495, 118.030576, source="gps")),)
    assert [w["field"] for w in decoded.warnings] == ["records[0].status.motion"]


@pytest.mark.parametrize("percent", [101, 150, 255])
def test_a_battery_above_100_is_a_warning_and_the_rest_counts(percent: int) -> None:
    decoded = decode(MODEL, bytes([0x01, 0x75, percent]) + _location(1, 0), 85)
    assert decoded.fields["records"][0]["battery_pct"] == percent
    assert decoded.messages == (Location(Fix(1e-6, 0.0, source="gps")),)
    assert [w["field"] for w in decoded.warnings] == ["records[0].battery_pct"]


@given(st.integers(90_000_001, 2**31 - 1), st.booleans(), st.integers(-180_000_000, 180_000_000))
def test_impossible_coordinates_are_a_warning_and_no_fix(
    big: int, negative: bool, lon: int
) -> None:
    lat = -big if negative else big
    decoded = decode(MODEL, _location(lat, lon), 85)
    assert decoded.messages == (Status("no_fix"),)
    assert [w["field"] for w in decoded.warnings] == ["records[0].latitude"]


@given(st.integers(1, 2**32 - 1), st.sampled_from([(0, 0), (-1, 5), (5, -1), (-1, -1)]))
def test_history_placeholders_give_no_message(ts: int, coordinates: tuple[int, int]) -> None:
    lon, lat = coordinates
    assert decode(MODEL, b"\x20\xce" + struct.pack("<Iii", ts, lon, lat), 85).messages == ()


def test_history_with_one_zero_coordinate_is_a_cached_fix() -> None:
    decoded = decode(MODEL, b"\x20\xce" + struct.pack("<Iii", 1710612736, 8_541_694, 0), 85)
    ((location),) = decoded.messages
    assert isinstance(location, Location)
    assert (location.fix.latitude, location.fix.longitude) == (0.0, 8.541694)
    assert location.fix.source == "cached" and not location.fix.is_fresh


def test_downlink_replies_on_both_channels() -> None:
    decoded = decode(MODEL, "FF8E000A00FE8E010500FE3C1EFF7101FE1001017564", 85)
    assert decoded.fields["records"][:4] == [
        {"record": "report_interval_config", "report": "periodic", "interval": 10},
        {"record": "report_interval_config_fe", "report": "motion", "interval": 5},
        {"record": "gnss_positioning_timeout_fe", "timeout": 30},
        {"record": "positioning_strategy", "strategy": "wifi"},
    ]
    assert decoded.messages == (Battery(percent=100),)
    assert decoded.trusted


def test_reply_sizes_match_the_vendor_decoder() -> None:
    # at101-decoder.js handle_downlink_response: value bytes per channel type
    sizes = {
        0x10: 1, 0x13: 3, 0x17: 2, 0x28: 1, 0x2D: 3, 0x3B: 1, 0x3C: 1, 0x4A: 1, 0x58: 4,
        0x66: 1, 0x71: 1, 0x7E: 4, 0x87: 1, 0x88: 8, 0x89: 4, 0x8A: 3, 0x8E: 3, 0x8F: 1,
    }  # fmt: skip
    for channel in (0xFF, 0xFE):
        for kind, size in sizes.items():
            assert milesight_at101.LAYOUTS[channel << 8 | kind].size == 2 + size


# -- properties ----------------------------------------------------------------------------------

KNOWN_RECORD = st.sampled_from(sorted(milesight_at101.LAYOUTS)).flatmap(
    lambda key: st.binary(
        min_size=milesight_at101.LAYOUTS[key].size - 2,
        max_size=milesight_at101.LAYOUTS[key].size - 2,
    ).map(lambda value: key.to_bytes(2, "big") + value)
)


@settings(max_examples=300)
@given(st.lists(KNOWN_RECORD, min_size=1, max_size=6), st.binary(max_size=16))
def test_known_records_with_any_values_decode_whatever_follows(
    records: list[bytes], junk: bytes
) -> None:
    decoded = decode(MODEL, b"".join(records) + junk, 85)
    assert len(decoded.fields["records"]) >= len(records)
    json.dumps(decoded.as_dict())
    for message in decoded.messages:
        assert isinstance(message, Message)
        if isinstance(message, Location):
            assert abs(message.fix.latitude) <= 90 and abs(message.fix.longitude) <= 180
            assert not (message.fix.latitude == message.fix.longitude == 0)


@settings(max_examples=300)
@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    assert_decodes_or_raises_decode_error(MODEL, frame, 85, BUILD)


RECORD_FIELDS = st.sampled_from(list(milesight_at101.LAYOUTS.values())).flatmap(layout_fields)


@given(st.lists(RECORD_FIELDS, min_size=1, max_size=6))
def test_generated_fields_build_and_parse_back(records: list[dict]) -> None:
    values = {"records": records}
    decoded = decode(MODEL, BUILD(values), 85)
    assert decoded.fields == values
    assert decoded.trusted
