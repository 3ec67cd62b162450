"""The moving parts of tests/test_high_availability.py (issue 13, item 4): a pair of
``aura-uplink serve`` instances behind a make-believe load balancer, the devices that press
through it, and the readings taken afterwards at the simulator.

* :class:`Cluster` -- the instances by name, which of them the balancer still sends to, and
  :meth:`Cluster.kill` (SIGKILL, then out of rotation, as a health check would take it out);
* :class:`Press` / :class:`Attempt` -- one callback body and every request that carried it;
* :func:`send` -- deliver one press the way a retrying network server does: to one instance or to
  both at once, again to the other after an answer, and on a failure to another live instance;
* :func:`arrivals` / :func:`order_violations` / :func:`repeated_keys` -- what AURA received,
  per device, in arrival order.

Nothing here waits without a deadline: every request has a timeout and the retries are counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from webhook_support import T0, ServeProcess, post_callback, sigfox_body

from decoders.envelopes.sigfox import dedup_key

#: How one press is carried: to one instance; to both at the same moment (a network server that
#: fans out, or retries before the first answer); to one, then the very same body to the other
#: after the answer (a retry whose first answer was lost on the way back).
Mode = Literal["one", "both", "again"]
MAX_TRIES = 4  # per press, after failures; the survivor answers the first of them
RETRY_PAUSE_S = 0.05


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request carrying a press: where, when (``time.time()``), and what came back."""

    instance: str
    sent_at: float
    status: int | None  # None: no answer (refused, reset: the instance died)
    answer: str | None = None  # "stored" | "duplicate"
    uplink_id: int | None = None
    error: str | None = None


@dataclass(slots=True)
class Press:
    """One Sigfox callback body (an uplink) and the requests that carried it."""

    device: str
    seq: int
    frame: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        # One second apart on the Sigfox clock, so the time alone orders a device's uplinks.
        return sigfox_body(self.device, data=self.frame, seq=self.seq, time=T0 + self.seq)

    @property
    def dedup_key(self) -> str:
        """The store's key for this body (the Sigfox envelope's own function, not a copy)."""
        return dedup_key(self.device, self.seq, datetime.fromtimestamp(T0 + self.seq, UTC))

    @property
    def acknowledged(self) -> bool:
        return any(a.status == 200 for a in self.attempts)


#: Decides, from one answered request, whether the armed instance dies now.
Trigger = Callable[[Press, Attempt], bool]


class Cluster:
    """Named ``serve`` instances and the ones a load balancer still sends to."""

    def __init__(self, instances: Mapping[str, ServeProcess]) -> None:
        self.instances = dict(instances)
        self._live = list(self.instances)
        self._lock = threading.Lock()
        self.killed: dict[str, float] = {}  # name -> time.time() of its SIGKILL
        self._armed: tuple[str, Trigger] | None = None
        self.fired_by: dict[str, Press] = {}  # name -> the press whose answer killed it

    def live(self) -> list[str]:
        with self._lock:
            return list(self._live)

    def url(self, name: str) -> str:
        return self.instances[name].url

    def kill(self, name: str) -> float:
        """SIGKILL ``name`` (no clean-up at all), then take it out of rotation; the wall time."""
        process = self.instances[name]
        at = time.time()
        process.proc.kill()
        process.proc.wait(timeout=10)
        with self._lock:
            self._live.remove(name)
            self.killed[name] = at
        return at

    def arm(self, name: str, trigger: Trigger) -> None:
        """Kill ``name`` from the sending thread, the moment an answer makes ``trigger`` true:
        a kill timed by the main thread's polling would land at a quiet moment far more often
        than right behind a commit, while the instance's worker is sending the event."""
        with self._lock:
            self._armed = (name, trigger)

    def answered(self, press: Press, attempt: Attempt) -> None:
        with self._lock:
            armed = self._armed
            if armed is None or not armed[1](press, attempt):
                return
            self._armed = None
            self.fired_by[armed[0]] = press
        self.kill(armed[0])

    def other_than(self, name: str) -> str | None:
        """A live instance that is not ``name`` (None when ``name`` is the only one left)."""
        return next((n for n in self.live() if n != name), None)

    def pick(self, preferred: str) -> str:
        """``preferred`` if it is still in rotation, else any live instance."""
        live = self.live()
        if not live:
            raise AssertionError("no instance left in rotation")
        return preferred if preferred in live else live[0]


