"""Delivery to AURA over real HTTP on 127.0.0.1, against the project's AURA simulator, with the
faults of docs/reliability.md §6.2 injected (500s, Retry-After, hangs, resets, 401, 400, answers
lost after AURA acted, outages longer than the retry budget).

Most tests drive :meth:`Deliverer.run_once` with a settable clock, so backoff and Retry-After are
checked exactly without sleeping; the threaded tests use the real clock and small numbers. Every
test with a store runs on SQLite and on PostgreSQL (the ``store_factory`` fixture,
tests/pg_support.py).
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pg_support import StoreFactory

from decoders.aura import CALLOUT_LOCATION_UPDATED, NEW_CALLOUT, DeviceEvent
from webhook.aurasim import SimState, run_simulator
from webhook.config import AuraConfig, DeliveryConfig, ServiceConfig
from webhook.delivery.aura_client import AuraClient, Delivered, Permanent, Retry, parse_retry_after
from webhook.delivery.leases import LeaseKeeper
from webhook.delivery.worker import Deliverer, full_jitter
from webhook.errors import CannotStart, StoreUnavailable
from webhook.service import build_deliverer
from webhook.store import Plan, SqliteStore, Store, UplinkRecord

T0 = 1_800_000_000.0
CLIENT_ID, CLIENT_SECRET = "aura-sim-client", "aura-sim-secret"
DELIVERY_LOG = "webhook.delivery.worker"


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def event(device_id: str, seq: int, action: int = NEW_CALLOUT, lat: float = -26.1) -> DeviceEvent:
    place = "location" if action == NEW_CALLOUT else "body"
    payload = {"latitude": lat, "longitude": 28.05, "sequenceNumber": str(seq)}
    return DeviceEvent(1, device_id, action, action, place, payload)


def ingest(store: Store, key: str, *events: DeviceEvent) -> tuple[int, ...]:
    received = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    plan = Plan("decoded", events=[(e.device_id, e) for e in events])
    rec = UplinkRecord("sigfox", key, events[0].device_id, received, b"\x01", {"k": key})
    return store.ingest(rec, lambda _reader: plan).event_ids


@pytest.fixture
def sim():
    with run_simulator(host="127.0.0.1", port=0, state=SimState(CLIENT_ID, CLIENT_SECRET)) as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_factory: StoreFactory, clock: Clock) -> Store:
    """This test's store, on each engine in turn (closed by the factory)."""
    return store_factory(clock)


@pytest.fixture
def client(sim):
    c = AuraClient(sim.url, CLIENT_ID, CLIENT_SECRET, timeout=(1.0, 1.0))
    yield c
    c.close()


def deliverer(store, client, clock, **kw) -> Deliverer:
    kw = {"base_backoff_s": 0.5, "max_backoff_s": 4.0, "rng": random.Random(7), **kw}
    return Deliverer(store, client, clock=clock, **kw)


def drain(d: Deliverer, store: Store, clock: Clock, max_steps: int = 100) -> int:
    """Run the worker until nothing is open, jumping the clock to each next due time."""
    steps = 0
    while steps < max_steps:
        steps += 1
        if d.run_once():
            continue
        due = store.next_due()
        if due is None:
            return steps
        clock.t = max(clock.t, due)
    raise AssertionError("the outbox did not drain")


def answered(sim, status: int = 200) -> list[dict]:
    return [r for r in sim.state.requests() if r["status"] == status]


# -- the client on its own ----------------------------------------------------------------------


def test_parse_retry_after_both_forms_and_malformed() -> None:
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    http_date = "Tue, 14 Nov 2023 22:15:20 GMT"  # now + 120 s
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(http_date, now) == pytest.approx(120.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now) == 0.0  # in the past
    for bad in (None, "", "soon", "-5", "1.5", "30s", "Tue, 99 Nov 2023 25:00:00 GMT"):
        assert parse_retry_after(bad, now) is None, bad


