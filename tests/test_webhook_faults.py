"""The fault scenarios of docs/reliability.md §6.2, end to end: real HTTP on 127.0.0.1, a real
store (each scenario on a SQLite file and on PostgreSQL, through the ``store_factory`` fixture:
tests/pg_support.py), the AURA simulator, and (for the kill tests) ``aura-uplink serve`` as a
real child process that SIGKILLs itself at a failpoint (webhook/failpoints.py).

What must hold in every scenario: a press is never lost, never late by more than the faults
force, and never turns into two callouts. "Exactly once" is checked at the simulator: one
successful request per idempotency key, and the number of callouts AURA opened.
"""

from __future__ import annotations

import hmac
import json
import logging
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from webhook_support import (
    ALERT,
    ALERT_NO_FIX,
    BATTERY_INFO,
    CANCEL,
    CANCELLED,
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    HTTP_TIMEOUT,
    LOCATION_UPDATED,
    NEW_CALLOUT,
    SIGFOX_SECRET,
    T0,
    TTN_SECRET,
    AppServer,
    ServeProcess,
    aura_posts,
    open_store,
    post_callback,
    read_config,
    run_cli,
    settled,
    sigfox_body,
    wait_until,
    write_config,
)

import webhook.http.auth
from webhook.aurasim import SimState, run_simulator
from webhook.config import DeliveryConfig
from webhook.store import Store

# The kill tests run with the production lease: short, renewed while a send is in flight
# (webhook/delivery/leases.py), so a dead process's event is sent again within seconds.
LEASE_S = DeliveryConfig().lease_s
RECOVERY_S = LEASE_S + 2.0  # what the lease leaves after the restart, plus the delivery

SIGFOX_ROUTES = [
    "/sigfox/uplink",
    "/sigfox/advanced",
    "/sigfox/status",
    "/sigfox/ack",
    "/sigfox/error",
]


@pytest.fixture
def sim():
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


@pytest.fixture
def service_toml(tmp_path, store_factory):
    """Write tmp_path/service.toml (webhook_support.write_config) for this test's store: SQLite
    in tmp_path/data, or ``[store] url`` = a fresh PostgreSQL schema."""

    def write(**settings) -> Path:
        settings.setdefault("database_url", store_factory.database_url)
        return write_config(tmp_path / "service.toml", **settings)

    return write


#: For the tests whose subject is not the store (authentication, body size): SQLite only.
sqlite_only = pytest.mark.parametrize("store_kind", ["sqlite"])


@pytest.fixture
def start_app(service_toml, sim):
    """Start the app in this process with a config written to tmp_path/service.toml."""
    started: list[AppServer] = []

    def start(poll_s: float = 0.1, **settings) -> AppServer:
        settings.setdefault("aura_url", sim.url)
        config = read_config(service_toml(**settings))
        server = AppServer(config, poll_s=poll_s)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def serve(tmp_path, store_factory):
    """Start ``aura-uplink serve`` child processes; any still running are stopped afterwards
    (before the store's schema is dropped: this fixture depends on the store's)."""
    started: list[ServeProcess] = []

    def start(config_path: Path, failpoints: str | None = None) -> ServeProcess:
        log = tmp_path / f"serve-{len(started) + 1}.log"
        process = ServeProcess(config_path, log, failpoints=failpoints)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def settle(store: Store, timeout: float = 15.0) -> dict[str, int]:
    """Wait until nothing is pending or in flight; nothing may have been dead-lettered."""
    events = wait_until(lambda: settled(store), timeout, what="every event delivered")
    assert events["dead"] == 0, events
    return events


def assert_short_lease(store: Store) -> None:
    """The event a killed process had in flight is leased for at most LEASE_S from now."""
    (row,) = store.list_events("in_flight")
    assert row.lease_until is not None and row.lease_until - time.time() <= LEASE_S, row


def settle_soon_after_restart(store: Store, restarted: float) -> None:
    """Recovery in seconds: everything delivered within RECOVERY_S of the restart (monotonic),
    not after a long lease."""
    settle(store, timeout=RECOVERY_S + 10)
    took = time.monotonic() - restarted
    assert took < RECOVERY_S, f"recovered {took:.1f} s after the restart (lease {LEASE_S:g} s)"


def assert_each_key_sent_once(sim) -> None:
    """No idempotency key reached AURA successfully twice (no double delivery)."""
    keys = Counter(entry["idempotency_key"] for entry in aura_posts(sim, ok=True))
    assert keys and max(keys.values()) == 1, keys.most_common(3)


