"""AURA's 2xx answers, recorded off the send path: the delivery worker writes an answer's
receipt (:mod:`webhook.delivery.receipts`), hands it here and goes on to its next send; one
thread commits every answer handed over since its last commit in one transaction
(``Store.mark_delivered_many``).

Why: a worker that recorded each answer itself waited for the store's writer lock after every
send, behind the callbacks' commits, and one commit per answer was half the commits the store
made under load (5,145 in 30 s of 200 callbacks/s; 2,593 with the answers batched here).

Until its answer is recorded an event stays in flight with its lease renewed (the recorder
releases it), so its device's next event is not claimed before the record: per-device order
holds. A record that fails leaves the event to be sent again once its lease lapses, as a
worker's failed verdict always did; its receipt stays in its file for the next recovery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from webhook.delivery.aura_client import Delivered
from webhook.delivery.leases import LeaseKeeper
from webhook.delivery.receipts import Receipts, Segment
from webhook.logs import callout_id, event_fields
from webhook.store import DeliveredEvent, EventRow, Store

# Every delivery line under one logger (docs/operations.md lists them).
log = logging.getLogger("webhook.delivery.worker")


@dataclass(slots=True)
class Answered:
    """A 2xx whose receipt is written and whose verdict the store does not have yet."""

    row: EventRow
    outcome: Delivered
    answer: str  # what the store keeps of AURA's answer (aura_client.response_json)
    at: float
    receipt: Segment | None


def lost_claim(row: EventRow, verdict: str) -> None:
    """Our lease ran out and the row was claimed again (or replayed): the newer claim owns the
    verdict. AURA may see this event twice; the idempotency key is the same."""
    log.warning("event %d: lease lost before recording %s; left to its new owner", row.id, verdict)


class AnswerRecorder:
    """Records :class:`Answered` events for the workers; :meth:`start` / :meth:`stop`, or
    :meth:`record` in the caller's thread. ``recorded`` is called after each commit (the
    dispatcher's wake-up: those devices' next events may be claimable now)."""

    def __init__(
        self,
        store: Store,
        leases: LeaseKeeper,
        receipts: Receipts | None,
        recorded: Callable[[], None],
    ) -> None:
        self.store = store
        self.leases = leases
        self.receipts = receipts
        self._recorded = recorded
        self._cond = threading.Condition()
        self._pending: list[Answered] = []
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="aura-verdicts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Record what was handed over, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def put(self, answered: Answered) -> None:
        """Hand over an answer; its lease is released once it is recorded."""
        with self._cond:
            self._pending.append(answered)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._pending or self._stopping):
                    self._cond.wait()
                batch, self._pending = self._pending, []
                if not batch:
                    return  # stopping, and nothing left to record
            try:
                self.record(batch)
            except Exception:
                log.exception(
                    "delivery verdicts not recorded: events %s left in flight until their"
                    " leases end",
                    [answered.row.id for answered in batch],
                )
            finally:
                for answered in batch:
                    self.leases.release(answered.row)
                self._recorded()

    def record(self, batch: list[Answered]) -> None:
        """Record AURA's 2xx answers in the store (one transaction), then say so."""
        recorded = self.store.mark_delivered_many(
            [DeliveredEvent(a.row.id, a.answer, a.at, a.row.claim) for a in batch]
        )
        for answered in batch:
            row, status = answered.row, answered.outcome.status
            if answered.receipt is not None and self.receipts is not None:
                self.receipts.recorded(answered.receipt)
            if row.id not in recorded:
                lost_claim(row, "delivered")
                continue
            callout = callout_id(answered.answer)
            log.info(
                "delivered event %d device=%s action=%d attempts=%d latency=%.3fs:"
                " AURA answered %d, callout %s",
                row.id,
                row.device_key,
                row.action,
                row.attempts + 1,
                answered.at - row.created_at,
                status,
                callout,
                extra=event_fields(
                    row, attempt=row.attempts + 1, status=status, callout_id=callout
                ),
            )
