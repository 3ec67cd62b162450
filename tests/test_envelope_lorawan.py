"""LoRaWAN server bodies (fixtures/bodies/lorawan.json: the vendors' own examples)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from decoders.envelopes.lorawan import (
    detect,
    parse_chirpstack,
    parse_helium,
    parse_loriot,
    parse_thingpark,
    parse_ttn,
)
from decoders.errors import EnvelopeError

BODIES = {
    entry["network"]: entry["body"]
    for entry in json.loads(
        (Path(__file__).resolve().parent.parent / "fixtures/bodies/lorawan.json").read_text()
    )
    if entry["network"] != "chirpstack-v4" or "data" in entry["body"]
}
TTN = BODIES["ttn-v3"]
CHIRPSTACK = BODIES["chirpstack-v4"]
# The caller's clock: the parsers never read one, they take it.
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_the_things_stack_uplink() -> None:
    uplink = parse_ttn(TTN, now=NOW)
    assert uplink.device == "0004A30B001C0530"
    assert uplink.payload == base64.b64decode("gkHe")
    assert (uplink.port, uplink.sequence) == (0, 1)  # the official example omits f_port
    assert uplink.dedup_key == "ttn:app1:dev1:AXA50tHUGUucuzS/bCGMNw==:1"
    assert uplink.received_at == datetime(2020, 2, 12, 15, 15, 46, 14773, tzinfo=UTC)
    assert uplink.hints.ttn_application == "app1"
    # locations.user is where the device was registered, not a fix.
    assert uplink.network_location is None


def test_the_things_stack_missing_f_cnt_is_zero_and_rejoin_is_a_new_key() -> None:
    body = copy.deepcopy(TTN)
    del body["uplink_message"]["f_cnt"]
    first = parse_ttn(body, now=NOW)
    assert first.sequence == 0
    body["uplink_message"]["session_key_id"] = "bmV3LXNlc3Npb24="
    assert parse_ttn(body, now=NOW).dedup_key != first.dedup_key


def test_the_things_stack_other_message_types() -> None:
    body = {k: v for k, v in TTN.items() if k != "uplink_message"}
    joined = parse_ttn({**body, "join_accept": {"session_key_id": "x"}}, now=NOW)
    assert joined.kind == "other"
    solved = parse_ttn(
        {
            **body,
            "location_solved": {
                "service": "lora-cloud",
                "location": {"latitude": -26.1, "longitude": 28.05, "accuracy": 50},
            },
        },
        now=NOW,
    )
    assert solved.kind == "location"
    assert solved.network_location is not None
    assert (solved.network_location.latitude, solved.network_location.source) == (-26.1, "network")


def test_chirpstack_up_without_f_cnt() -> None:
    uplink = parse_chirpstack(CHIRPSTACK, "up", now=NOW)
    assert uplink.device == "0101010101010101"
    assert uplink.payload == b"\xaa"
    assert (uplink.port, uplink.sequence) == (1, 0)
    assert uplink.dedup_key == "chirpstack:3ac7e3c4-4401-4b8d-9386-a5c902f9202d"
    assert uplink.hints.chirpstack_application == "17c82e96-be03-4f38-aef3-f83d48582d97"


def test_chirpstack_status_and_location_events() -> None:
    status = parse_chirpstack({**CHIRPSTACK, "batteryLevel": 88.3}, "status", now=NOW)
    assert (status.kind, status.battery_percent) == ("status", 88.3)
    unavailable = {**CHIRPSTACK, "batteryLevel": 0, "batteryLevelUnavailable": True}
    no_level = parse_chirpstack(unavailable, "status", now=NOW)
    assert (no_level.kind, no_level.battery_percent) == ("status", None)
    assert status.dedup_key.startswith("chirpstack:status:")
    located = parse_chirpstack(
        {**CHIRPSTACK, "location": {"latitude": 51.5, "longitude": -0.12}}, "location", now=NOW
    )
    assert located.kind == "location" and located.network_location is not None
    assert parse_chirpstack(CHIRPSTACK, "join", now=NOW).kind == "other"


def test_chirpstack_v3_base64_eui() -> None:
    body = {"applicationID": "1", "devEUI": "AgICAgICAgI=", "fPort": 2, "data": "AQI="}
    uplink = parse_chirpstack(body, "up", now=NOW)
    assert uplink.device == "0202020202020202"
    assert uplink.payload == b"\x01\x02"


def test_offline_envelopes() -> None:
    helium = parse_helium(BODIES["helium-console"], now=NOW)
    assert (helium.device, helium.port, helium.sequence) == ("1C29FBD1D2084E21", 1, 19)
    assert helium.payload == b"Hello, world!"
    loriot = parse_loriot(BODIES["loriot"], now=NOW)
    assert (loriot.device, loriot.payload, loriot.port) == (
        "0102030405060708",
        b"\x01\x02\xaa\xbb",
        1,
    )
    thingpark = parse_thingpark(BODIES["actility-thingpark"], now=NOW)
    assert (thingpark.device, thingpark.port, thingpark.sequence) == ("0018B20000000B20", 1, 1174)
    assert thingpark.received_at.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize("network", sorted(BODIES))
def test_detect_recognises_every_network(network: str) -> None:
    parser = detect(BODIES[network])
    assert parser is not None
    assert parser(BODIES[network], now=NOW).device


@pytest.mark.parametrize(
    ("parser", "body", "field"),
    [
        (parse_ttn, {"end_device_ids": {"device_id": "d"}}, "end_device_ids.application_ids"),
        (parse_chirpstack, {"deviceInfo": {"devEui": "0101"}}, "deviceInfo.devEui"),
        (parse_loriot, {"cmd": "rx", "EUI": "0102030405060708", "encdata": "00"}, "data"),
        (parse_thingpark, {"DevEUI_uplink": {"DevEUI": "zz"}}, "DevEUI_uplink.DevEUI"),
        (parse_ttn, [], "body"),
    ],
)
def test_malformed_bodies_name_the_field(parser, body, field) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parser(body, now=NOW)
    assert caught.value.field == field


def _ttn_with(**changes: object) -> dict:
    body = copy.deepcopy(TTN)
    body["uplink_message"].update(changes)
    return body


@pytest.mark.parametrize(
    ("parser", "body", "field"),
    [
        (parse_ttn, _ttn_with(f_cnt=2**32), "uplink_message.f_cnt"),  # 32-bit counter
        (parse_ttn, _ttn_with(f_cnt=2**64), "uplink_message.f_cnt"),
        (parse_ttn, _ttn_with(f_port=256), "uplink_message.f_port"),  # one byte
        (parse_ttn, _ttn_with(session_key_id="a b"), "uplink_message.session_key_id"),
        (
            parse_ttn,
            {**TTN, "end_device_ids": {**TTN["end_device_ids"], "device_id": "dev\nforged"}},
            "end_device_ids.device_id",
        ),
        (parse_chirpstack, {**CHIRPSTACK, "fCnt": 2**63}, "fCnt"),
        (parse_chirpstack, {**CHIRPSTACK, "fPort": "1e3"}, "fPort"),
        (parse_chirpstack, {**CHIRPSTACK, "deduplicationId": "\ud800"}, "deduplicationId"),
        (parse_helium, {**BODIES["helium-console"], "reported_at": 10**400}, "reported_at"),
    ],
)
def test_out_of_range_key_fields_name_the_field(parser, body, field) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parser(body, now=NOW)
    assert caught.value.field == field


def test_optional_parts_out_of_range_are_dropped_with_a_warning() -> None:
    located = parse_ttn(
        _ttn_with(locations={"frequency-solver": {"latitude": 95, "longitude": 28.0}}), now=NOW
    )
    assert (located.payload, located.network_location) == (base64.b64decode("gkHe"), None)
    assert [w["field"] for w in located.warnings] == [
        "uplink_message.locations.frequency-solver.latitude"
    ]
    late = parse_ttn({**TTN, "received_at": "9" * 400}, now=NOW)
    assert late.received_at == NOW and late.warnings[0]["field"] == "received_at"
    status = parse_chirpstack({**CHIRPSTACK, "batteryLevel": 250}, "status", now=NOW)
    assert (status.kind, status.battery_percent) == ("status", None)
    assert status.warnings[0]["field"] == "batteryLevel"
    hinted = parse_chirpstack(
        {**CHIRPSTACK, "deviceInfo": {**CHIRPSTACK["deviceInfo"], "applicationId": ["x"]}},
        "up",
        now=NOW,
    )
    assert hinted.hints.chirpstack_application is None and hinted.payload == b"\xaa"
    assert [w["field"] for w in hinted.warnings] == ["deviceInfo.applicationId"]
    assert parse_ttn(TTN, now=NOW).warnings == ()


def test_bad_base64_payload_is_kept_as_a_payload_error() -> None:
    body = copy.deepcopy(TTN)
    body["uplink_message"]["frm_payload"] = "not base64!"
    uplink = parse_ttn(body, now=NOW)
    assert uplink.payload_error is not None and uplink.payload == b""


@pytest.mark.parametrize(
    ("network", "path"),
    [
        ("ttn-v3", ("received_at",)),
        ("chirpstack-v4", ("time",)),
        ("helium-console", ("reported_at",)),
        ("loriot", ("ts",)),
        ("actility-thingpark", ("DevEUI_uplink", "Time")),
    ],
)
def test_a_body_without_a_time_gets_the_callers_now(network: str, path: tuple[str, ...]) -> None:
    body = copy.deepcopy(BODIES[network])
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    assert path[-1] in holder  # the fixture has a time: removing it is what this tests
    del holder[path[-1]]
    parser = detect(body)
    assert parser is not None
    assert parser(body, now=NOW).received_at == NOW


def test_a_body_with_a_time_ignores_now() -> None:
    assert parse_ttn(TTN, now=NOW).received_at != NOW