def post_or_connection_error(url: str, body: dict) -> requests.Response | None:
    """A callback to a process that may die before it answers: None if it did."""
    try:
        return post_callback(url, body)
    except requests.ConnectionError:
        return None


# -- 1, 2, 3: deduplication ----------------------------------------------------------------------


def test_1_same_callback_twice_is_stored_once_and_posted_once(start_app, sim):
    server = start_app()
    body = sigfox_body(seq=101)

    first = post_callback(server.url, body)
    second = post_callback(server.url, body)  # Sigfox retrying after a slow 2xx
    settle(server.store)
    late = post_callback(server.url, body)  # and once more, after delivery

    assert [r.status_code for r in (first, second, late)] == [200, 200, 200]
    answers = [r.json()["status"] for r in (first, second, late)]
    assert answers == ["stored", "duplicate", "duplicate"]
    assert len({r.json()["uplink_id"] for r in (first, second, late)}) == 1
    assert len(server.store.list_uplinks()) == 1
    assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1
    assert len(aura_posts(sim)) == 2  # the callout and the battery level, each once
    assert sim.state.new_callouts_created(DEVICE) == 1


def test_a_press_goes_out_on_its_commit_not_on_the_next_poll(start_app, sim):
    server = start_app(poll_s=60.0)  # only the ingest's wake-up can make this fast

    post_callback(server.url, sigfox_body(seq=1))

    wait_until(
        lambda: aura_posts(sim, message_type=NEW_CALLOUT, ok=True),
        timeout=5.0,
        what="the callout, long before the worker's next poll (60 s)",
    )


def test_1_same_callback_many_times_at_once_is_stored_once(start_app, sim):
    server = start_app()
    body = sigfox_body(seq=102)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post_callback(server.url, body), range(8)))

    assert [r.status_code for r in responses] == [200] * 8
    assert sorted(r.json()["status"] for r in responses) == ["duplicate"] * 7 + ["stored"]
    settle(server.store)
    assert len(server.store.list_uplinks()) == 1
    assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1
    assert_each_key_sent_once(sim)


ADVANCED_EXTRA = {
    "lqi": "GOOD",
    "linkQuality": 2,
    "operatorName": "SIGFOX_South_Africa",
    "countryCode": 710,
    "duplicates": [{"bsId": "0A1B", "nbRep": 3, "rssi": -120.5, "snr": 12.25}],
    "computedLocation": {"lat": -26.2, "lng": 28.04, "radius": 1200, "source": 2, "status": 1},
}


@pytest.mark.parametrize("advanced_first", [False, True], ids=["uplink-first", "advanced-first"])
def test_2_uplink_and_data_advanced_of_one_message_open_one_callout(start_app, sim, advanced_first):
    server = start_app()
    uplink = ("/sigfox/uplink", sigfox_body(seq=200))
    advanced = ("/sigfox/advanced", sigfox_body(seq=200, **ADVANCED_EXTRA))
    order = [advanced, uplink] if advanced_first else [uplink, advanced]

    answers = [post_callback(server.url, body, path=path) for path, body in order]
    settle(server.store)

    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "stored")] * 2
    posts = aura_posts(sim, ok=True)
    kinds = [entry["body"]["message_type"] for entry in posts]
    assert kinds.count(NEW_CALLOUT) == 1, kinds
    assert kinds.count(LOCATION_UPDATED) == 1, kinds
    assert kinds.index(NEW_CALLOUT) < kinds.index(LOCATION_UPDATED)
    update = posts[kinds.index(LOCATION_UPDATED)]["body"]["body"]
    assert update == {
        "latitude": -26.2, "longitude": 28.04, "accuracy": 1200, "sequenceNumber": "200"
    }  # fmt: skip
    assert sim.state.new_callouts_created(DEVICE) == 1
    # Sigfox retrying either callback changes nothing.
    for path, body in order:
        assert post_callback(server.url, body, path=path).json()["status"] == "duplicate"
    time.sleep(0.2)
    assert len(aura_posts(sim)) == len(posts)


