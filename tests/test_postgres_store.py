"""What only the PostgreSQL store has to prove (issue 13): several instances on one database
agree, migrations are safe to start concurrently, and the service survives the database going
away. The Store contract itself runs on both stores in tests/test_store.py and its siblings.

Real PostgreSQL throughout (tests/pg_support.py); the outage test starts a server of its own
(.ci/postgres.sh) so that it can stop it without disturbing the other tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
from pg_support import drop_fresh_schema, fresh_postgres_url, test_database_url
from webhook_support import (
    REPO,
    ServeProcess,
    child_env,
    post_callback,
    sigfox_body,
    wait_until,
    write_config,
)

from decoders.aura import DeviceEvent, DeviceState
from webhook.errors import StoreError
from webhook.store import Plan, PlanReads, TxReader, UplinkRecord
from webhook.store.migrations import shipped_migrations
from webhook.store.postgres import PostgresStore

T0 = 1_763_726_400.0


@pytest.fixture
def url() -> Iterator[str]:
    fresh = fresh_postgres_url(test_database_url())
    yield fresh
    drop_fresh_schema(fresh)


def record(key: str, device: str = "D1") -> UplinkRecord:
    received = datetime.fromtimestamp(T0, UTC)
    return UplinkRecord("sigfox", key, device, received, b"\x01", {"device": device}, None, 1)


def alarm(device: str) -> DeviceEvent:
    payload = {"latitude": -26.1, "longitude": 28.05, "sequenceNumber": "1"}
    return DeviceEvent(1, device, 1, 1, "location", payload)


def rising_edge(device_key: str):
    """A plan that opens a callout only if the device's state says none is open: the rule an
    alarm's rising edge follows. Run for many uplinks at once, it must open exactly one."""

    def plan(reader: TxReader) -> Plan:
        if reader.state(device_key).callout_open:
            return Plan(status="decoded")
        opened = DeviceState(callout_open=True)
        return Plan(
            status="decoded",
            events=[(device_key, alarm(device_key))],
            states={device_key: opened},
        )

    return plan


def test_concurrent_starts_apply_each_migration_once(url: str) -> None:
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresStore(url, pool_size=1))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == [] and len(opened) == 6
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version")
            versions = [row[0] for row in rows]
        assert versions == [m.version for m in shipped_migrations("postgresql")]
        assert all(store.schema_problem() is None for store in opened)
    finally:
        for store in opened:
            store.close()


def test_a_database_from_a_newer_version_is_refused(url: str) -> None:
    PostgresStore(url, pool_size=1).close()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)"
        )
    with pytest.raises(StoreError, match="newer than this aura-uplink knows"):
        PostgresStore(url, pool_size=1)


@pytest.mark.parametrize("declared", [True, False], ids=["reads-declared", "reads-unknown"])
def test_two_instances_see_an_alarms_rising_edge_once(url: str, declared: bool) -> None:
    """Two stores (two instances), eight threads each, eighty uplinks of one device with an
    alarm, all at once: a write over a state that moved fails and plans again, and a device
    that keeps moving is locked, so exactly one opens a callout and every uplink is stored.
    With the reads declared the state comes from the ingest's first statement, else from a
    query of its own."""
    reads = PlanReads(device_key="1:D1") if declared else None
    stores = [PostgresStore(url, pool_size=8) for _ in range(2)]
    barrier = threading.Barrier(16)
    results: list = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        store = stores[worker % 2]
        barrier.wait(timeout=30)
        for n in range(5):
            key = f"sigfox:D1:{worker}:{n}"
            result = store.ingest(record(key), rising_edge("1:D1"), reads)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(16)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(results) == 80 and not any(r.duplicate for r in results)
        opened = [r for r in results if r.event_ids]
        assert len(opened) == 1
        assert stores[0].status()["uplinks"]["decoded"] == 80
    finally:
        for store in stores:
            store.close()


