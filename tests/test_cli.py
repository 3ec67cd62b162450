"""Golden tests of the ``aura-uplink`` command: literal input -> literal output, run as a real
process the way users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "fixtures" / "captures"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webhook", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_decode_each_message_type_with_events() -> None:
    result = run(
        "decode", "--model", "aura-reference", "--device-type-id", "1",
        "--serial", "00C0FFEEA1B2C3D4", "--sequence", "46",
        "01F07010E410B88DC20A5700", "02F061D0D810B79A20035602", "0300", "04480E80",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '{"model": "aura-reference", "port": null, "hex": "01F07010E410B88DC20A5700", '
        '"fields": {"message_type": "alert", "latitude": -26.10911, "longitude": 28.053037, '
        '"accuracy_m": 40, "battery_percent": 87, "flags": {"reserved": 0, "moving": false, '
        '"stale": false}}, "messages": [{"kind": "alert", "trigger": "alert", '
        '"latitude": -26.10911, "longitude": 28.053037, "accuracy_m": 40, "source": "gps", '
        '"sustained": false}, {"kind": "battery", "percent": 87}], "events": ['
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 1, "location": '
        '{"latitude": -26.10911, "longitude": 28.053037, "accuracy": 40, "sequenceNumber": '
        '"46"}}, {"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 4, "body": '
        '{"batteryLevel": 87}}]}\n'
        '{"model": "aura-reference", "port": null, "hex": "02F061D0D810B79A20035602", '
        '"fields": {"message_type": "location", "latitude": -26.2025, "longitude": 28.0468, '
        '"accuracy_m": 12, "battery_percent": 86, "flags": {"reserved": 0, "moving": true, '
        '"stale": false}}, "messages": [{"kind": "location", "latitude": -26.2025, '
        '"longitude": 28.0468, "accuracy_m": 12, "source": "gps"}, {"kind": "battery", '
        '"percent": 86}], "events": [{"device_type_id": 1, "device_id": "A1B2C3D4", '
        '"message_type": 2, "body": {"latitude": -26.2025, "longitude": 28.0468, '
        '"accuracy": 12, "sequenceNumber": "47"}}, {"device_type_id": 1, "device_id": '
        '"A1B2C3D4", "message_type": 4, "body": {"batteryLevel": 86}}]}\n'
        '{"model": "aura-reference", "port": null, "hex": "0300", "fields": {"message_type": '
        '"cancel", "reason": "user"}, "messages": [{"kind": "cancel", "reason": "user"}], '
        '"events": [{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 3, '
        '"body": {"sequenceNumber": "48"}}]}\n'
        '{"model": "aura-reference", "port": null, "hex": "04480E80", "fields": {"message_type": '
        '"battery", "battery_percent": 72, "battery_mv": 3712}, "messages": [{"kind": '
        '"battery", "percent": 72, "voltage_mv": 3712}], "events": [{"device_type_id": 1, '
        '"device_id": "A1B2C3D4", "message_type": 4, "body": {"batteryLevel": 72}}]}\n'
    )


def test_a_bad_frame_prints_an_error_object_and_the_rest_goes_on() -> None:
    result = run("decode", "--model", "aura-reference", "05", "0300")
    assert result.returncode == 1
    assert result.stdout == (
        '{"hex": "05", "error": {"type": "UnknownMessageType", "message": "aura-reference: '
        "unknown message_type (field 'message_type' at byte 0): expected one of 0x01, 0x02, "
        '0x03, 0x04, got 0x05 in frame 05", "field": "message_type", "offset": 0}}\n'
        '{"model": "aura-reference", "port": null, "hex": "0300", "fields": {"message_type": '
        '"cancel", "reason": "user"}, "messages": [{"kind": "cancel", "reason": "user"}]}\n'
    )


def test_sigfox_callback_bodies_uplink_then_data_advanced_open_one_callout() -> None:
    result = run(
        "decode", "--model", "aura-reference", "--device-type-id", "1",
        "--input", str(CAPTURES / "sigfox-callbacks.jsonl"),
    )  # fmt: skip
    assert result.returncode == 1  # the last body's frame is bad on purpose
    events = [line.split('"events": ')[1] for line in result.stdout.splitlines()[:3]]
    assert events == [
        '[{"device_type_id": 1, "device_id": "1A2B3C4D", "message_type": 1, "location": '
        '{"sequenceNumber": "46"}}, {"device_type_id": 1, "device_id": "1A2B3C4D", '
        '"message_type": 4, "body": {"batteryLevel": 64}}]}',
        '[{"device_type_id": 1, "device_id": "1A2B3C4D", "message_type": 2, "body": '
        '{"latitude": -26.1081, "longitude": 28.0567, "accuracy": 1200, "sequenceNumber": '
        '"46"}}]}',
        '[{"device_type_id": 1, "device_id": "1A2B3C4D", "message_type": 3, "body": '
        '{"sequenceNumber": "47"}}]}',
    ]
    assert result.stdout.splitlines()[3].startswith('{"hex": "0599", "error": {"type": ')


def test_stdin_hex_lines_and_csv() -> None:
    result = run(
        "decode", "--model", "aura-reference", "--input", "-", stdin="0300\n\n# note\n0302\n"
    )
    assert result.returncode == 0
    assert [line.split('"reason": ')[1][:8] for line in result.stdout.splitlines()] == [
        '"user"},',
        '"remote"',
    ]
    csv_result = run("decode", "--model", "aura-reference", "--input", str(CAPTURES / "frames.csv"))
    assert csv_result.returncode == 0
    assert csv_result.stdout.count('"model": "aura-reference"') == 2


def test_bad_json_line_is_an_error_object_not_a_crash() -> None:
    result = run("decode", "--model", "aura-reference", "--input", "-", stdin='{"device": \n')
    assert result.returncode == 1
    assert '"type": "InvalidJSON"' in result.stdout


def test_models_lists_every_model() -> None:
    result = run("models")
    assert result.returncode == 0
    import decoders

    assert [line.split()[0] for line in result.stdout.splitlines()] == sorted(decoders.MODELS)


def test_usage_errors_are_clear() -> None:
    result = run("decode", "--model", "no-such", "00")
    assert result.returncode == 2
    assert "unknown model 'no-such'" in result.stderr
    result = run("decode", "--model", "aura-reference")
    assert result.returncode == 2
    assert "give HEX arguments or --input" in result.stderr


def test_decode_with_a_grammar() -> None:
    result = run("decode", "--grammar", "b1::bool:7 b2::bool:6 i1:1:uint:16", "C01234")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '{"model": "grammar", "port": null, "hex": "C01234", '
        '"fields": {"b1": true, "b2": true, "i1": 4660}, "messages": []}\n'
    )


def test_a_bad_grammar_names_token_and_column() -> None:
    result = run("decode", "--grammar", "a::uint:8 b::unit:8", "00")
    assert result.returncode == 2
    assert "column 14 ('unit')" in result.stderr


def test_a_template_defined_only_in_toml_produces_aura_events(tmp_path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(
        "[templates.mrkfox]\n"
        "device_type_id = 12\n"
        'grammar = "lat::float:32:little-endian lng::float:32:little-endian alarm::bool:7"\n'
        "[templates.mrkfox.fields]\n"
        'latitude = "lat"\nlongitude = "lng"\nalarm = "alarm"\n'
    )
    alarm, clear = "0000D2C10000E04180", "0000D2C10000E04100"
    result = run(
        "decode", "--config", str(config), "--serial", "001A2B3C4D", "--sequence", "5",
        alarm, alarm, clear, alarm,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [line.split('"events": ')[1] for line in result.stdout.splitlines()]
    new_callout = (
        '[{"device_type_id": 12, "device_id": "1A2B3C4D", "message_type": 1, "location": '
        '{"latitude": -26.25, "longitude": 28.0, "sequenceNumber": "%s"}}]}'
    )
    update = (
        '[{"device_type_id": 12, "device_id": "1A2B3C4D", "message_type": 2, "body": '
        '{"latitude": -26.25, "longitude": 28.0, "sequenceNumber": "%s"}}]}'
    )
    # The alarm bit is a state: one callout on its rising edge, updates while it stays set.
    assert events == [new_callout % 5, update % 6, update % 7, new_callout % 8]


def test_a_missing_input_file_is_a_usage_error_without_traceback() -> None:
    result = run("decode", "--model", "aura-reference", "--input", "no-such-capture.txt")
    assert result.returncode == 2
    assert "no-such-capture.txt" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_demo_and_config_are_alternatives() -> None:
    result = run("serve", "--demo", "--config", "webhook/demo.toml")
    assert result.returncode == 2
    assert "--demo and --config" in result.stderr


def test_models_lists_port_runs_as_ranges() -> None:
    from webhook.cli.models import ports_text

    assert ports_text(()) == "-"
    assert ports_text((85,)) == "85"
    assert ports_text((2, 3)) == "2,3"
    assert ports_text((4, 1, 2, 3, 85)) == "1-4,85"
    assert ports_text(tuple(range(2, 11))) == "2-10"
