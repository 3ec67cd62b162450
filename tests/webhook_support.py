"""Helpers for the webhook's end-to-end tests (tests/test_webhook_*.py) and bench/press_latency.py.

Everything talks real HTTP on 127.0.0.1 to a real store: a SQLite file in the data directory, or
PostgreSQL when the config's ``[store] url`` names one (``database_url``; tests/pg_support.py
makes a fresh schema per test). AURA is the project's simulator. Every network call has a timeout
and every wait has a deadline, so a bug shows up as a failed assertion with a message, never as
a hung test run.

* :func:`write_config` writes a service TOML (small backoffs, so faults heal fast).
* :func:`open_store` opens the store a config names, as ``serve`` does (without its checks).
* :class:`AppServer` runs ``create_app`` under waitress in a background thread, on port 0, with
  the delivery worker wired to ``on_commit`` exactly as ``aura-uplink serve`` wires it.
* :class:`ServeProcess` runs ``python -m webhook serve --config X`` as a real child process (the
  kill tests need a process to SIGKILL) and waits for ``/readyz``.
* :func:`post_callback` sends a Sigfox callback as JSON, form, text/plain or GET query.
* :func:`wait_until` polls a condition until a deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests
from waitress import wasyncore
from waitress.server import create_server

from webhook.aurasim import RunningSimulator
from webhook.config import ServiceConfig, load_config
from webhook.delivery import Deliverer
from webhook.http import create_app
from webhook.server_options import waitress_options
from webhook.service import build_deliverer
from webhook.store import SqliteStore, Store

REPO = Path(__file__).resolve().parents[1]
HTTP_TIMEOUT = 5.0  # every request the tests make; the service answers in milliseconds
START_TIMEOUT = 20.0  # a `serve` child importing Flask on a busy 2-core machine

SIGFOX_SECRET = "sigfox-test-secret"
TTN_SECRET = "ttn-test-secret"
OPERATOR_SECRET = "operator-test-secret"  # [service] operator_secret: opens /status.json
CLIENT_ID, CLIENT_SECRET = "aura-sim-client", "aura-sim-secret"

# aura-reference frames (docs/design.md §7; decoders/models/aura/reference.py).
ALERT = "01F07010E410B88DC20A5700"  # alert, fix -26.10911 / 28.053037, battery 87 %
ALERT_NO_FIX = "017FFFFFFF7FFFFFFFFF4000"  # alert without a fix, battery 64 %
CANCEL = "0300"
BATTERY = "04480E80"  # 72 %, 3712 mV
LOCATION = "02F061D0D810B79A20035602"  # -26.2025 / 28.0468, battery 86 %

NEW_CALLOUT, LOCATION_UPDATED, CANCELLED, BATTERY_INFO = 1, 2, 3, 4

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a Sigfox {time}
DEVICE = "1A2B3C4D"

# The default templates: one catch-all with a BIDIR downlink, one matched by device type without.
TEMPLATES = """
[templates.reference]
device_type_id = 1
model = "aura-reference"
location_updates = "open_callout"
downlink = "0100000000000000"

[templates.quiet]
device_type_id = 2
model = "aura-reference"
[templates.quiet.match]
sigfox_device_types = ["AAAA0002"]
"""

T = TypeVar("T")


# -- waiting -------------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        time.sleep(interval)


# -- configuration -------------------------------------------------------------------------------


def config_text(
    *,
    data_dir: Path,
    aura_url: str | None,
    templates: str = TEMPLATES,
    lease_s: float = 10.0,
    workers: int = 2,
    base_backoff_s: float = 0.05,
    max_backoff_s: float = 0.2,
    max_attempts: int = 50,
    timeout_s: float = 2.0,
    max_body_bytes: int = 4096,
    threads: int = 8,
    ttn_secret: str | None = TTN_SECRET,
    operator_secret: str | None = OPERATOR_SECRET,
    service_extra: str = "",
    database_url: str | None = None,
) -> str:
    """A service TOML (webhook/config.py) for tests: small backoffs, so faults heal fast.
    ``service_extra`` is more ``[service]`` lines (e.g. ``connection_limit = 20``);
    ``database_url`` is ``[store] url`` (None: SQLite in ``data_dir``).

    ``lease_s`` stays well above the worst SQLite write-lock wait seen under a 16-thread flood
    (~1.2 s on 2 cores): a lease that runs out while its worker waits to record a 2xx makes
    another worker send the event again (same key; at least once, as designed). Only the kill
    tests, which need an expiry, shorten it.
    """
    aura = (
        ""
        if aura_url is None
        else f"""
