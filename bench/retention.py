"""Ingest into a full store (issue 13 §6): ``aura-uplink serve`` on a store already holding
``UPLINKS`` (5,000,000) stored uplinks against the same service on an empty store, with the
same client load. Target: full >= 0.9x empty (closed-loop requests/s).

    python -m bench.run --only retention               # 5,000,000 stored uplinks
    python -m bench.run --only retention --quick       # 20,000: a smoke run, not a measurement
    python -m bench.retention --uplinks 1000000        # this part alone, other numbers
    python -m bench.retention --store-url sqlite       # the store kind (the default)
    python -m bench.retention --store-url postgresql://...  # e.g. `bash .ci/postgres.sh start`

**The full store** is filled directly in SQL, in one transaction (a recursive CTE, no Python per
row): a 10,000-device Sigfox fleet sending 140 uplinks a day each, so 5 M uplinks are the last
~3.6 days, all within the default 30-day retention. Rows as the service writes them (the raw
callback, the dedup key, ``stored_at``), each with a unique dedup key; half of them with one
delivered event carrying AURA's answer (so ``events`` holds 2.5 M rows); the fleet's 10,000
device states. Every index the migrations make is kept during the fill, so they grow as they
would in service. Figures: the fill's time and the store's size per uplink.

**Ingest** is measured as :mod:`bench.ingest_load` does (its load generator, :mod:`bench.load`,
in a second process; the same waitress settings; AURA not configured, so ingest alone): both
servers run at once, and ``ROUNDS`` closed-loop rounds alternate between them (the median of
each is compared, so a burst of other work on the machine hits both alike). Then an open loop
at 200 req/s on each, for p99 latency. Last, the full store's service is restarted with a
retention of half the store's age, so its pruner has about half of it to delete, in batches,
while a closed and an open loop run: the worst case of retention (enabled on a big store),
where pruning takes its largest share of the write lock (info rows).

The store kind is a parameter (``--store-url``): ``sqlite`` (the default, files in a temporary
directory), or a PostgreSQL server's URL (a fresh schema per store, dropped at the end; the
same rows, filled by ``INSERT ... SELECT`` over ``generate_series``). Each kind is a
:class:`Backend` in ``BACKENDS`` (its fill and its ``[store]`` section); the rest is shared.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

from bench.ingest_load import CLIENT_THREADS, MAX_BODY_BYTES, OPEN_THREADS, SERVER_THREADS, _load
from bench.procs import Server, write_test_config
from bench.report import INFO, Row, verdict
from webhook.config import with_search_path

SECTION = "retention: ingest into a store holding N uplinks (127.0.0.1, waitress)"
UPLINKS = 5_000_000
QUICK_UPLINKS = 20_000
FLEET = 10_000  # devices
PER_DAY = 140  # uplinks per device per day
DEVICE_0 = 0x20000000  # the fleet's Sigfox ids; bench.load's callbacks use 0x10000000 + n
TARGET_RATIO = 0.9
RATE = 200.0
OPERATOR_SECRET = "bench-operator-secret"

# What the service stores for bench.load's callbacks (the aura-reference frames), per frame.
FRAMES = (
    "01F07010E410B88DC20A5700",
    "02F061D0D810B79A20035602",
    "04480E80",
    "017FFFFFFF7FFFFFFFFF4000",
)
EVENT_BODY = (
    '{"device_type_id": 1, "device_id": "%s", "message_type": 4, "body": {"batteryLevel": 87}}'
)
AURA_ANSWER = (
    '{"status": 200, "body": {"resolvedAuraEvent": {"eventTypes": "BATTERY_INFO",'
    ' "eventResponse": {"calloutId": null, "deviceId": "%s"}}}}'
)
DEVICE_STATE = (
    '{"callout_open": false, "alarm_active": false, "last_fix": {"latitude": -26.2025,'
    ' "longitude": 28.0468, "accuracy_m": 12, "source": "gps"}, "last_fix_at":'
    ' "2026-01-01T00:00:01+00:00", "battery_percent": 86, "last_heartbeat_at":'
    ' "2026-01-01T00:00:01+00:00"}'
)


@dataclass(frozen=True)
class Fleet:
    """The history a full store holds: ``uplinks`` uplinks ending ``end`` (Unix seconds), one
    every ``step`` seconds across the fleet (round-robin over its devices)."""

    uplinks: int
    end: float

    @property
    def step(self) -> float:
        return 86_400.0 / (FLEET * PER_DAY)

    @property
    def start(self) -> float:
        return self.end - self.uplinks * self.step

    @property
    def age_days(self) -> float:
        return (self.end - self.start) / 86_400.0


class Target(Protocol):
    """One store of a backend, and what a service config needs to use it."""

    name: str
    data_dir: Path

    def store_section(self) -> str:
        """The ``[store]`` lines other than retention (e.g. ``url = ...``)."""
        ...

    def size_bytes(self) -> int: ...


class Backend(Protocol):
    kind: str

    def target(self, name: str) -> Target: ...
    def fill(self, target: Target, fleet: Fleet) -> None: ...
    def close(self) -> None: ...


# -- SQLite --------------------------------------------------------------------------------------


@dataclass
class SqliteTarget:
    name: str
    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "aura-uplink.db"  # webhook.config: ServiceConfig.database

    def store_section(self) -> str:
        return ""

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.data_dir.glob("aura-uplink.db*") if p.is_file())


# One statement each, in one transaction. The uplinks are numbered i = 0 .. N-1, oldest first:
# device i % FLEET, its (i // FLEET)-th uplink; stored at start + i * step.
_FILL_UPLINKS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :count),
rows AS (
    SELECT i,
           printf('%08X', :device0 + i % :fleet) AS device,
           (i / :fleet) % 4096 AS seq,
           :start + i * :step AS stored,
           CAST(:start + i * :step AS INTEGER) - 1 AS sent,
           CASE i % 4 WHEN 0 THEN :frame0 WHEN 1 THEN :frame1 WHEN 2 THEN :frame2
                      ELSE :frame3 END AS frame
      FROM n)
INSERT INTO uplinks (id, network, dedup_key, device, received_at, payload_hex, port, sequence,
                     raw_json, status, error, model, template, stored_at, warnings_json)
SELECT i + 1, 'sigfox', printf('sigfox:%s:%d:%d', device, seq, sent), device,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', sent, 'unixepoch'), lower(frame), NULL, seq,
       printf('{"device": "%s", "time": %d, "seqNumber": %d, "data": "%s"}',
              device, sent, seq, frame),
       'decoded', NULL, 'aura-reference', 'reference', stored, '[]'
  FROM rows
"""

