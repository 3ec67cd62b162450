"""Press-to-AURA on a store that is not empty: ``delivered`` events of history (what a fleet
leaves within the retention period: a 10,000-device fleet at 140 uplinks a day makes ~2.4 M
events a day) and ``waiting`` events of other devices in backoff (AURA refused them for now;
they stay open, their next attempt an hour away, so none is sent during the run).

The delivery workers' claim reads the open events only, so this history should cost it nothing;
whether it does is what this measures (on both stores, the same fill, the same presses).

The fill is SQL on the store's own schema, made first by the store's migrations: no Python per
row. Every row is well-formed (the service could read each one back), and the store's
statistics are refreshed afterwards (PostgreSQL: ``VACUUM ANALYZE``, what autovacuum does to a
table that grew over days; SQLite: nothing, as in service, which never runs ``ANALYZE``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg

WAIT_S = 3600.0  # the waiting events' backoff: longer than any run
HISTORY_DEVICES = 10_000

_PG_UPLINKS = """
INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, raw_json, status,
                     model, template, stored_at)
SELECT 'sigfox', %(prefix)s || g, %(prefix)s || (g %% %(devices)s), '2026-01-01T00:00:00+00:00',
       '04480e80', '{}', 'decoded', 'aura-reference', 'reference', %(at)s
  FROM generate_series(1, %(count)s) AS g
"""
_PG_EVENTS = """
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    attempts, claim, next_attempt_at, created_at, first_attempt_at,
                    delivered_at, alerted_at)
SELECT id, device, 0, dedup_key || ':0', '{}', 4, %(state)s, 1, 1, %(next)s, %(at)s, %(at)s,
       CASE WHEN %(state)s = 'delivered' THEN %(at)s END, %(alerted)s::double precision
  FROM uplinks WHERE dedup_key LIKE %(prefix)s || '%%'
"""

_SQLITE_UPLINKS = """
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < :count)
INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, raw_json, status,
                     model, template, stored_at)
SELECT 'sigfox', :prefix || g, :prefix || (g % :devices), '2026-01-01T00:00:00+00:00',
       '04480e80', '{}', 'decoded', 'aura-reference', 'reference', :at
  FROM n
"""
_SQLITE_EVENTS = """
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    attempts, claim, next_attempt_at, created_at, first_attempt_at,
                    delivered_at, alerted_at)
SELECT id, device, 0, dedup_key || ':0', '{}', 4, :state, 1, 1, :next, :at, :at,
       CASE WHEN :state = 'delivered' THEN :at END, :alerted
  FROM uplinks WHERE dedup_key LIKE :prefix || '%'
"""


def _batches(delivered: int, waiting: int, now: float) -> list[dict[str, Any]]:
    """The two kinds of row: a day-old delivered history, and open events waiting in backoff
    (already alerted on, as a backlog older than ``alert_after_s`` would be)."""
    return [
        {"prefix": "hist:", "count": delivered, "devices": HISTORY_DEVICES, "state": "delivered",
         "at": now - 86_400, "next": now - 86_400, "alerted": None},
        {"prefix": "wait:", "count": waiting, "devices": max(1, waiting), "state": "pending",
         "at": now - 600, "next": now + WAIT_S, "alerted": now - 500},
    ]  # fmt: skip


def fill_postgres(url: str, delivered: int, waiting: int) -> float:
    """Fill the store at ``url``; the seconds it took."""
    from webhook.store.postgres import PostgresStore

    started = time.monotonic()
    PostgresStore(url).close()  # the schema, exactly as the service makes it
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        with conn.transaction():
            for batch in _batches(delivered, waiting, time.time()):
                if batch["count"]:
                    conn.execute(_PG_UPLINKS, batch)
                    conn.execute(_PG_EVENTS, batch)
        conn.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def fill_sqlite(database: Path, delivered: int, waiting: int) -> float:
    """Fill the SQLite store at ``database`` (made if missing); the seconds it took."""
    from webhook.store import SqliteStore

    started = time.monotonic()
    database.parent.mkdir(parents=True, exist_ok=True)
    SqliteStore(database).close()
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for batch in _batches(delivered, waiting, time.time()):
            if batch["count"]:
                conn.execute(_SQLITE_UPLINKS, batch)
                conn.execute(_SQLITE_EVENTS, batch)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return time.monotonic() - started
