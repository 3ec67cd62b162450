"""What the routes, the delivery worker and the CLI need from a store, whatever its engine.

Invariants every store keeps (docs/design.md §9, docs/reliability.md §6.1):

* **Persist first.** :meth:`Store.ingest` commits the uplink, its events and the device states
  in ONE transaction, durable when it returns; a route answers 2xx only after that, so an
  acknowledged uplink survives a crash or a power cut.
* **Deduplicate at ingest.** The uplink's ``dedup_key`` is unique and checked inside that
  transaction; a redelivered callback is reported as a duplicate and changes nothing.
* **Per-device FIFO with a lease.** :meth:`Store.claim` hands out only the oldest open event of
  each device and marks it ``in_flight`` until its lease ends; an expired lease makes it
  claimable again, so a killed worker never strands a panic. Dead events leave the queue.
* **Short leases, renewed.** A lease lasts seconds; the worker holding an event renews it
  (:meth:`Store.renew_leases`) while the send is in flight, so a slow send keeps its event and a
  dead worker's events are claimable again within one lease. :meth:`Store.next_due` counts lease
  ends, so a dispatcher wakes when a lapsed lease frees an event.
* **No I/O inside a transaction** other than the database itself: callers send HTTP between
  :meth:`Store.claim` and ``mark_*``, never while a transaction is open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from decoders.aura import DeviceEvent, DeviceState
from webhook.store.records import (
    DeviceLink,
    EventRow,
    EventState,
    Newest,
    SeenDevice,
    StoredUplink,
    UplinkRecord,
    UplinkStatus,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one uplink means, computed by the caller from state read in the ingest transaction.

    ``events`` are ``(device_key, event)`` pairs in the order they must reach AURA; ``states``
    are the device states to store alongside them (only the ones that changed).
    """

    status: UplinkStatus
    error: str | None = None
    model: str | None = None
    template: str | None = None
    events: Sequence[tuple[str, DeviceEvent]] = ()
    states: Mapping[str, DeviceState] = field(default_factory=dict)

    def outcome_params(self) -> dict[str, Any]:
        """The uplink row's columns this plan decides (the stores' named parameters)."""
        return {
            "status": self.status,
            "error": self.error,
            "model": self.model,
            "template": self.template,
        }


@dataclass(frozen=True, slots=True)
class IngestResult:
    """``duplicate`` means nothing was written; ``event_ids`` are then the earlier ones."""

    duplicate: bool
    uplink_id: int
    event_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveredEvent:
    """AURA's 2xx for one claimed event, as :meth:`Store.mark_delivered_many` records it."""

    event_id: int
    response_json: str
    delivered_at: float
    claim: int | None = None


@dataclass(frozen=True, slots=True)
class PruneCount:
    """Rows retention removed (or, for a dry run, would remove)."""

    uplinks: int = 0
    events: int = 0


class TxReader(Protocol):
    """Reads a plan may make. A plan's result is never written over a device state other than
    the one it read: SQLite reads inside the write's transaction; PostgreSQL writes each state
    only over the one read, else plans again (``PostgresStore.ingest``)."""

    def state(self, device_key: str) -> DeviceState: ...

    def uplink_exists(self, dedup_key: str) -> bool: ...

    def linked_device_id(self, network_id: str) -> str | None:
        """AURA's ``deviceId`` for the device the network calls ``network_id``, if linked."""
        ...


@dataclass(frozen=True, slots=True)
class PlanReads:
    """What a plan is going to read, known before it runs. A store whose every read is a round
    trip (PostgreSQL) fetches these with its duplicate check, in one statement; the plan's
    reader still answers any other read, one query each."""

    device_key: str | None = None
    network_id: str | None = None
    partner_key: str | None = None


#: Computes the plan inside the ingest transaction. A store may commit several callers' writes
#: in one transaction (SQLite's group commit), so a plan may run in another thread than its
#: caller's, and again if the transaction is retried: it reads only through its argument and
#: does nothing else that is not safe to repeat.
PlanFn = Callable[[TxReader], Plan]