# Half the uplinks (every other one) with one event, delivered 0.2 s after it was stored.
_FILL_EVENTS = """
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    attempts, claim, next_attempt_at, lease_until, created_at,
                    first_attempt_at, last_error, delivered_at, response, alerted_at)
SELECT id, '1:' || device, 0, lower(hex(randomblob(32))), printf(:body, device), 4,
       'delivered', 1, 1, stored_at, NULL, stored_at, stored_at + 0.05, NULL,
       stored_at + 0.2, printf(:answer, device), NULL
  FROM uplinks WHERE id % 2 = 1 ORDER BY id
"""

_FILL_DEVICES = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :fleet)
INSERT INTO devices (device_key, state, updated_at)
SELECT printf('1:%08X', :device0 + i), :state, :end FROM n
"""


class SqliteBackend:
    """SQLite files in a temporary directory (``--store-url sqlite``)."""

    kind = "sqlite"

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-retention-")
        self.root = Path(self._tmp.name)

    def target(self, name: str) -> SqliteTarget:
        data_dir = self.root / name / "data"
        data_dir.mkdir(parents=True)
        return SqliteTarget(name, data_dir)

    def fill(self, target: Target, fleet: Fleet) -> None:
        assert isinstance(target, SqliteTarget)
        fill_sqlite(target.database, fleet)

    def close(self) -> None:
        self._tmp.cleanup()


def fill_sqlite(database: Path, fleet: Fleet) -> None:
    """Make the store (its migrations), then fill it in one transaction. The fill writes no
    journal (a crash mid-fill leaves a broken benchmark file, nothing else); the store is back
    in WAL mode, as the service runs it, when this returns."""
    from webhook.store import SqliteStore

    SqliteStore(database).close()  # the schema, exactly as the service makes it
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -2000000")  # 2 GB: the indexes stay in memory
        conn.execute("BEGIN")
        frames = {f"frame{n}": frame for n, frame in enumerate(FRAMES)}
        conn.execute(
            _FILL_UPLINKS,
            {"count": fleet.uplinks, "device0": DEVICE_0, "fleet": FLEET, "start": fleet.start,
             "step": fleet.step, **frames},
        )  # fmt: skip
        conn.execute(_FILL_EVENTS, {"body": EVENT_BODY, "answer": AURA_ANSWER})
        conn.execute(
            _FILL_DEVICES,
            {"fleet": min(FLEET, fleet.uplinks), "device0": DEVICE_0, "state": DEVICE_STATE,
             "end": fleet.end},
        )  # fmt: skip
        conn.execute("COMMIT")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise RuntimeError(f"{database}: journal_mode {mode} after the fill")
    finally:
        conn.close()


# -- PostgreSQL ----------------------------------------------------------------------------------


@dataclass
class PostgresTarget:
    """A store in a schema of its own on the server (the service's data dir holds the rest)."""

    name: str
    data_dir: Path
    url: str  # the server's URL with this schema first on the search_path
    schema: str

    def store_section(self) -> str:
        return f"url = {json.dumps(self.url)}"  # a JSON string is a TOML basic string

    def size_bytes(self) -> int:
        """Tables with their indexes and TOAST (the WAL is the server's, not the store's)."""
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint"
                "  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.schema,),
            ).fetchone()
        return int(row[0]) if row else 0


