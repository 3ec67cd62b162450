"""Structured logs (issue 15, docs/operations.md): ``aura-uplink --log-format json serve``, one
press followed from its callback to AURA's callout id by its ids, across real JSON lines.

A real ``serve`` child process (its stderr is what an operator's log collector reads), the AURA
simulator, real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from webhook_support import (
    ALERT,
    CLIENT_ID,
    CLIENT_SECRET,
    REPO,
    ServeProcess,
    aura_posts,
    child_env,
    post_callback,
    run_cli,
    sigfox_body,
    wait_until,
    write_config,
)

from webhook.aurasim import SimState, run_simulator
from webhook.logs import JsonFormatter

REQUIRED = ("ts", "level", "logger", "message")


@pytest.fixture
def sim():
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the log as JSON: each must parse and carry the four fixed keys."""
    lines = []
    for raw in text.splitlines():
        line = json.loads(raw)  # a line that is not JSON fails here, with its text
        assert all(key in line for key in REQUIRED), raw
        lines.append(line)
    return lines


def serve(tmp_path: Path, sim, *options: str, service_extra: str = "") -> ServeProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp_path / "service.toml", aura_url=sim.url, service_extra=service_extra)
    command = [sys.executable, "-m", "webhook", *options, "serve", "--config", str(config)]
    return ServeProcess(None, tmp_path / "serve.log", command=command)


def follow_one_press(service: ServeProcess, sim) -> list[dict[str, Any]]:
    """Send a press, wait for AURA's answers, stop the service: its whole log as JSON lines."""
    answer = post_callback(service.url, sigfox_body(data=ALERT, seq=21))
    assert answer.status_code == 200
    wait_until(lambda: len(aura_posts(sim, ok=True)) == 2, what="both events at AURA")
    wait_until(lambda: service.log().count("callout") >= 2, what="AURA's answers logged")
    service.stop()
    return json_lines(service.log())


def test_one_press_is_followed_by_its_ids_from_callback_to_callout(tmp_path, sim):
    with serve(tmp_path, sim, "--log-format", "json") as service:
        lines = follow_one_press(service, sim)
    stored = [line for line in lines if "event_ids" in line]
    assert len(stored) == 1, stored
    assert stored[0]["device"] == "1A2B3C4D"
    assert stored[0]["level"] == "INFO" and stored[0]["logger"] == "aura_uplink.webhook"
    uplink_id, event_ids = stored[0]["uplink_id"], stored[0]["event_ids"]
    assert len(event_ids) == 2  # NEW_CALLOUT and the battery level it carried

    # Grep by the uplink id: the callback, then AURA's answer to each event (the line for the
    # attempt itself is DEBUG).
    trail = [line for line in lines if line.get("uplink_id") == uplink_id]
    for event_id in event_ids:
        steps = [line for line in trail if line.get("event_id") == event_id]
        assert [("callout_id" in step, step["level"]) for step in steps] == [
            (True, "INFO"),  # AURA answered, with the callout
        ], steps
        assert steps[0]["attempt"] == 1
        assert steps[0]["status"] == 200
    # AURA's callout id, as the simulator opened it; the battery event joins that callout.
    (opened,) = sim.state.callouts()
    assert {line["callout_id"] for line in trail if "callout_id" in line} == {opened["calloutId"]}
    assert all(line["ts"].endswith("+00:00") for line in lines)  # ISO 8601, UTC


def test_a_retry_and_a_dead_letter_carry_the_event_id(tmp_path, sim):
    sim.state.fail_next(503)
    sim.state.fail_next(422)
    with serve(tmp_path, sim, "--log-format", "json", "--log-level", "info") as service:
        post_callback(service.url, sigfox_body(data=ALERT, seq=22))
        # The field, not the word: the log also names the test's folder.
        wait_until(lambda: '"dead_letter": true' in service.log(), what="the dead letter")
        service.stop()
        lines = json_lines(service.log())
    retry = [line for line in lines if "retry_in_s" in line]
    dead = [line for line in lines if line.get("dead_letter")]
    assert len(retry) == 1 and retry[0]["level"] == "WARNING" and retry[0]["status"] == 503
    assert len(dead) == 1 and dead[0]["level"] == "CRITICAL" and dead[0]["status"] == 422
    assert retry[0]["event_id"] == dead[0]["event_id"]
    assert retry[0]["uplink_id"] == dead[0]["uplink_id"]


