"""AURA device events (docs/design.md §6) and the per-device state the mapping needs.

Both are plain values: the webhook stores them, the CLI prints them, the mapping in
:mod:`decoders.mapping` computes them without I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from decoders.types import Fix

NEW_CALLOUT = 1
CALLOUT_LOCATION_UPDATED = 2
CALLOUT_CANCELLED = 3
DEVICE_BATTERY_INFO_RECEIVED = 4

ACTION_NAMES = {
    NEW_CALLOUT: "NEW_CALLOUT",
    CALLOUT_LOCATION_UPDATED: "CALLOUT_LOCATION_UPDATED",
    CALLOUT_CANCELLED: "CALLOUT_CANCELLED",
    DEVICE_BATTERY_INFO_RECEIVED: "DEVICE_BATTERY_INFO_RECEIVED",
}


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One ``POST /panic-api/v2/deviceEvent`` body.

    ``action`` is the AURA action (1-4 above); ``message_type`` is the number the template sends
    for it (the same 1-4 in AURA's typical template). ``placement`` is ``"location"`` or
    ``"body"``: where AURA's template expects the payload object.
    """

    device_type_id: int
    device_id: str
    action: int
    message_type: int
    placement: str
    payload: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "device_type_id": self.device_type_id,
            "device_id": self.device_id,
            "message_type": self.message_type,
            self.placement: self.payload,
        }

    def to_json(self) -> str:
        """The exact request body, byte for byte as AURA's documentation shows it."""
        return json.dumps(self.as_json(), ensure_ascii=False)

    @property
    def action_name(self) -> str:
        return ACTION_NAMES[self.action]


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What the mapping remembers about one device between uplinks.

    ``battery_percent`` is the last level sent to AURA in a message 4; every change is sent at
    once, so it is also the last level known, which a health report without a level repeats.
    ``last_heartbeat_at`` is the network time (the uplink's ``now``) of the latest uplink that
    sent a message 4: the heartbeat interval is measured from it. New fields go last, with
    defaults, and :meth:`from_json` reads a state stored before they existed.
    """

    callout_open: bool = False
    alarm_active: bool = False
    last_fix: Fix | None = None
    last_fix_at: datetime | None = None
    battery_percent: int | None = None
    last_heartbeat_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "callout_open": self.callout_open,
            "alarm_active": self.alarm_active,
            "last_fix": None if self.last_fix is None else self.last_fix.as_dict(),
            "last_fix_at": _text(self.last_fix_at),
            "battery_percent": self.battery_percent,
            "last_heartbeat_at": _text(self.last_heartbeat_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DeviceState:
        """The state :meth:`as_json` wrote; a key an older version did not write is its
        default (a state without ``last_heartbeat_at`` gets a heartbeat on its next report)."""
        if not data:
            return cls()
        fix = data.get("last_fix")
        return cls(
            callout_open=bool(data.get("callout_open")),
            alarm_active=bool(data.get("alarm_active")),
            last_fix=None
            if fix is None
            else Fix(
                latitude=fix["latitude"],
                longitude=fix["longitude"],
                accuracy_m=fix.get("accuracy_m"),
                source=fix.get("source", "gps"),
                fixed_at=_time(fix.get("fixed_at")),
            ),
            last_fix_at=_time(data.get("last_fix_at")),
            battery_percent=data.get("battery_percent"),
            last_heartbeat_at=_time(data.get("last_heartbeat_at")),
        )


def _text(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