def test_a_state_that_moves_while_the_plan_runs_is_planned_again(url: str) -> None:
    """Instance A plans an alarm on a device without a callout; before A writes, instance B
    stores another alarm of the device and opens one. A's write must not land over B's state:
    it fails whole, A plans again, sees the callout open, and adds no second one."""
    a, b = PostgresStore(url, pool_size=2), PostgresStore(url, pool_size=2)
    runs: list[bool] = []
    edge = rising_edge("1:D1")

    def plan(reader: TxReader) -> Plan:
        runs.append(reader.state("1:D1").callout_open)
        if len(runs) == 1:
            b.ingest(record("sigfox:D1:b"), rising_edge("1:D1"), PlanReads(device_key="1:D1"))
        return edge(reader)

    try:
        result = a.ingest(record("sigfox:D1:a"), plan, PlanReads(device_key="1:D1"))
        assert runs == [False, True]
        assert not result.duplicate and result.event_ids == ()
        assert a.status()["uplinks"]["decoded"] == 2 and a.status()["events"]["pending"] == 1
    finally:
        a.close()
        b.close()


def test_a_device_whose_state_keeps_moving_is_planned_under_its_row_lock(url: str) -> None:
    """Three writes in a row find the state moved: the fourth plan runs in a transaction that
    holds the device's row lock (another connection cannot take it), and its write lands."""
    a, b = PostgresStore(url, pool_size=2), PostgresStore(url, pool_size=2)
    b.ingest(record("sigfox:D1:first"), rising_edge("1:D1"))
    lock_taken: list[bool] = []

    def plan(reader: TxReader) -> Plan:
        state = reader.state("1:D1")
        run = len(lock_taken) + 1
        with psycopg.connect(url, autocommit=True) as other:
            try:
                other.execute("SELECT 1 FROM devices WHERE device_key = '1:D1' FOR UPDATE NOWAIT")
                lock_taken.append(True)
            except psycopg.errors.LockNotAvailable:
                lock_taken.append(False)
        if run <= 3:  # another instance moves the state on under this plan
            b.ingest(record(f"sigfox:D1:b{run}"), lambda r: moved(r, run))
        return Plan(status="decoded", states={"1:D1": state})

    def moved(reader: TxReader, run: int) -> Plan:
        return Plan(status="decoded", states={"1:D1": DeviceState(callout_open=run % 2 == 0)})

    try:
        result = a.ingest(record("sigfox:D1:a"), plan, PlanReads(device_key="1:D1"))
        assert lock_taken == [True, True, True, False]
        assert not result.duplicate
        assert a.status()["uplinks"]["decoded"] == 5
    finally:
        a.close()
        b.close()


def test_one_callback_given_to_two_instances_at_once_is_stored_once(url: str) -> None:
    stores = [PostgresStore(url, pool_size=4) for _ in range(2)]
    barrier = threading.Barrier(8)
    outcomes: list = []

    def send(worker: int) -> None:
        barrier.wait(timeout=30)
        for n in range(20):
            outcomes.append(stores[worker % 2].ingest(record(f"k{n}"), rising_edge(f"1:D{n}")))

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        stored = [o for o in outcomes if not o.duplicate]
        assert len(outcomes) == 160 and len(stored) == 20
        # Each duplicate names the one stored uplink and its events.
        first = {o.uplink_id: o.event_ids for o in stored}
        assert all(first[o.uplink_id] == o.event_ids for o in outcomes if o.duplicate)
        assert stores[1].status()["events"]["pending"] == 20
    finally:
        for store in stores:
            store.close()