[aura]
url = {json.dumps(aura_url)}
client_id = {json.dumps(CLIENT_ID)}
client_secret = {json.dumps(CLIENT_SECRET)}
timeout_s = {float(timeout_s)}
"""
    )
    ttn = "" if ttn_secret is None else f"\n[sources.ttn]\nsecret = {json.dumps(ttn_secret)}\n"
    operator = "" if operator_secret is None else f"operator_secret = {json.dumps(operator_secret)}"
    store = "" if database_url is None else f"\n[store]\nurl = {json.dumps(database_url)}\n"
    return f"""
[service]
data_dir = {json.dumps(str(data_dir))}
host = "127.0.0.1"
port = 0
threads = {threads}
max_body_bytes = {max_body_bytes}
{operator}
{service_extra}
{store}
{aura}
[delivery]
workers = {workers}
lease_s = {float(lease_s)}
max_attempts = {max_attempts}
base_backoff_s = {float(base_backoff_s)}
max_backoff_s = {float(max_backoff_s)}
alert_after_s = 60.0

[sources.sigfox]
secret = {json.dumps(SIGFOX_SECRET)}
{ttn}
{templates}
"""


def write_config(path: Path, **settings: Any) -> Path:
    """Write :func:`config_text` to ``path`` (``data_dir`` defaults to ``path``'s folder/data)."""
    settings.setdefault("data_dir", path.parent / "data")
    path.write_text(config_text(**settings), encoding="utf-8")
    return path


def read_config(path: Path) -> ServiceConfig:
    """The config as the service reads it, without this process's environment overrides."""
    return load_config(path, env={})


def open_store(config: ServiceConfig) -> Store:
    """The store ``config`` names, opened as ``serve`` opens it (without start-up's checks):
    PostgreSQL if ``[store] url`` is set, else the SQLite file in the data directory."""
    if config.store.url is None:
        return SqliteStore(config.database)
    from webhook.store.postgres import PostgresStore  # psycopg only when a test asks for it

    return PostgresStore(config.store.url, pool_size=config.store.pool_size)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no AURA_* overrides leak in from the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# -- Sigfox callbacks ----------------------------------------------------------------------------


def sigfox_body(
    device: str = DEVICE, data: str = ALERT, seq: int | None = 1, time: int = T0, **extra: Any
) -> dict[str, Any]:
    """A DATA UPLINK callback body as a JSON template would produce it."""
    body: dict[str, Any] = {"device": device, "time": time, "data": data}
    if seq is not None:
        body["seqNumber"] = seq
    body.update(extra)
    return body


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def post_callback(
    base_url: str,
    body: Mapping[str, Any],
    *,
    path: str = "/sigfox/uplink",
    encoding: str = "json",
    secret: str | None = SIGFOX_SECRET,
    headers: Mapping[str, str] | None = None,
    timeout: float = HTTP_TIMEOUT,
) -> requests.Response:
    """Send one callback the way a Sigfox template would: ``encoding`` is ``json``, ``form``,
    ``text`` (text/plain key=value lines) or ``query`` (GET with query parameters)."""
    sent = {} if secret is None else {"Authorization": f"Bearer {secret}"}
    sent.update(headers or {})
    url = base_url + path
    if encoding == "json":
        return requests.post(url, json=dict(body), headers=sent, timeout=timeout)
    pairs = {key: _text(value) for key, value in body.items()}
    if encoding == "form":
        return requests.post(url, data=pairs, headers=sent, timeout=timeout)
    if encoding == "text":
        text = "\n".join(f"{key}={value}" for key, value in pairs.items())
        sent["Content-Type"] = "text/plain"
        return requests.post(url, data=text.encode(), headers=sent, timeout=timeout)
    if encoding == "query":
        return requests.get(url, params=pairs, headers=sent, timeout=timeout)
    raise ValueError(f"unknown encoding {encoding!r}")


# -- reading the simulator and the store ---------------------------------------------------------


def aura_posts(
    sim: RunningSimulator,
    *,
    device_id: str | None = None,
    message_type: int | None = None,
    ok: bool = False,
) -> list[dict[str, Any]]:
    """The deviceEvent requests AURA received, oldest first; ``ok``: only those answered 2xx."""
    out = []
    for entry in sim.state.requests():
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        if device_id is not None and body.get("device_id") != device_id:
            continue
        if message_type is not None and body.get("message_type") != message_type:
            continue
        if ok and not (entry["status"] is not None and 200 <= entry["status"] < 300):
            continue
        out.append(entry)
    return out


def all_delivered(store: Store, count: int) -> bool:
    """``count`` events exist and every one of them is delivered."""
    events = store.status()["events"]
    return events["delivered"] == count and sum(events.values()) == count


def settled(store: Store) -> dict[str, int] | None:
    """The event counts once no event is pending or in flight (None before)."""
    events = store.status()["events"]
    return None if events["pending"] or events["in_flight"] else events


# -- the app in this process ---------------------------------------------------------------------


class AppServer:
    """``create_app`` under waitress on 127.0.0.1:<free port>, in background threads, with the
    delivery worker on ``on_commit`` (as ``serve`` does). A context manager; :meth:`stop` is
    idempotent and leaves no thread behind."""

    def __init__(self, config: ServiceConfig, *, deliver: bool = True, poll_s: float = 0.1) -> None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.store = open_store(config)
        self.deliverer: Deliverer | None = build_deliverer(config, self.store) if deliver else None
        if self.deliverer is not None:
            # Events another process stored (the replay command) are found within poll_s.
            self.deliverer.poll_s = poll_s
        on_commit = self.deliverer.wake if self.deliverer is not None else None
        self.app = create_app(config, self.store, on_commit=on_commit)
        # The same server settings as `serve` (webhook/server_options.py): body cap, connection
        # limit, idle timeout, poll.
        self.server = create_server(self.app, host="127.0.0.1", port=0, **waitress_options(config))
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="waitress-loop", daemon=True)
        self._thread.start()
        if self.deliverer is not None:
            self.deliverer.start()

    def _loop(self) -> None:
        # waitress's run() loops until its socket map is empty; this loop also checks a flag.
        while not self._stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, use_poll=True, count=1)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Requests already in a handler finish first (the loop still writes their answers).
        self.server.task_dispatcher.shutdown(timeout=5)
        self._stopping.set()
        self._thread.join(timeout=5)
        wasyncore.close_all(self.server._map)
        if self.deliverer is not None:
            self.deliverer.stop(timeout=10)
            close = getattr(self.deliverer.client, "close", None)
            if close is not None:
                close()
        self.store.close()

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- `aura-uplink serve` as a child process ------------------------------------------------------

