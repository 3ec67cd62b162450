"""Short leases, renewed while this process holds the event (docs/design.md §14, "Leases").

A claim leases an event for ``lease_s`` (seconds, 3 by default); :class:`LeaseKeeper` extends the
lease of every event this process holds, from the claim until its verdict is recorded, every
``lease_s / 3``, in one store transaction for all of them. So:

* a send that takes longer than ``lease_s`` (AURA slow, a token fetch, a write lock) keeps its
  event: no other worker sends it again meanwhile;
* the events of a process that died are claimable again at most ``lease_s`` after its last
  renewal, and the store's ``next_due`` counts that moment, so a dispatcher wakes for it.

A renewal that finds its row no longer ours (the lease lapsed and someone claimed it again, or
an operator replayed it) stops renewing it; the worker's verdict is guarded by the same claim, so
the newer owner's outcome stands. The same protocol (``Store.renew_leases``) serves any engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from webhook.periodic import Periodic
from webhook.store import EventRow, Store

log = logging.getLogger(__name__)

#: Below this a lease cannot be renewed reliably: the renewal runs every lease_s / 3, and one
#: SQLite write that waits longer than 2/3 of the lease for the lock lets the lease lapse.
MIN_RELIABLE_LEASE_S = 1.0
RENEWALS_PER_LEASE = 3


class LeaseKeeper:
    """Renews the leases of the events this process holds: :meth:`hold` after a claim,
    :meth:`release` once the verdict is recorded; one thread (:meth:`start` / :meth:`stop`, or
    :meth:`running`) renews them all every ``lease_s / 3``."""

    def __init__(
        self, store: Store, lease_s: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        if lease_s <= 0:
            raise ValueError("lease_s must be > 0")
        self.store = store
        self.lease_s = lease_s
        self.period_s = lease_s / RENEWALS_PER_LEASE
        self.clock = clock
        self._held: dict[int, int] = {}  # event id -> the claim this process holds it under
        self._lock = threading.Lock()
        self._thread = Periodic("aura-leases", self._renew_logged, self.period_s)

    def hold(self, row: EventRow) -> None:
        with self._lock:
            self._held[row.id] = row.claim

    def release(self, row: EventRow) -> None:
        with self._lock:
            if self._held.get(row.id) == row.claim:
                del self._held[row.id]

    def held(self) -> dict[int, int]:
        with self._lock:
            return dict(self._held)

    def renew(self) -> set[int]:
        """One renewal of every held lease; returns the ids found lost (and stops renewing them)."""
        claims = self.held()
        if not claims:
            return set()
        renewed = self.store.renew_leases(claims, self.clock() + self.lease_s)
        gone = set()
        with self._lock:
            for event_id, claim in claims.items():
                if event_id not in renewed and self._held.get(event_id) == claim:
                    del self._held[event_id]
                    gone.add(event_id)
        # Not renewed: either our own verdict landed just before the worker released the row
        # (the claim is still ours: nothing lost), or someone claimed it again.
        lost = {i for i in gone if not self._verdict_was_ours(i, claims[i])}
        for event_id in sorted(lost):
            log.warning(
                "event %d: lease lost while its send was in flight (claimed again or replayed);"
                " its new owner decides",
                event_id,
            )
        return lost

    def _verdict_was_ours(self, event_id: int, claim: int) -> bool:
        row = self.store.get_event(event_id)
        return row is not None and row.claim == claim and row.state != "in_flight"

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._thread.stop(timeout)

    @contextmanager
    def running(self) -> Iterator[None]:
        """The renewing thread for the duration of a block, unless it already runs."""
        if self._thread.running:
            yield
            return
        self.start()
        try:
            yield
        finally:
            self.stop()

    def _renew_logged(self) -> None:
        try:
            self.renew()
        except Exception:  # the store failing must not end renewals: try again next period
            log.exception("lease renewal failed; retrying in %.2f s", self.period_s)