def test_full_jitter_stays_within_the_capped_exponential() -> None:
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(60.0, 0.5 * 2**attempt)
        samples = [full_jitter(attempt, 0.5, 60.0, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8, "full jitter spreads over the whole window"


def test_send_classifies_and_caches_the_token(sim, client) -> None:
    body = event("A1B2C3D4", 46).to_json()
    first = client.send(body, "key-1")
    assert isinstance(first, Delivered) and first.status == 200
    assert json.loads(first.body)["resolvedAuraEvent"]["eventTypes"] == "NEW_CALLOUT"
    assert isinstance(client.send(body, "key-2"), Delivered)
    assert [t["status"] for t in sim.state.token_requests()] == [200], "one token, cached"
    (req, _) = sim.state.requests()
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["idempotency_key"] == "key-1" and req["raw_body"] == body

    sim.state.fail_next(422)
    rejected = client.send(body, "key-3")
    assert isinstance(rejected, Permanent) and rejected.status == 422
    assert "422" in rejected.error and "Unprocessable" in rejected.error


def test_wrong_credentials_are_a_retry_not_a_dead_letter(sim, caplog) -> None:
    bad = AuraClient(sim.url, CLIENT_ID, "wrong", timeout=(1.0, 1.0))
    with caplog.at_level(logging.ERROR):
        outcome = bad.send(event("A", 1).to_json(), "k")
    assert isinstance(outcome, Retry) and "401" in outcome.error
    assert any(
        "AURA token unavailable" in r.message and "HTTP 401" in r.message for r in caplog.records
    )
    assert sim.state.requests() == [], "no event is sent without a token"


def test_static_bearer_token_needs_no_token_endpoint(sim, caplog) -> None:
    fixed = AuraClient(sim.url, static_token=sim.state.issue_token(), timeout=(1.0, 1.0))
    assert isinstance(fixed.send(event("A", 1).to_json(), "k1"), Delivered)
    sim.state.fail_next(401)  # a fixed token cannot be refreshed: retry later, loudly
    with caplog.at_level(logging.ERROR):
        assert fixed.send(event("A", 2).to_json(), "k2") == Retry("unauthorized", None, 401)
    assert sim.state.token_requests() == []
    assert any("401 even with a fresh token" in r.message for r in caplog.records)


def test_events_reuse_a_kept_alive_connection_and_replace_one_the_server_closed(
    sim, client
) -> None:
    body = event("A1B2C3D4", 46).to_json()
    kept = sim._server.kept_connections  # the simulator's open connections, server side
    assert isinstance(client.send(body, "k1"), Delivered)
    opened = len(kept)  # the token exchange's connection and the events' one
    for n in range(2, 6):
        assert isinstance(client.send(body, f"k{n}"), Delivered)
    assert len(kept) == opened, "one connection for every event, not one each"
    for conn in list(kept):  # AURA's load balancer closes idle connections
        conn.shutdown(socket.SHUT_RDWR)
    assert isinstance(client.send(body, "k6"), Delivered), "noticed before use, not a failure"
    assert [r["idempotency_key"] for r in sim.state.requests()] == [f"k{n}" for n in range(1, 7)]


def test_a_connection_that_breaks_under_a_request_is_a_retry_and_the_next_one_is_new(
    sim, client
) -> None:
    body = event("A1B2C3D4", 46).to_json()
    assert isinstance(client.send(body, "k1"), Delivered)
    sim.state.reset_connection_next()
    outcome = client.send(body, "k2")
    assert isinstance(outcome, Retry) and "ConnectionError" in outcome.error
    assert isinstance(client.send(body, "k2"), Delivered)


def test_connection_refused_is_a_retry() -> None:
    with run_simulator() as gone:
        url = gone.url
    outcome = AuraClient(url, static_token="t", timeout=(0.5, 0.5)).send("{}", "k")
    assert isinstance(outcome, Retry) and "ConnectionError" in outcome.error


# -- retries, backoff, Retry-After ---------------------------------------------------------------


def test_500s_then_200_is_delivered_once_after_n_plus_1_attempts(sim, store, client, clock):
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 46))
    sim.state.fail_next(500, count=3)
    d = deliverer(store, client, clock)
    for attempt in range(1, 4):  # each failure backs off within the capped exponential window
        assert d.run_once() == 1
        row = store.get_event(eid)
        assert (row.state, row.attempts) == ("pending", attempt)
        assert 0 <= row.next_attempt_at - clock.t <= min(4.0, 0.5 * 2 ** (attempt - 1))
        clock.t = row.next_attempt_at
    assert d.run_once() == 1
    row = store.get_event(eid)
    assert (row.state, row.attempts) == ("delivered", 4)
    assert json.loads(row.response)["body"]["resolvedAuraEvent"]["eventTypes"] == "NEW_CALLOUT"
    requests = sim.state.requests()
    assert [r["status"] for r in requests] == [500, 500, 500, 200]
    assert len({r["idempotency_key"] for r in requests}) == 1
    assert len({r["raw_body"] for r in requests}) == 1
    assert sim.state.new_callouts_created("A1B2C3D4") == 1