class Store(Protocol):
    """What the routes, the delivery worker and the CLI need from a store."""

    def ingest(
        self, record: UplinkRecord, plan: PlanFn, reads: PlanReads | None = None
    ) -> IngestResult: ...
    def claim(self, now: float, lease_s: float, limit: int) -> list[EventRow]: ...
    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool: ...
    # mark_delivered for many events in one transaction; returns the ids recorded (the others
    # are no longer ours). The delivery worker records its verdicts this way, off the send path.
    def mark_delivered_many(self, delivered: Sequence[DeliveredEvent]) -> set[int]: ...
    def mark_retry(
        self,
        event_id: int,
        error: str,
        next_attempt_at: float,
        count_attempt: bool = True,
        *,
        claim: int | None = None,
    ) -> bool: ...
    def mark_dead(self, event_id: int, error: str, *, claim: int | None = None) -> bool: ...
    # Lease renewal: extend (never shorten) the lease of an event still in flight under
    # ``claim``; False, or the id left out of the set, when the row is no longer ours. Guarded
    # by state and claim like mark_*. renew_leases does many in one transaction.
    def renew_lease(self, event_id: int, lease_until: float, *, claim: int) -> bool: ...
    def renew_leases(self, claims: Mapping[int, int], lease_until: float) -> set[int]: ...
    def mark_alerted(self, event_id: int, now: float) -> bool: ...
    def overdue(self, created_before: float, limit: int = 100) -> list[EventRow]: ...
    def next_due(self) -> float | None: ...
    def status(self) -> dict[str, Any]: ...
    def get_event(self, event_id: int) -> EventRow | None: ...
    def list_events(self, state: EventState | None = None, limit: int = 50) -> list[EventRow]: ...
    def list_uplinks(
        self, status: UplinkStatus | None = None, limit: int = 50
    ) -> list[StoredUplink]: ...
    def replay_dead(self, ids: Sequence[int] | None = None) -> int: ...
    def undecodable_uplinks(self, limit: int = 1000) -> list[StoredUplink]: ...
    # The status page (webhook/http/status_page.py), newest first: one uplink; the network
    # devices the stored uplinks name; the states of devices by key (the keys it lacks have
    # none yet); events not delivered whose last answer from AURA was a 4xx.
    def get_uplink(self, uplink_id: int) -> StoredUplink | None: ...
    def seen_devices(self, limit: int = 50) -> Newest[SeenDevice]: ...
    def device_states(self, keys: Sequence[str]) -> dict[str, DeviceState]: ...
    def refusals(self, limit: int = 50) -> Newest[EventRow]: ...
    def replace_uplink_outcome(
        self, uplink_id: int, plan: PlanFn, warnings: Sequence[Mapping[str, Any]] = ()
    ) -> IngestResult: ...
    def save_link(self, link: DeviceLink) -> None: ...
    def link_for_serial(self, serial: str) -> DeviceLink | None: ...
    def link_for_network_id(self, network_id: str) -> DeviceLink | None: ...
    def links(self) -> list[DeviceLink]: ...
    def remove_link(self, serial: str) -> bool: ...
    # Health (``/readyz`` and start-up, webhook/readiness.py). Each problem is a one-line reason
    # or None. probe_commit makes one real, durable write and raises with the reason if it
    # cannot; identity_problem is cheap (a stat) and says the store's file was deleted or
    # replaced (writes are then refused); integrity_problem reads the whole store.
    def probe_commit(self) -> None: ...
    def identity_problem(self) -> str | None: ...
    def schema_problem(self) -> str | None: ...
    def integrity_problem(self) -> str | None: ...
    # Retention ([store] retention_days): delivered events, and decoded or ignored uplinks with
    # no event left, stored before ``older_than``. Dead events, open events and undecodable
    # uplinks (and the uplinks they belong to) are never pruned. prune_batch deletes at most
    # ``limit`` events and ``limit`` uplinks in one short transaction; prunable counts it all.
    def prune_batch(self, older_than: float, limit: int) -> PruneCount: ...
    def prunable(self, older_than: float) -> PruneCount: ...
    def close(self) -> None: ...


def idempotency_key(dedup_key: str, position: int) -> str:
    """Deterministic per event: the same uplink always yields the same keys (reliability rule 4)."""
    return hashlib.sha256(f"{dedup_key}#{position}".encode()).hexdigest()