# The SQLite fill's rows, in PostgreSQL's SQL: uplink i = 0 .. N-1, oldest first, device i %
# FLEET. The identity columns number them (ids 1 .. N in i order: one sequential scan of the
# series feeds the insert), so the sequences stand where the service's next insert expects.
# Strings are built with || : psycopg reads every % in the statement as a placeholder.
_PG_FILL_UPLINKS = """
INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, port, sequence,
                     raw_json, status, error, model, template, stored_at, warnings_json)
SELECT 'sigfox', 'sigfox:' || device || ':' || seq || ':' || sent, device,
       to_char(to_timestamp(sent) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
       lower(frame), NULL, seq,
       '{"device": "' || device || '", "time": ' || sent || ', "seqNumber": ' || seq
           || ', "data": "' || frame || '"}',
       'decoded', NULL, 'aura-reference', 'reference', stored, '[]'
  FROM (SELECT upper(lpad(to_hex(%(device0)s + mod(i, %(fleet)s)), 8, '0')) AS device,
               mod(i / %(fleet)s, 4096) AS seq,
               %(start)s + i * %(step)s AS stored,
               floor(%(start)s + i * %(step)s)::bigint - 1 AS sent,
               (%(frames)s::text[])[mod(i, 4) + 1] AS frame
          FROM generate_series(0, %(count)s - 1) AS i) AS n
"""

# Every other uplink with one event, delivered 0.2 s after it was stored; its idempotency key
# exactly as webhook.store.base.idempotency_key makes it (sha256 of "<dedup key>#<position>").
_PG_FILL_EVENTS = """
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    attempts, claim, next_attempt_at, lease_until, created_at,
                    first_attempt_at, last_error, delivered_at, response, alerted_at)
SELECT id, '1:' || device, 0, encode(sha256(convert_to(dedup_key || '#0', 'UTF8')), 'hex'),
       format(%(body)s, device), 4, 'delivered', 1, 1, stored_at, NULL, stored_at,
       stored_at + 0.05, NULL, stored_at + 0.2, format(%(answer)s, device), NULL
  FROM uplinks WHERE mod(id, 2) = 1 ORDER BY id
"""

_PG_FILL_DEVICES = """
INSERT INTO devices (device_key, state, updated_at)
SELECT '1:' || upper(lpad(to_hex(%(device0)s + i), 8, '0')), %(state)s, %(end)s
  FROM generate_series(0, %(fleet)s - 1) AS i
"""


