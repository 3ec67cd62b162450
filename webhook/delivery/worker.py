"""The delivery worker: drains the store's outbox to AURA, at least once, per device in order.

Invariants (docs/reliability.md §6.1, rules 4-7):

* Work is claimed from the store with a lease; the HTTP call happens after the claim committed
  and before the verdict's transaction begins: never while a transaction is open.
* Leases are short (``lease_s``, 3 s by default) and renewed every ``lease_s / 3`` from the claim
  until the verdict is recorded (:class:`webhook.delivery.leases.LeaseKeeper`): a slow send keeps
  its event, and the events of a process that died are claimed again within seconds.
* One event per device is in flight at a time (the store's claim enforces it), so AURA sees a
  device's events in the order they happened, and retrying a new-callout is safe.
* Retries wait a capped exponential backoff with full jitter, and never less than AURA's
  ``Retry-After`` up to the same cap (``max_backoff_s``). The schedule lives in the store
  (``next_attempt_at``), so it survives restarts.
* A permanent rejection or an exhausted budget dead-letters the event with a CRITICAL log (an
  incident: page someone); an event still undelivered after ``alert_after_s`` gets one ERROR
  log, well before that.

Threads: one dispatcher claims events for the idle workers plus two rounds (``workers`` each)
more, so that a backlog costs one claim per round rather than one per send and the workers
never wait for a claim, and hands them over; ``workers`` threads send them; one records AURA's
2xx answers in batches (:mod:`webhook.delivery.recorder`); one renews the leases of every event
held, queued or in flight.
The dispatcher sleeps until the store's next due time (which includes the end of a dead
process's lease), a worker finishing, :meth:`Deliverer.wake` (the ingest route calls it after
its commit, so a fresh panic goes out at once), or ``poll_s`` (events another process stored,
alerts to raise).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from webhook.delivery.aura_client import Delivered, Outcome, Permanent, Retry, response_json
from webhook.delivery.leases import LeaseKeeper
from webhook.delivery.receipts import Receipts
from webhook.delivery.recorder import Answered, AnswerRecorder, lost_claim
from webhook.errors import StoreUnavailable
from webhook.failpoints import failpoint
from webhook.logs import event_fields
from webhook.store import EventRow, Store

if TYPE_CHECKING:
    from webhook.metrics import Metrics

log = logging.getLogger(__name__)

#: How often the dispatcher looks for events older than ``alert_after_s`` (seconds).
ALERT_SCAN_S = 1.0


class EventSender(Protocol):
    """What the worker needs of a client (:class:`webhook.delivery.aura_client.AuraClient`): a
    send that classifies instead of raising."""

    def send(self, event_body_json: str, idempotency_key: str) -> Outcome: ...


def full_jitter(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """AWS "full jitter": uniform in [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
    return rng.uniform(0.0, min(cap_s, base_s * 2.0 ** min(attempt, 64)))


class Deliverer:
    """Delivers stored events with ``client``; :meth:`start` / :meth:`stop`, or :meth:`run_once`."""

    def __init__(
        self,
        store: Store,
        client: EventSender,
        *,
        workers: int = 4,
        lease_s: float = 3.0,
        base_backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
        max_attempts: int = 60,
        alert_after_s: float = 30.0,
        poll_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        if workers < 1 or max_attempts < 1:
            raise ValueError("workers and max_attempts must be >= 1")
        self.store = store
        self.client = client
        self.workers = workers
        self.lease_s = lease_s
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_attempts = max_attempts
        self.alert_after_s = alert_after_s
        self.poll_s = poll_s
        self.clock = clock
        self._rng = rng or random.Random()
        self.receipts = receipts
        self.metrics = metrics  # /metrics: attempts, AURA's answers, press latency, dead letters
        self._rng_lock = threading.Lock()
        self._cond = threading.Condition()
        self._woken = False
        self._stopping = False
        self._idle = workers
        self._queue: queue.SimpleQueue[EventRow | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        # Through self.clock, so a clock replaced after construction (tests) applies here too.
        self.leases = LeaseKeeper(store, lease_s, clock=lambda: self.clock())
        self.recorder = AnswerRecorder(store, self.leases, receipts, recorded=self._records_done)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("Deliverer already started")
        self._threads = [threading.Thread(target=self._dispatch, name="aura-dispatch", daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"aura-worker-{n}", daemon=True)
            for n in range(self.workers)
        ]
        self.leases.start()
        # Before the first claim: events a killed process got AURA's 2xx for are delivered,
        # not sent again once their lease lapses.
        self._recover_receipts()
        self.recorder.start()
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop claiming, let in-flight sends finish (bounded by the client's timeouts), join.

        Leases are renewed until the workers are done. Events a worker never finished stay in
        flight until their lease expires (within ``lease_s``), then any worker (in this or
        another process) claims them again.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if not self._threads:
            return
        dispatcher, workers = self._threads[0], self._threads[1:]
        dispatcher.join(timeout)
        for _ in workers:
            self._queue.put(None)
        for thread in workers:
            thread.join(timeout)
        self.recorder.stop(timeout)  # after the workers: it records what they left
        self.leases.stop(timeout)
        if self.receipts is not None:
            self.receipts.close()

    def wake(self) -> None:
        """Something may be claimable now (a commit just happened): look without waiting."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    # -- one pass, synchronously (tests, CLI) --------------------------------------------------

    def run_once(self, limit: int | None = None) -> int:
        """Claim what is due and deliver it in this thread; return how many were attempted."""
        with self.leases.running():
            rows = self.store.claim(self.clock(), self.lease_s, limit or self.workers)
            for row in rows:
                self.leases.hold(row)
            for row in rows:
                try:
                    answered = self._deliver(row)
                    if answered is not None:  # recorded here, in this thread
                        self.recorder.record([answered])
                finally:
                    self.leases.release(row)
        self.raise_alerts()
        return len(rows)

    # -- threads -------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        next_scan = 0.0  # time.monotonic() of the next overdue scan
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._woken = False
                free = self._idle
            rows: list[EventRow] = []
            timeout = 0.0
            try:
                if free > -self.workers:
                    # Up to two rounds ahead of the workers, claimed again once one is used.
                    # Once per round, not once per send: under a backlog every claim reads
                    # every open event. Two, not one: a claim waits its turn at the writer
                    # lock behind the callbacks' commits (9 ms under load, longer than a
                    # send), and with one round queued the workers sat idle half the time.
                    # Leases keep the queued ones.
                    rows = self.store.claim(self.clock(), self.lease_s, free + 2 * self.workers)
                    for row in rows:  # renewed from now until the worker's verdict
                        self.leases.hold(row)
                # Each of these reads every open event: not once per wake-up (every ingest
                # commit and every finished send wakes this loop), or a backlog would make
                # each loop slower and the backlog longer.
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + ALERT_SCAN_S
                    self._recover_receipts()
                    self.raise_alerts()
                if not rows:  # about to sleep (after a claim, the loop claims again at once)
                    timeout = self._sleep_for(free)
            except StoreUnavailable as error:  # a database that went away: one line, no trace
                log.error("delivery dispatcher: %s; retrying in %g s", error, self.poll_s)
                timeout = self.poll_s
            except Exception:  # the store failing must not kill the dispatcher: retry later
                log.exception("delivery dispatcher: store error")
                timeout = self.poll_s
            with self._cond:
                self._idle -= len(rows)
            for row in rows:
                self._queue.put(row)
            with self._cond:
                if not (self._stopping or self._woken or rows):
                    self._cond.wait(timeout)

    def _sleep_for(self, free: int) -> float:
        if free <= 0:  # every worker busy (and a round queued): a finishing one wakes us
            return self.poll_s
        due = self.store.next_due()
        if due is None:
            return self.poll_s
        # A small floor: a due time that is already past but was not claimable (another
        # process took it in between) must not turn into a busy loop.
        return min(self.poll_s, max(0.01, due - self.clock()))

    def _work(self) -> None:
        while True:
            row = self._queue.get()
            if row is None:
                return
            answered = None
            try:
                answered = self._deliver(row)
            except Exception:  # store trouble: the lease expires and the event is claimed again
                log.exception(
                    "delivery worker: event %d left in flight until its lease ends", row.id
                )
            finally:
                if answered is None:
                    self.leases.release(row)
                else:  # the recorder releases it once the verdict is in the store
                    self.recorder.put(answered)
                with self._cond:
                    self._idle += 1
                    self._woken = True  # the device's next event may be claimable now
                    self._cond.notify_all()

    # -- one event -----------------------------------------------------------------------------

    def _deliver(self, row: EventRow) -> Answered | None:
        """Send one claimed event and record the verdict (each step its own transaction); a
        2xx comes back instead, its receipt written, for the :class:`AnswerRecorder`."""
        failpoint("after-claim")
        # DEBUG: under load the log lines took 8-9% of the service's Python time (a profile);
        # a failed attempt and a delivery each have a line of their own at INFO and above.
        log.debug(
            "sending event %d of uplink %d to AURA (attempt %d)",
            row.id,
            row.uplink_id,
            row.attempts + 1,
            extra=event_fields(row, attempt=row.attempts + 1),
        )
        try:
            outcome = self.client.send(row.body, row.idempotency_key)
        except Exception as exc:  # a client bug must not strand the event: treat as retryable
            log.exception("AURA client raised for event %d", row.id)
            outcome = Retry(f"client error: {type(exc).__name__}: {exc}")
        now = self.clock()
        attempts = row.attempts + 1
        if isinstance(outcome, Delivered):
            failpoint("after-send")
            # Written down first: from here a kill no longer makes AURA see the event twice.
            answer = response_json(outcome)
            receipt = self.receipts.write(row.id, row.claim, answer, now) if self.receipts else None
            failpoint("after-receipt")
            self._count_attempt(row, outcome, now)
            return Answered(row, outcome, answer, now, receipt)
        self._count_attempt(row, outcome, now)
        if isinstance(outcome, Permanent):
            if self.store.mark_dead(row.id, outcome.error, claim=row.claim):
                self._count_dead()
                log.critical(
                    "AURA rejected event permanently, dead-lettered: device=%s event=%d status=%d"
                    " action=%d body=%s response=%s",
                    row.device_key,
                    row.id,
                    outcome.status,
                    row.action,
                    row.body,
                    outcome.body,
                    extra=event_fields(row, status=outcome.status, dead_letter=True),
                )
            else:
                lost_claim(row, "dead")
            return None
        self._alert_if_overdue(row, now, attempts, outcome.error)
        if attempts >= self.max_attempts:
            if self.store.mark_dead(row.id, outcome.error, claim=row.claim):
                self._count_dead()
                log.critical(
                    "delivery attempts exhausted, dead-lettered: device=%s event=%d attempts=%d"
                    " undelivered for %.0f s, last error: %s; body=%s",
                    row.device_key,
                    row.id,
                    attempts,
                    now - row.created_at,
                    outcome.error,
                    row.body,
                    extra=event_fields(row, status=outcome.status, dead_letter=True),
                )
            else:
                lost_claim(row, "dead")
            return None
        delay = self.backoff(attempts)
        if outcome.retry_after_s is not None:
            # Honoured up to max_backoff_s: one Retry-After of a day (or an HTTP date a week
            # ahead) must not park a panic, and every later event of its device, for that long.
            delay = max(delay, min(outcome.retry_after_s, self.max_backoff_s))
        if self.store.mark_retry(row.id, outcome.error, now + delay, True, claim=row.claim):
            log.warning(
                "event %d device=%s attempt %d failed (%s); retry in %.2f s",
                row.id,
                row.device_key,
                attempts,
                outcome.error,
                delay,
                extra=event_fields(row, status=outcome.status, retry_in_s=round(delay, 3)),
            )
        else:
            lost_claim(row, "retry")
        return None

    def _records_done(self) -> None:
        with self._cond:
            self._woken = True  # those devices' next events may be claimable now
            self._cond.notify_all()

    def _count_attempt(self, row: EventRow, outcome: Outcome, now: float) -> None:
        if self.metrics is not None:
            self.metrics.attempted(row, outcome, now)

    def _count_dead(self) -> None:
        if self.metrics is not None:
            self.metrics.dead_letter()

    def backoff(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` failed ones (>= 1)."""
        with self._rng_lock:  # random.Random is not documented as thread-safe
            return full_jitter(attempts - 1, self.base_backoff_s, self.max_backoff_s, self._rng)

    def _recover_receipts(self) -> None:
        if self.receipts is None:
            return
        try:
            self.receipts.recover(self.store)
        except StoreUnavailable as error:  # left in their files for the next try
            log.error("delivery receipts not recorded yet: %s", error)
        except OSError as error:  # the files are unreadable: their events are sent again
            log.warning("delivery receipts not readable: %s", error)

    # -- alerts --------------------------------------------------------------------------------

    def raise_alerts(self) -> None:
        """One ERROR per open event older than ``alert_after_s`` (the store remembers which)."""
        now = self.clock()
        for row in self.store.overdue(now - self.alert_after_s):
            self._alert_if_overdue(row, now, row.attempts, row.last_error)

    def _alert_if_overdue(
        self, row: EventRow, now: float, attempts: int, last_error: str | None
    ) -> None:
        # Every kind of event counts: a stuck location update blocks its device's later panics.
        age = now - row.created_at
        if age > self.alert_after_s and self.store.mark_alerted(row.id, now):
            log.error(
                "panic event undelivered for %.0f s: device=%s event=%d action=%d attempts=%d"
                " last error: %s",
                age,
                row.device_key,
                row.id,
                row.action,
                attempts,
                last_error,
            )
