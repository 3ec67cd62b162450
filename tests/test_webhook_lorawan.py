"""The Things Stack v3 and ChirpStack v4 end to end: real HTTP on 127.0.0.1, real SQLite, the
AURA simulator as AURA (docs/networks.md §2; docs/reliability.md §6.2 rows 4-5)."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.webhook_support import (
    BATTERY_INFO,
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

BODIES = json.loads(
    (Path(__file__).resolve().parent.parent / "fixtures/bodies/lorawan.json").read_text()
)
TTN_EXAMPLE = next(b["body"] for b in BODIES if b["network"] == "ttn-v3")
CHIRPSTACK_EXAMPLE = next(
    b["body"] for b in BODIES if b["network"] == "chirpstack-v4" and "data" in b["body"]
)
CHIRPSTACK_SECRET = "chirpstack-test-secret"
WS101_SHORT_PRESS = bytes.fromhex("FF2E01")  # Milesight WS101, fPort 85
LGT92_SOS = bytes.fromhex("015A785406CF33D84D2060004B019000")  # alarm bit set, fPort 2
LGT92_CLEAR = bytes.fromhex("015A785406CF33D80D2060004B019000")
PROFILE = "14855bf7-d10d-4aee-b618-ebfcb64dc7ad"

TEMPLATES = f"""
[sources.chirpstack]
secret = "{CHIRPSTACK_SECRET}"
header = "X-Chirpstack-Secret"

[templates.sos-button]
device_type_id = 21
model = "milesight-ws101"
[templates.sos-button.match]
ttn_applications = ["app1"]

