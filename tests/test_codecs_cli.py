"""``aura-uplink decode --codec FILE``: a vendor codec offline, run as a real process (exit
codes of docs/design.md §14: 0 done, 1 a frame failed, 2 usage or a missing/broken file)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.webhook_support import run_cli

CODECS = Path(__file__).resolve().parent / "codecs"
TTN = str(CODECS / "panic-ttn.js")


def test_the_codecs_output_is_printed_as_fields() -> None:
    done = run_cli("decode", "--codec", str(CODECS / "panic-chirpstack-v3.js"), "--port", "10",
                   "0157F07010E410B88DC2", "0250")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        '{"codec": "panic-chirpstack-v3.js", "port": 10, "hex": "0157F07010E410B88DC2", '
        '"fields": {"event": "SOS", "battery": 87, "port": 10, '
        '"gps": {"lat": -26.10911, "lng": 28.053037}}}\n'
        '{"codec": "panic-chirpstack-v3.js", "port": 10, "hex": "0250", '
        '"fields": {"event": "CANCEL", "battery": 80, "port": 10}}\n'
    )


def test_codec_warnings_are_printed_in_the_one_warning_shape() -> None:
    done = run_cli("decode", "--codec", TTN, "--port", "10", "0932")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["fields"]["event"] == "UNKNOWN"
    assert record["warnings"] == [
        {"source": "decoder", "field": "codec", "message": "unknown event code 9"}
    ]


def test_a_frame_the_codec_fails_on_exits_1_with_the_reason() -> None:
    done = run_cli("decode", "--codec", TTN, "--port", "10", "0250", "01")
    assert done.returncode == 1
    good, bad = (json.loads(line) for line in done.stdout.splitlines())
    assert good["fields"]["event"] == "CANCEL"
    assert bad == {
        "hex": "01",
        "error": {
            "type": "CodecError",
            "message": "codec panic-ttn.js: decodeUplink returned errors: frame too short: 1 bytes",
            "field": None,
            "offset": None,
        },
    }


def test_a_looping_codec_fails_its_frame_and_the_command_ends() -> None:
    loop = str(CODECS / "hostile-loop.js")
    done = run_cli("decode", "--codec", loop, "--codec-timeout-ms", "20", "01")
    assert done.returncode == 1
    message = json.loads(done.stdout)["error"]["message"]
    assert (
        message
        == "codec hostile-loop.js: ran past its time limit of 20 ms, and of 100 ms on the retry"
    )


def test_captured_bodies_give_the_codec_their_port_and_time(tmp_path: Path) -> None:
    body = {
        "end_device_ids": {
            "device_id": "button-1",
            "application_ids": {"application_id": "panic-app"},
            "dev_eui": "70B3D57ED0000001",
        },
        "received_at": "2026-12-01T10:00:00Z",
        "uplink_message": {"f_cnt": 1, "f_port": 10, "frm_payload": "AVc="},  # 01 57
    }
    capture = tmp_path / "capture.jsonl"
    capture.write_text(json.dumps(body) + "\n")
    done = run_cli("decode", "--codec", TTN, "--input", str(capture))
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["port"], record["hex"]) == (10, "0157")
    assert record["fields"]["received"] == "2026-12-01T10:00:00.000Z"


def test_a_missing_or_broken_codec_is_a_usage_error(tmp_path: Path) -> None:
    missing = run_cli("decode", "--codec", str(tmp_path / "none.js"), "01")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    broken = run_cli("decode", "--codec", str(CODECS / "not-javascript.js"), "01")
    assert broken.returncode == 2
    assert "is not valid JavaScript: SyntaxError: Unexpected token ';' (line 2)" in broken.stderr
    mixed = run_cli("decode", "--codec", TTN, "--model", "aura-reference", "01")
    assert mixed.returncode == 2 and "--codec decodes on its own" in mixed.stderr