def test_3_wrapped_sequence_number_at_a_new_time_is_a_new_press(start_app, sim):
    server = start_app()

    first = post_callback(server.url, sigfox_body(seq=7, time=T0))
    cancel = post_callback(server.url, sigfox_body(data=CANCEL, seq=8, time=T0 + 10))
    settle(server.store)
    # Days later the 12-bit counter came round to 7 again: same (device, seqNumber).
    again = post_callback(server.url, sigfox_body(seq=7, time=T0 + 3 * 86400))
    settle(server.store)

    assert [r.json()["status"] for r in (first, cancel, again)] == ["stored"] * 3
    assert len(server.store.list_uplinks()) == 3
    callouts = aura_posts(sim, message_type=NEW_CALLOUT, ok=True)
    assert len(callouts) == 2
    assert callouts[0]["idempotency_key"] != callouts[1]["idempotency_key"]
    assert sim.state.new_callouts_created(DEVICE) == 2
    assert_each_key_sent_once(sim)


# -- 6, 8, 9: SIGKILL at the worst moments ------------------------------------------------------


@pytest.mark.slow
def test_6_killed_after_the_commit_before_the_answer(service_toml, sim, serve):
    path = service_toml(aura_url=sim.url)
    body = sigfox_body(seq=300)
    first = serve(path, failpoints="after-ingest-commit")

    with pytest.raises(requests.ConnectionError):
        post_callback(first.url, body)

    assert first.wait_exit() == -signal.SIGKILL
    store = open_store(read_config(path))
    try:
        stored = store.list_uplinks()
        assert len(stored) == 1  # committed, though the sender never heard so
        assert aura_posts(sim) == []
        second = serve(path)  # restarted without the failpoint
        retry = post_callback(second.url, body)  # Sigfox retries a failed callback
        assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
        assert retry.json()["uplink_id"] == stored[0].id
        settle(store)
    finally:
        store.close()
    assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1
    assert len(aura_posts(sim, message_type=BATTERY_INFO)) == 1
    assert sim.state.new_callouts_created(DEVICE) == 1


@pytest.mark.slow
def test_8_killed_after_aura_answered_before_marking_delivered(service_toml, serve):
    state = SimState(CLIENT_ID, CLIENT_SECRET, honour_idempotency_keys=True)
    with run_simulator("127.0.0.1", 0, state) as sim:
        path = service_toml(aura_url=sim.url, lease_s=LEASE_S)
        body = sigfox_body(seq=800)
        first = serve(path, failpoints="after-send")

        # The worker may die before or after this answer is written: either is a crash.
        post_or_connection_error(first.url, body)

        assert first.wait_exit() == -signal.SIGKILL
        assert len(aura_posts(sim, message_type=NEW_CALLOUT, ok=True)) == 1
        store = open_store(read_config(path))
        try:
            assert store.status()["events"]["in_flight"] == 1  # AURA has it; we don't know
            assert_short_lease(store)
            second = serve(path)
            restarted = time.monotonic()
            retry = post_callback(second.url, body)
            assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
            # The short lease lapses and the event is claimed again within seconds.
            settle_soon_after_restart(store, restarted)
            assert store.status()["events"]["in_flight"] == 0
        finally:
            store.close()
        posts = aura_posts(sim, message_type=NEW_CALLOUT)
        assert len(posts) == 2
        assert posts[0]["idempotency_key"] == posts[1]["idempotency_key"]
        assert posts[0]["raw_body"] == posts[1]["raw_body"]
        assert [entry["committed"] for entry in posts] == [True, False]  # a replay at AURA
        assert sim.state.new_callouts_created(DEVICE) == 1
        assert len(aura_posts(sim, message_type=BATTERY_INFO)) == 1


@pytest.mark.slow
def test_8_killed_after_the_receipt_aura_sees_the_event_once(service_toml, serve):
    """The same kill one step later: AURA's answer was written down as a delivery receipt
    (webhook/delivery/receipts.py) before the store recorded it, so the restarted process
    records the receipt instead of sending the event again."""
    state = SimState(CLIENT_ID, CLIENT_SECRET)
    with run_simulator("127.0.0.1", 0, state) as sim:
        path = service_toml(aura_url=sim.url, lease_s=LEASE_S)
        body = sigfox_body(seq=810)
        first = serve(path, failpoints="after-receipt")

        post_or_connection_error(first.url, body)

        assert first.wait_exit() == -signal.SIGKILL
        store = open_store(read_config(path))
        try:
            assert store.status()["events"]["in_flight"] == 1  # the store never heard
            serve(path)
            restarted = time.monotonic()
            settle_soon_after_restart(store, restarted)
            delivered = store.list_events("delivered")
            (alert,) = [row for row in delivered if row.action == NEW_CALLOUT]
            assert "calloutId" in (alert.response or ""), alert.response  # AURA's answer, kept
        finally:
            store.close()
        assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1  # sent once, not twice
        assert sim.state.new_callouts_created(DEVICE) == 1