[templates.tracker]
device_type_id = 22
model = "dragino-lgt92"
[templates.tracker.match]
chirpstack_device_profiles = ["{PROFILE}"]
"""


@pytest.fixture
def stack(tmp_path: Path):
    with run_simulator() as sim:
        config = read_config(
            write_config(tmp_path / "c.toml", aura_url=sim.url, templates=TEMPLATES)
        )
        with AppServer(config) as app:
            yield sim, app


def ttn_uplink(
    payload: bytes, *, f_cnt: int = 7, session: str = "AXA50tHUGUucuzS/bCGMNw=="
) -> dict:
    body = copy.deepcopy(TTN_EXAMPLE)
    message = body["uplink_message"]
    message.update(
        frm_payload=base64.b64encode(payload).decode(), f_port=85, session_key_id=session
    )
    if f_cnt:
        message["f_cnt"] = f_cnt
    else:
        message.pop("f_cnt", None)  # The Things Stack omits zero values
    return body


def chirpstack_body(payload: bytes | None = None, dedup: str = "d-1", **extra: Any) -> dict:
    body = copy.deepcopy(CHIRPSTACK_EXAMPLE)
    body.update(deduplicationId=dedup, fPort=2, **extra)
    if payload is not None:
        body["data"] = base64.b64encode(payload).decode()
    return body


def post_ttn(app: AppServer, body: dict, secret: str = TTN_SECRET) -> requests.Response:
    return requests.post(
        app.url + "/ttn/uplink",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=HTTP_TIMEOUT,
    )


def post_chirpstack(app: AppServer, event: str, body: dict, secret: str = CHIRPSTACK_SECRET):
    return requests.post(
        app.url + "/chirpstack",
        params={"event": event},
        json=body,
        headers={"X-Chirpstack-Secret": secret},
        timeout=HTTP_TIMEOUT,
    )


def test_ttn_press_opens_one_callout_and_a_replay_is_a_duplicate(stack) -> None:
    sim, app = stack
    first = post_ttn(app, ttn_uplink(WS101_SHORT_PRESS))
    again = post_ttn(app, ttn_uplink(WS101_SHORT_PRESS))
    assert (first.status_code, first.json()["status"]) == (200, "stored")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    wait_until(lambda: settled(app.store), what="delivery")
    posts = aura_posts(sim, ok=True)
    assert [p["body"] for p in posts] == [
        {
            "device_type_id": 21,
            "device_id": "001C0530",
            "message_type": NEW_CALLOUT,
            "location": {"sequenceNumber": "7"},
        }
    ]
    assert app.store.status()["uplinks"]["decoded"] == 1


def test_ttn_rejoin_same_f_cnt_new_session_is_a_new_uplink(stack) -> None:
    sim, app = stack
    assert post_ttn(app, ttn_uplink(WS101_SHORT_PRESS, f_cnt=0)).json()["status"] == "stored"
    rejoined = post_ttn(app, ttn_uplink(WS101_SHORT_PRESS, f_cnt=0, session="bmV3IHNlc3Npb24="))
    assert rejoined.json()["status"] == "stored"
    wait_until(lambda: settled(app.store), what="delivery")
    posts = aura_posts(sim, ok=True)
    # f_cnt omitted means 0; both presses reach AURA, which folds them into one callout.
    assert [p["body"]["location"]["sequenceNumber"] for p in posts] == ["0", "0"]
    assert len(sim.state.callouts()) == 1


def test_ttn_non_uplink_messages_are_answered_and_location_solved_updates(stack) -> None:
    sim, app = stack
    base = {k: v for k, v in TTN_EXAMPLE.items() if k != "uplink_message"}
    joined = post_ttn(app, {**base, "join_accept": {"session_key_id": "x"}})
    assert (joined.status_code, joined.json()["kind"]) == (200, "other")
    post_ttn(app, ttn_uplink(WS101_SHORT_PRESS))
    solved = {
        **base,
        "received_at": "2020-02-12T15:16:00Z",
        "location_solved": {"location": {"latitude": -26.1, "longitude": 28.05, "accuracy": 40}},
    }
    assert post_ttn(app, solved).json()["kind"] == "location"
    wait_until(lambda: len(aura_posts(sim, ok=True)) == 2, what="two events")
    update = aura_posts(sim, message_type=LOCATION_UPDATED, ok=True)
    assert update[0]["body"]["body"] == {"latitude": -26.1, "longitude": 28.05, "accuracy": 40}
    assert app.store.status()["uplinks"] == {"decoded": 2, "ignored": 1, "undecodable": 0}


def test_ttn_wrong_secret_is_refused_and_nothing_stored(stack) -> None:
    _, app = stack
    refused = post_ttn(app, ttn_uplink(WS101_SHORT_PRESS), secret="wrong")
    assert refused.status_code == 401
    assert sum(app.store.status()["uplinks"].values()) == 0


def test_chirpstack_alarm_state_opens_one_callout_then_updates(stack) -> None:
    sim, app = stack
    for index, frame in enumerate([LGT92_SOS, LGT92_SOS, LGT92_CLEAR]):
        response = post_chirpstack(app, "up", chirpstack_body(frame, dedup=f"d-{index}"))
        assert response.json()["status"] == "stored"
    replay = post_chirpstack(app, "up", chirpstack_body(LGT92_SOS, dedup="d-0"))
    assert replay.json()["status"] == "duplicate"
    wait_until(lambda: settled(app.store), what="delivery")
    types = [p["body"]["message_type"] for p in aura_posts(sim, ok=True)]
    # Battery arrives as volts only and the template has no curve, so no battery event.
    assert types == [NEW_CALLOUT, LOCATION_UPDATED, LOCATION_UPDATED]
    assert len(sim.state.callouts()) == 1


def test_chirpstack_status_location_and_ignored_events(stack) -> None:
    sim, app = stack
    assert post_chirpstack(app, "status", chirpstack_body(dedup="s-1", batteryLevel=88.3)).ok
    assert post_chirpstack(app, "join", chirpstack_body(dedup="j-1")).json()["kind"] == "other"
    assert post_chirpstack(app, "log", {"deviceInfo": CHIRPSTACK_EXAMPLE["deviceInfo"]}).ok
    location = chirpstack_body(dedup="l-1", location={"latitude": 51.5, "longitude": -0.12})
    assert post_chirpstack(app, "location", location).json()["kind"] == "location"
    wait_until(lambda: settled(app.store), what="delivery")
    posts = aura_posts(sim, ok=True)
    # No callout is open, so the network fix is remembered, not sent (open_callout policy).
    assert [p["body"] for p in posts] == [
        {
            "device_type_id": 22,
            "device_id": "01010101",
            "message_type": BATTERY_INFO,
            "body": {"batteryLevel": 88},
        }
    ]


def test_chirpstack_status_without_a_level_is_a_heartbeat_of_the_last_level(stack) -> None:
    """AURA's message 4 is "a battery level or heartbeat": a status report with no level repeats
    the last one, at most once per heartbeat interval (3600 s), on the reports' own time."""
    sim, app = stack

    def status(dedup: str, minutes: int, **level: Any) -> requests.Response:
        at = f"2026-05-01T{12 + minutes // 60:02d}:{minutes % 60:02d}:00Z"
        return post_chirpstack(app, "status", chirpstack_body(dedup=dedup, time=at, **level))

    assert status("s-1", 0, batteryLevel=88.3).ok
    assert status("s-2", 30, batteryLevelUnavailable=True).ok  # within the hour: nothing
    assert status("s-3", 61, batteryLevelUnavailable=True).ok  # past it: the last level again
    assert status("s-4", 62, batteryLevel=70).ok  # a new level: at once
    wait_until(lambda: settled(app.store), what="delivery")
    sent = aura_posts(sim, message_type=BATTERY_INFO, ok=True)
    assert [p["body"]["body"]["batteryLevel"] for p in sent] == [88, 88, 70]


