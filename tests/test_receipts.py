"""Delivery receipts (webhook/delivery/receipts.py): an AURA answer written down before the store
records it is recorded after the writer dies, instead of the event going to AURA again.

Real files, real processes (a writer killed with SIGKILL), real stores (SQLite and PostgreSQL
through ``store_factory``); AURA is the project's simulator where a send is needed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pg_support import StoreFactory

from decoders.aura import NEW_CALLOUT, DeviceEvent
from webhook.aurasim import SimState, run_simulator
from webhook.delivery.aura_client import AuraClient
from webhook.delivery.receipts import Receipts
from webhook.delivery.worker import Deliverer
from webhook.store import Plan, Store, UplinkRecord

T0 = 1_800_000_000.0
CLIENT_ID, CLIENT_SECRET = "aura-sim-client", "aura-sim-secret"
REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_factory: StoreFactory, clock: Clock) -> Store:
    return store_factory(clock)


def stored_event(store: Store, key: str) -> int:
    body = {"latitude": -26.1, "longitude": 28.05, "sequenceNumber": "1"}
    event = DeviceEvent(1, key[-8:], NEW_CALLOUT, NEW_CALLOUT, "location", body)
    plan = Plan("decoded", events=[(event.device_id, event)])
    received = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    record = UplinkRecord("sigfox", key, event.device_id, received, b"\x01", {"k": key})
    (event_id,) = store.ingest(record, lambda _reader: plan).event_ids
    return event_id


def claimed(store: Store, clock: Clock, count: int) -> list:
    rows = store.claim(clock(), 3.0, count)
    assert len(rows) == count
    return rows


WRITER = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from webhook.delivery.receipts import Receipts
    receipts = Receipts(Path(sys.argv[1]))
    receipts.open()
    for item in json.loads(sys.argv[2]):
        receipts.write(item["id"], item["claim"], '{"status": 200, "calloutId": 7}', 1.8e9)
    if sys.argv[3] == "cut":  # a kill in the middle of a write: half a line at the end
        os.write(receipts._current.fd, b'{"id": 99, "cla')
    print("written", flush=True)
    if sys.argv[3] == "wait":
        sys.stdin.read()  # alive, holding its file, until the parent closes stdin
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def writer(directory: Path, rows: list, mode: str = "die") -> subprocess.Popen[str]:
    items = json.dumps([{"id": row.id, "claim": row.claim} for row in rows])
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), items, mode],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "written"
    return process


def test_receipts_of_a_killed_writer_mark_its_events_delivered(store, clock, tmp_path):
    ids = [stored_event(store, f"sigfox:A{n}") for n in range(3)]
    rows = claimed(store, clock, 3)
    process = writer(tmp_path, rows[:2], mode="cut")
    assert process.wait(10) == -signal.SIGKILL

    assert Receipts(tmp_path).recover(store) == 2
    states = {row.id: row.state for row in store.list_events()}
    assert states == {ids[0]: "delivered", ids[1]: "delivered", ids[2]: "in_flight"}
    delivered = {row.id: row for row in store.list_events("delivered")}
    assert json.loads(delivered[ids[0]].response or "{}")["calloutId"] == 7
    assert list(tmp_path.glob("*.jsonl")) == []  # recorded, so the file is gone


def test_a_living_writers_receipts_are_left_alone(store, clock, tmp_path):
    stored_event(store, "sigfox:B1")
    rows = claimed(store, clock, 1)
    process = writer(tmp_path, rows, mode="wait")
    try:
        assert Receipts(tmp_path).recover(store) == 0  # its flock says it is alive
        assert [row.state for row in store.list_events()] == ["in_flight"]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(10) == -signal.SIGKILL
    assert Receipts(tmp_path).recover(store) == 1


def test_a_receipt_never_overrides_a_newer_claim(store, clock, tmp_path):
    stored_event(store, "sigfox:C1")
    (old,) = claimed(store, clock, 1)
    process = writer(tmp_path, [old])
    process.wait(10)
    clock.t += 10  # the lease lapsed and the event was claimed again before recovery ran
    (new,) = claimed(store, clock, 1)
    assert new.claim != old.claim

    assert Receipts(tmp_path).recover(store) == 0
    assert [row.state for row in store.list_events()] == ["in_flight"]  # the new owner decides


def test_files_rotate_and_go_once_recorded(store, clock, tmp_path):
    for n in range(6):
        stored_event(store, f"sigfox:D{n}")
    rows = claimed(store, clock, 6)
    receipts = Receipts(tmp_path, rotate_bytes=200)
    receipts.open()
    tickets = [receipts.write(row.id, row.claim, '{"status": 200}', T0) for row in rows]
    assert len(set(map(id, tickets))) > 1  # rotated
    assert len(list(tmp_path.glob("*.jsonl"))) == len(set(map(id, tickets)))
    for ticket in tickets:
        receipts.recorded(ticket)
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # only the file still being written
    receipts.close()
    assert list(tmp_path.glob("*.jsonl")) == []


def test_closing_with_an_unrecorded_receipt_keeps_it_for_the_next_start(store, clock, tmp_path):
    stored_event(store, "sigfox:E1")
    (row,) = claimed(store, clock, 1)
    receipts = Receipts(tmp_path)
    receipts.open()
    receipts.write(row.id, row.claim, '{"status": 200}', T0)  # the store failed: never recorded
    receipts.close()

    assert Receipts(tmp_path).recover(store) == 1
    assert [row.state for row in store.list_events()] == ["delivered"]


def test_a_deliverer_records_a_dead_processs_receipt_before_claiming(store, clock, tmp_path):
    stored_event(store, "sigfox:F1")
    (row,) = claimed(store, clock, 1)
    process = writer(tmp_path, [row])
    process.wait(10)
    clock.t += 10  # the lease has lapsed: without the receipt the event would go out again
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as sim:
        client = AuraClient(sim.url, CLIENT_ID, CLIENT_SECRET, timeout=(1.0, 1.0))
        receipts = Receipts(tmp_path)
        receipts.open()
        deliverer = Deliverer(store, client, clock=clock, receipts=receipts, poll_s=0.05)
        deliverer.start()
        try:
            deliverer.stop(5)
        finally:
            client.close()
        assert sim.state.requests() == []
    assert [row.state for row in store.list_events()] == ["delivered"]


def test_own_files_are_not_recovered_while_open(store, clock, tmp_path):
    stored_event(store, "sigfox:G1")
    (row,) = claimed(store, clock, 1)
    receipts = Receipts(tmp_path)
    receipts.open()
    receipts.write(row.id, row.claim, '{"status": 200}', T0)
    assert receipts.recover(store) == 0
    assert [row.state for row in store.list_events()] == ["in_flight"]
    assert os.listdir(tmp_path)
    receipts.close()