@pytest.mark.slow
def test_9_killed_after_claiming_before_sending(service_toml, sim, serve):
    path = service_toml(aura_url=sim.url, lease_s=LEASE_S)
    body = sigfox_body(seq=900)
    first = serve(path, failpoints="after-claim")

    post_or_connection_error(first.url, body)

    assert first.wait_exit() == -signal.SIGKILL
    assert aura_posts(sim) == []
    store = open_store(read_config(path))
    try:
        assert store.status()["events"]["in_flight"] == 1  # claimed by a dead worker
        assert_short_lease(store)
        second = serve(path)
        restarted = time.monotonic()
        retry = post_callback(second.url, body)
        assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
        settle_soon_after_restart(store, restarted)
        events = store.status()["events"]
    finally:
        store.close()
    assert events["in_flight"] == 0
    assert events["delivered"] == 2
    assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1
    assert len(aura_posts(sim)) == 2
    assert sim.state.new_callouts_created(DEVICE) == 1


# -- 12: AURA hangs ------------------------------------------------------------------------------


def test_12_ingest_stays_fast_while_aura_hangs(start_app, sim):
    server = start_app(timeout_s=0.5, workers=2)
    sim.state.hang_next(5.0, count=1000)

    post_callback(server.url, sigfox_body(device="0000AAAA", seq=1))
    wait_until(lambda: aura_posts(sim), what="the first request to hang at AURA")
    latencies = []
    for n in range(20):
        body = sigfox_body(device=f"0001{n:04X}", seq=n, data=ALERT_NO_FIX)
        started = time.perf_counter()
        response = post_callback(server.url, body, timeout=5.0)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200

    def hanging() -> list[dict]:
        found = [entry for entry in aura_posts(sim) if entry["fault"] == "hang 5s"]
        return found if len(found) >= 2 else []

    hung = wait_until(hanging, what="both workers stuck on a hanging AURA")

    assert sim.state.pending_faults(), "AURA was still hanging when the last ingest ended"
    assert max(latencies) < 1.0, (
        f"ingest while AURA hangs: max {max(latencies) * 1000:.0f} ms, "
        f"median {statistics.median(latencies) * 1000:.0f} ms"
    )
    sim.state.clear_faults()  # AURA recovers: everything goes out, once
    settle(server.store, timeout=20)
    assert len(aura_posts(sim, message_type=NEW_CALLOUT, ok=True)) == 21
    assert_each_key_sent_once(sim)
    # The timed-out attempts were retried with the key they first had.
    hung_keys = {entry["idempotency_key"] for entry in hung}
    delivered_keys = {entry["idempotency_key"] for entry in aura_posts(sim, ok=True)}
    assert hung_keys <= delivered_keys


# -- 17: concurrency -----------------------------------------------------------------------------


def _flood(urls: list[str], threads: int, per_thread: int) -> list[tuple[str, int, str]]:
    """Each thread sends ``per_thread`` distinct presses, each followed by its retry (to the
    next URL, so a retry may reach the other process); returns (dedup key, status, answer)."""
    results: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        session_results = []
        for n in range(per_thread):
            device = f"{thread:02X}{n:06X}"
            body = sigfox_body(device=device, seq=n, data=ALERT_NO_FIX)
            for attempt in range(2):
                url = urls[(thread + n + attempt) % len(urls)]
                response = post_callback(url, body, timeout=HTTP_TIMEOUT * 2)
                answer = response.json().get("status", "") if response.status_code == 200 else ""
                session_results.append((f"{device}:{n}", response.status_code, answer))
        with lock:
            results.extend(session_results)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, range(threads)))
    return results


def _check_flood(results: list[tuple[str, int, str]], expected: int) -> None:
    statuses = Counter(status for _, status, _ in results)
    assert statuses == {200: 2 * expected}, statuses
    stored = Counter(key for key, _, answer in results if answer == "stored")
    assert len(stored) == expected and set(stored.values()) == {1}


def test_17_sixteen_threads_at_once(start_app, sim, caplog):
    server = start_app(workers=4, threads=8)

    results = _flood([server.url], threads=16, per_thread=8)

    _check_flood(results, 16 * 8)
    keys = [u.record.dedup_key for u in server.store.list_uplinks(limit=1000)]
    assert len(keys) == len(set(keys)) == 16 * 8
    settle(server.store, timeout=30)
    assert len(aura_posts(sim, message_type=NEW_CALLOUT, ok=True)) == 16 * 8
    assert_each_key_sent_once(sim)
    assert "database is locked" not in caplog.text


