"""Retention (``[store] retention_days``): raw uplinks and delivered events older than that are
deleted continuously, in small batches, so the store stops growing without end (a 10,000-device
fleet stores ~0.7 GB a day) and no batch holds the write lock for long.

What goes is the store's rule (:meth:`webhook.store.base.Store.prune_batch`): delivered events,
and decoded or ignored uplinks with no event left. Dead letters, open events and undecodable
uplinks stay until someone handles them.

:func:`prune` deletes everything prunable before a time, batch after batch, pausing between
batches so the routes' writes get the lock in between; :class:`Pruner` is the thread ``serve``
runs it in, every ``interval_s``; ``aura-uplink store prune`` runs it once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from webhook.errors import StoreUnavailable
from webhook.periodic import Periodic
from webhook.store import PruneCount, Store

log = logging.getLogger("aura_uplink.retention")

DAY_S = 86_400.0
#: Rows of each kind one batch deletes at most. Each row's index entries (the dedup key, the
#: idempotency key) sit on pages of their own, so a batch dirties a few pages per row: on a
#: store of 5 M uplinks (bench/retention.py) a batch of 100 held the write lock ~10 ms (~45 ms
#: when its commit ran SQLite's WAL checkpoint, every 4th or 5th batch), one of 500 ~90 ms
#: (a checkpoint at every commit).
BATCH_LIMIT = 100
#: Between two batches of one run, at least: the routes' and the deliverer's writes go first.
BATCH_PAUSE_S = 0.05
#: ... and at least this many times as long as the batch took, so that a run catching up on a
#: large backlog (retention just enabled on a big store, a slow disk) holds the write lock at
#: most ~1/10 of the time. In steady state a run is a few batches a minute (a 10,000-device
#: fleet stores ~16 uplinks a second), well under 1 % of it.
PAUSE_PER_BATCH_TIME = 9.0
#: Between two runs, and before the first one after start-up.
INTERVAL_S = 60.0
FIRST_RUN_S = 2.0


def cutoff(now: float, retention_days: float) -> float:
    """The time before which rows are pruned, for a retention of ``retention_days``."""
    return now - retention_days * DAY_S


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def prune(
    store: Store,
    older_than: float,
    *,
    limit: int = BATCH_LIMIT,
    pause_s: float = BATCH_PAUSE_S,
    stop: threading.Event | None = None,
) -> tuple[PruneCount, int]:
    """Prune everything before ``older_than``, ``limit`` rows of each kind per batch, until a
    batch removes fewer than ``limit`` of both (then nothing prunable is left: a batch deletes
    events before uplinks) or ``stop`` is set. Between batches it waits ``pause_s``, or
    ``PAUSE_PER_BATCH_TIME`` times as long as the batch took if that is longer (``pause_s=0``:
    no pause at all). Returns the total and the number of batches."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    stop = stop if stop is not None else threading.Event()
    uplinks = events = batches = 0
    while not stop.is_set():
        started = time.monotonic()
        batch = store.prune_batch(older_than, limit)
        took = time.monotonic() - started
        batches += 1
        uplinks += batch.uplinks
        events += batch.events
        if batch.uplinks < limit and batch.events < limit:
            break
        stop.wait(max(pause_s, PAUSE_PER_BATCH_TIME * took) if pause_s > 0 else 0)
    return PruneCount(uplinks=uplinks, events=events), batches


class Pruner:
    """Prunes ``store`` every ``interval_s`` (the first run ``first_run_s`` after :meth:`start`):
    everything older than ``retention_days`` by ``clock``. One INFO line per run that removed
    something; a failing run is logged and the next one tries again (the thread never dies of
    it). :meth:`stop` ends it, mid-run too (between two batches)."""

    def __init__(
        self,
        store: Store,
        retention_days: float,
        *,
        interval_s: float = INTERVAL_S,
        first_run_s: float = FIRST_RUN_S,
        limit: int = BATCH_LIMIT,
        pause_s: float = BATCH_PAUSE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not retention_days > 0:
            raise ValueError("retention_days must be > 0 (0 keeps everything: no pruner)")
        if not interval_s > 0 or limit < 1:
            raise ValueError("interval_s must be > 0 and limit >= 1")
        self.store = store
        self.retention_days = retention_days
        self.interval_s = interval_s
        self.first_run_s = first_run_s
        self.limit = limit
        self.pause_s = pause_s
        self.clock = clock
        self.runs = 0  # runs completed (tests wait on it)
        self.failures = 0  # runs that raised
        self.removed = PruneCount()  # since start
        self._thread = Periodic("retention", self._run_logged, interval_s, first_s=first_run_s)

    def run_once(self) -> PruneCount:
        """One run: everything prunable now, in batches; logs what it removed."""
        started = time.monotonic()
        older_than = cutoff(self.clock(), self.retention_days)
        found, batches = prune(
            self.store,
            older_than,
            limit=self.limit,
            pause_s=self.pause_s,
            stop=self._thread.stopping,
        )
        if found.uplinks or found.events:
            log.info(
                "retention: pruned %d uplink(s) and %d event(s) older than %s"
                " (%d batch(es), %.2f s)",
                found.uplinks,
                found.events,
                iso(older_than),
                batches,
                time.monotonic() - started,
            )
        self.removed = PruneCount(
            uplinks=self.removed.uplinks + found.uplinks,
            events=self.removed.events + found.events,
        )
        self.runs += 1
        return found

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the batch in progress, if any (a batch is one short transaction)."""
        self._thread.stop(timeout)

    def _run_logged(self) -> None:
        try:
            self.run_once()
        except StoreUnavailable as error:  # the database is away: /readyz says it already
            self.failures += 1
            log.warning("retention: %s; trying again in %g s", error, self.interval_s)
        except Exception:  # a store that fails now may work next time: never end the thread
            self.failures += 1
            log.exception("retention: pruning failed; trying again in %g s", self.interval_s)
