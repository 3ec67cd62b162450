"""The decode benchmark still runs, and its hand-written ``struct`` baselines still give exactly
the fields ``decoders.decode`` gives (bench/decode_speed.py checks that before timing and exits
non-zero if not). No timing is asserted: numbers belong to ``python -m bench.run``."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.decode_speed import CASES, FIXED_MODELS, check_agreement

REPO = Path(__file__).resolve().parents[1]


def quick_bench(part: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bench.run --quick --only PART`` to completion (its exit status unchecked)."""
    return subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", part],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def test_hand_written_decoders_agree_with_decode() -> None:
    for case in CASES:
        if case.hand is not None:
            counts = check_agreement(case, random_frames=200)
            assert counts["frames_equal"] > 0, case.name


def test_quick_decode_benchmark_prints_every_fixed_layout_model() -> None:
    done = quick_bench("decode")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for model in FIXED_MODELS:
        rows = [line for line in lines if line.startswith(f"{model} ") and ": decode()" in line]
        assert rows, f"no decode() row for {model}:\n{done.stdout}"
        assert all("struct" in row and ("PASS" in row or "FAIL" in row) for row in rows), rows
    assert "command:    python -m bench.run --quick --only decode" in done.stdout


def test_the_retention_fill_makes_a_store_the_service_accepts(tmp_path: Path) -> None:
    """bench/retention.py's bulk fill: the schema the migrations make, sound pages, one row per
    uplink with its unique dedup key, half of them with a delivered event, nothing prunable
    within the default retention, and a new uplink still stored after them."""
    import time

    from bench.retention import Fleet, fill_sqlite
    from webhook.store import Plan, PruneCount, SqliteStore

    database = tmp_path / "aura-uplink.db"
    fleet = Fleet(2_000, time.time())
    fill_sqlite(database, fleet)
    store = SqliteStore(database)
    try:
        assert store.schema_problem() is None and store.integrity_problem() is None
        assert store.pragma_check()["journal_mode"] == "wal"
        status = store.status()
        assert status["uplinks"] == {"decoded": 2_000, "undecodable": 0, "ignored": 0}
        assert status["events"] == {"pending": 0, "in_flight": 0, "delivered": 1_000, "dead": 0}
        keys = {u.record.dedup_key for u in store.list_uplinks(limit=5_000)}
        assert len(keys) == 2_000
        assert store.prunable(time.time() - 30 * 86_400) == PruneCount()
        older_than = fleet.start + (fleet.end - fleet.start) / 2
        half = store.prunable(older_than)
        assert 900 <= half.uplinks <= 1_100 and 450 <= half.events <= 550
        stored = store.list_uplinks(limit=1)[0].record
        assert store.ingest(stored, lambda _r: Plan("decoded")).duplicate  # same key: a duplicate
        new = replace(stored, dedup_key="sigfox:10000000:1:1")
        assert not store.ingest(new, lambda _r: Plan("decoded")).duplicate
    finally:
        store.close()


def test_the_postgres_retention_fill_makes_a_store_the_service_accepts() -> None:
    """The same for bench/retention.py's PostgreSQL fill, on the tests' server: the schema the
    store's migrations make, the same rows, the identity columns still numbering the service's
    next uplink and event after them, and the fill's schema dropped at the end."""
    import time

    import psycopg
    from pg_support import test_database_url

    from bench.retention import Fleet, PostgresBackend
    from decoders.aura import DeviceEvent
    from webhook.store import Plan, PruneCount
    from webhook.store.postgres import PostgresStore

    backend = PostgresBackend(test_database_url())  # skips without one; fails under CI=true
    try:
        target = backend.target("full")
        fleet = Fleet(2_000, time.time())
        backend.fill(target, fleet)
        assert target.size_bytes() > 0
        store = PostgresStore(target.url, pool_size=1)
        try:
            assert store.schema_problem() is None
            status = store.status()
            assert status["uplinks"] == {"decoded": 2_000, "undecodable": 0, "ignored": 0}
            events = {"pending": 0, "in_flight": 0, "delivered": 1_000, "dead": 0}
            assert status["events"] == events
            keys = {u.record.dedup_key for u in store.list_uplinks(limit=5_000)}
            assert len(keys) == 2_000
            assert store.prunable(time.time() - 30 * 86_400) == PruneCount()
            half = store.prunable(fleet.start + (fleet.end - fleet.start) / 2)
            assert 900 <= half.uplinks <= 1_100 and 450 <= half.events <= 550
            stored = store.list_uplinks(limit=1)[0].record
            assert store.ingest(stored, lambda _r: Plan("decoded")).duplicate
            new = replace(stored, dedup_key="sigfox:10000000:1:1")
            event = DeviceEvent(1, "10000000", 1, 1, "location", {"latitude": -26.1})
            done = store.ingest(new, lambda _r: Plan("decoded", events=[("1:10000000", event)]))
            assert (done.uplink_id, done.event_ids) == (2_001, (1_001,))  # identity goes on
        finally:
            store.close()
    finally:
        backend.close()
    with psycopg.connect(test_database_url()) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (target.schema,)
        ).fetchone()
    assert left == (0,)