@pytest.mark.slow
def test_17_two_serve_processes_on_one_data_dir(service_toml, sim, serve):
    path = service_toml(aura_url=sim.url, workers=2)
    first, second = serve(path), serve(path)

    results = _flood([first.url, second.url], threads=16, per_thread=4)

    _check_flood(results, 16 * 4)
    store = open_store(read_config(path))
    try:
        keys = [u.record.dedup_key for u in store.list_uplinks(limit=1000)]
        assert len(keys) == len(set(keys)) == 16 * 4
        settle(store, timeout=30)
    finally:
        store.close()
    assert len(aura_posts(sim, message_type=NEW_CALLOUT, ok=True)) == 16 * 4
    assert_each_key_sent_once(sim)  # the two workers never claimed the same event
    for process in (first, second):
        log = process.log()
        assert "database is locked" not in log
        assert "Traceback" not in log


# -- 19, 20: authentication and size -------------------------------------------------------------


@sqlite_only
def test_19_bad_secrets_get_401_nothing_stored_and_compare_digest_decides(start_app, monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real_compare = hmac.compare_digest

    def recording_compare(a, b):
        calls.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(webhook.http.auth.hmac, "compare_digest", recording_compare)
    server = start_app(aura_url=None)  # nothing else in this process compares secrets
    changed = SIGFOX_SECRET[:-1] + chr(ord(SIGFOX_SECRET[-1]) ^ 1)  # one byte changed
    wrong_headers = {
        "missing": {},
        "wrong secret": {"Authorization": "Bearer not-the-secret"},
        "one byte changed": {"Authorization": f"Bearer {changed}"},
        "another source's secret": {"Authorization": f"Bearer {TTN_SECRET}"},
        "no Bearer scheme": {"Authorization": SIGFOX_SECRET},
        "secret with a suffix": {"Authorization": f"Bearer {SIGFOX_SECRET}x"},
    }

    for route in SIGFOX_ROUTES:
        for name, headers in wrong_headers.items():
            body = sigfox_body(seq=19)
            response = post_callback(server.url, body, path=route, secret=None, headers=headers)
            assert response.status_code == 401, (route, name, response.status_code)
            assert "error" in response.json()

    assert server.store.list_uplinks() == []
    assert server.store.list_events() == []
    expected = f"Bearer {SIGFOX_SECRET}".encode()
    assert len(calls) == len(SIGFOX_ROUTES) * len(wrong_headers)
    assert {b for _, b in calls} == {expected}
    ok = post_callback(server.url, sigfox_body(seq=19))
    assert ok.status_code == 200
    assert calls[-1] == (expected, expected)


def _body_of(size: int, seq: int) -> bytes:
    """A JSON callback body of exactly ``size`` bytes."""
    body = sigfox_body(seq=seq, padding="")
    body["padding"] = "x" * (size - len(json.dumps(body).encode()))
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def _post_raw(url: str, data) -> requests.Response:
    headers = {"Authorization": f"Bearer {SIGFOX_SECRET}", "Content-Type": "application/json"}
    return requests.post(url + "/sigfox/uplink", data=data, headers=headers, timeout=HTTP_TIMEOUT)


def _check_body_cap(url: str, limit: int, stored: Callable[[], list]) -> None:
    assert _post_raw(url, _body_of(limit + 1, seq=1)).status_code == 413
    assert _post_raw(url, _body_of(4 * limit, seq=2)).status_code == 413

    def chunked():  # no Content-Length: the server must stop at the cap, not read it all
        yield b'{"device": "1A2B3C4D", "time": 1767225600, "data": "0300", "padding": "'
        for _ in range(64):
            yield b"x" * 1024
        yield b'"}'

    try:
        status = _post_raw(url, chunked()).status_code
    except requests.ConnectionError:
        status = None  # refused mid-body: also a rejection
    assert status in (413, None)
    assert stored() == []
    # The cap is inclusive: a body of exactly max_body_bytes is accepted.
    assert _post_raw(url, _body_of(limit, seq=3)).status_code == 200
    assert len(stored()) == 1


@sqlite_only
def test_20_oversized_bodies_get_413_and_nothing_is_stored(start_app):
    server = start_app(max_body_bytes=2048)

    _check_body_cap(server.url, 2048, server.store.list_uplinks)


@pytest.mark.slow
@sqlite_only
def test_20_the_serve_command_caps_bodies_the_same_way(service_toml, serve):
    path = service_toml(aura_url=None, max_body_bytes=2048)
    process = serve(path)
    store = open_store(read_config(path))
    try:
        _check_body_cap(process.url, 2048, store.list_uplinks)
    finally:
        store.close()


# -- 21: undecodable uplinks ---------------------------------------------------------------------

STRICT_TEMPLATES = """
[templates.reference]
device_type_id = 1
model = "aura-reference"
[templates.reference.match]
sigfox_device_types = ["AAAA0001"]
"""
FIXED_TEMPLATES = STRICT_TEMPLATES.replace('["AAAA0001"]', '["AAAA0001", "BBBB0002"]')


def test_21_undecodable_uplinks_are_kept_logged_and_replayable(
    service_toml, start_app, sim, caplog
):
    caplog.set_level(logging.INFO)
    server = start_app(templates=STRICT_TEMPLATES)
    bad = {
        "bad hex": sigfox_body(device="BAD00001", data="01ZZ", seq=1, deviceTypeId="AAAA0001"),
        "unknown type": sigfox_body(device="BAD00002", data="0900", seq=2, deviceTypeId="AAAA0001"),
        "no template": sigfox_body(device="BAD00003", data=ALERT, seq=3, deviceTypeId="BBBB0002"),
    }

    answers = {name: post_callback(server.url, body) for name, body in bad.items()}
    retried = post_callback(server.url, bad["no template"])

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(bad, 200)
    assert retried.json()["status"] == "duplicate"
    stored = {u.record.device: u for u in server.store.list_uplinks()}
    assert {u.status for u in stored.values()} == {"undecodable"}
    assert "not hex" in stored["BAD00001"].error
    assert "unknown message_type" in stored["BAD00002"].error
    assert "no template matches" in stored["BAD00003"].error
    assert stored["BAD00003"].record.raw == bad["no template"]  # raw kept for replay
    assert server.store.list_events() == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "undecodable" in r.msg]
    assert len(errors) == 3  # once each, not again for the retry
    assert {r.name for r in errors} == {"aura_uplink.webhook"}

    # Onboarding fixed: the device type is added to the template, then the uplinks replayed.
    path = service_toml(aura_url=sim.url, templates=FIXED_TEMPLATES)
    replay = run_cli("store", "replay", "--undecodable", "--config", str(path))

    assert replay.returncode == 1, replay.stderr  # two are still undecodable, and say so
    assert "1 uplink(s) decoded, 2 still undecodable" in replay.stdout
    callout = wait_until(
        lambda: aura_posts(sim, device_id="BAD00003", message_type=NEW_CALLOUT, ok=True),
        what="the replayed alert at AURA",
    )
    assert callout[0]["body"]["location"]["sequenceNumber"] == "3"
    settle(server.store)
    assert stored["BAD00003"].id in {u.id for u in server.store.list_uplinks(status="decoded")}
    again = run_cli("store", "replay", "--undecodable", "--config", str(path))
    assert "0 uplink(s) decoded, 2 still undecodable" in again.stdout
    time.sleep(0.3)
    assert len(aura_posts(sim, message_type=NEW_CALLOUT)) == 1


# -- 23: ordering under failure ------------------------------------------------------------------


def test_23_cancel_waits_for_the_alert_that_aura_keeps_failing(start_app, sim):
    server = start_app()
    sim.state.fail_next(500, count=3)

    alert = post_callback(server.url, sigfox_body(seq=700))
    cancel = post_callback(server.url, sigfox_body(data=CANCEL, seq=701, time=T0 + 5))
    settle(server.store)

    assert (alert.status_code, cancel.status_code) == (200, 200)
    sent = [(e["body"]["message_type"], e["status"]) for e in aura_posts(sim, device_id=DEVICE)]
    assert sent == [
        (NEW_CALLOUT, 500),
        (NEW_CALLOUT, 500),
        (NEW_CALLOUT, 500),
        (NEW_CALLOUT, 200),
        (BATTERY_INFO, 200),
        (CANCELLED, 200),
    ]
    keys = {e["idempotency_key"] for e in aura_posts(sim, message_type=NEW_CALLOUT)}
    assert len(keys) == 1  # every retry carried the same key
    callouts = sim.state.callouts()
    assert [c["status"] for c in callouts] == ["cancelled"]
