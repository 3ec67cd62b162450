"""Sigfox callback bodies as people write their templates: quoted numbers, missing fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from decoders.envelopes.sigfox import parse_sigfox, wants_downlink
from decoders.errors import EnvelopeError


def test_quoted_numbers_and_lower_case_hex_are_accepted() -> None:
    uplink = parse_sigfox(
        {"device": "1a2b3c", "time": "1700000000", "seqNumber": "46", "data": "01f0"}
    )
    assert uplink.device == "1A2B3C"
    assert uplink.payload == b"\x01\xf0"
    assert uplink.sequence == 46
    assert uplink.received_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert uplink.dedup_key == "sigfox:1A2B3C:46:1700000000"


def test_seq_number_wrap_gives_a_new_key_because_time_differs() -> None:
    a = parse_sigfox({"device": "AB", "time": 1700000000, "seqNumber": 5, "data": ""})
    b = parse_sigfox({"device": "AB", "time": 1700900000, "seqNumber": 5, "data": ""})
    assert a.dedup_key != b.dedup_key


def test_missing_or_null_optional_fields() -> None:
    uplink = parse_sigfox({"device": "AB", "time": 1, "data": None, "seqNumber": None})
    assert uplink.payload == b"" and uplink.sequence is None


def test_bad_payload_hex_is_kept_as_a_payload_error_not_a_bad_envelope() -> None:
    uplink = parse_sigfox({"device": "AB", "time": 1, "data": "zz01"})
    assert uplink.payload_error is not None and "zz01" in uplink.payload_error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time": 1, "data": "01"}, "device"),
        ({"device": "XYZ", "time": 1}, "device"),
        ({"device": "AB", "data": "01"}, "time"),
        ({"device": "AB", "time": "yesterday"}, "time"),
        ({"device": "AB", "time": 1, "seqNumber": "4.5"}, "seqNumber"),
        ({"device": "AB", "time": 1, "seqNumber": True}, "seqNumber"),
        ({"device": "AB", "time": 1, "seqNumber": "²"}, "seqNumber"),  # not an ASCII digit
        ({"device": "AB", "time": 1, "seqNumber": 4096}, "seqNumber"),  # 12 bits: 0-4095
        ({"device": "AB", "time": 1, "seqNumber": 2**64}, "seqNumber"),
        ({"device": "AB", "time": int("9" * 400)}, "time"),
    ],
)
def test_malformed_envelopes_name_the_field(body, field) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse_sigfox(body)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_computed_location_is_a_network_fix() -> None:
    body = {
        "device": "AB",
        "time": 1700000000,
        "data": "",
        "computedLocation": {"lat": 42.92, "lng": 1.59, "radius": 30200, "source": 2, "status": 1},
    }
    fix = parse_sigfox(body).network_location
    assert fix is not None
    assert (fix.latitude, fix.longitude, fix.accuracy_m, fix.source) == (
        42.92,
        1.59,
        30200,
        "network",
    )
    body["computedLocation"]["status"] = 0
    assert parse_sigfox(body).network_location is None


def test_a_malformed_computed_location_is_dropped_with_a_warning_and_the_frame_kept() -> None:
    # An optional part: refusing the body would lose the press it came with.
    for location, part in [
        ("here", "computedLocation"),
        ({"lat": 95, "lng": 1.5}, "computedLocation.lat"),
        ({"lat": 45, "lng": 1.5, "radius": -3}, "computedLocation.radius"),
        ({"lat": 45, "lng": 1.5, "status": "ok"}, "computedLocation.status"),
    ]:
        uplink = parse_sigfox(
            {"device": "AB", "time": 1, "data": "0300", "computedLocation": location}
        )
        assert (uplink.payload, uplink.network_location) == (b"\x03\x00", None)
        [warning] = uplink.warnings
        assert (warning["source"], warning["field"]) == ("envelope", part)
        assert part in warning["message"]


@pytest.mark.parametrize(
    ("ack", "wanted"), [(True, True), ("true", True), ("false", False), (None, False)]
)
def test_bidir_ack_flag(ack, wanted) -> None:
    assert wants_downlink({"ack": ack}) is wanted


def test_a_missing_time_is_an_error_unless_the_caller_gives_now() -> None:
    body = {"device": "AB", "seqNumber": 3, "data": "01"}
    with pytest.raises(EnvelopeError, match="time"):
        parse_sigfox(body)
    now = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    uplink = parse_sigfox(body, now=now)
    assert uplink.received_at == now
    assert uplink.dedup_key == "sigfox:AB:3:?"  # the key does not pretend to know the time
    assert parse_sigfox({**body, "time": 1}, now=now).received_at == datetime.fromtimestamp(1, UTC)
