"""Retention ([store] retention_days, issue 13 §6): what goes and what stays, on real stores
with a settable clock; batches bounded by their limit and read through indexes; the dry run;
``aura-uplink store prune`` as a real process; the pruner thread, alone and inside a running
``aura-uplink serve``.

Store-level tests take ``make_store`` (tests/conftest.py's ``store_factory``): they run on
SQLite and on PostgreSQL (which skips without ``AURA_UPLINK_TEST_DATABASE_URL``)."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from decoders.aura import NEW_CALLOUT, DeviceEvent
from tests.webhook_support import (
    ServeProcess,
    post_callback,
    read_config,
    run_cli,
    sigfox_body,
    wait_until,
    write_config,
)
from webhook.pruner import DAY_S, Pruner, cutoff, prune
from webhook.store import Plan, PruneCount, SqliteStore, Store, UplinkRecord
from webhook.store.sqlite import Q

T0 = 1_800_000_000.0
RETENTION_DAYS = 30.0


class Clock:
    """A settable clock for the store and the pruner."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


MakeStore = Callable[..., Store]


@pytest.fixture
def make_store(store_factory: MakeStore) -> MakeStore:
    """``make_store(clock=...)``: a handle on this test's store, SQLite or PostgreSQL."""
    return store_factory


@pytest.fixture
def clock() -> Clock:
    return Clock()


# -- building a store's history through the Store protocol ---------------------------------------


def _event(device_id: str, action: int = NEW_CALLOUT) -> DeviceEvent:
    payload = {"latitude": -26.1, "longitude": 28.05}
    return DeviceEvent(1, device_id, action, action, "location", payload)


def _record(key: str) -> UplinkRecord:
    received = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    return UplinkRecord("sigfox", key, "A1B2C3D4", received, b"\x01\x02", {"key": key})


@dataclass
class Uplink:
    """One stored uplink of a scenario and its events, by id."""

    id: int
    events: list[int] = field(default_factory=list)


def store_uplink(store: Store, key: str, events: int = 1, status: str = "decoded") -> Uplink:
    """An uplink with ``events`` events, each for a device of its own (so every one of them is
    its device's head, claimable at once)."""
    plan = Plan(
        status,  # type: ignore[arg-type]
        error="no template" if status == "undecodable" else None,
        events=[(f"{key}/{n}", _event(f"{key}/{n}")) for n in range(events)],
    )
    result = store.ingest(_record(key), lambda _reader: plan)
    assert not result.duplicate
    return Uplink(result.uplink_id, list(result.event_ids))


#: Longer than any test: an event left in flight stays so (its lease never lapses).
FOREVER_S = 1e10


def settle(store: Store, now: float, verdicts: dict[int, str]) -> None:
    """Claim at ``now`` and give each event in ``verdicts`` its state: ``delivered`` or
    ``dead`` (recorded at ``now``), ``in_flight`` (left claimed, for good) or ``pending``
    (released, claimable again at once). Events not named are released too."""
    rows = store.claim(now, FOREVER_S, 10_000)
    claimed = {row.id for row in rows}
    assert set(verdicts) <= claimed, f"not claimable: {set(verdicts) - claimed}"
    for row in rows:
        verdict = verdicts.get(row.id, "pending")
        if verdict == "delivered":
            assert store.mark_delivered(row.id, "{}", now, claim=row.claim)
        elif verdict == "dead":
            assert store.mark_dead(row.id, "HTTP 400", claim=row.claim)
        elif verdict == "pending":
            assert store.mark_retry(row.id, "later", now, False, claim=row.claim)
        else:
            assert verdict == "in_flight"


def uplink_ids(store: Store) -> set[int]:
    return {u.id for u in store.list_uplinks(limit=100_000)}


def event_ids(store: Store) -> set[int]:
    return {e.id for e in store.list_events(limit=100_000)}


def older_than(clock: Clock) -> float:
    return cutoff(clock(), RETENTION_DAYS)


# -- what goes, what stays ------------------------------------------------------------------------


@dataclass
class History:
    gone: dict[str, Uplink]
    kept: dict[str, Uplink]
    events_gone: set[int]