class PostgresBackend:
    """Stores in fresh schemas on the server at ``url`` (``--store-url postgresql://...``),
    dropped at the end. The server's durability is checked, not set: ``fsync`` and
    ``synchronous_commit`` must be on, or the comparison with SQLite's ``synchronous=FULL``
    (and with the empty store) would flatter it."""

    kind = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        if "://" not in url:
            raise SystemExit(
                "bench.retention: --store-url needs the server's URL, e.g. the one"
                " `bash .ci/postgres.sh start` prints"
            )
        self.url = url
        with psycopg.connect(url, connect_timeout=10) as conn:
            found = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("fsync", "synchronous_commit")
            }
        if found != {"fsync": "on", "synchronous_commit": "on"}:
            raise SystemExit(f"bench.retention: the server must be durable, it has {found}")
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-retention-pg-")
        self.root = Path(self._tmp.name)
        self._schemas: list[str] = []

    def target(self, name: str) -> PostgresTarget:
        import uuid

        import psycopg
        from psycopg import sql

        data_dir = self.root / name / "data"
        data_dir.mkdir(parents=True)
        schema = f"aura_bench_retention_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        self._schemas.append(schema)
        return PostgresTarget(name, data_dir, with_search_path(self.url, schema), schema)

    def fill(self, target: Target, fleet: Fleet) -> None:
        assert isinstance(target, PostgresTarget)
        fill_postgres(target.url, fleet)

    def close(self) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                for schema in self._schemas:
                    drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                    conn.execute(drop.format(sql.Identifier(schema)))
        finally:
            self._schemas.clear()
            self._tmp.cleanup()


