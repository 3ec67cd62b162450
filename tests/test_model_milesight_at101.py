"""milesight-at101: fixture frames build back, the published examples, no-fix and history
records never fresh, Wi-Fi scans never a fix, records in any order, and properties."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import Battery, Fix, Location, Status, UnknownMessageType, decode
from decoders.models import milesight_at101

MODEL = "milesight-at101"
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
    assert milesight_at101.build(decoded.fields) == frame
    kinds = sorted(m.kind for m in decoded.messages)
    assert kinds == ["battery", "location", "location", "status", "status", "status"]


@given(st.permutations(RECORDS[:4]), st.integers(0, 0xFFFF))
def test_unknown_records_name_their_offset(order: list[str], key: int) -> None:
    if key in milesight_at101.LAYOUTS:
        return
    head = bytes.fromhex("".join(order))
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, head + key.to_bytes(2, "big") + bytes(12), 85)
    assert (caught.value.field, caught.value.offset) == ("records[4].record", len(head))