def history(store: Store, clock: Clock) -> History:
    """Old rows of every kind, one young one; the clock ends 31 days after the old ones."""
    old = {
        "delivered": store_uplink(store, "delivered"),
        "two delivered": store_uplink(store, "two-delivered", events=2),
        "no events": store_uplink(store, "no-events", events=0),
        "ignored": store_uplink(store, "ignored", events=0, status="ignored"),
        "undecodable": store_uplink(store, "undecodable", events=0, status="undecodable"),
        "dead": store_uplink(store, "dead"),
        "pending": store_uplink(store, "pending"),
        "in flight": store_uplink(store, "in-flight"),
        "delivered and dead": store_uplink(store, "mixed", events=2),
        "delivered late": store_uplink(store, "late"),
    }
    first, second = old["delivered and dead"].events
    settle(
        store,
        T0 + 10,
        {
            old["delivered"].events[0]: "delivered",
            **dict.fromkeys(old["two delivered"].events, "delivered"),
            old["dead"].events[0]: "dead",
            old["in flight"].events[0]: "in_flight",
            first: "delivered",
            second: "dead",
        },
    )
    clock.t = T0 + 25 * DAY_S
    settle(store, clock.t, {old["delivered late"].events[0]: "delivered"})
    young = store_uplink(store, "young")
    settle(store, clock.t + 1, {young.events[0]: "delivered"})
    clock.t = T0 + 31 * DAY_S
    gone_names = ("delivered", "two delivered", "no events", "ignored")
    return History(
        gone={name: old[name] for name in gone_names},
        kept={name: u for name, u in old.items() if name not in gone_names} | {"young": young},
        events_gone={*old["delivered"].events, *old["two delivered"].events, first},
    )


def test_old_delivered_events_and_their_uplinks_go_the_rest_stays(
    make_store: MakeStore, clock: Clock
) -> None:
    store = make_store(clock=clock)
    past = history(store, clock)
    before_uplinks, before_events = uplink_ids(store), event_ids(store)

    removed = store.prune_batch(older_than(clock), 500)

    assert removed == PruneCount(uplinks=len(past.gone), events=len(past.events_gone))
    gone = {u.id for u in past.gone.values()}
    assert uplink_ids(store) == before_uplinks - gone
    assert event_ids(store) == before_events - past.events_gone
    # What stays, by name: the dead letter, the open events, the undecodable uplink, an uplink
    # with an event left (dead, or delivered within the retention), the young one.
    for name, uplink in past.kept.items():
        assert uplink.id in uplink_ids(store), name
    kept_events = {e for name, u in past.kept.items() for e in u.events} - past.events_gone
    assert kept_events <= event_ids(store)
    states = {e.id: e.state for e in store.list_events(limit=1000)}
    assert states[past.kept["dead"].events[0]] == "dead"
    assert states[past.kept["pending"].events[0]] == "pending"
    assert states[past.kept["in flight"].events[0]] == "in_flight"
    assert store.status()["uplinks"]["undecodable"] == 1
    # Nothing left to prune; a later prune finds nothing more.
    assert store.prunable(older_than(clock)) == PruneCount()
    assert store.prune_batch(older_than(clock), 500) == PruneCount()


def test_the_dry_run_counts_what_a_prune_then_removes(make_store: MakeStore, clock: Clock) -> None:
    store = make_store(clock=clock)
    past = history(store, clock)
    expected = PruneCount(uplinks=len(past.gone), events=len(past.events_gone))
    assert store.prunable(older_than(clock)) == expected
    # Counting removed nothing.
    assert store.prunable(older_than(clock)) == expected
    assert prune(store, older_than(clock), limit=2, pause_s=0) == (expected, 3)


def test_nothing_goes_before_its_time(make_store: MakeStore, clock: Clock) -> None:
    store = make_store(clock=clock)
    history(store, clock)
    clock.t = T0 + 30 * DAY_S  # the old rows are exactly 30 days old: none is older
    assert store.prunable(older_than(clock)) == PruneCount()
    assert store.prune_batch(older_than(clock), 500) == PruneCount()


def test_batches_respect_their_limit(make_store: MakeStore, clock: Clock) -> None:
    store = make_store(clock=clock)
    for n in range(2):  # oldest first: two uplinks without events
        store_uplink(store, f"quiet-{n}", events=0)
        clock.t += 1
    delivered = []
    for n in range(7):
        delivered.append(store_uplink(store, f"alert-{n}"))
        clock.t += 1
    settle(store, T0 + 60, {u.events[0]: "delivered" for u in delivered})
    clock.t = T0 + 31 * DAY_S

    batches = []
    while True:
        batch = store.prune_batch(older_than(clock), 3)
        batches.append((batch.uplinks, batch.events))
        if batch.uplinks < 3 and batch.events < 3:
            break
    # Events go first in each batch, so the uplinks they leave event-less go in the same one.
    assert batches == [(3, 3), (3, 3), (3, 1), (0, 0)]
    assert uplink_ids(store) == set() and event_ids(store) == set()


