"""The attacks of issue 11, replayed on loopback against ``aura-uplink serve`` and the AURA
simulator, each bounded in count and time; prints one line per attack with what happened.

    python -m bench.attacks                 # this checkout
    python -m bench.attacks --source DIR    # another checkout (e.g. an older commit), same venv

Not a pass/fail test (tests/ holds those): a way to show, before and after a change, what an
attacker gets. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
SIGFOX, TTN = "attack-sigfox-secret", "attack-ttn-secret"
T0 = 1_767_225_600
ALERT = "01F07010E410B88DC20A5700"
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
TIMEOUT = 5.0

CONFIG = """
[service]
data_dir = {data!r}
port = 0
max_body_bytes = 16384

[aura]
url = {aura!r}
client_id = "aura-sim-client"
client_secret = "aura-sim-secret"
timeout_s = 2.0

[delivery]
max_backoff_s = 60.0

[sources.sigfox]
secret = {sigfox!r}

[sources.ttn]
secret = {ttn!r}

[sources.chirpstack]
secret = {sigfox!r}

[templates.reference]
device_type_id = 1
model = "aura-reference"
""".replace("!r}", "}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Command:
    """``python -m webhook ARGS`` from ``source`` (its own code, simulator included: the
    simulator of a checkout is the AURA its client was written against), logging to ``folder``."""

    def __init__(self, source: Path, args: list[str], folder: Path) -> None:
        self.log_path = folder / f"{args[0]}-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AURA")}
        env |= {"PYTHONPATH": str(source), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webhook", *args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=source, env=env,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, probe: Callable[[], bool], seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            if probe():
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Serve(Command):
    """``aura-uplink serve --config CONFIG``; ``url`` once it listens (empty if it did not)."""

    def __init__(self, source: Path, config: Path, folder: Path) -> None:
        super().__init__(source, ["serve", "--config", str(config)], folder)
        self.url = ""
        if self.wait_for(lambda: _LISTENING.search(self.log()) is not None):
            found = _LISTENING.search(self.log())
            assert found is not None
            self.url = f"http://127.0.0.1:{found.group(1)}"


class Simulator(Command):
    """``aura-uplink simulate-aura`` on a free port, driven over its /_sim routes."""

    def __init__(self, source: Path, folder: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        super().__init__(source, ["simulate-aura", "--port", self.url.rsplit(":", 1)[1]], folder)

        def answers() -> bool:
            try:
                return requests.get(self.url + "/_sim/requests", timeout=1).ok
            except requests.RequestException:
                return False

        if not self.wait_for(answers):
            raise SystemExit(f"the simulator did not start:\n{self.log()}")

    def fail_next(self, status: int, retry_after: float) -> None:
        fault = {"kind": "status", "status": status, "retry_after": retry_after}
        requests.post(self.url + "/_sim/faults", json=fault, timeout=TIMEOUT).raise_for_status()


def post(
    url: str,
    path: str,
    body: Any = None,
    *,
    secret: str = SIGFOX,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> int | str:
    """The status code, or the name of the error when there was no HTTP answer."""
    sent = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    data = raw if raw is not None else json.dumps(body).encode()
    try:
        answer = requests.request(method, url + path, data=data, headers=sent | (headers or {}),
                                  timeout=TIMEOUT)  # fmt: skip
    except requests.RequestException as error:
        return type(error).__name__
    return answer.status_code


def sigfox(seq: int, **extra: Any) -> dict[str, Any]:
    return {"device": "1A2B3C4D", "time": str(T0 + seq), "seqNumber": str(seq), "data": ALERT,
            **extra}  # fmt: skip


def ttn(**ids: Any) -> dict[str, Any]:
    return {
        "end_device_ids": {"device_id": "dev-1", "dev_eui": "70B3D57ED0000001",
                           "application_ids": {"application_id": "app"}, **ids},
        "received_at": "2026-01-01T00:00:00Z",
        "uplink_message": {"f_port": 1, "f_cnt": 7, "frm_payload": "AfBwEOQQuI3CClcA",
                           "session_key_id": "k"},
    }  # fmt: skip


def malformed_corpus() -> list[tuple[str, str, bytes]]:
    """(route, what, raw body) for the malformed inputs of the issue and their neighbours."""
    big = 2**64 + 1
    # 6,000 deep fits the 16 KB body cap (10,000 would be a 413 before it is parsed).
    deep = b'{"device": "1A2B3C4D", "time": "1", "data": "00", "x": ' + b"[" * 6000
    deep += b"]" * 6000 + b"}"
    cases = [
        ("/sigfox/uplink", "seqNumber superscript two", sigfox(1, seqNumber="²")),
        ("/sigfox/uplink", "seqNumber 2**64+1", sigfox(2, seqNumber=big)),
        ("/sigfox/uplink", "lone surrogate deviceTypeId", sigfox(3, deviceTypeId="\ud800")),
        ("/sigfox/uplink", "time of 400 digits", sigfox(4, time="9" * 400)),
        ("/sigfox/uplink", "seqNumber -1", sigfox(5, seqNumber=-1)),
        ("/sigfox/uplink", "computedLocation as a string", sigfox(6, computedLocation="x")),
        ("/ttn/uplink", "f_cnt 2**64+1", ttn() | {"uplink_message": {**ttn()["uplink_message"],
                                                                     "f_cnt": big}}),
        ("/ttn/uplink", "f_port 2**64+1", ttn() | {"uplink_message": {**ttn()["uplink_message"],
                                                                      "f_port": big}}),
        ("/chirpstack?event=up", "fCnt 2**64+1", {"deviceInfo": {"devEui": "0101010101010101"},
                                                   "fCnt": big, "fPort": 2, "data": "AQ==",
                                                   "deduplicationId": "d1"}),
        ("/chirpstack?event=up", "fPort 2**64+1", {"deviceInfo": {"devEui": "0101010101010101"},
                                                    "fCnt": 1, "fPort": big, "data": "AQ==",
                                                    "deduplicationId": "d2"}),
    ]  # fmt: skip
    out = [(route, what, json.dumps(body).encode()) for route, what, body in cases]
    out.append(("/sigfox/uplink", "JSON nested 6,000 deep", deep))
    long_time = b'{"device": "1A2B3C4D", "time": ' + b"9" * 400 + b', "data": "00"}'
    out.append(("/sigfox/uplink", "time, a number of 400 digits", long_time))
    digits = b'{"device": "1A2B3C4D", "time": "1", "seqNumber": ' + b"7" * 5000 + b', "data": "00"}'
    out.append(("/sigfox/uplink", "a 5,000-digit integer", digits))
    return out


def secret_for(route: str) -> str:
    return TTN if route.startswith("/ttn") else SIGFOX  # ChirpStack shares the Sigfox one


def attack_malformed(url: str, **_: Any) -> str:
    corpus = malformed_corpus()
    results = [(what, post(url, route, raw=raw, secret=secret_for(route)))
               for route, what, raw in corpus]  # fmt: skip
    bad = [f"{what}: {status}" for what, status in results
           if not (isinstance(status, int) and status < 500)]  # fmt: skip
    return f"{len(bad)} of {len(corpus)} answered 5xx or not at all" + (
        f" ({'; '.join(bad)})" if bad else ""
    )


def attack_idle(url: str, **_: Any) -> str:
    port = int(url.rsplit(":", 1)[1])
    sockets = []
    try:
        for _n in range(500):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError as error:
        opened = f"{len(sockets)} opened ({error})"
    else:
        opened = "500 opened"
    started = time.monotonic()
    status = post(url, "/sigfox/uplink", sigfox(100))
    took = time.monotonic() - started
    for sock in sockets:
        sock.close()
    return f"{opened}; a real callback then: {status} in {took * 1000:.0f} ms"


def attack_retry_after(url: str, sim: Simulator, data: Path, **_: Any) -> str:
    sim.fail_next(429, retry_after=86400)
    post(url, "/sigfox/uplink", sigfox(200, device="0A0B0C0D"))
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:  # the store says when the next attempt is due
        with sqlite3.connect(data / "aura-uplink.db") as conn:
            row = conn.execute(
                "SELECT next_attempt_at - strftime('%s', 'now') FROM events"
                " WHERE last_error LIKE '%429%' ORDER BY id LIMIT 1"
            ).fetchone()
        if row is not None:
            return f"next attempt in {row[0]:,.0f} s (max_backoff_s 60)"
        time.sleep(0.2)
    return "no retry scheduled within 8 s"


def attack_health(url: str, data: Path, **_: Any) -> str:
    plain = requests.get(url + "/healthz", timeout=TIMEOUT)
    shows_counts = "store" in plain.text or "events" in plain.text
    (data / "aura-uplink.db").unlink()
    status = post(url, "/sigfox/uplink", sigfox(300, device="0D0E0F10"))
    health = requests.get(url + "/healthz", timeout=TIMEOUT).status_code
    ready = requests.get(url + "/readyz", timeout=TIMEOUT).status_code
    return (f"/healthz without a secret shows store counts: {shows_counts}; after deleting the "
            f"database a callback got {status}, /healthz {health}, /readyz {ready}")  # fmt: skip


def attack_log_forgery(url: str, serve: Serve, **_: Any) -> str:
    forged = "dev-1\n2026-01-01 00:00:00 CRITICAL aura_uplink FORGED"
    body = ttn(device_id=forged)
    body["uplink_message"]["frm_payload"] = "BQ=="  # undecodable: its key is logged at ERROR
    status = post(url, "/ttn/uplink", body, secret=TTN)
    time.sleep(0.3)
    lines = [line for line in serve.log().splitlines() if line.startswith("2026-01-01 00:00:00")]
    return f"answered {status}; forged log lines: {len(lines)}"


def attack_refusals_logged(url: str, serve: Serve, **_: Any) -> str:
    time.sleep(11)  # refusals are logged at most 5 per address per 10 s: start a fresh window
    before = serve.log()
    post(url, "/sigfox/uplink", sigfox(400), secret="wrong")
    time.sleep(0.3)
    new = [line for line in serve.log()[len(before):].splitlines()
           if "401" in line or "secret" in line.lower() or "refus" in line.lower()]  # fmt: skip
    return f"a wrong secret left {len(new)} log line(s)" + (f": {new[0][:100]}" if new else "")


def attack_query_cap(url: str, data: Path, **_: Any) -> str:
    query = "device=1A2B3C4D&time=1767225900&seqNumber=500&data=00&pad=" + "x" * 225_000
    try:
        answer = requests.get(url + "/sigfox/uplink?" + query, timeout=TIMEOUT,
                              headers={"Authorization": f"Bearer {SIGFOX}"})  # fmt: skip
        status: int | str = answer.status_code
    except requests.RequestException as error:
        status = type(error).__name__
    return f"a 225 KB query string: {status}"


def attack_lowercase_bearer(url: str, **_: Any) -> str:
    status = post(url, "/sigfox/uplink", sigfox(600), headers={"Authorization": f"bearer {SIGFOX}"})
    return f"'Authorization: bearer <secret>': {status}"


def attack_optional_parts(url: str, **_: Any) -> str:
    bad_fix = ttn()
    solved = {"latitude": 95, "longitude": 28, "source": "SOURCE_LORA_RSSI_GEOLOCATION"}
    bad_fix["uplink_message"]["locations"] = {"frm-payload": solved}
    ttn_status = post(url, "/ttn/uplink", bad_fix, secret=TTN)
    location = {"lat": 95.0, "lng": 28.0, "radius": 500, "source": 2, "status": 1}
    sigfox_status = post(url, "/sigfox/advanced", sigfox(700, computedLocation=location))
    return (
        f"TTS fix at latitude 95: {ttn_status}; "
        f"Sigfox computedLocation latitude 95: {sigfox_status}"
    )


def attack_corrupt_start(source: Path, folder: Path, config_for: Callable[[Path], Path]) -> str:
    data = folder / "corrupt"
    data.mkdir()
    db = data / "aura-uplink.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(3000),)] * 200)
    with open(db, "r+b") as handle:  # damage pages in the middle, keep the header
        handle.seek(8192)
        handle.write(os.urandom(16384))
    serve = Serve(source, config_for(data), folder)
    try:
        time.sleep(1.0)
        code = serve.proc.poll()
        state = f"exited with {code}" if code is not None else "started and took traffic"
        last = serve.log().strip().splitlines()[-1:] if code is not None else []
        return state + (f": {last[0][:120]}" if last else "")
    finally:
        serve.stop()


ATTACKS: dict[str, Callable[..., str]] = {
    "malformed requests": attack_malformed,
    "500 idle connections": attack_idle,
    "Retry-After: 86400": attack_retry_after,
    "TTS device_id with a newline": attack_log_forgery,
    "refused request": attack_refusals_logged,
    "GET query string": attack_query_cap,
    "lower-case bearer": attack_lowercase_bearer,
    "bad optional part": attack_optional_parts,
    "health, deleted database": attack_health,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO, help="checkout to run serve from")
    args = parser.parse_args(argv)
    source = args.source.resolve()
    with tempfile.TemporaryDirectory(prefix="aura-attacks-") as tmp:
        folder = Path(tmp)
        sim = Simulator(source, folder)

        def config_for(data: Path) -> Path:
            path = data.parent / f"{data.name}.toml"
            text = CONFIG.format(data=json.dumps(str(data)), aura=json.dumps(sim.url),
                                 sigfox=json.dumps(SIGFOX), ttn=json.dumps(TTN))  # fmt: skip
            path.write_text(text)
            return path

        data = folder / "data"
        serve = Serve(source, config_for(data), folder)
        if not serve.url:
            sim.stop()
            raise SystemExit(f"serve did not start:\n{serve.log()}")
        try:
            for name, attack in ATTACKS.items():
                try:
                    outcome = attack(serve.url, sim=sim, data=data, serve=serve)
                except Exception as error:  # an attack that breaks the run is itself a finding
                    outcome = f"attack failed: {type(error).__name__}: {error}"
                print(f"{name:<30} {outcome}", flush=True)
        finally:
            serve.stop()
        try:
            print(f"{'corrupt database at start':<30} "
                  f"{attack_corrupt_start(source, folder, config_for)}")  # fmt: skip
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
