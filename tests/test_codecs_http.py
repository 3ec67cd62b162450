"""Vendor codecs end to end: ``aura-uplink serve`` as a real child process with codec templates
(paths relative to its configuration file), real HTTP on 127.0.0.1, real SQLite, the AURA
simulator as AURA. A panic press decoded by a codec from a The Things Stack body, a ChirpStack
body and a Sigfox callback reaches AURA as a new callout; a codec that loops makes its uplink
undecodable (kept raw, replayable) while the service goes on answering."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.webhook_support import (
    BATTERY_INFO,
    CANCELLED,
    HTTP_TIMEOUT,
    NEW_CALLOUT,
    TTN_SECRET,
    ServeProcess,
    aura_posts,
    open_store,
    post_callback,
    read_config,
    settled,
    sigfox_body,
    wait_until,
    write_config,
)
from webhook.aurasim import RunningSimulator, run_simulator

CODECS = Path(__file__).resolve().parent / "codecs"
CHIRPSTACK_SECRET = "chirpstack-test-secret"
PROFILE = "0c0dec00-0000-4000-8000-00000000c0de"
SOS = bytes.fromhex("0157F07010E410B88DC2")  # SOS, 87 %, -26.10911 / 28.053037
CANCEL = bytes.fromhex("0250")

# The panic button's roles, the same for every convention's codec (tests/codecs/panic-*.js).
FIELDS = """
press = { path = "event", equals = "SOS" }
cancel = { path = "event", equals = "CANCEL" }
latitude = "gps.lat"
longitude = "gps.lng"
battery = "battery"
"""
TEMPLATES = f"""
[sources.chirpstack]
secret = "{CHIRPSTACK_SECRET}"
header = "X-Chirpstack-Secret"

[templates.panic-tts]
device_type_id = 31
codec = "codecs/panic-ttn.js"
[templates.panic-tts.fields]
{FIELDS}
[templates.panic-tts.match]
ttn_applications = ["panic-app"]

[templates.panic-chirpstack]
device_type_id = 32
codec = "codecs/panic-chirpstack-v4.js"
[templates.panic-chirpstack.fields]
{FIELDS}
[templates.panic-chirpstack.match]
chirpstack_device_profiles = ["{PROFILE}"]

[templates.panic-sigfox]
device_type_id = 33
codec = "codecs/panic-chirpstack-v3.js"
[templates.panic-sigfox.fields]
{FIELDS}
[templates.panic-sigfox.match]
sigfox_device_types = ["C0DEC033"]

[templates.stuck]
device_type_id = 34
codec = "codecs/hostile-loop.js"
codec_timeout_ms = 50
[templates.stuck.fields]
{FIELDS}
[templates.stuck.match]
ttn_applications = ["stuck-app"]
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSimulator, Any]]:
    tmp = tmp_path_factory.mktemp("codecs-http")
    shutil.copytree(CODECS, tmp / "codecs")  # the templates name them relative to the config
    with run_simulator() as sim:
        path = write_config(tmp / "service.toml", aura_url=sim.url, templates=TEMPLATES)
        with ServeProcess(path, tmp / "serve.log") as served:
            served.config = read_config(path)
            yield sim, served


@pytest.fixture
def store(service: tuple[RunningSimulator, Any]) -> Iterator[Any]:
    opened = open_store(service[1].config)
    try:
        yield opened
    finally:
        opened.close()


def tts_body(app: str, device: str, payload: bytes, f_cnt: int) -> dict[str, Any]:
    return {
        "end_device_ids": {
            "device_id": device,
            "application_ids": {"application_id": app},
            "dev_eui": f"70B3D57ED000{sum(device.encode()):04X}",  # one per device name
        },
        "received_at": "2026-12-01T10:00:00Z",
        "uplink_message": {
            "session_key_id": "Y29kZWNz",
            "f_cnt": f_cnt,
            "f_port": 10,
            "frm_payload": base64.b64encode(payload).decode(),
            # The network's own decoding says otherwise: a codec template decodes the frame.
            "decoded_payload": {"event": "HEARTBEAT"},
        },
    }


