"""Templates on the network's decoded payload (``decoded = "network"``, issue 14 point 1) end to
end: The Things Stack's ``decoded_payload`` and ChirpStack v4's ``object`` over real HTTP on
127.0.0.1, a real SQLite store, the AURA simulator as AURA; TTS ``last_battery_percentage``; an
uplink without a decoded payload kept undecodable and replayed after the fix; ChirpStack match
by names; and random decoded objects that never raise anything but the project's errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import (
    AuraUplinkError,
    ConfigError,
    DeviceState,
    NoDecodedPayload,
    decode_uplink,
    events_for,
    parse_chirpstack,
    parse_ttn,
    select_template,
    templates_from_config,
)
from decoders.templates import template_from_table
from tests.webhook_support import (
    BATTERY_INFO,
    CANCELLED,
    HTTP_TIMEOUT,
    LOCATION_UPDATED,
    NEW_CALLOUT,
    TTN_SECRET,
    AppServer,
    aura_posts,
    read_config,
    run_cli,
    settled,
    wait_until,
    write_config,
)
from webhook.aurasim import run_simulator

CS_SECRET = "cs-decoded-secret"
TTS_APP = "trackers"
TTS_EUI = "70B3D57ED0001234"
CS_EUI = "A84041000181C5F1"
SENSOR = bytes.fromhex("0102")  # what the frame holds does not matter to a network template

NETWORK_TEMPLATES = f"""
[sources.chirpstack]
secret = "{CS_SECRET}"
header = "X-Chirpstack-Secret"

[templates.tts-tracker]
device_type_id = 31
decoded = "network"
location_updates = "always"
[templates.tts-tracker.fields]
latitude = "gps.lat"
longitude = "gps.lng"
accuracy = "gps.acc"
alarm = "sos"
[templates.tts-tracker.match]
ttn_applications = ["{TTS_APP}"]

[templates.cs-button]
device_type_id = 32
decoded = "network"
[templates.cs-button.fields]
press = {{ path = "event", equals = "SOS" }}
cancel = {{ path = "event", in = ["CANCEL", "SAFE"] }}
battery_mv = {{ path = "power.volts", scale = 1000 }}
[templates.cs-button.match]
chirpstack_application_names = ["Panic Buttons"]
chirpstack_device_profile_names = ["Acme Button v2"]
"""

# The operator's fix for a TTS application whose network sends no decoded payload: decode the
# frame with a model instead (a Milesight WS101 short press, fPort 85).
FIXED_TEMPLATES = NETWORK_TEMPLATES.replace(
    'decoded = "network"\nlocation_updates = "always"', 'model = "milesight-ws101"'
).replace(
    '[templates.tts-tracker.fields]\nlatitude = "gps.lat"\nlongitude = "gps.lng"\n'
    'accuracy = "gps.acc"\nalarm = "sos"\n',
    "",
)
WS101_SHORT_PRESS = bytes.fromhex("FF2E01")


def tts_body(
    f_cnt: int,
    decoded: dict[str, Any] | None,
    *,
    payload: bytes = SENSOR,
    port: int = 1,
    battery: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A TTS v3 uplink_message webhook body (docs/networks.md §2.1)."""
    message: dict[str, Any] = {
        "session_key_id": "c2Vzc2lvbi1kZWNvZGVk",
        "f_cnt": f_cnt,
        "f_port": port,
        "frm_payload": base64.b64encode(payload).decode(),
    }
    if decoded is not None:
        message["decoded_payload"] = decoded
    if battery is not None:
        message["last_battery_percentage"] = battery
    return {
        "end_device_ids": {
            "device_id": "tracker-1",
            "application_ids": {"application_id": TTS_APP},
            "dev_eui": TTS_EUI,
        },
        "received_at": f"2026-12-01T10:{f_cnt:02d}:00.123456789Z",
        "uplink_message": message,
    }