@pytest.mark.parametrize(
    ("status", "http_date", "minimum"), [(503, False, 30.0), (429, True, 29.0), (503, True, 29.0)]
)
def test_retry_after_is_respected(sim, store, client, clock, status, http_date, minimum):
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.fail_next(status, retry_after=30, http_date=http_date)
    d = deliverer(store, client, clock, max_backoff_s=60.0)
    d.run_once()
    wait = store.get_event(eid).next_attempt_at - clock.t
    # HTTP-date has one-second resolution (the simulator rounds up): 29 s < wait <= 31 s.
    assert minimum <= wait <= 31.0
    clock.t += minimum - 0.5
    assert d.run_once() == 0, "nothing may be sent before Retry-After"
    clock.t = store.get_event(eid).next_attempt_at
    assert d.run_once() == 1 and store.get_event(eid).state == "delivered"


@pytest.mark.parametrize(("retry_after", "http_date"), [(86400, False), (7 * 86400, True)])
def test_retry_after_is_capped_at_max_backoff(sim, store, client, clock, retry_after, http_date):
    """A Retry-After of a day (or an HTTP date a week ahead) must not park a panic that long."""
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.fail_next(503, retry_after=retry_after, http_date=http_date)
    d = deliverer(store, client, clock, max_backoff_s=20.0)
    d.run_once()
    row = store.get_event(eid)
    assert row.state == "pending" and row.next_attempt_at - clock.t == pytest.approx(20.0)
    clock.t = row.next_attempt_at
    assert d.run_once() == 1 and store.get_event(eid).state == "delivered"


def test_malformed_retry_after_falls_back_to_the_backoff(sim, store, client, clock):
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.fail_next(503, retry_after="in a little while")
    deliverer(store, client, clock).run_once()
    row = store.get_event(eid)
    assert row.state == "pending" and 0 <= row.next_attempt_at - clock.t <= 0.5


# -- tokens ------------------------------------------------------------------------------------


def test_401_refreshes_the_token_once_without_spending_an_attempt(sim, store, client, clock):
    ingest(store, "k1", event("A", 1))
    d = deliverer(store, client, clock)
    d.run_once()  # fetches the first token
    sim.state.fail_next(401)  # the token "expired" (the simulator revokes it)
    (eid,) = ingest(store, "k2", event("B", 1))
    assert d.run_once() == 1
    row = store.get_event(eid)
    assert (row.state, row.attempts) == ("delivered", 1)
    assert [t["status"] for t in sim.state.token_requests()] == [200, 200]
    assert [r["status"] for r in sim.state.requests()] == [200, 401, 200]


def test_repeated_401_is_retried_later_and_logged(sim, store, client, clock, caplog):
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.fail_next(401, count=2)
    d = deliverer(store, client, clock)
    with caplog.at_level(logging.ERROR):
        d.run_once()
    row = store.get_event(eid)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "unauthorized")
    assert any(r.levelno == logging.ERROR and "fresh token" in r.message for r in caplog.records)
    drain(d, store, clock)
    assert store.get_event(eid).state == "delivered"


# -- permanent failures and dead letters ----------------------------------------------------------