def test_claims_from_two_instances_never_overlap_and_keep_each_devices_order(url: str) -> None:
    stores = [PostgresStore(url, pool_size=4) for _ in range(2)]
    try:
        expected: dict[str, list[int]] = {}
        for n in range(60):
            device = f"1:D{n % 6}"
            result = stores[0].ingest(
                record(f"k{n}"), lambda _r, d=device: Plan("decoded", events=[(d, alarm(d))])
            )
            expected.setdefault(device, []).extend(result.event_ids)
        sent: list[tuple[str, int]] = []
        lock = threading.Lock()
        in_flight: set[str] = set()
        overlaps: list[str] = []

        def work(store: PostgresStore) -> None:
            idle_since = time.monotonic()
            while time.monotonic() - idle_since < 1.0:
                rows = store.claim(time.time(), 30, 3)
                if not rows:
                    time.sleep(0.005)
                    continue
                idle_since = time.monotonic()
                for row in rows:
                    with lock:
                        if row.device_key in in_flight:
                            overlaps.append(row.device_key)
                        in_flight.add(row.device_key)
                        sent.append((row.device_key, row.id))
                    time.sleep(0.001)  # the send
                    with lock:
                        in_flight.discard(row.device_key)
                    assert store.mark_delivered(row.id, "{}", time.time(), claim=row.claim)

        threads = [threading.Thread(target=work, args=(stores[i % 2],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert overlaps == []
        assert sorted(i for _, i in sent) == sorted(i for ids in expected.values() for i in ids)
        for device, ids in expected.items():
            assert [i for d, i in sent if d == device] == ids
    finally:
        for store in stores:
            store.close()


def test_a_wrong_url_stops_serve_with_one_line_and_exit_3(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", aura_url=None)
    env = child_env(AURA_UPLINK_DATABASE_URL="postgresql://bob:hunter2@127.0.0.1:1/aura")
    done = subprocess.run(
        [sys.executable, "-m", "webhook", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3, done.stderr
    assert len(lines) == 1 and "127.0.0.1" in lines[0] and "refused" in lines[0].lower()
    assert "hunter2" not in done.stderr and "bob:***@" in lines[0]


# -- the database goes away while the service runs -----------------------------------------------


@pytest.fixture
def own_server() -> Iterator[str]:
    """A PostgreSQL server of this test's own (it will be stopped and started again)."""
    test_database_url()  # skip locally, fail under CI=true, like the other PostgreSQL tests
    if shutil.which("initdb") is None and not Path("/usr/lib/postgresql/15/bin").exists():
        pytest.fail("initdb is not installed")
    folder = tempfile.mkdtemp(prefix="aura-uplink-outage-")
    env = {**os.environ, "AURA_UPLINK_PG_DIR": folder}
    script = str(REPO / ".ci" / "postgres.sh")
    started = subprocess.run(
        ["bash", script, "start"], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _pg_ctl(url: str, action: str) -> None:
    folder = url.split("host=")[1].split("&")[0]
    env = {**os.environ, "AURA_UPLINK_PG_DIR": folder}
    data = Path(folder) / "data"
    command = ["pg_ctl", action, "-D", str(data), "-w", "-l", f"{folder}/postgres.log"]
    if action in ("stop", "restart"):
        command += ["-m", "fast"]
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60, cwd="/")


def test_while_the_database_is_down_callbacks_and_readyz_answer_503_then_recover(
    own_server: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", aura_url=None, database_url=own_server)
    with ServeProcess(config, tmp_path / "serve.log") as serve:
        assert post_callback(serve.url, sigfox_body(seq=1)).status_code == 200
        _pg_ctl(own_server, "stop")
        down = post_callback(serve.url, sigfox_body(seq=2), timeout=20)
        assert down.status_code == 503, down.text
        ready = requests.get(serve.url + "/readyz", timeout=20)
        assert ready.status_code == 503 and "store" in ready.json()["reason"]
        _pg_ctl(own_server, "start")

        def ready_again() -> bool:
            return requests.get(serve.url + "/readyz", timeout=20).status_code == 200

        started = time.monotonic()
        wait_until(ready_again, 20, 0.1, "/readyz 200 after the database came back")
        recovered_in = time.monotonic() - started
        retried = post_callback(serve.url, sigfox_body(seq=2))
        assert retried.status_code == 200 and retried.json()["status"] == "stored"
        assert recovered_in < 10
    store = PostgresStore(own_server, pool_size=1)
    try:
        # Nothing was acknowledged that was not committed, and the refused one was stored
        # when it came again.
        assert [u.record.sequence for u in store.list_uplinks()] == [2, 1]
    finally:
        store.close()
    assert "Traceback" not in serve.log(), serve.log()


def test_connections_left_stale_by_a_database_restart_are_replaced_not_reported(
    own_server: str,
) -> None:
    """A restart breaks every pooled connection; the next calls must not fail for it (The
    Things Stack and ChirpStack never retry a callback answered 503)."""
    store = PostgresStore(own_server, pool_size=4)
    try:
        barrier = threading.Barrier(4)

        def use() -> None:  # four connections at once: the pool holds four afterwards
            barrier.wait(timeout=10)
            store.ingest(record(f"before-{threading.get_ident()}"), rising_edge("1:D1"))

        threads = [threading.Thread(target=use) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert store._db.pool.get_stats()["pool_size"] >= 2
        _pg_ctl(own_server, "restart")
        for n in range(8):
            assert not store.ingest(record(f"after-{n}"), rising_edge("1:D1")).duplicate
        assert store.status()["uplinks"]["decoded"] == 12
    finally:
        store.close()
