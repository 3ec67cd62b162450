"""What the simulator accepts as a deviceEvent body: the typical template of AURA's device-event
documentation (docs/aura-api.md §3.1), checked strictly so a client typo cannot pass silently."""

from __future__ import annotations

import math
from typing import Any, TypeGuard

_PLACE = {1: "location", 2: "body", 3: "body", 4: "body"}
_FIX = {"latitude", "longitude", "accuracy", "sequenceNumber"}
_ALLOWED = {1: _FIX, 2: _FIX, 3: {"sequenceNumber"}, 4: {"batteryLevel", "sequenceNumber"}}
_RANGE = {"latitude": 90.0, "longitude": 180.0}


def is_int(value: Any) -> TypeGuard[int]:
    """An int that is not a bool (JSON true is not a number here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_event(body: Any) -> tuple[str, str] | None:
    """The first problem with a deviceEvent body as ``(field, message)``, or ``None`` if valid."""
    if not isinstance(body, dict):
        return "$", "the body must be a JSON object"
    for name in ("device_type_id", "device_id", "message_type"):
        if name not in body:
            return name, "is required"
    if not is_int(body["device_type_id"]):
        return "device_type_id", "must be an integer"
    # The newest guide sends a string; the older reference's integer is refused (§9, C4).
    if not isinstance(body["device_id"], str) or not body["device_id"].strip():
        return "device_id", "must be a non-empty string"
    kind = body["message_type"]
    if not is_int(kind) or kind not in _PLACE:
        return "message_type", "must be an integer 1-4"
    place = _PLACE[kind]
    for name in sorted(set(body) - {"device_type_id", "device_id", "message_type", place}):
        return name, f"is not expected for message_type {kind} (its payload goes in '{place}')"
    payload = body.get(place)
    if not isinstance(payload, dict):
        return place, f"must be an object for message_type {kind}"
    for name in sorted(set(payload) - _ALLOWED[kind]):
        return f"{place}.{name}", f"is not expected for message_type {kind}"
    return _check_fix(payload, place, kind) or _check_rest(payload, place, kind)


def _check_fix(payload: dict[str, Any], place: str, kind: int) -> tuple[str, str] | None:
    has_fix = "latitude" in payload or "longitude" in payload or kind == 2
    for name in ("latitude", "longitude") if has_fix else ():
        value = payload.get(name)
        if name not in payload:
            return f"{place}.{name}", "is required"
        if not (isinstance(value, int | float) and not isinstance(value, bool)):
            return f"{place}.{name}", "must be a number"
        if not (math.isfinite(value) and abs(value) <= _RANGE[name]):
            return f"{place}.{name}", f"must be between -{_RANGE[name]:g} and {_RANGE[name]:g}"
    if "accuracy" in payload and not has_fix:
        return f"{place}.accuracy", "is only meaningful with latitude and longitude"
    if "accuracy" in payload and not (is_number(payload["accuracy"]) and payload["accuracy"] >= 0):
        return f"{place}.accuracy", "must be a number >= 0 (metres)"
    return None


def _check_rest(payload: dict[str, Any], place: str, kind: int) -> tuple[str, str] | None:
    if "sequenceNumber" in payload and not isinstance(payload["sequenceNumber"], str):
        return f"{place}.sequenceNumber", "must be a string"
    if kind == 4:
        level = payload.get("batteryLevel")
        if not (is_int(level) and 0 <= level <= 100):
            return "body.batteryLevel", "must be an integer 0-100"
    return None