def test_chirpstack_bad_event_and_wrong_secret(stack) -> None:
    _, app = stack
    bad = post_chirpstack(app, "uplink", chirpstack_body(LGT92_SOS))
    assert (bad.status_code, bad.json()["field"]) == (400, "event")
    assert post_chirpstack(app, "up", chirpstack_body(LGT92_SOS), secret="nope").status_code == 401
    assert sum(app.store.status()["uplinks"].values()) == 0


def test_unmatched_lorawan_device_is_kept_undecodable(stack) -> None:
    _, app = stack
    stranger = chirpstack_body(LGT92_SOS, dedup="x-1")
    stranger["deviceInfo"] = {**stranger["deviceInfo"], "deviceProfileId": "other-profile"}
    assert post_chirpstack(app, "up", stranger).json()["status"] == "stored"
    assert app.store.status()["uplinks"]["undecodable"] == 1


def test_offline_decode_picks_the_template_per_body(tmp_path: Path) -> None:
    """`aura-uplink decode --config` with JSON lines of saved bodies from any network."""
    from tests.webhook_support import run_cli

    config = tmp_path / "fleet.toml"
    config.write_text(TEMPLATES)
    capture = tmp_path / "capture.jsonl"
    lines = [
        ttn_uplink(WS101_SHORT_PRESS),
        chirpstack_body(LGT92_SOS),
        {"cmd": "rx", "EUI": "0102030405060708", "port": 85, "fcnt": 3, "data": "FF2E03"},
    ]
    capture.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = run_cli("decode", "--config", str(config), "--input", str(capture))
    assert result.returncode == 1, result.stderr  # the LORIOT device matches no template
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("model") for o in out] == ["milesight-ws101", "dragino-lgt92", None]
    assert out[0]["events"][0]["device_type_id"] == 21
    assert out[1]["events"][0]["message_type"] == NEW_CALLOUT
    assert out[2]["error"]["type"] == "NoTemplate"


# -- store replay --undecodable (issue 12, point 5) ----------------------------------------------

# Onboarding mistakes: the TTS application points at the wrong model (it rejects the WS101 press:
# wrong fPort), and the tracker template names another device profile (no template matches).
BROKEN_TEMPLATES = TEMPLATES.replace(
    'model = "milesight-ws101"', 'model = "dragino-lgt92"'
).replace(
    f'chirpstack_device_profiles = ["{PROFILE}"]', 'chirpstack_device_profiles = ["other-profile"]'
)


def _replay(config: Path) -> Any:
    return run_cli("store", "replay", "--undecodable", "--config", str(config))


def _fixed_config(app: AppServer, sim_url: str, tmp_path: Path) -> Path:
    """The corrected templates, on the same store as the running service."""
    return write_config(
        tmp_path / "fixed.toml", aura_url=sim_url, templates=TEMPLATES, data_dir=app.config.data_dir
    )


@pytest.fixture
def broken_stack(tmp_path: Path):
    with run_simulator() as sim:
        path = write_config(tmp_path / "c.toml", aura_url=sim.url, templates=BROKEN_TEMPLATES)
        with AppServer(read_config(path)) as app:
            yield sim, app