def test_the_config_file_chooses_json_and_the_option_wins(tmp_path, sim):
    with serve(tmp_path / "a", sim, service_extra='log_format = "json"') as service:
        service.stop()
        assert json_lines(service.log())  # every line JSON, from the first
    with serve(
        tmp_path / "b", sim, "--log-format", "text", service_extra='log_format = "json"'
    ) as service:
        service.stop()
        text = service.log()
    assert " INFO aura_uplink.serve aura-uplink listening on" in text
    assert not any(line.startswith("{") for line in text.splitlines())


def test_log_level_warning_drops_the_info_steps(tmp_path, sim):
    """At WARNING the INFO steps (and the "listening on" line ServeProcess waits for) are gone:
    the test picks the port itself and waits for /readyz."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path / "service.toml", aura_url=sim.url)
    log_path = tmp_path / "serve.log"
    options = ["--log-format", "json", "--log-level", "WARNING", "serve"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "webhook",
                *options,
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env(),
            cwd=REPO,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), 20.0, what=f"{url}/readyz")
        post_callback(url, sigfox_body(data=ALERT, seq=23))
        wait_until(lambda: len(aura_posts(sim, ok=True)) == 2, what="both events at AURA")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    lines = json_lines(log_path.read_text(encoding="utf-8"))
    assert lines, "the unlinked device's warning at least"
    assert all(line["level"] in ("WARNING", "ERROR", "CRITICAL") for line in lines), lines


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=1.0).status_code == 200
    except requests.RequestException:
        return False


def test_sender_text_with_newlines_stays_inside_its_json_string(tmp_path, sim):
    """Log injection: text from a sender (a refused TTS device id, a malformed Sigfox device
    type kept as a warning) cannot forge a line: JSON escapes its newlines."""
    forged = '{"ts": "x", "level": "CRITICAL", "logger": "forged", "message": "all deleted"}'
    ttn = {
        "end_device_ids": {
            "device_id": f"dev1\n{forged}",
            "application_ids": {"application_id": "a"},
        },
        "uplink_message": {"frm_payload": "AQ==", "f_port": 1},
    }
    with serve(tmp_path, sim, "--log-format", "json") as service:
        refused = post_callback(service.url, ttn, path="/ttn/uplink", secret="ttn-test-secret")
        assert refused.status_code == 400
        kept = sigfox_body(data=ALERT, seq=24, deviceTypeId=f"x\r\n{forged}")
        assert post_callback(service.url, kept).status_code == 200
        wait_until(lambda: "deviceTypeId" in service.log(), what="the dropped part logged")
        service.stop()
        lines = json_lines(service.log())
    assert not any(line["logger"] == "forged" for line in lines)
    messages = "\n".join(line["message"] for line in lines)
    assert "dev1\\n{" in messages and "x\\r\\n{" in messages  # shown escaped, once more


def test_unknown_log_options_are_usage_errors():
    done = run_cli("--log-format", "xml", "models")
    assert done.returncode == 2
    assert "--log-format" in done.stderr


def test_the_formatter_keeps_extras_exceptions_and_odd_values():
    record = logging.LogRecord("aura_uplink.x", logging.ERROR, __file__, 1, "boom %s", ("a",), None)
    record.event_id = 7
    record.path = Path("/tmp/x")
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert (line["message"], line["event_id"], line["path"]) == ("boom a", 7, "/tmp/x")
    assert "line one\nline two" in line["exception"]