def cs_body(dedup: str, decoded: dict[str, Any] | None, **info: str) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event body (docs/networks.md §2.2)."""
    device_info = {
        "tenantName": "AURA",
        "applicationId": "2c7b8f1e-0d55-4c3c-8a3f-6a1f2b3c4d5e",
        "applicationName": "Panic Buttons",
        "deviceProfileId": "9a8b7c6d-1111-2222-3333-444455556666",
        "deviceProfileName": "Acme Button v2",
        "deviceName": "button-7",
        "devEui": CS_EUI.lower(),
        **info,
    }
    body: dict[str, Any] = {
        "deduplicationId": dedup,
        "time": "2026-12-01T11:00:00Z",
        "deviceInfo": device_info,
        "fCnt": 5,
        "fPort": 10,
        "data": base64.b64encode(SENSOR).decode(),
    }
    if decoded is not None:
        body["object"] = decoded
    return body


def post_tts(app: AppServer, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        app.url + "/ttn/uplink",
        json=body,
        headers={"Authorization": f"Bearer {TTN_SECRET}"},
        timeout=HTTP_TIMEOUT,
    )


def post_cs(app: AppServer, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        app.url + "/chirpstack",
        params={"event": "up"},
        json=body,
        headers={"X-Chirpstack-Secret": CS_SECRET},
        timeout=HTTP_TIMEOUT,
    )


@pytest.fixture
def stack(tmp_path: Path):
    with run_simulator() as sim:
        path = write_config(tmp_path / "c.toml", aura_url=sim.url, templates=NETWORK_TEMPLATES)
        with AppServer(read_config(path)) as app:
            yield sim, app


def bodies(sim: Any) -> list[dict[str, Any]]:
    return [post["body"] for post in aura_posts(sim, ok=True)]


# -- over HTTP -------------------------------------------------------------------------------------


def test_tts_decoded_payload_alarm_opens_one_callout_then_updates(stack) -> None:
    sim, app = stack
    sos: dict[str, Any] = {"sos": True, "gps": {"lat": -26.10911, "lng": 28.053037, "acc": 12.4}}
    moved = {"sos": 1, "gps": {"lat": -26.2025, "lng": 28.0468}}
    for f_cnt, decoded in enumerate([sos, moved, {"sos": False}], start=1):
        answer = post_tts(app, tts_body(f_cnt, decoded))
        assert (answer.status_code, answer.json()["status"]) == (200, "stored")
    wait_until(lambda: settled(app.store), what="delivery")
    assert bodies(sim) == [
        {
            "device_type_id": 31,
            "device_id": "D0001234",
            "message_type": NEW_CALLOUT,
            "location": {
                "latitude": -26.10911,
                "longitude": 28.053037,
                "accuracy": 12,
                "sequenceNumber": "1",
            },
        },
        {
            "device_type_id": 31,
            "device_id": "D0001234",
            "message_type": LOCATION_UPDATED,
            "body": {"latitude": -26.2025, "longitude": 28.0468, "sequenceNumber": "2"},
        },
    ]
    assert len(sim.state.callouts()) == 1
    stored = app.store.list_uplinks()
    assert {(u.status, u.model, u.template) for u in stored} == {
        ("decoded", "network:tts-tracker", "tts-tracker")
    }


def test_tts_last_battery_percentage_is_the_battery_when_none_is_mapped(stack) -> None:
    sim, app = stack
    level = {"f_cnt": 3, "value": 71.6, "received_at": "2026-12-01T09:00:00Z"}
    assert post_tts(app, tts_body(4, {"temperature": 20}, battery=level)).ok
    wait_until(lambda: settled(app.store), what="delivery")
    assert bodies(sim) == [
        {
            "device_type_id": 31,
            "device_id": "D0001234",
            "message_type": BATTERY_INFO,
            "body": {"batteryLevel": 72},
        }
    ]


def test_chirpstack_object_matched_by_names_press_cancel_and_battery(stack) -> None:
    sim, app = stack
    press = {"event": "SOS", "power": {"volts": 3.01}}
    assert post_cs(app, cs_body("d-1", press)).json()["status"] == "stored"
    wait_until(lambda: settled(app.store) and bodies(sim), what="the press at AURA")
    assert post_cs(app, cs_body("d-2", {"event": "SOS"})).json()["status"] == "stored"
    assert post_cs(app, cs_body("d-3", {"event": "SAFE"})).json()["status"] == "stored"
    wait_until(lambda: settled(app.store) and len(bodies(sim)) == 3, what="delivery")
    # Volts with no battery_curve give no level, so no message 4; every press is an alert.
    assert [(b["device_id"], b["message_type"]) for b in bodies(sim)] == [
        ("0181C5F1", NEW_CALLOUT),
        ("0181C5F1", NEW_CALLOUT),
        ("0181C5F1", CANCELLED),
    ]
    assert len(sim.state.callouts()) == 1  # AURA folded the repeat into the active callout


def test_chirpstack_names_match_ignoring_case_and_others_find_no_template(stack) -> None:
    sim, app = stack
    shouting = cs_body("n-1", {"event": "SOS"}, applicationName="PANIC BUTTONS")
    other = cs_body("n-2", {"event": "SOS"}, applicationName="Parking", deviceProfileName="X")
    assert post_cs(app, shouting).json()["status"] == "stored"
    assert post_cs(app, other).json()["status"] == "stored"
    wait_until(lambda: settled(app.store) and bodies(sim), what="the press at AURA")
    assert [b["message_type"] for b in bodies(sim)] == [NEW_CALLOUT]
    undecodable = app.store.list_uplinks(status="undecodable")
    assert [u.error for u in undecodable] == [f"no template matches lorawan device {CS_EUI}"]


def test_a_wrong_type_is_stored_as_a_warning_and_the_alarm_still_goes_out(stack) -> None:
    sim, app = stack
    decoded = {"sos": True, "gps": {"lat": "S26.1", "lng": 28.05}}
    assert post_tts(app, tts_body(9, decoded)).json()["status"] == "stored"
    wait_until(lambda: settled(app.store) and bodies(sim), what="the alarm at AURA")
    assert [b["message_type"] for b in bodies(sim)] == [NEW_CALLOUT]
    (uplink,) = app.store.list_uplinks()
    assert uplink.status == "decoded"
    assert {
        "source": "decoder",
        "field": "gps.lat",
        "message": "expected a number, got 'S26.1'",
    } in (uplink.record.warnings)


def test_no_decoded_payload_is_undecodable_then_replayed_after_the_fix(
    stack, tmp_path: Path
) -> None:
    sim, app = stack
    body = tts_body(12, None, payload=WS101_SHORT_PRESS, port=85)
    assert post_tts(app, body).json()["status"] == "stored"
    (kept,) = app.store.list_uplinks(status="undecodable")
    assert "this uplink has none (uplink_message.decoded_payload / object)" in kept.error
    assert (kept.template, kept.model) == ("tts-tracker", "network:tts-tracker")
    assert app.store.list_events() == []

    fixed = write_config(
        tmp_path / "fixed.toml",
        aura_url=sim.url,
        templates=FIXED_TEMPLATES,
        data_dir=app.config.data_dir,
    )
    replay = run_cli("store", "replay", "--undecodable", "--config", str(fixed))
    assert replay.returncode == 0, replay.stderr
    assert "1 uplink(s) decoded" in replay.stdout
    wait_until(lambda: bodies(sim), what="the replayed press at AURA")
    assert bodies(sim) == [
        {
            "device_type_id": 31,
            "device_id": "D0001234",
            "message_type": NEW_CALLOUT,
            "location": {"sequenceNumber": "12"},
        }
    ]
    (after,) = app.store.list_uplinks()
    assert (after.id, after.status, after.model) == (kept.id, "decoded", "milesight-ws101")


# -- the envelope and the template keys ---------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_envelopes_carry_the_decoded_object_and_the_battery_reading() -> None:
    level = {"value": 55.5, "f_cnt": 1, "received_at": "2026-12-01T08:00:00Z"}
    tts = parse_ttn(tts_body(1, {"a": {"b": [1, 2]}}, battery=level), now=NOW)
    assert tts.decoded == {"a": {"b": [1, 2]}}
    assert (tts.battery_percent, tts.battery_at) == (55.5, datetime(2026, 12, 1, 8, tzinfo=UTC))
    # TTS omits zero values: a reading with its time and no value is 0 %.
    zero = parse_ttn(tts_body(1, None, battery={"received_at": "2026-12-01T08:00:00Z"}), now=NOW)
    assert zero.battery_percent == 0.0
    chirp = parse_chirpstack(cs_body("x", {"event": "SOS"}), "up", now=NOW)
    assert chirp.decoded == {"event": "SOS"}
    assert (
        chirp.hints.chirpstack_application_name,
        chirp.hints.chirpstack_device_profile_name,
    ) == (
        "Panic Buttons",
        "Acme Button v2",
    )
    v3 = {"devEUI": CS_EUI, "applicationID": "3", "applicationName": "Panic Buttons",
          "fPort": 1, "data": "AQ==", "objectJSON": '{"event": "SOS"}'}  # fmt: skip
    parsed = parse_chirpstack(v3, "up", now=NOW)
    assert (parsed.decoded, parsed.hints.chirpstack_application_name) == (
        {"event": "SOS"},
        "Panic Buttons",
    )


@pytest.mark.parametrize(
    ("decoded", "words"),
    [
        ("SOS", "expected an object"),
        ({"a": float("nan")}, "not a JSON number"),
        ({"a": b"bytes"}, "bytes is not a JSON value"),
        ({"x" * 5000: 1}, "a key is not text"),
        ({"a": "x" * 5000}, "longer than 4096"),
        ({"a": list(range(5000))}, "more than 4096 values"),
    ],
)
def test_an_unusable_decoded_object_is_dropped_with_a_warning(decoded: Any, words: str) -> None:
    uplink = parse_ttn(tts_body(1, decoded), now=NOW)
    assert uplink.decoded is None
    assert uplink.payload == SENSOR  # the frame is kept: a codec or model may still read it
    (warning,) = uplink.warnings
    assert warning["field"] == "uplink_message.decoded_payload"
    assert words in warning["message"]


def test_a_deep_decoded_object_is_dropped_without_recursion() -> None:
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"a": deep}
    uplink = parse_chirpstack(cs_body("deep", deep), "up", now=NOW)
    assert uplink.decoded is None
    assert "nests deeper than 16 levels" in uplink.warnings[0]["message"]


def test_the_network_level_stands_in_only_where_the_template_maps_no_battery() -> None:
    level = {"value": 40, "received_at": "2026-12-01T08:00:00Z"}
    uplink = parse_ttn(tts_body(1, {"event": "x"}, battery=level), now=NOW)
    mapped = template_from_table(
        "t", {"device_type_id": 1, "decoded": "network", "fields": {"battery": "b"}}
    )
    unmapped = template_from_table(
        "t", {"device_type_id": 1, "decoded": "network", "fields": {"alarm": "sos"}}
    )
    # The device's own level is in other uplinks: never mixed with the network's older one.
    assert [m.as_dict() for m in decode_uplink(mapped, uplink).messages] == []
    assert [m.as_dict() for m in decode_uplink(unmapped, uplink).messages] == [
        {"kind": "battery", "percent": 40}
    ]


def test_the_network_decoders_warnings_make_the_uplink_untrusted() -> None:
    template = template_from_table(
        "t",
        {
            "device_type_id": 1,
            "decoded": "network",
            "fields": {
                "press": {"path": "event", "equals": "SOS"},
                "cancel": {"path": "event", "equals": "CANCEL"},
            },
        },
    )

    def result(event: str, warnings: Any) -> tuple[list[str], list[int]]:
        body = tts_body(1, {"event": event})
        body["uplink_message"]["decoded_payload_warnings"] = warnings
        decoded = decode_uplink(template, parse_ttn(body, now=NOW))
        events, _ = events_for(
            template, "X", decoded.messages, DeviceState(), now=NOW, trusted=decoded.trusted
        )
        return [w["message"] for w in decoded.warnings], [e.action for e in events]

    assert result("CANCEL", []) == ([], [CANCELLED])
    assert result("CANCEL", ["it's cold"]) == (["it's cold"], [])
    assert result("SOS", ["x" * 300, 7]) == (["x" * 200 + "...(+100 chars)", "7"], [NEW_CALLOUT])


def test_network_template_without_decoded_payload_raises_no_decoded_payload() -> None:
    template = template_from_table("t", {"device_type_id": 1, "decoded": "network"})
    with pytest.raises(NoDecodedPayload, match="network:t: the template reads"):
        decode_uplink(template, parse_ttn(tts_body(1, None), now=NOW))


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"decoded": "tts"}, "templates.t.decoded: expected 'network', got 'tts'"),
        ({"decoded": "network", "model": "aura-reference"}, "got model and decoded"),
        ({}, "templates.t: needs one of model, grammar, decoded, codec; got none"),
        ({"model": "aura-reference", "fields": {"alarm": "a"}}, "templates.t.fields: a model's"),
        ({"decoded": "network", "codec_timeout_ms": 5}, "only for a template with a codec"),
        ({"decoded": "network", "fields": {"alarm": "a."}}, "templates.t.fields.alarm"),
        (
            {"model": "aura-reference", "match": {"chirpstack_application_names": "A"}},
            "templates.t.match.chirpstack_application_names: expected a list",
        ),
    ],
)
def test_template_mistakes_name_the_key(table: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(".", r"\.")):
        template_from_table("t", {"device_type_id": 1, **table})


def test_a_grammar_template_takes_the_new_language_too() -> None:
    template = template_from_table(
        "g",
        {
            "device_type_id": 1,
            "grammar": "code::uint:8 mv::uint:16",
            "fields": {
                "press": {"path": "code", "in": [1, 2]},
                "battery_mv": {"path": "mv", "scale": 10},
            },
        },
    )
    from decoders import decode

    assert [m.as_dict() for m in decode(template.model, "020136").messages] == [
        {"kind": "alert", "trigger": "press", "sustained": False},
        {"kind": "battery", "voltage_mv": 3100},
    ]
    with pytest.raises(ConfigError, match=r"templates\.g\.fields: grammar mapping press"):
        template_from_table(
            "g", {"device_type_id": 1, "grammar": "code::uint:8", "fields": {"press": "nope"}}
        )


# -- random decoded objects --------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    # past Python's digit limit for int -> str (built lazily: hypothesis cannot repr it)
    | st.integers(0, 3).map(lambda n: 10 ** (5000 + n))
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["sos", "event", "gps", "lat", "lng", "b", "0"]), children
        )
    ),
    max_leaves=25,
)
OBJECTS = st.dictionaries(st.sampled_from(["sos", "event", "gps", "battery", "v", "0"]), JSON)
PROPERTY_TEMPLATES = templates_from_config(
    {
        "templates": {
            "any": {
                "device_type_id": 5,
                "decoded": "network",
                "fields": {
                    "latitude": {"path": "gps.lat", "scale": 1e-7},
                    "longitude": "gps.0",
                    "accuracy": "gps.lng",
                    "alarm": "sos",
                    "press": {"path": "event", "in": ["SOS", 1, True]},
                    "cancel": {"path": "event.0", "equals": "CANCEL"},
                    "button": "event",
                    "battery": {"path": "battery", "offset": -3},
                    "battery_mv": {"path": "v", "scale": 1000},
                },
            }
        }
    },
    models={},
)


@settings(max_examples=60, deadline=None)
@given(decoded=st.one_of(OBJECTS, JSON), to_tts=st.booleans())
def test_random_decoded_objects_raise_only_the_projects_errors(decoded: Any, to_tts: bool) -> None:
    body = tts_body(3, decoded) if to_tts else cs_body("p", decoded)
    try:
        uplink = parse_ttn(body, now=NOW) if to_tts else parse_chirpstack(body, "up", now=NOW)
        template = select_template(PROPERTY_TEMPLATES, uplink)
        assert template is not None
        result = decode_uplink(template, uplink)
        events_for(
            template, uplink.device, result.messages, DeviceState(), now=NOW, trusted=result.trusted
        )
    except AuraUplinkError:
        return
    for warning in result.warnings:
        assert set(warning) == {"source", "field", "message"}


def test_the_cli_decodes_saved_bodies_with_a_network_template_as_serve_does(tmp_path) -> None:
    config = tmp_path / "templates.toml"
    config.write_text(NETWORK_TEMPLATES)
    alarm = {"sos": True, "gps": {"lat": -26.2041, "lng": 28.0473, "acc": 12}}
    lines = [tts_body(1, alarm), tts_body(2, None)]
    result = run_cli(
        "decode", "--config", str(config), "--input", "-",
        stdin="\n".join(json.dumps(body) for body in lines) + "\n",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # the body without a decoded payload
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["model"] == "network:tts-tracker"
    assert first["messages"][0]["kind"] == "alert"
    assert (first["messages"][0]["latitude"], first["messages"][0]["longitude"]) == (
        -26.2041,
        28.0473,
    )
    assert second["error"]["type"] == "NoDecodedPayload"