def fill_postgres(url: str, fleet: Fleet) -> None:
    """Make the store (its migrations, by the store itself), then fill it in one transaction,
    every index kept (they grow as in service); then ``VACUUM (ANALYZE)``, which is what
    autovacuum would long since have done to a store this old: the planner's statistics, and
    the pages' hint bits and visibility map set, so neither the measured rounds pay for that
    nor does autovacuum start on 5 M fresh rows in the middle of them."""
    import psycopg

    from webhook.store.postgres import PostgresStore

    PostgresStore(url, pool_size=1).close()
    with psycopg.connect(url, connect_timeout=10) as conn:
        with conn.transaction():
            conn.execute(
                _PG_FILL_UPLINKS,
                {"count": fleet.uplinks, "device0": DEVICE_0, "fleet": FLEET,
                 "start": fleet.start, "step": fleet.step, "frames": list(FRAMES)},
            )  # fmt: skip
            conn.execute(_PG_FILL_EVENTS, {"body": EVENT_BODY, "answer": AURA_ANSWER})
            conn.execute(
                _PG_FILL_DEVICES,
                {"fleet": min(FLEET, fleet.uplinks), "device0": DEVICE_0,
                 "state": DEVICE_STATE, "end": fleet.end},
            )  # fmt: skip
        conn.autocommit = True  # VACUUM refuses to run in a transaction
        for table in ("uplinks", "events", "devices"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


BACKENDS: dict[str, Callable[[str], Backend]] = {
    "sqlite": lambda _url: SqliteBackend(),
    "postgresql": PostgresBackend,
    "postgres": PostgresBackend,  # the other scheme libpq (and [store] url) accepts
}


def backend_for(store_url: str) -> Backend:
    """``sqlite``, or a URL whose scheme names a backend (``postgresql://...``)."""
    kind = store_url.split(":", 1)[0]
    if kind not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise SystemExit(f"bench.retention: no backend for {store_url!r} (known: {known})")
    return BACKENDS[kind](store_url)


# -- the service and the load ------------------------------------------------------------------


def _config(target: Target, path: Path, retention_days: float) -> Path:
    write_test_config(
        path,
        data_dir=target.data_dir,
        aura_url=None,
        threads=SERVER_THREADS,
        max_body_bytes=MAX_BODY_BYTES,
        operator_secret=OPERATOR_SECRET,
    )
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n[store]\nretention_days = {retention_days}\n{target.store_section()}\n")
    return path


def _serve(config: Path, log: Path) -> Server:
    return Server(["-m", "webhook", "serve", "--config", str(config), "--port", "0"], log)


def _closed(server: Server, count: int, offset: int) -> dict[str, Any]:
    return _load(
        server.url, "--mode", "closed", "--count", str(count), "--threads", str(CLIENT_THREADS),
        "--offset", str(offset), deadline=max(60.0, count / 20),
    )  # fmt: skip


def _open(server: Server, duration: float, offset: int) -> dict[str, Any]:
    return _load(
        server.url, "--mode", "open", "--rate", str(RATE), "--duration", str(duration),
        "--threads", str(OPEN_THREADS), "--offset", str(offset), deadline=duration + 10,
    )  # fmt: skip


def _all_ok(run: dict[str, Any]) -> bool:
    return (
        run["ok"] == run["planned"] and run["duplicates"] == 0 and set(run["statuses"]) == {"200"}
    )


def _store_counts(server: Server) -> dict[str, Any]:
    answer = requests.get(
        server.url + "/status.json",
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
        timeout=120,
    )
    return answer.json().get("store", {}) if answer.status_code == 200 else {}


def plan(quick: bool, uplinks: int | None = None) -> dict[str, Any]:
    return {
        "uplinks": uplinks or (QUICK_UPLINKS if quick else UPLINKS),
        "rounds": 1 if quick else 3,
        "warmup": 30 if quick else 200,
        "count": 300 if quick else 1500,
        "duration": 3.0 if quick else 10.0,
    }


def measure(
    *, quick: bool = False, uplinks: int | None = None, store_url: str = "sqlite"
) -> list[Row]:
    settings = plan(quick, uplinks)
    backend = backend_for(store_url)
    try:
        return _measure(backend, settings)
    finally:
        backend.close()


def _measure(backend: Backend, settings: dict[str, Any]) -> list[Row]:
    fleet = Fleet(settings["uplinks"], time.time() - 60)
    empty, full = backend.target("empty"), backend.target("full")
    started = time.monotonic()
    backend.fill(full, fleet)
    fill_s = time.monotonic() - started
    size = full.size_bytes()
    root = full.data_dir.parent.parent
    runs: dict[str, Any] = {"empty": {"closed": []}, "full": {"closed": []}}
    # Both within the default retention (30 days): the pruners run and find nothing.
    configs = {
        "empty": _config(empty, root / "empty.toml", 30),
        "full": _config(full, root / "full.toml", 30),
    }
    with (
        _serve(configs["empty"], root / "empty.log") as s_empty,
        _serve(configs["full"], root / "full.log") as s_full,
    ):
        servers = {"empty": s_empty, "full": s_full}
        for label, server in servers.items():
            runs[label]["warmup"] = _closed(server, settings["warmup"], 0)
        for n in range(settings["rounds"]):
            for label, server in servers.items():
                runs[label]["closed"].append(_closed(server, settings["count"], (n + 1) * 100_000))
        for label, server in servers.items():
            runs[label]["open"] = _open(server, settings["duration"], 900_000)
        runs["full"]["counts"] = _store_counts(s_full)
    # The full store again, with a retention of half its age: its pruner has half of it to
    # delete, in batches, while the open loop runs.
    retention = fleet.age_days / 2
    pruning = _config(full, root / "pruning.toml", retention)
    with _serve(pruning, root / "pruning.log") as server:
        time.sleep(3.0)  # the pruner's first run starts 2 s after start-up
        runs["pruning"] = {"closed": [_closed(server, settings["count"], 1_000_000)]}
        runs["pruning"]["open"] = _open(server, settings["duration"], 1_100_000)
        runs["pruning"]["counts"] = _store_counts(server)
    pruned_log = [
        line for line in (root / "pruning.log").read_text().splitlines() if "retention:" in line
    ]
    return rows(backend.kind, settings, fleet, fill_s, size, runs, retention, pruned_log)


def _median_rate(closed: list[dict[str, Any]]) -> float:
    return statistics.median(run["ok_per_s"] for run in closed)


def rows(
    kind: str,
    settings: dict[str, Any],
    fleet: Fleet,
    fill_s: float,
    size: int,
    runs: dict[str, Any],
    retention_days: float,
    pruned_log: list[str],
) -> list[Row]:
    n = settings["uplinks"]
    empty_rate, full_rate, pruning_rate = (
        _median_rate(runs[k]["closed"]) for k in ("empty", "full", "pruning")
    )
    ratio = full_rate / empty_rate if empty_rate else None
    every_ok = all(_all_ok(r) for k in ("empty", "full") for r in runs[k]["closed"])
    p99 = {k: runs[k]["open"]["latency_ms"]["p99"] for k in ("empty", "full", "pruning")}
    open_ok = {k: _all_ok(runs[k]["open"]) for k in ("empty", "full", "pruning")}
    stored = runs["full"].get("counts", {}).get("uplinks", {})
    left = runs["pruning"].get("counts", {}).get("uplinks", {})
    label = f"{n:,} uplinks ({kind})"
    return [
        Row(
            SECTION,
            f"closed loop, {CLIENT_THREADS} clients: store with {label}",
            full_rate,
            "req/s",
            empty_rate,
            "empty store",
            ratio,
            f">= {TARGET_RATIO}x empty",
            verdict(ratio is not None and ratio >= TARGET_RATIO and every_ok),
            {"rounds": {k: runs[k]["closed"] for k in ("empty", "full")}, "settings": settings},
        ),
        Row(
            SECTION,
            f"fill: {label}, one transaction",
            fill_s,
            "s",
            None,
            "",
            None,
            "n/a",
            INFO,
            {"uplinks_per_s": n / fill_s if fill_s else None, "fleet_days": fleet.age_days},
        ),
        Row(
            SECTION,
            "full store: bytes per stored uplink (half with an event)",
            round(size / n) if n else None,
            "bytes",
            None,
            "",
            None,
            "n/a (issue: ~520 measured)",
            INFO,
            {"size_bytes": size, "counts": stored},
        ),
        Row(
            SECTION,
            f"open loop {RATE:.0f} req/s: p99, store with {label}",
            p99["full"],
            "ms",
            p99["empty"],
            "empty store",
            p99["full"] / p99["empty"] if p99["full"] and p99["empty"] else None,
            "n/a",
            INFO if open_ok["full"] and open_ok["empty"] else verdict(False),
            {"full": runs["full"]["open"], "empty": runs["empty"]["open"]},
        ),
        Row(
            SECTION,
            "closed loop: the same store while its pruner deletes ~half of it",
            pruning_rate,
            "req/s",
            full_rate,
            "not pruning",
            pruning_rate / full_rate if full_rate else None,
            "n/a",
            INFO if _all_ok(runs["pruning"]["closed"][0]) else verdict(False),
            {"closed": runs["pruning"]["closed"]},
        ),
        Row(
            SECTION,
            f"open loop {RATE:.0f} req/s: p99 while pruning ~half of it",
            p99["pruning"],
            "ms",
            p99["full"],
            "not pruning",
            p99["pruning"] / p99["full"] if p99["pruning"] and p99["full"] else None,
            "n/a",
            INFO if open_ok["pruning"] else verdict(False),
            {
                "open": runs["pruning"]["open"],
                "retention_days": retention_days,
                "uplinks_left": left,
                "pruner_log": pruned_log,
            },
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.retention [--quick] [--uplinks N] [--store-url URL] [--json PATH]``."""
    import argparse

    from bench.report import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_UPLINKS:,} uplinks")
    parser.add_argument("--uplinks", type=int, help=f"stored uplinks (default {UPLINKS:,})")
    parser.add_argument(
        "--store-url", default="sqlite", help="sqlite (default), or a backend's URL"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.uplinks is not None and args.uplinks < 1:
        parser.error("--uplinks must be >= 1")
    found = measure(quick=args.quick, uplinks=args.uplinks, store_url=args.store_url)
    print(table(found))
    if args.json is not None:
        args.json.write_text(json.dumps([r.as_dict() for r in found], indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