def test_a_random_history_prunes_exactly_what_the_dry_run_counted(
    make_store: MakeStore, clock: Clock
) -> None:
    """Many uplinks, stored and settled at random times over 60 days; pruned at day 45 in
    batches of 7. The dry run's counts are what goes, and what stays obeys the rules."""
    rng = random.Random(13)
    store = make_store(clock=clock)
    verdicts: dict[int, str] = {}
    settled_at: dict[int, float] = {}
    for n in range(150):
        clock.t = T0 + rng.uniform(0, 60) * DAY_S
        status = rng.choice(["decoded"] * 6 + ["ignored", "undecodable"])
        count = rng.choice([0, 1, 1, 2]) if status == "decoded" else 0
        uplink = store_uplink(store, f"u{n}", events=count, status=status)
        for event_id in uplink.events:
            verdicts[event_id] = rng.choice(["delivered"] * 5 + ["dead", "pending", "in_flight"])
            settled_at[event_id] = clock.t + rng.uniform(0, 3) * DAY_S
    for moment in sorted(set(settled_at.values())):
        due = {i: v for i, v in verdicts.items() if settled_at[i] == moment}
        settle(store, moment, due)
    clock.t = T0 + 45 * DAY_S
    line = older_than(clock)
    events_before = {e.id: e for e in store.list_events(limit=100_000)}
    uplinks_before = {u.id: u for u in store.list_uplinks(limit=100_000)}

    counted = store.prunable(line)
    removed, _ = prune(store, line, limit=7, pause_s=0)

    assert removed == counted
    assert counted.uplinks > 10 and counted.events > 10  # the history has some of each
    events_gone = set(events_before) - event_ids(store)
    uplinks_gone = set(uplinks_before) - uplink_ids(store)
    assert (len(uplinks_gone), len(events_gone)) == (removed.uplinks, removed.events)
    for event_id, row in events_before.items():
        old_delivered = row.state == "delivered" and (row.delivered_at or 0) < line
        assert (event_id in events_gone) == old_delivered, row
    remaining_owners = {events_before[i].uplink_id for i in event_ids(store)}
    for uplink_id, up in uplinks_before.items():
        prunable = (
            up.status in ("decoded", "ignored")
            and up.stored_at < line
            and uplink_id not in remaining_owners
        )
        assert (uplink_id in uplinks_gone) == prunable, up


def test_devices_and_links_are_left_alone(make_store: MakeStore, clock: Clock) -> None:
    from decoders.aura import DeviceState
    from webhook.store import DeviceLink

    store = make_store(clock=clock)
    plan = Plan(
        "decoded",
        events=[("DEV1", _event("DEV1"))],
        states={"DEV1": DeviceState(callout_open=True)},
    )
    result = store.ingest(_record("with-state"), lambda _reader: plan)
    store.save_link(DeviceLink("A1B2C3D4", "SERIAL-1", "dev-1", 7, "sigfox"))
    settle(store, T0 + 1, {result.event_ids[0]: "delivered"})
    clock.t = T0 + 31 * DAY_S
    assert store.prune_batch(older_than(clock), 500) == PruneCount(uplinks=1, events=1)

    seen: list[Any] = []

    def read_state(reader: Any) -> Plan:
        seen.append(reader.state("DEV1"))  # (a group commit may run a plan twice)
        return Plan("ignored")

    store.ingest(_record("later"), read_state)
    assert seen[-1] == DeviceState(callout_open=True)
    link = store.link_for_serial("SERIAL-1")
    assert link is not None and link.device_id == "dev-1"


# -- SQLite: indexes, the created_at fallback ----------------------------------------------------


def test_sqlite_batches_read_through_the_retention_indexes(tmp_path: Path) -> None:
    """EXPLAIN QUERY PLAN: each batch delete finds its rows with a SEARCH on its partial index,
    in index order (no sort of the candidates), never a SCAN of events or uplinks."""
    store = SqliteStore(tmp_path / "store.db")
    try:
        conn = sqlite3.connect(store.path)
        for name, index in (
            ("prune_events", "events_delivered_by_time"),
            ("prune_uplinks", "uplinks_prunable_by_time"),
            ("prunable", "events_delivered_by_time"),
            ("prunable", "uplinks_prunable_by_time"),
        ):
            plan = [
                row[3]
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN " + Q[name], {"older_than": T0, "limit": 500}
                )
            ]
            text = "\n".join(plan)
            assert f"USING INDEX {index}" in text, text
            scans = [step for step in plan if step.startswith("SCAN") and "CONSTANT" not in step]
            assert scans == [], text
            assert "TEMP B-TREE" not in text, text
        conn.close()
    finally:
        store.close()


