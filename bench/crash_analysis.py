"""The crash benchmark's figures (:mod:`bench.crash`) from what a run leaves: the load
generator's records, the store's database and the AURA simulator's log of requests."""

from __future__ import annotations

import math
import sqlite3
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from bench import crash_load

# A request that reached AURA this long before a kill had its answer back, or timed out, long
# before: its duplicate was not one in flight at the kill.
IN_FLIGHT_S = 1.0
KILL_SLACK_S = 0.1


class Stored:
    """What the store holds after a run."""

    def __init__(self, database: Path) -> None:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            self.uplinks = {key for (key,) in conn.execute("SELECT dedup_key FROM uplinks")}
            #: uplink dedup key -> its events' idempotency keys
            self.events: dict[str, list[str]] = {}
            self.states: Counter[str] = Counter()
            #: event idempotency key -> when serve read AURA's 2xx (``delivered_at``)
            self.answered_at: dict[str, float] = {}
            joined = (
                "SELECT u.dedup_key, e.idempotency_key, e.state, e.delivered_at"
                " FROM events e JOIN uplinks u ON u.id = e.uplink_id"
            )
            for dedup, key, state, delivered_at in conn.execute(joined):
                self.events.setdefault(dedup, []).append(key)
                self.states[state] += 1
                if delivered_at is not None:
                    self.answered_at[key] = delivered_at
            # Claimed more often than a verdict was recorded: a process died holding it, and
            # another claimed it once the lease lapsed. (The store's times are wall clock.)
            stranded = "SELECT first_attempt_at, delivered_at FROM events WHERE claim > attempts"
            self.stranded: list[tuple[float, float]] = list(
                conn.execute(stranded + " AND delivered_at IS NOT NULL")
            )
        finally:
            conn.close()


def _seconds(samples: list[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles; an event never delivered counts as ``inf``, so a run that did
    not drain shows it in the percentiles instead of leaving it out."""
    if not samples:
        return {"p50": None, "p99": None, "max": None, "count": 0}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"p50": rank(0.5), "p99": rank(0.99), "max": ordered[-1], "count": len(ordered)}


def analyse(
    load: dict[str, Any], stored: Stored, received: list[dict[str, Any]], kills: list[float]
) -> dict[str, Any]:
    """The figures of one run from the load's records, the store, the simulator's log and the
    wall-clock times of the kills."""
    first_receipt: dict[str, float] = {}
    per_key: Counter[str] = Counter()
    for entry in received:
        key = entry.get("idempotency_key")
        if key is None:
            continue
        per_key[key] += 1
        first_receipt[key] = min(first_receipt.get(key, entry["time"]), entry["time"])
    devices = load["devices"]
    acknowledged = [r for r in load["records"] if r[3].startswith("2")]
    lost, undelivered, latencies = 0, 0, []
    for number, started, _ended, _status in acknowledged:
        key = crash_load.dedup_key(number, devices)
        if key not in stored.uplinks:
            lost += 1
            continue
        for event_key in stored.events.get(key, []):
            if event_key in first_receipt:
                latencies.append(first_receipt[event_key] - started)
            else:
                undelivered += 1
                latencies.append(math.inf)
    # Each event a killed process held: from that kill (the first after its first claim) to
    # its delivery by a later process.
    recovered = []
    for claimed, delivered in stored.stranded:
        after = [k for k in kills if claimed <= k <= delivered]
        if after:
            recovered.append(delivered - after[0])
    return {
        **exposure(received, stored.answered_at, kills),
        "requests": len(load["records"]),
        "statuses": load["statuses"],
        "acknowledged": len(acknowledged),
        "achieved_rate": len(load["records"]) / load["elapsed_s"] if load["elapsed_s"] else 0.0,
        "lost": lost,
        "undelivered": undelivered,
        "events": dict(stored.states),
        "stranded_kill_to_delivered_s": _seconds(recovered),
        "latency_s": _seconds(latencies),
        "duplicate_requests": sum(n - 1 for n in per_key.values()),
        "events_received_twice_or_more": sum(1 for n in per_key.values() if n > 1),
        "aura_requests": len(received),
    }


def exposure(
    received: list[dict[str, Any]], answered_at: dict[str, float], kills: list[float]
) -> dict[str, Any]:
    """Why a kill makes AURA see events twice, from the simulator's log and the store.

    AURA documents no idempotency key, so an event whose request has reached AURA and whose
    answer serve has not yet read is sent again after a kill: that is the exposure, from the
    request's arrival at the simulator to ``delivered_at`` (serve reads the 2xx; its receipt
    is written next), for events sent once. It is a lower bound: the time from serve's write
    to the simulator's route (its HTTP server reading the request) is not seen. Little's law:
    at a random instant, ``sends/s x mean exposure`` events are exposed, which is what a kill
    should cost in duplicates; while a backlog keeps every worker sending (after a restart),
    it approaches the number of workers. Each duplicate is matched with the first kill after
    its first arrival: one that arrived longer than ``IN_FLIGHT_S`` before it was not in
    flight, and would be a receipt that failed."""
    arrivals: dict[str, list[float]] = {}
    for entry in received:
        key = entry.get("idempotency_key")
        if key is not None:
            arrivals.setdefault(key, []).append(entry["arrived"])
    exposure = [
        answered_at[key] - times[0]
        for key, times in arrivals.items()
        if len(times) == 1 and key in answered_at
    ]
    firsts = sorted(times[0] for times in arrivals.values())
    span = firsts[-1] - firsts[0] if len(firsts) > 1 else 0.0
    sends_per_s = sum(len(times) for times in arrivals.values()) / span if span else 0.0
    mean_s = statistics.fmean(exposure) if exposure else None
    before_kill = []  # seconds from a duplicate's first arrival to the kill after it
    for times in arrivals.values():
        if len(times) > 1:
            # The kill's time is taken just before the SIGKILL, and the simulator reads a
            # request the process wrote just before it died a few ms later.
            after = [kill for kill in kills if kill >= times[0] - KILL_SLACK_S]
            before_kill.append(after[0] - times[0] if after else math.inf)
    return {
        "sends_per_s": sends_per_s,
        "exposure_s": _seconds(exposure) | {"mean": mean_s},
        "exposed_at_an_instant": sends_per_s * mean_s if mean_s is not None else None,
        "duplicates_in_flight": sum(1 for lag in before_kill if lag <= IN_FLIGHT_S),
        "duplicates_not_in_flight": sum(1 for lag in before_kill if lag > IN_FLIGHT_S),
        "duplicate_arrived_before_kill_max_s": max(before_kill, default=None),
    }