def test_the_codec_benchmark_times_a_codec_that_agrees_with_the_native_model() -> None:
    """bench/codec_speed.py checks, before timing, that tests/codecs/aura-reference.js gives the
    native model's fields and that its template gives the native template's messages; its decode
    rows then carry a ratio to the native baseline (quick timings: not a measurement)."""
    from bench.codec_speed import decode_rows

    rows = decode_rows(quick=True)
    assert [row.figure for row in rows[:2]] == [
        "aura-reference alert: codec.decode (aura-reference.js)",
        "aura-reference alert: decode_uplink, codec template",
    ]
    assert all(row.ratio is not None and row.baseline for row in rows[:2])


@pytest.mark.slow
def test_quick_codec_benchmark_runs() -> None:
    """``--only codec`` end to end: both servers run and every uplink the codec template's
    server answered 200 is stored decoded (speed itself is not asserted)."""
    done = quick_bench("codec")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("codec template:")]
    assert len(rows) == 1 and rows[0].endswith("PASS"), done.stdout


@pytest.mark.slow
def test_quick_retention_benchmark_runs() -> None:
    done = quick_bench("retention")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if "20,000 uplinks (sqlite)" in line]
    assert any("closed loop" in row and ("PASS" in row or "FAIL" in row) for row in rows), rows
    assert "p99 while pruning" in done.stdout


@pytest.mark.slow
def test_quick_postgres_benchmark_runs_on_the_test_database() -> None:
    """bench/postgres_ingest.py end to end on the tests' PostgreSQL: the durability settings it
    reads are on, every answered callback is stored once (one instance and two), and the
    figures with a target are printed with a verdict. Speed itself is not asserted."""
    from pg_support import ENV, test_database_url

    url = test_database_url()  # skips locally without one; fails under CI=true
    done = quick_bench("postgres", env={**os.environ, ENV: url})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()

    def row(start: str) -> str:
        found = [line for line in lines if line.startswith(start)]
        assert len(found) == 1, f"{start!r}:\n{done.stdout}"
        return found[0]

    assert row("PostgreSQL fsync=on, synchronous_commit=on").endswith("PASS")
    for stored in (
        "answered 200, unique, stored: SQLite",
        "answered 200, unique, stored: PostgreSQL",
        "answered 200, stored once: 2 instances, one store",
        "answered 200, stored once: 1 instance",
    ):
        assert row(stored).endswith("PASS")
    assert row("closed loop, 8 clients, 1 x 200 req: PostgreSQL").endswith(("PASS", "FAIL"))
    assert row("30 presses 20 ms apart: PostgreSQL p99").endswith(("PASS", "FAIL"))


def test_the_crash_benchmark_tells_duplicates_in_flight_from_forgotten_answers() -> None:
    """bench/crash.py's exposure: an event AURA received just before a kill (or read a few ms
    after it, written just before) was in flight; one it received seconds before a kill had its
    answer back long before, so its duplicate is a receipt that failed."""
    from bench.crash_analysis import exposure

    kill = 1000.0

    def request(key: str, arrived: float) -> dict[str, object]:
        return {"idempotency_key": key, "arrived": arrived}

    received = [
        request("once-a", 990.0),
        request("once-b", 992.0),
        request("in-flight", kill - 0.003),
        request("read-after-the-kill", kill + 0.004),
        request("forgotten", kill - 5.0),
        request("in-flight", kill + 3.0),
        request("read-after-the-kill", kill + 3.0),
        request("forgotten", kill + 3.0),
    ]
    answered_at = {"once-a": 990.004, "once-b": 992.006, "in-flight": kill + 3.002}
    figures = exposure(received, answered_at, [kill])
    assert figures["duplicates_in_flight"] == 2
    assert figures["duplicates_not_in_flight"] == 1
    assert figures["duplicate_arrived_before_kill_max_s"] == pytest.approx(5.0)
    # Only events sent once count: 4 and 6 ms.
    assert figures["exposure_s"]["mean"] == pytest.approx(0.005)
    assert figures["exposure_s"]["count"] == 2
    assert figures["sends_per_s"] == pytest.approx(8 / (kill + 0.004 - 990.0))
    assert figures["exposed_at_an_instant"] == pytest.approx(figures["sends_per_s"] * 0.005)