def test_ttn_undecodable_uplinks_are_replayed_once_after_the_template_fix(
    broken_stack, tmp_path: Path
) -> None:
    sim, app = broken_stack
    # The press is followed by a record the WS101 table lacks: decoded with a warning.
    press = ttn_uplink(WS101_SHORT_PRESS + bytes.fromhex("FE77AABB"), f_cnt=7)
    runt = ttn_uplink(WS101_SHORT_PRESS[:1], f_cnt=8)  # one byte: no model can read it
    assert [post_ttn(app, body).json()["status"] for body in (press, runt)] == ["stored"] * 2
    before = {u.record.dedup_key: u for u in app.store.list_uplinks(status="undecodable")}
    assert len(before) == 2
    assert all("expected fPort 2, got 85" in u.error for u in before.values())
    assert app.store.list_events() == []

    replay = _replay(_fixed_config(app, sim.url, tmp_path))

    assert replay.returncode == 1, replay.stderr  # the runt is still undecodable, and says so
    assert "1 uplink(s) decoded, 1 still undecodable" in replay.stdout
    runt_key = "ttn:app1:dev1:AXA50tHUGUucuzS/bCGMNw==:8"
    assert f"({runt_key}) still undecodable: milesight-ws101: frame is too short" in replay.stderr
    posts = wait_until(lambda: aura_posts(sim, ok=True), what="the replayed press at AURA")
    assert [p["body"] for p in posts] == [
        {
            "device_type_id": 21,
            "device_id": "001C0530",
            "message_type": NEW_CALLOUT,
            "location": {"sequenceNumber": "7"},
        }
    ]
    # The same uplink rows, under the same keys: decoded now, with the new model.
    after = {u.record.dedup_key: u for u in app.store.list_uplinks()}
    assert after.keys() == before.keys()
    press_key = "ttn:app1:dev1:AXA50tHUGUucuzS/bCGMNw==:7"
    assert (after[press_key].id, after[press_key].status) == (before[press_key].id, "decoded")
    assert (after[press_key].model, after[press_key].template) == ("milesight-ws101", "sos-button")
    assert [(w["source"], w["field"], w["offset"]) for w in after[press_key].record.warnings] == [
        ("decoder", "records[1].record", 3)
    ]  # the replay's decoder warnings are kept beside the uplink too
    assert (after[runt_key].status, after[runt_key].model) == ("undecodable", "milesight-ws101")
    wait_until(lambda: settled(app.store), what="delivery")

    again = _replay(_fixed_config(app, sim.url, tmp_path))
    assert again.returncode == 1, again.stderr
    assert "0 uplink(s) decoded, 1 still undecodable" in again.stdout
    time.sleep(0.3)  # the worker polls every 0.1 s: anything queued again would be sent by now
    assert len(aura_posts(sim)) == 1
    assert len(app.store.list_events()) == 1
    assert sum(app.store.status()["uplinks"].values()) == 2


def test_chirpstack_undecodable_uplinks_are_replayed_as_the_event_they_were(
    broken_stack, tmp_path: Path
) -> None:
    """The ``?event=`` is not stored: the key and body say it. An ``up`` whose deduplicationId
    looks like another event's key (``status:…``) is still an ``up``; one without a
    deduplicationId is keyed by its body's digest; a real ``status`` event is not replayed."""
    sim, app = broken_stack
    frames = {"d-1": LGT92_SOS, "status:d-2": LGT92_SOS, None: LGT92_CLEAR}
    for dedup, frame in frames.items():
        body = chirpstack_body(frame, dedup=dedup or "")
        if dedup is None:
            del body["deduplicationId"]
        assert post_chirpstack(app, "up", body).json()["status"] == "stored"
    status = chirpstack_body(dedup="s-1", batteryLevel=88.3)
    assert post_chirpstack(app, "status", status).json()["status"] == "stored"
    before = {u.record.dedup_key: u for u in app.store.list_uplinks()}
    undecodable = {key for key, u in before.items() if u.status == "undecodable"}
    assert len(undecodable) == 3 and {"chirpstack:d-1", "chirpstack:status:d-2"} < undecodable
    assert before["chirpstack:status:s-1"].status == "ignored"  # no template: nothing to do

    replay = _replay(_fixed_config(app, sim.url, tmp_path))

    assert replay.returncode == 0, replay.stderr
    assert "3 uplink(s) decoded, 0 still undecodable" in replay.stdout
    wait_until(lambda: len(aura_posts(sim, ok=True)) == 3, what="the replayed uplinks at AURA")
    wait_until(lambda: settled(app.store), what="delivery")
    posts = aura_posts(sim, ok=True)
    # As live ingest made of them (test_chirpstack_alarm_state_opens_one_callout_then_updates).
    assert [p["body"]["message_type"] for p in posts] == [
        NEW_CALLOUT,
        LOCATION_UPDATED,
        LOCATION_UPDATED,
    ]
    assert {(p["body"]["device_type_id"], p["body"]["device_id"]) for p in posts} == {
        (22, "01010101")
    }
    assert len(sim.state.callouts()) == 1
    after = {u.record.dedup_key: u for u in app.store.list_uplinks()}
    assert after.keys() == before.keys()
    assert {key: u.id for key, u in after.items()} == {key: u.id for key, u in before.items()}
    assert after["chirpstack:status:s-1"].status == "ignored"
    decoded = [u for u in after.values() if u.status == "decoded"]
    assert {u.record.dedup_key for u in decoded} == undecodable
    assert {(u.model, u.template) for u in decoded} == {("dragino-lgt92", "tracker")}

    again = _replay(_fixed_config(app, sim.url, tmp_path))
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "0 uplink(s) decoded, 0 still undecodable",
    )
    time.sleep(0.3)
    assert len(aura_posts(sim)) == 3
    assert len(app.store.list_events()) == 3