def test_400_dead_letters_at_once_with_a_critical_log(sim, store, client, clock, caplog):
    bad, panic = ingest(
        store,
        "k1",
        event("A1B2C3D4", 7, CALLOUT_LOCATION_UPDATED, lat=123.0),  # AURA rejects it: lat > 90
        event("A1B2C3D4", 8),
    )
    d = deliverer(store, client, clock)
    with caplog.at_level(logging.INFO, logger=DELIVERY_LOG):
        drain(d, store, clock)
    dead = store.get_event(bad)
    assert (dead.state, dead.attempts) == ("dead", 1)
    assert "HTTP 400" in dead.last_error and "latitude" in dead.last_error
    assert [r["status"] for r in sim.state.requests()] == [400, 200], "no retry storm"
    assert store.get_event(panic).state == "delivered", "a dead event must not stall the panic"
    (critical,) = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    for needle in ("device=A1B2C3D4", f"event={bad}", "status=400", "latitude", '"message_type"'):
        assert needle in critical.getMessage()


def test_outage_longer_than_the_budget_alerts_first_then_dead_letters_then_replays_once(
    sim, store, client, clock, caplog
):
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 46))
    sim.state.fail_next(503, count=50, retry_after=1)  # every try waits >= 1 s: 5 tries > 2.5 s
    d = deliverer(store, client, clock, max_attempts=5, alert_after_s=2.5)
    with caplog.at_level(logging.WARNING, logger=DELIVERY_LOG):
        drain(d, store, clock)
    row = store.get_event(eid)
    assert (row.state, row.attempts) == ("dead", 5)
    alert, dead = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (alert.levelno, dead.levelno) == (logging.ERROR, logging.CRITICAL), "alert first"
    assert "panic event undelivered for" in alert.getMessage()
    assert "exhausted" in dead.getMessage() and "device=A1B2C3D4" in dead.getMessage()
    assert len(sim.state.requests()) == 5

    sim.state.clear_faults()
    assert store.replay_dead() == 1
    drain(d, store, clock)
    row = store.get_event(eid)
    assert (row.state, row.attempts) == ("delivered", 1)
    assert len(answered(sim, 200)) == 1
    assert sim.state.new_callouts_created("A1B2C3D4") == 1
    assert len({r["idempotency_key"] for r in sim.state.requests()}) == 1


def test_an_event_stuck_behind_a_long_retry_after_is_alerted_by_the_scan(
    sim, store, client, clock, caplog
):
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.fail_next(503, retry_after=600)
    d = deliverer(store, client, clock, alert_after_s=30)
    d.run_once()
    clock.t += 31  # nothing is due, but the dispatcher's scan still notices the age
    with caplog.at_level(logging.ERROR, logger=DELIVERY_LOG):
        d.raise_alerts()
        d.raise_alerts()
    (alert,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "panic event undelivered for 31 s" in alert.getMessage()
    assert f"event={eid}" in alert.getMessage()


# -- ambiguous failures: hang, reset, answer lost after AURA acted --------------------------------


def test_hang_times_out_and_is_retried_with_the_same_key(sim, store, clock):
    client = AuraClient(sim.url, CLIENT_ID, CLIENT_SECRET, timeout=(1.0, 0.3))
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.hang_next(3.0)
    d = deliverer(store, client, clock)
    started = time.monotonic()
    d.run_once()
    assert time.monotonic() - started < 2.0, "the client timeout must bound the attempt"
    assert "timeout" in store.get_event(eid).last_error
    drain(d, store, clock)
    keys = [r["idempotency_key"] for r in sim.state.requests()]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert store.get_event(eid).state == "delivered"
    client.close()


def test_connection_reset_is_retried(sim, store, client, clock):
    (eid,) = ingest(store, "k1", event("A", 1))
    sim.state.reset_connection_next()
    d = deliverer(store, client, clock)
    d.run_once()
    assert store.get_event(eid).state == "pending"
    drain(d, store, clock)
    assert (store.get_event(eid).state, store.get_event(eid).attempts) == ("delivered", 2)


@pytest.mark.parametrize("fault", ["status", "reset", "hang"])
def test_answer_lost_after_aura_acted_resolves_to_the_same_callout(sim, store, clock, fault):
    client = AuraClient(sim.url, CLIENT_ID, CLIENT_SECRET, timeout=(1.0, 0.3))
    {
        "status": lambda: sim.state.fail_next(502, after_commit=True),
        "reset": lambda: sim.state.reset_connection_next(after_commit=True),
        "hang": lambda: sim.state.hang_next(2.0, after_commit=True),
    }[fault]()
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 46))
    drain(deliverer(store, client, clock), store, clock)
    assert sim.state.new_callouts_created("A1B2C3D4") == 1
    (callout,) = sim.state.callouts()
    response = json.loads(store.get_event(eid).response)["body"]
    assert response["resolvedAuraEvent"]["eventResponse"]["calloutId"] == callout["calloutId"]
    assert [r["committed"] for r in sim.state.requests()] == [True, True]
    client.close()


