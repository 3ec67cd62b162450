"""First-hour fixes of issue 15 (point 5), each as a new user met it, over real HTTP on 127.0.0.1
or as a child process: The Things Stack's per-message path, the demo configuration with all
three sources open and a Sigfox-only reference template, a closed source's 401 and start-up
warning, and a misplaced table."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from webhook_support import (
    ALERT,
    HTTP_TIMEOUT,
    REPO,
    SIGFOX_SECRET,
    TTN_SECRET,
    AppServer,
    ServeProcess,
    read_config,
    run_cli,
    sigfox_body,
    write_config,
)

from webhook.aurasim import run_simulator
from webhook.store import SqliteStore

BODIES = json.loads((REPO / "fixtures/bodies/lorawan.json").read_text())
TTN_EXAMPLE = next(b["body"] for b in BODIES if b["network"] == "ttn-v3")  # application "app1"
CHIRPSTACK_EXAMPLE = next(
    b["body"] for b in BODIES if b["network"] == "chirpstack-v4" and "data" in b["body"]
)
WS101_SHORT_PRESS = bytes.fromhex("FF2E01")  # Milesight WS101, fPort 85

SOS_BUTTON = """
[templates.sos-button]
device_type_id = 21
model = "milesight-ws101"
[templates.sos-button.match]
ttn_applications = ["app1"]
"""


def ttn_body(payload: bytes, f_port: int, f_cnt: int) -> dict[str, Any]:
    body = copy.deepcopy(TTN_EXAMPLE)
    body["uplink_message"].update(
        frm_payload=base64.b64encode(payload).decode(), f_port=f_port, f_cnt=f_cnt
    )
    return body


def post(url: str, body: dict[str, Any], secret: str, **params: str) -> requests.Response:
    return requests.post(
        url,
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=HTTP_TIMEOUT,
    )


# -- The Things Stack: base URL + the message type's path ----------------------------------------


@pytest.fixture
def tts_app(tmp_path: Path):
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None, templates=SOS_BUTTON))
    with AppServer(config, deliver=False) as app:
        yield app


# What The Things Stack posts to for base URL https://host/ttn/uplink and the console's uplink
# message path "uplink" (or "/uplink"), a deeper path, or none with a trailing-slash base URL.
TTS_PATHS = ["/ttn/uplink", "/ttn/uplink/uplink", "/ttn/uplink/", "/ttn/uplink/v3/up"]


@pytest.mark.parametrize("path", TTS_PATHS)
def test_tts_uplinks_arrive_under_any_message_path(tts_app: AppServer, path: str) -> None:
    answer = post(tts_app.url + path, ttn_body(WS101_SHORT_PRESS, 85, 3), TTN_SECRET)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "stored"
    stored = tts_app.store.get_uplink(answer.json()["uplink_id"])
    assert stored is not None and stored.template == "sos-button" and stored.status == "decoded"


def test_a_tts_message_path_still_needs_the_secret(tts_app: AppServer) -> None:
    answer = post(tts_app.url + "/ttn/uplink/uplink", ttn_body(WS101_SHORT_PRESS, 85, 4), "nope")
    assert answer.status_code == 401
    assert tts_app.store.status()["uplinks"]["decoded"] == 0


# -- the demo configuration ----------------------------------------------------------------------


def test_the_demo_opens_all_three_sources_and_keeps_the_reference_template_to_sigfox(
    tmp_path: Path,
) -> None:
    """``serve --config webhook/demo.toml`` as the README runs it (the simulator on a free port
    instead of 8081): each network server's demo secret opens its route; a LoRaWAN uplink is not
    read as an AURA reference frame (it was, by the Sigfox catch-all) but kept undecodable."""
    with (
        run_simulator() as aura,
        ServeProcess(
            REPO / "webhook" / "demo.toml",
            tmp_path / "serve.log",
            cwd=tmp_path,
            env={"AURA_URL": aura.url},
        ) as server,
    ):
        press = post(server.url + "/sigfox/uplink", sigfox_body(), "demo-sigfox-secret")
        # The reference frame's bytes, as a LoRaWAN device would send them.
        lorawan = post(server.url + "/ttn/uplink/uplink", ttn_body(bytes.fromhex(ALERT), 1, 9),
                       "demo-ttn-secret")  # fmt: skip
        chirpstack = post(server.url + "/chirpstack", CHIRPSTACK_EXAMPLE,
                          "demo-chirpstack-secret", event="up")  # fmt: skip
        assert [a.status_code for a in (press, lorawan, chirpstack)] == [200, 200, 200]
        assert "no secret configured" not in server.log()

    store = SqliteStore(tmp_path / "data" / "aura-uplink.db")
    try:
        sigfox = store.get_uplink(press.json()["uplink_id"])
        ttn = store.get_uplink(lorawan.json()["uplink_id"])
    finally:
        store.close()
    assert sigfox is not None and (sigfox.template, sigfox.status) == ("reference", "decoded")
    assert ttn is not None and ttn.template is None and ttn.status == "undecodable"
    assert ttn.error == "no template matches lorawan device 0004A30B001C0530"


# -- a source without a secret -------------------------------------------------------------------


def test_a_source_without_a_secret_answers_401_saying_so_and_start_up_warns(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "c.toml", aura_url=None, ttn_secret=None)
    with ServeProcess(config, tmp_path / "serve.log") as server:
        answer = post(server.url + "/ttn/uplink", ttn_body(WS101_SHORT_PRESS, 85, 5), "guess")
        sigfox = post(server.url + "/sigfox/uplink", sigfox_body(), SIGFOX_SECRET)
        log = server.log()

    assert answer.status_code == 401
    assert answer.json() == {"error": "no secret configured for ttn"}
    assert sigfox.status_code == 200  # the source with a secret is open
    warnings = [line for line in log.splitlines() if "no secret configured for" in line]
    assert len(warnings) == 2, log  # the start-up warning and the refusal's log line
    assert "WARNING" in warnings[0] and "no secret configured for ttn, chirpstack:" in warnings[0]
    assert "refused POST /ttn/uplink from 127.0.0.1: 401 no secret configured for ttn" in log


# -- a misplaced table ---------------------------------------------------------------------------


def test_a_misplaced_templates_table_is_a_config_error_not_a_type_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[service.templates.reference]\ndevice_type_id = 1\nmodel = "simplepack"\n')

    done = run_cli("serve", "--config", str(config))

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "aura-uplink serve: [service.templates]: misplaced table; [templates] is a top-level"
        " section, not part of [service]"
    ]