def _attempt(cluster: Cluster, name: str, press: Press) -> Attempt:
    sent_at = time.time()
    try:
        response = post_callback(cluster.url(name), press.body)
    except requests.RequestException as error:
        return Attempt(name, sent_at, None, error=type(error).__name__)
    if response.status_code != 200:
        return Attempt(name, sent_at, response.status_code, error=response.text[:200])
    answer = response.json()
    attempt = Attempt(name, sent_at, 200, answer.get("status"), answer.get("uplink_id"))
    cluster.answered(press, attempt)
    return attempt


def _until_acknowledged(cluster: Cluster, press: Press, first: str) -> None:
    """Send until an instance answers 200, moving to another live instance after a failure."""
    target = cluster.pick(first)
    for _ in range(MAX_TRIES):
        attempt = _attempt(cluster, target, press)
        press.attempts.append(attempt)
        if attempt.status == 200:
            return
        time.sleep(RETRY_PAUSE_S)
        target = cluster.other_than(target) or cluster.pick(target)


def send(
    cluster: Cluster, press: Press, mode: Mode, preferred: str, pool: ThreadPoolExecutor
) -> None:
    """Carry ``press`` as ``mode`` says, starting with ``preferred`` (see :data:`Mode`).
    Returns once it is acknowledged or its tries are used up; ``press.attempts`` says which."""
    if mode == "both" and len(cluster.live()) > 1:
        futures = [pool.submit(_attempt, cluster, name, press) for name in cluster.live()]
        press.attempts.extend(f.result() for f in futures)
        if not press.acknowledged:
            _until_acknowledged(cluster, press, preferred)
        return
    _until_acknowledged(cluster, press, preferred)
    other = cluster.other_than(press.attempts[-1].instance)
    if mode == "again" and press.acknowledged and other is not None:
        press.attempts.append(_attempt(cluster, other, press))


# -- what AURA received ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """One device event AURA processed (the simulator's record with ``committed``)."""

    at: float  # the simulator's time.time()
    device_id: str
    message_type: int
    key: str  # Idempotency-Key


def arrivals(records: Iterable[Mapping[str, Any]]) -> list[Arrival]:
    """The device events AURA processed, in the order it processed them (the simulator's
    ``seq``). Requests it refused or failed on purpose changed nothing and are left out."""
    out = []
    for record in sorted(records, key=lambda r: r["seq"]):
        body = record["body"] if isinstance(record["body"], dict) else {}
        if record["committed"]:
            out.append(
                Arrival(
                    record["time"],
                    body["device_id"],
                    body["message_type"],
                    record["idempotency_key"],
                )
            )
    return out


def repeated_keys(received: Sequence[Arrival]) -> dict[str, list[Arrival]]:
    """The events AURA processed more than once, each with all its arrivals."""
    counts = Counter(a.key for a in received)
    out: dict[str, list[Arrival]] = defaultdict(list)
    for arrival in received:
        if counts[arrival.key] > 1:
            out[arrival.key].append(arrival)
    return dict(out)


def order_violations(
    received: Sequence[Arrival], rank: Mapping[str, tuple[int, int]]
) -> list[tuple[str, str, str]]:
    """Per device, every arrival that came after one of a later event: ``(device_id, the later
    event's key, this one's key)``. ``rank`` orders events as the device sent them (the uplink's
    Sigfox sequence number, then the event's position in it); a repeat of the same event right
    behind itself is not a violation."""
    newest: dict[str, tuple[tuple[int, int], str]] = {}
    out = []
    for arrival in received:
        here = rank[arrival.key]
        seen = newest.get(arrival.device_id)
        if seen is not None and here < seen[0]:
            out.append((arrival.device_id, seen[1], arrival.key))
        else:
            newest[arrival.device_id] = (here, arrival.key)
    return out