def test_sqlite_a_delivered_event_without_delivered_at_ages_from_created_at(
    tmp_path: Path, clock: Clock
) -> None:
    store = SqliteStore(tmp_path / "store.db", clock=clock)
    try:
        uplink = store_uplink(store, "legacy")
        settle(store, T0 + 5, {uplink.events[0]: "delivered"})
        with sqlite3.connect(store.path) as conn:
            conn.execute("UPDATE events SET delivered_at = NULL")
        clock.t = T0 + 31 * DAY_S
        assert store.prunable(older_than(clock)) == PruneCount(uplinks=1, events=1)
        assert store.prune_batch(older_than(clock), 10) == PruneCount(uplinks=1, events=1)
    finally:
        store.close()


# -- the pruner thread ---------------------------------------------------------------------------


def test_the_pruner_prunes_continuously_and_logs_each_run_that_removed_something(
    make_store: MakeStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(clock=clock)
    past = history(store, clock)
    pruner = Pruner(
        store, RETENTION_DAYS, interval_s=0.05, first_run_s=0.01, limit=2, pause_s=0.001,
        clock=clock,
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger="aura_uplink.retention")
    pruner.start()
    try:
        wait_until(lambda: pruner.removed.uplinks == len(past.gone), what="the first prune")
        assert pruner.removed.events == len(past.events_gone)
        runs = pruner.runs
        wait_until(lambda: pruner.runs >= runs + 3, what="more (empty) runs")
        # A run that removes nothing says nothing: one line so far.
        lines = [r.getMessage() for r in caplog.records if r.name == "aura_uplink.retention"]
        assert len(lines) == 1, lines
        assert lines[0].startswith("retention: pruned 4 uplink(s) and 4 event(s) older than")

        # Time passes: the next run takes the young uplink and the one delivered late.
        clock.t += 30 * DAY_S
        wait_until(lambda: pruner.removed.uplinks == len(past.gone) + 2, what="the next prune")
    finally:
        pruner.stop()
    assert pruner.failures == 0
    assert not any(t.name == "retention" for t in threading.enumerate())


class _FlakyStore:
    """A store whose prune_batch fails ``failures`` times, then delegates."""

    def __init__(self, store: Store, failures: int) -> None:
        self.store = store
        self.failures = failures

    def prune_batch(self, older_than: float, limit: int) -> PruneCount:
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.store.prune_batch(older_than, limit)


def test_a_failing_run_is_logged_and_the_next_one_prunes(
    make_store: MakeStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(clock=clock)
    past = history(store, clock)
    flaky = _FlakyStore(store, failures=2)
    pruner = Pruner(
        flaky,  # type: ignore[arg-type]
        RETENTION_DAYS, interval_s=0.02, first_run_s=0.0, clock=clock,
    )  # fmt: skip
    pruner.start()
    try:
        wait_until(lambda: pruner.removed.uplinks == len(past.gone), what="a run after failures")
    finally:
        pruner.stop()
    assert pruner.failures == 2
    failed = [r for r in caplog.records if "pruning failed" in r.getMessage()]
    assert len(failed) == 2 and all(r.exc_info for r in failed)


class _Endless:
    """Always a full batch: a run only ends when asked to."""

    def __init__(self) -> None:
        self.batches = 0

    def prune_batch(self, older_than: float, limit: int) -> PruneCount:
        self.batches += 1
        return PruneCount(uplinks=limit, events=limit)


def test_stop_ends_a_run_between_batches() -> None:
    store = _Endless()
    pruner = Pruner(store, 1.0, first_run_s=0.0, pause_s=0.01)  # type: ignore[arg-type]
    pruner.start()
    wait_until(lambda: store.batches >= 5, what="batches")
    started = time.monotonic()
    pruner.stop(timeout=5)
    assert time.monotonic() - started < 1.0
    count = store.batches
    time.sleep(0.05)
    assert store.batches == count


def test_a_pruner_refuses_a_retention_of_zero(make_store: MakeStore) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        Pruner(make_store(), 0)


# -- `aura-uplink store prune` and `serve`, as real processes -------------------------------------


def _old_history(database: Path, days_ago: float) -> dict[str, int]:
    """Uplinks stored ``days_ago`` days ago (real time): one delivered (goes), one with a dead
    event and one undecodable (stay). Returns their ids."""
    past = Clock(time.time() - days_ago * DAY_S)
    store = SqliteStore(database, clock=past)
    try:
        delivered = store_uplink(store, "cli-delivered", events=2)
        dead = store_uplink(store, "cli-dead")
        undecodable = store_uplink(store, "cli-undecodable", events=0, status="undecodable")
        settle(
            store,
            past.t + 60,
            {**dict.fromkeys(delivered.events, "delivered"), dead.events[0]: "dead"},
        )
    finally:
        store.close()
    return {"delivered": delivered.id, "dead": dead.id, "undecodable": undecodable.id}


def _store_section(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n[store]\n{text}\n")


def _prune(*args: str) -> dict[str, Any]:
    done = run_cli("store", "prune", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_prune_dry_run_then_prune(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "c.toml", aura_url=None)
    _store_section(config_path, "retention_days = 30")
    config = read_config(config_path)
    config.data_dir.mkdir(parents=True)
    ids = _old_history(config.database, days_ago=40)

    dry = _prune("--dry-run", "--config", str(config_path))
    assert {k: dry[k] for k in ("uplinks", "events", "dry_run")} == {
        "uplinks": 1,
        "events": 2,
        "dry_run": True,
    }
    cut = datetime.fromisoformat(dry["older_than"]).timestamp()
    assert abs(cut - (time.time() - 30 * DAY_S)) < 60
    # More days than the rows' age: nothing is that old.
    longer = _prune("--dry-run", "--older-than-days", "50", "--config", str(config_path))
    assert (longer["uplinks"], longer["events"]) == (0, 0)

    done = _prune("--config", str(config_path))
    assert {k: done[k] for k in ("uplinks", "events", "dry_run")} == {
        "uplinks": 1,
        "events": 2,
        "dry_run": False,
    }
    again = _prune("--dry-run", "--config", str(config_path))
    assert (again["uplinks"], again["events"]) == (0, 0)
    store = SqliteStore(config.database)
    try:
        assert uplink_ids(store) == {ids["dead"], ids["undecodable"]}
        assert {e.state for e in store.list_events()} == {"dead"}
    finally:
        store.close()


def test_cli_prune_with_retention_zero_says_there_is_nothing_to_prune(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "c.toml", aura_url=None)
    _store_section(config_path, "retention_days = 0")
    config = read_config(config_path)
    config.data_dir.mkdir(parents=True)
    _old_history(config.database, days_ago=400)

    done = run_cli("store", "prune", "--config", str(config_path))
    assert done.returncode == 0, done.stderr
    assert "nothing to prune" in done.stderr
    assert json.loads(done.stdout) == {
        "older_than": None,
        "uplinks": 0,
        "events": 0,
        "dry_run": False,
    }
    # --older-than-days prunes anyway; 0 is not a number of days to prune at.
    forced = _prune("--older-than-days", "365", "--config", str(config_path))
    assert (forced["uplinks"], forced["events"]) == (1, 2)
    refused = run_cli("store", "prune", "--older-than-days", "0", "--config", str(config_path))
    assert refused.returncode == 2 and "older-than-days" in refused.stderr


@pytest.mark.slow
def test_serve_prunes_old_rows_soon_after_start_and_keeps_new_ones(tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "c.toml", aura_url=None)
    _store_section(config_path, "retention_days = 30")
    config = read_config(config_path)
    config.data_dir.mkdir(parents=True)
    ids = _old_history(config.database, days_ago=31)

    with ServeProcess(config_path, tmp_path / "serve.log") as serve:
        assert post_callback(serve.url, sigfox_body()).status_code == 200
        wait_until(lambda: "retention: pruned" in serve.log(), timeout=15, what="a prune")
        assert "retention: pruned 1 uplink(s) and 2 event(s)" in serve.log()
        store = SqliteStore(config.database)
        try:
            kept = store.list_uplinks()
        finally:
            store.close()
    assert {u.id for u in kept} >= {ids["dead"], ids["undecodable"]}
    assert ids["delivered"] not in {u.id for u in kept}
    assert len(kept) == 3  # the callback just posted stays
    assert serve.proc.returncode == 0
