"""What the AURA simulator (:mod:`webhook.aurasim`) knows: tokens, callouts, the record of every
device-event request, and the queue of injected faults.

One re-entrant lock guards all of it, and every accessor returns deep copies, so tests can read the
state from their own thread while the server's request threads keep changing it.

The AURA rules live here on purpose, in the simulator's own words: the event-type names are not
imported from :mod:`decoders.aura`, so a mistake there cannot hide itself by being copied here.
"""

from __future__ import annotations

import copy
import email.utils
import hmac
import math
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from webhook.aurasim.validation import is_int

EVENT_TYPES = {
    1: "NEW_CALLOUT",
    2: "CALLOUT_LOCATION_UPDATED",
    3: "CALLOUT_CANCELLED",
    4: "DEVICE_BATTERY_INFO_RECEIVED",
}
FAULT_KINDS = ("status", "hang", "reset")
_FAULT_FIELDS = {"kind", "status", "retry_after", "http_date", "seconds", "after_commit"}
NO_CALLOUT = "no active callout for this device"

DeviceKey = tuple[int, str]


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure; each is consumed by exactly one deviceEvent request.

    ``kind``: ``"status"`` answers ``status`` (with ``Retry-After`` when ``retry_after`` is set);
    ``"hang"`` waits ``seconds`` before answering; ``"reset"`` drops the connection unanswered.
    ``retry_after``: a number of seconds, sent as delta-seconds or, with ``http_date``, as the
    HTTP-date that many seconds from now (RFC 9110 §10.2.3); a string is sent verbatim (to test
    malformed values). ``after_commit`` (5xx, hang, reset only): AURA processes the event first and
    only the response is lost — the ambiguous failure of reliability scenarios 8 and 12.
    """

    kind: str = "status"
    status: int = 500
    retry_after: float | str | None = None
    http_date: bool = False
    seconds: float = 5.0
    after_commit: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.kind == "status" and not (is_int(self.status) and 400 <= self.status <= 599):
            raise ValueError(f"fault status must be an integer 400-599, got {self.status!r}")
        if not (_is_number(self.seconds) and self.seconds >= 0):
            raise ValueError(f"fault seconds must be a number >= 0, got {self.seconds!r}")
        wait = self.retry_after
        if not (wait is None or isinstance(wait, str) or (_is_number(wait) and wait >= 0)):
            raise ValueError(f"retry_after must be seconds >= 0 or a string: {wait!r}")
        if self.after_commit and self.kind == "status" and self.status < 500:
            raise ValueError("after_commit only makes sense for a 5xx status, a hang or a reset")

    @classmethod
    def from_json(cls, spec: Any) -> Fault:
        """Build a fault from its JSON form (the field names above); unknown keys are errors."""
        if not isinstance(spec, dict):
            raise ValueError("a fault spec must be a JSON object")
        unknown = set(spec) - _FAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        for flag in ("http_date", "after_commit"):
            if not isinstance(spec.get(flag, False), bool):
                raise ValueError(f"{flag} must be true or false")
        return cls(**spec)

    def retry_after_header(self, now: float) -> str | None:
        """The ``Retry-After`` value for a response sent at ``now`` (epoch seconds)."""
        if self.retry_after is None or isinstance(self.retry_after, str):
            return self.retry_after
        if self.http_date:
            # HTTP-date has one-second resolution: round up so "not before" stays true.
            when = datetime.fromtimestamp(math.ceil(now + self.retry_after), UTC)
            return email.utils.format_datetime(when, usegmt=True)
        return str(math.ceil(self.retry_after))

    def describe(self) -> str:
        text = {"status": f"status {self.status}", "hang": f"hang {self.seconds:g}s"}.get(
            self.kind, self.kind
        )
        return text + (" after_commit" if self.after_commit else "")

    def as_json(self) -> dict[str, Any]:
        """The JSON form :meth:`from_json` reads, without the fields this kind ignores."""
        ignored = {"status", "retry_after", "http_date"} if self.kind != "status" else set()
        ignored |= {"seconds"} if self.kind != "hang" else set()
        return {key: value for key, value in asdict(self).items() if key not in ignored}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class SimState:
    """Thread-safe state of one simulated AURA tenant (one clientId / clientSecret pair)."""

    def __init__(
        self,
        client_id: str = "aura-sim-client",
        client_secret: str = "aura-sim-secret",
        *,
        token_ttl: float = 3600.0,
        honour_idempotency_keys: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.honour_idempotency_keys = honour_idempotency_keys
        #: Set when the server stops, so hung request threads return at once.
        self.wake = threading.Event()
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._token_requests: list[dict[str, Any]] = []
        self._clear()

    def _clear(self) -> None:
        self._requests: list[dict[str, Any]] = []
        self._callouts: dict[str, dict[str, Any]] = {}
        self._active: dict[DeviceKey, str] = {}
        self._created: Counter[DeviceKey] = Counter()
        self._battery: dict[DeviceKey, int] = {}
        self._faults: deque[Fault] = deque()
        self._idempotent: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def reset(self) -> None:
        """Forget callouts, records, faults and idempotency keys. Issued tokens stay valid."""
        with self._lock:
            self._clear()
            self._token_requests.clear()

    # -- OAuth2 client credentials -------------------------------------------------------------

    def check_client(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
            return expiry is not None and time.monotonic() < expiry

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if they had all expired."""
        with self._lock:
            self._tokens.clear()

    def record_token_request(self, client_id: str | None, status: int) -> None:
        with self._lock:
            entry = {"time": time.time(), "client_id": client_id, "status": status}
            self._token_requests.append(entry)

    def token_requests(self) -> list[dict[str, Any]]:
        """Every ``POST /oauth/token`` since the last reset: time, client_id, status."""
        with self._lock:
            return copy.deepcopy(self._token_requests)

    # -- fault injection -----------------------------------------------------------------------

    def add_faults(self, *faults: Fault, count: int = 1) -> None:
        """Queue ``faults`` (each ``count`` times, in order) for the next deviceEvent requests."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            for fault in faults:
                self._faults.extend([fault] * count)

    def fail_next(
        self,
        status: int = 500,
        *,
        count: int = 1,
        retry_after: float | str | None = None,
        http_date: bool = False,
        after_commit: bool = False,
    ) -> None:
        fault = Fault("status", status, retry_after, http_date, after_commit=after_commit)
        self.add_faults(fault, count=count)

    def hang_next(self, seconds: float, *, count: int = 1, after_commit: bool = False) -> None:
        self.add_faults(Fault("hang", seconds=seconds, after_commit=after_commit), count=count)

    def reset_connection_next(self, *, count: int = 1, after_commit: bool = False) -> None:
        self.add_faults(Fault("reset", after_commit=after_commit), count=count)

    def take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- device events -------------------------------------------------------------------------

    def commit(self, event: dict[str, Any], idempotency_key: str | None) -> tuple[int, Any, bool]:
        """Apply one valid event; return (status, response body, whether state changed)."""
        with self._lock:
            if self.honour_idempotency_keys and idempotency_key is not None:
                seen = self._idempotent.get(idempotency_key)
                if seen is not None and seen[0] != event:
                    error = "Idempotency-Key was already used with a different body"
                    return 422, {"error": error, "field": "Idempotency-Key"}, False
                if seen is not None:
                    return 200, copy.deepcopy(seen[1]), False
            response = {**copy.deepcopy(event), "resolvedAuraEvent": self._apply(event)}
            if self.honour_idempotency_keys and idempotency_key is not None:
                self._idempotent[idempotency_key] = (copy.deepcopy(event), copy.deepcopy(response))
            return 200, response, True

    def _apply(self, event: dict[str, Any]) -> dict[str, Any]:
        key: DeviceKey = (event["device_type_id"], event["device_id"])
        kind = event["message_type"]
        payload = event["location" if kind == 1 else "body"]
        callout_id = self._active.get(key)
        now = utc_now_iso()
        if kind == 1 and callout_id is None:
            callout_id = str(uuid.uuid4())
            self._active[key] = callout_id
            self._created[key] += 1
            self._callouts[callout_id] = {
                "calloutId": callout_id,
                "device_type_id": key[0],
                "device_id": key[1],
                "status": "open",
                "created_at": now,
                "cancelled_at": None,
                "locations": [],
            }
        callout = self._callouts.get(callout_id) if callout_id else None
        if callout is not None and kind in (1, 2) and "latitude" in payload:
            # sequenceNumber is optional (validate_event): a fix without one is still a fix.
            names = ("latitude", "longitude", "sequenceNumber")
            fix = {name: payload[name] for name in names if name in payload}
            callout["locations"].append({**fix, "received_at": now})
        if callout is not None and kind == 3:
            callout.update(status="cancelled", cancelled_at=now)
            del self._active[key]
        answer: dict[str, Any] = {"calloutId": callout_id}
        if kind == 4:
            self._battery[key] = payload["batteryLevel"]
            answer["batteryLevel"] = payload["batteryLevel"]
        elif callout_id is None:
            answer["message"] = NO_CALLOUT
        return {"eventTypes": [EVENT_TYPES[kind]], "eventResponse": answer}

    def record(self, entry: dict[str, Any]) -> None:
        """Append one request record; ``seq`` numbers them from 1 in arrival order."""
        with self._lock:
            self._requests.append({"seq": len(self._requests) + 1, **copy.deepcopy(entry)})

    # -- read-back for tests ---------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Every deviceEvent request received, in arrival order (see the module docs for fields)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def callouts(self) -> list[dict[str, Any]]:
        """Every callout created, oldest first, with status ``open`` or ``cancelled``."""
        with self._lock:
            return copy.deepcopy(list(self._callouts.values()))

    def created_per_device(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"device_type_id": k[0], "device_id": k[1], "created": n}
                for k, n in self._created.items()
            ]

    def new_callouts_created(self, device_id: str, device_type_id: int | None = None) -> int:
        """How many callouts AURA opened for this device (all device types unless one is given)."""
        with self._lock:
            return sum(
                n
                for (type_id, dev), n in self._created.items()
                if dev == device_id and device_type_id in (None, type_id)
            )

    def active_callout(self, device_id: str, device_type_id: int | None = None) -> str | None:
        with self._lock:
            for (type_id, dev), callout_id in self._active.items():
                if dev == device_id and device_type_id in (None, type_id):
                    return callout_id
            return None

    def battery_level(self, device_id: str, device_type_id: int | None = None) -> int | None:
        with self._lock:
            for (type_id, dev), level in self._battery.items():
                if dev == device_id and device_type_id in (None, type_id):
                    return level
            return None