_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    """``python -m webhook serve --config X --port 0`` with its log in ``log_path``; waits for the
    port it reports and a 200 from ``/readyz``. ``failpoints`` sets AURA_UPLINK_FAILPOINTS."""

    def __init__(
        self,
        config_path: Path | None,
        log_path: Path,
        *,
        failpoints: str | None = None,
        command: list[str] | None = None,
        cwd: Path = REPO,
        env: dict[str, str] | None = None,
        user: str | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        """``command`` replaces ``python -m webhook serve --config X`` (e.g. an installed
        ``aura-uplink serve --demo``); ``env`` adds variables to the child's environment;
        ``user`` runs it as that user (needs root); ``preexec_fn`` runs in the child before
        it starts (e.g. to lower a resource limit)."""
        self.log_path = log_path
        extra = {"AURA_UPLINK_FAILPOINTS": failpoints} if failpoints else {}
        if command is None:
            command = [sys.executable, "-m", "webhook", "serve", "--config", str(config_path)]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*command, "--port", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(**extra, **(env or {})),
                cwd=cwd,
                user=user,
                preexec_fn=preexec_fn,
            )
        try:
            port = wait_until(self._port, START_TIMEOUT, 0.02, f"serve to listen ({log_path})")
            self.url = f"http://127.0.0.1:{port}"
            wait_until(self._healthy, START_TIMEOUT, 0.02, f"{self.url}/readyz")
        except BaseException:
            self.kill()
            raise

    def _port(self) -> int | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.log()}")
        found = _LISTENING.search(self.log())
        return int(found.group(1)) if found else None

    def _healthy(self) -> bool:
        try:
            return requests.get(self.url + "/readyz", timeout=1.0).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_exit(self, timeout: float = 10.0) -> int:
        """The exit status once the process ended (negative: killed by that signal)."""
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (the graceful path), SIGKILL if it does not end within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_cli(
    *args: str,
    timeout: float = 60.0,
    stdin: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m webhook ARGS`` (the ``aura-uplink`` command) to completion; ``stdin`` is
    the text it reads, if any; ``preexec_fn`` runs in the child before it starts."""
    return subprocess.run(
        [sys.executable, "-m", "webhook", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        timeout=timeout,
        preexec_fn=preexec_fn,
        check=False,
    )