def test_worker_killed_after_aura_answered_is_resent_after_the_lease(sim, store, client, clock):
    """Scenario 8: the POST landed, the worker died before recording it."""
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 46))
    (claimed,) = store.claim(clock.t, 30, 1)
    assert isinstance(client.send(claimed.body, claimed.idempotency_key), Delivered)
    # ... killed here. Nothing happens until the lease runs out:
    d = deliverer(store, client, clock, lease_s=30)
    clock.t += 29
    assert d.run_once() == 0
    clock.t += 1
    assert d.run_once() == 1
    assert store.get_event(eid).state == "delivered"
    assert sim.state.new_callouts_created("A1B2C3D4") == 1
    assert len({r["idempotency_key"] for r in sim.state.requests()}) == 1


class FailingVerdicts:
    """The real store (of either kind), whose recording of AURA's 2xx answers fails once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.failures = 1

    def mark_delivered_many(self, delivered):
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("the store went away")
        return self.store.mark_delivered_many(delivered)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def test_an_answer_not_recorded_is_sent_again_once_its_lease_lapses(sim, store, client, clock):
    """The store fails to record AURA's 2xx: the event stays in flight, its lease no longer
    held, and goes out again (same key) once the lease lapses, as after a kill."""
    gated = FailingVerdicts(store)
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 47))
    d = deliverer(gated, client, clock, lease_s=3)
    with pytest.raises(StoreUnavailable):
        d.run_once()
    assert d.leases.held() == {}, "nothing left renewing the lapsed claim"
    assert store.get_event(eid).state == "in_flight"
    clock.t += 3
    assert d.run_once() == 1
    assert store.get_event(eid).state == "delivered"
    keys = [r["idempotency_key"] for r in sim.state.requests()]
    assert len(keys) == 2 and len(set(keys)) == 1


# -- the threads --------------------------------------------------------------------------------


def _wait_for(predicate, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)
    return time.monotonic() - started


def test_wake_starts_delivery_at_once_not_at_the_next_poll(sim, store_factory, client):
    store = store_factory()
    d = Deliverer(store, client, workers=2, poll_s=5.0, base_backoff_s=0.01)
    d.start()
    try:
        time.sleep(0.2)  # the dispatcher found nothing and sleeps for up to poll_s
        (eid,) = ingest(store, "k1", event("A", 1))
        d.wake()
        latency = _wait_for(lambda: store.get_event(eid).state == "delivered")
        assert latency < 1.0, f"delivered after {latency:.2f} s; the poll interval is 5 s"
    finally:
        d.stop()


def test_threaded_delivery_is_exactly_once_and_in_order_per_device(sim, store_factory, client):
    store = store_factory()
    d = Deliverer(store, client, workers=4, poll_s=0.5, base_backoff_s=0.01, max_backoff_s=0.05)
    sim.state.fail_next(500, count=6)
    sim.state.reset_connection_next(count=2)
    d.start()
    try:
        ids = []
        for seq in range(6):
            for n in range(5):
                ids += ingest(store, f"D{n}:{seq}", event(f"D{n}", seq, CALLOUT_LOCATION_UPDATED))
                d.wake()
        _wait_for(lambda: store.status()["events"]["delivered"] == len(ids))
    finally:
        d.stop()
    # Location updates with no open callout: AURA's 285 (docs/aura-api.md §3.3), delivered.
    ok = answered(sim, 285)
    expected = Counter(store.get_event(i).idempotency_key for i in ids)
    assert Counter(r["idempotency_key"] for r in ok) == expected, "each event once"
    assert set(expected.values()) == {1}
    for n in range(5):  # AURA saw each device's events in order
        seqs = [
            r["body"]["body"]["sequenceNumber"] for r in ok if r["body"]["device_id"] == f"D{n}"
        ]
        assert seqs == [str(s) for s in range(6)]
    if isinstance(store, SqliteStore):
        assert store.pragma_check()["synchronous"] == 2


def test_stop_returns_promptly_and_leaves_nothing_claimed(sim, tmp_path, client):
    store = SqliteStore(tmp_path / "s.db")
    d = Deliverer(store, client, workers=2, poll_s=5.0)
    d.start()
    started = time.monotonic()
    d.stop()
    assert time.monotonic() - started < 1.0
    names = ("aura-dispatch", "aura-worker", "aura-verdicts")
    ours = [t for t in threading.enumerate() if t.name.startswith(names)]
    assert ours == []
    store.close()


# -- short leases, renewed while a send is in flight (docs/design.md §14) -----------------------


def test_a_lease_is_renewed_while_the_send_outlasts_it(sim, store_factory):
    """A send that hangs for three leases keeps its event: the other worker, polling all the
    while, never sends it again. (Without renewal it would, after one lease.)"""
    lease_s = 1.0
    stores = [store_factory() for _ in range(2)]  # two "processes" on one file (or database)
    clients = [AuraClient(sim.url, CLIENT_ID, CLIENT_SECRET, timeout=(1.0, 5.0)) for _ in stores]
    workers = [
        Deliverer(s, c, workers=2, lease_s=lease_s, poll_s=0.05, base_backoff_s=0.01)
        for s, c in zip(stores, clients, strict=True)
    ]
    sim.state.hang_next(3 * lease_s, after_commit=True)  # AURA acts, then answers 3 s later
    (eid,) = ingest(stores[0], "k1", event("A1B2C3D4", 46))
    for d in workers:
        d.start()
    try:
        _wait_for(lambda: sim.state.requests())
        time.sleep(2 * lease_s)  # two leases into the hang
        row = stores[1].get_event(eid)
        assert row.state == "in_flight" and row.claim == 1
        assert row.lease_until > row.first_attempt_at + 1.5 * lease_s, "renewed"
        _wait_for(lambda: stores[1].get_event(eid).state == "delivered", timeout=10)
    finally:
        for d in workers:
            d.stop()
        for c in clients:
            c.close()
        for s in stores:
            store_factory.release(s)
    assert len(sim.state.requests()) == 1, "sent once: the lease never lapsed mid-send"
    done = store_factory()
    assert (done.get_event(eid).claim, done.get_event(eid).attempts) == (1, 1)


def test_a_dead_workers_lapsed_lease_is_reclaimed_within_the_lease(sim, store_factory, client):
    """Scenario 9 in-process: a worker claimed and died. The survivor's dispatcher sleeps until
    the lease ends (the store's next_due counts it), not until its 30 s poll."""
    lease_s = 1.0
    store = store_factory()
    (eid,) = ingest(store, "k1", event("A1B2C3D4", 46))
    (dead,) = store.claim(time.time(), lease_s, 1)  # ... and the worker is killed here
    d = Deliverer(store, client, workers=2, lease_s=lease_s, poll_s=30.0)
    d.start()
    try:
        _wait_for(lambda: store.get_event(eid).state == "delivered", timeout=5)
    finally:
        d.stop()
    (request,) = sim.state.requests()
    waited = request["time"] - dead.lease_until
    assert 0 <= waited < 0.5, f"sent {waited:+.2f} s after the dead worker's lease ended"
    assert store.get_event(eid).claim == dead.claim + 1


def test_a_lost_lease_stops_being_renewed_and_is_reported(store, clock, caplog):
    keeper = LeaseKeeper(store, 3.0, clock=clock)
    a1, b1, c1 = (ingest(store, f"k{n}", event(f"D{n}", 1))[0] for n in range(3))
    rows = {r.id: r for r in store.claim(clock.t, 3.0, 10)}
    for row in rows.values():
        keeper.hold(row)
    clock.t += 1
    assert keeper.renew() == set()
    assert {store.get_event(i).lease_until for i in rows} == {T0 + 4}

    # c1's worker records its verdict; the renewer runs before the worker releases the row.
    assert store.mark_delivered(c1, "{}", clock.t, claim=rows[c1].claim)
    # a1 and b1's process stalls past the lease; another process claims them again.
    clock.t = T0 + 4
    again = store.claim(clock.t, 3.0, 10)
    assert {r.id for r in again} == {a1, b1}
    with caplog.at_level(logging.WARNING, logger="webhook.delivery.leases"):
        assert keeper.renew() == {a1, b1}
    assert keeper.held() == {}
    lost = [r.getMessage() for r in caplog.records]
    assert len(lost) == 2 and all("lease lost" in m for m in lost), lost
    assert {store.get_event(i).lease_until for i in (a1, b1)} == {T0 + 7}, "new owner's lease"
    assert keeper.renew() == set()


@pytest.mark.parametrize(("lease_s", "warned"), [(3.0, False), (1.0, False), (0.5, True)])
def test_serve_warns_only_about_a_lease_too_short_to_renew(tmp_path, caplog, lease_s, warned):
    config = ServiceConfig(
        aura=AuraConfig(url="http://127.0.0.1:9", client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        delivery=DeliveryConfig(lease_s=lease_s),
    )
    store = SqliteStore(tmp_path / "s.db")
    with caplog.at_level(logging.WARNING, logger="aura_uplink.serve"):
        d = build_deliverer(config, store)
    assert d is not None and d.leases.period_s == pytest.approx(lease_s / 3)
    assert ("too short to be renewed" in caplog.text) == warned, caplog.text
    with pytest.raises(CannotStart, match="lease must be > 0"):
        build_deliverer(replace(config, delivery=DeliveryConfig(lease_s=0.0)), store)
    store.close()


class CountingClaims:
    """The real store (of either kind), counting its claim transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.claims = 0

    def claim(self, now: float, lease_s: float, limit: int) -> list:
        self.claims += 1
        return self.store.claim(now, lease_s, limit)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


class GatedVerdicts:
    """The real store (of either kind), whose recording of AURA's 2xx answers waits for
    ``gate``: a commit that takes its time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.gate = threading.Event()

    def mark_delivered_many(self, delivered):
        assert self.gate.wait(10), "the test never opened the gate"
        return self.store.mark_delivered_many(delivered)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def test_a_worker_sends_on_while_its_answers_wait_for_their_commit(sim, store_factory, client):
    """AURA's 2xx is recorded off the send path: one worker goes on to another device's event
    while the answer waits for its commit; the same device's next event waits for it (FIFO)."""
    store = GatedVerdicts(store_factory())
    a1, a2 = ingest(store, "a", event("A", 1), event("A", 2, CALLOUT_LOCATION_UPDATED))
    (b1,) = ingest(store, "b", event("B", 1))
    d = Deliverer(store, client, workers=1, poll_s=0.05)
    d.start()
    try:
        _wait_for(lambda: len(sim.state.requests()) == 2)
        time.sleep(0.3)  # time enough for a third send, were A's next event claimable
        sent = [r["body"]["device_id"] for r in sim.state.requests()]
        assert sorted(sent) == ["A", "B"], sent
        assert {store.get_event(i).state for i in (a1, b1)} == {"in_flight"}
        assert store.get_event(a2).state == "pending"
        store.gate.set()
        _wait_for(lambda: store.status()["events"]["delivered"] == 3)
    finally:
        store.gate.set()
        d.stop()
    order = [(r["body"]["device_id"], r["idempotency_key"]) for r in sim.state.requests()]
    keys = {store.get_event(i).idempotency_key: i for i in (a1, a2, b1)}
    assert [keys[k] for device, k in order if device == "A"] == [a1, a2]
    assert len(order) == 3, "each event sent once"


def test_a_backlog_is_claimed_a_round_at_a_time_not_once_per_send(sim, store_factory, client):
    """Under a backlog each claim reads every open event, so the dispatcher claims one round
    more than its idle workers take (their leases renewed while queued), not one per send."""
    store = CountingClaims(store_factory())
    ids = [i for n in range(30) for i in ingest(store, f"k{n}", event(f"D{n:02}", n))]
    d = Deliverer(store, client, workers=2, poll_s=5.0)
    d.start()
    try:
        _wait_for(lambda: store.status()["events"]["delivered"] == len(ids))
    finally:
        d.stop()
    assert len(answered(sim)) == len(ids)
    assert store.claims <= len(ids) // 2, f"{store.claims} claims for {len(ids)} sends"
