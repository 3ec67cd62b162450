"""The template side of vendor codecs (issue 14 point 2): ``codec = "codecs/x.js"`` relative to
the configuration file, ``codec_timeout_ms`` / ``codec_memory_mb``, the codec decoding the frame
itself even when the body carries a decoded payload, the same field mapping on its output, for
Sigfox and LoRaWAN templates, and a failing codec keeping the uplink undecodable (replayable).
The engine is decoders/codecs (helper H2's); without it these tests are skipped."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests

from decoders import ConfigError
from decoders.templates import load_templates
from tests.webhook_support import (
    HTTP_TIMEOUT,
    NEW_CALLOUT,
    TTN_SECRET,
    AppServer,
    aura_posts,
    post_callback,
    read_config,
    settled,
    sigfox_body,
    wait_until,
    write_config,
)
from webhook.aurasim import run_simulator

pytest.importorskip("decoders.codecs", reason="the codec engine (decoders/codecs) is not here")

# TTN Device Repository convention: byte 0 is the event (1 = SOS, 2 = cancel), byte 1 the
# battery percent; byte 0 = 0xEE makes the codec report an error.
ACME_JS = """
function decodeUplink(input) {
  var b = input.bytes;
  if (b[0] === 0xEE) { return { errors: ["unknown frame"] }; }
  return {
    data: { event: b[0] === 1 ? "SOS" : b[0] === 2 ? "CANCEL" : "IDLE", battery: b[1] },
    warnings: []
  };
}
"""
TEMPLATES = """
[templates.acme-sigfox]
device_type_id = 41
codec = "codecs/acme.js"
codec_timeout_ms = 200
[templates.acme-sigfox.fields]
press = { path = "event", equals = "SOS" }
cancel = { path = "event", equals = "CANCEL" }
battery = "battery"
[templates.acme-sigfox.match]
sigfox_device_types = ["ACE0001"]

[templates.acme-lorawan]
device_type_id = 42
codec = "codecs/acme.js"
[templates.acme-lorawan.fields]
press = { path = "event", equals = "SOS" }
[templates.acme-lorawan.match]
ttn_applications = ["acme"]
"""


def _config(tmp_path: Path, aura_url: str | None) -> Path:
    (tmp_path / "codecs").mkdir(exist_ok=True)
    (tmp_path / "codecs" / "acme.js").write_text(ACME_JS)
    return write_config(tmp_path / "c.toml", aura_url=aura_url, templates=TEMPLATES)


@pytest.fixture
def stack(tmp_path: Path):
    with run_simulator() as sim, AppServer(read_config(_config(tmp_path, sim.url))) as app:
        yield sim, app


def _tts(payload: bytes, decoded: dict[str, Any]) -> dict[str, Any]:
    return {
        "end_device_ids": {
            "device_id": "acme-1",
            "application_ids": {"application_id": "acme"},
            "dev_eui": "70B3D57ED000ACE1",
        },
        "received_at": "2026-12-01T10:00:00Z",
        "uplink_message": {
            "session_key_id": "YWNtZQ==",
            "f_cnt": 1,
            "f_port": 1,
            "frm_payload": base64.b64encode(payload).decode(),
            "decoded_payload": decoded,
        },
    }


def test_codec_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    templates = load_templates(_config(tmp_path, None))
    assert {t.source for t in templates.values()} == {"codec"}
    assert templates["acme-sigfox"].model.id == "codec:acme-sigfox"


def test_a_missing_codec_file_names_the_template_and_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[templates.x]\ndevice_type_id = 1\ncodec = "codecs/none.js"\n')
    with pytest.raises(ConfigError, match=r"templates\.x\.codec"):
        load_templates(path)


def test_a_sigfox_codec_template_press_reaches_aura(stack) -> None:
    sim, app = stack
    body = sigfox_body(data="0157", deviceTypeId="ACE0001")
    assert post_callback(app.url, body).status_code in (200, 204)
    wait_until(lambda: settled(app.store) and aura_posts(sim, ok=True), what="the press")
    types = [p["body"]["message_type"] for p in aura_posts(sim, ok=True)]
    assert types[0] == NEW_CALLOUT
    (uplink,) = app.store.list_uplinks()
    assert (uplink.status, uplink.model) == ("decoded", "codec:acme-sigfox")


def test_the_codec_decodes_the_frame_even_with_a_decoded_payload(stack) -> None:
    sim, app = stack
    body = _tts(bytes([1, 90]), {"event": "IDLE"})  # the network's decoding says otherwise
    answer = requests.post(
        app.url + "/ttn/uplink",
        json=body,
        headers={"Authorization": f"Bearer {TTN_SECRET}"},
        timeout=HTTP_TIMEOUT,
    )
    assert answer.json()["status"] == "stored"
    wait_until(lambda: settled(app.store) and aura_posts(sim, ok=True), what="the press")
    assert [p["body"]["message_type"] for p in aura_posts(sim, ok=True)] == [NEW_CALLOUT]


def test_a_codec_error_keeps_the_uplink_undecodable(stack) -> None:
    _, app = stack
    body = sigfox_body(data="EE00", deviceTypeId="ACE0001", seq=2)
    assert post_callback(app.url, body).status_code in (200, 204)
    (uplink,) = app.store.list_uplinks(status="undecodable")
    assert uplink.model == "codec:acme-sigfox"
    assert "unknown frame" in uplink.error