def chirpstack_body(payload: bytes, dedup: str) -> dict[str, Any]:
    return {
        "deduplicationId": dedup,
        "time": "2026-12-01T10:00:00+00:00",
        "deviceInfo": {
            "applicationId": "panic",
            "deviceProfileId": PROFILE,
            "devEui": "0C0DEC0000000032",
        },
        "fCnt": 1,
        "fPort": 10,
        "data": base64.b64encode(payload).decode(),
        "object": {"event": "HEARTBEAT"},
    }


def post_tts(url: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        url + "/ttn/uplink",
        json=body,
        headers={"Authorization": f"Bearer {TTN_SECRET}"},
        timeout=HTTP_TIMEOUT,
    )


def posts_for(sim: RunningSimulator, device_type_id: int) -> list[dict[str, Any]]:
    return [
        p["body"]
        for p in aura_posts(sim, ok=True)
        if p["body"].get("device_type_id") == device_type_id
    ]


def test_a_tts_press_decoded_by_a_codec_reaches_aura(service, store) -> None:
    sim, served = service
    answer = post_tts(served.url, tts_body("panic-app", "button-tts", SOS, 1))
    assert (answer.status_code, answer.json()["status"]) == (200, "stored")
    posts = wait_until(lambda: len(posts_for(sim, 31)) >= 2 and posts_for(sim, 31), 20)
    callout = next(p for p in posts if p["message_type"] == NEW_CALLOUT)
    assert callout["location"]["latitude"] == -26.10911
    assert callout["location"]["longitude"] == 28.053037
    battery = next(p for p in posts if p["message_type"] == BATTERY_INFO)
    assert battery["body"] == {"batteryLevel": 87}
    # The cancel, decoded without warnings, stands the callout down.
    assert post_tts(served.url, tts_body("panic-app", "button-tts", CANCEL, 2)).ok
    wait_until(lambda: any(p["message_type"] == CANCELLED for p in posts_for(sim, 31)), 20)
    stored = [u for u in store.list_uplinks() if u.model == "codec:panic-tts"]
    assert {u.status for u in stored} == {"decoded"}


def test_a_chirpstack_press_decoded_by_a_codec_reaches_aura(service, store) -> None:
    sim, served = service
    answer = requests.post(
        served.url + "/chirpstack",
        params={"event": "up"},
        json=chirpstack_body(SOS, "codec-cs-1"),
        headers={"X-Chirpstack-Secret": CHIRPSTACK_SECRET},
        timeout=HTTP_TIMEOUT,
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "stored")
    posts = wait_until(lambda: posts_for(sim, 32), 20)
    assert posts[0]["message_type"] == NEW_CALLOUT
    assert posts[0]["location"]["latitude"] == -26.10911


def test_a_sigfox_codec_template_turns_a_press_into_a_callout(service, store) -> None:
    sim, served = service
    body = sigfox_body(device="C0DEC033", data=SOS.hex().upper(), deviceTypeId="C0DEC033")
    assert post_callback(served.url, body).status_code in (200, 204)
    posts = wait_until(lambda: posts_for(sim, 33), 20)
    assert posts[0]["message_type"] == NEW_CALLOUT
    assert posts[0]["location"]["longitude"] == 28.053037


def test_a_looping_codec_keeps_the_uplink_undecodable_and_the_service_answering(
    service, store
) -> None:
    sim, served = service
    stuck = post_tts(served.url, tts_body("stuck-app", "button-stuck", SOS, 1))
    assert (stuck.status_code, stuck.json()["status"]) == (200, "stored")
    # Meanwhile, and after, the service answers other devices' uplinks and its health checks.
    for number in range(3):
        assert requests.get(served.url + "/healthz", timeout=HTTP_TIMEOUT).status_code == 200
        good = post_tts(served.url, tts_body("panic-app", "button-after", SOS, 10 + number))
        assert good.json()["status"] in ("stored", "duplicate")
    undecodable = wait_until(
        lambda: [u for u in store.list_uplinks(status="undecodable") if u.model == "codec:stuck"]
    )
    assert "ran past its time limit of 50 ms, and of 250 ms on the retry" in undecodable[0].error
    wait_until(lambda: settled(store), 20)
    assert posts_for(sim, 34) == []  # nothing reached AURA for the stuck device
