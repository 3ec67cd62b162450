"""AURA's callout rule for device events (docs/aura-api.md §3.3, §6.5), in the simulator's own
words: the event-type names are not imported from :mod:`decoders.aura`, so a mistake there cannot
hide itself by being copied here.

One active callout per (device_type_id, device_id): a new-callout while one is active resolves to
it (same ``calloutId``; its fix is appended), a location update moves it, a cancel ends it. A
location update with no active callout is answered with AURA's custom status 285 and the latest
callout state, as AURA does for its callout location endpoints after close.

Not thread-safe on its own: :class:`SimState` holds the lock around every call.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from webhook.aurasim.refusal import Refusal

EVENT_TYPES = {
    1: "NEW_CALLOUT",
    2: "CALLOUT_LOCATION_UPDATED",
    3: "CALLOUT_CANCELLED",
    4: "DEVICE_BATTERY_INFO_RECEIVED",
}
PLACE = {1: "location", 2: "body", 3: "body", 4: "body"}
PROCESSED = "Event successfully processed..."
NOT_ACTIVE = "The device has no active callout; the location was not applied."
NO_CALLOUT = "no active callout for this device"
#: Panic API's custom status for a location update on a closed callout (§3.3, §6.5).
CALLOUT_NOT_ACTIVE = 285
#: The legacy free-form ``status`` of AURA's callout view (§6.5); only "created" is documented.
STATUS_TEXT = {"open": "created", "cancelled": "Cancelled", "closed": "Closed"}
FIX_FIELDS = ("latitude", "longitude", "accuracy", "sequenceNumber")

DeviceKey = tuple[int, str]


@dataclass(slots=True)
class Callout:
    id: int
    device_type_id: int
    device_id: str
    customer_id: int | None
    created_at: str
    status: str = "open"
    cancelled_at: str | None = None
    closed_at: str | None = None
    locations: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The simulator's readback (``/_sim/callouts``): status ``open|cancelled|closed``."""
        return {
            "calloutId": self.id,
            "device_type_id": self.device_type_id,
            "device_id": self.device_id,
            "customerId": self.customer_id,
            "status": self.status,
            "created_at": self.created_at,
            "cancelled_at": self.cancelled_at,
            "closed_at": self.closed_at,
            "locations": copy.deepcopy(self.locations),
        }

    def view(self) -> dict[str, Any]:
        """The callout as AURA shows it (the §6.5 callout fields), at its latest fix."""
        fix = self.locations[-1] if self.locations else {}
        return {
            "id": self.id,
            "customerId": self.customer_id,
            "predefinedLocationId": None,
            "status": STATUS_TEXT[self.status],
            "latitude": fix.get("latitude"),
            "longitude": fix.get("longitude"),
            "responseTypeId": None,
            "calloutClassificationId": None,
            "createdAt": self.created_at,
        }


Answer = tuple[int, dict[str, Any]]


class CalloutBook:
    """Every callout opened, which one is active per device, and how many each device opened."""

    def __init__(self, ids: Iterator[int]) -> None:
        self._ids = ids
        self.callouts: dict[int, Callout] = {}
        self.active: dict[DeviceKey, int] = {}
        self.latest: dict[DeviceKey, int] = {}
        self.created: Counter[DeviceKey] = Counter()
        self._handlers: dict[int, Callable[[DeviceKey, dict[str, Any], Any, str], Answer]] = {
            1: self._new_callout,
            2: self._location,
            3: self._cancel,
            4: self._battery,
        }

    def apply(self, event: dict[str, Any], customer_id: int | None, now: str) -> Answer:
        """Apply one valid event: (status, the full deviceEvent answer)."""
        key: DeviceKey = (event["device_type_id"], event["device_id"])
        kind = event["message_type"]
        status, response = self._handlers[kind](key, event[PLACE[kind]], customer_id, now)
        body = {
            "message": PROCESSED if status == 200 else NOT_ACTIVE,
            "input": copy.deepcopy(event),
            "resolvedAuraEvent": {
                "eventTypes": EVENT_TYPES[kind],
                "eventResponse": {"calloutId": response.pop("calloutId"), "deviceId": key[1]}
                | response,
            },
        }
        return status, body

    def close(self, callout_id: int, now: str) -> Callout:
        """End a callout as AURA's controllers would (the Responder Simulator's closure)."""
        callout = self.callouts.get(callout_id)
        if callout is None:
            raise Refusal(404, f"callout {callout_id} not found")
        if callout.status == "open":
            del self.active[(callout.device_type_id, callout.device_id)]
            callout.status, callout.closed_at = "closed", now
        return callout

    def _new_callout(self, key: DeviceKey, payload: Any, customer: Any, now: str) -> Answer:
        callout_id = self.active.get(key)
        if callout_id is None:
            callout_id = next(self._ids)
            self.callouts[callout_id] = Callout(callout_id, key[0], key[1], customer, now)
            self.active[key] = self.latest[key] = callout_id
            self.created[key] += 1
        self._add_fix(self.callouts[callout_id], payload, now)
        return 200, {"calloutId": callout_id}

    def _location(self, key: DeviceKey, payload: Any, customer: Any, now: str) -> Answer:
        callout_id = self.active.get(key)
        if callout_id is not None:
            self._add_fix(self.callouts[callout_id], payload, now)
            return 200, {"calloutId": callout_id}
        latest = self.callouts.get(self.latest.get(key, -1))
        state = None if latest is None else latest.view()
        return CALLOUT_NOT_ACTIVE, {"calloutId": state and state["id"], "callout": state}

    def _cancel(self, key: DeviceKey, payload: Any, customer: Any, now: str) -> Answer:
        callout_id = self.active.pop(key, None)
        if callout_id is None:
            return 200, {"calloutId": None, "message": NO_CALLOUT}
        callout = self.callouts[callout_id]
        callout.status, callout.cancelled_at = "cancelled", now
        return 200, {"calloutId": callout_id}

    def _battery(self, key: DeviceKey, payload: Any, customer: Any, now: str) -> Answer:
        return 200, {"calloutId": self.active.get(key), "batteryLevel": payload["batteryLevel"]}

    @staticmethod
    def _add_fix(callout: Callout, payload: dict[str, Any], now: str) -> None:
        # An alert without a usable fix is valid (validate_event): it opens the callout only.
        if "latitude" in payload:
            fix = {name: payload[name] for name in FIX_FIELDS if name in payload}
            callout.locations.append({**fix, "received_at": now})
