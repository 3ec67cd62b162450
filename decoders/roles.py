"""Field roles (docs/design.md §14): where a model's frames keep what AURA needs, and what those
values mean when the model has no device logic of its own.

A model names field paths (``"status.alarm"``, ``"latitude"``); the engine reads them from each
decoded frame (from each record, for record-based frames) and makes the messages. A value the
decoder warned about (out of range, an undefined code) reads as unknown: it is shown in the
fields, never acted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decoders.position import position
from decoders.types import Alert, Battery, Button, Cancel, Fix, FixSource, Location, Message, Status


@dataclass(frozen=True, slots=True)
class Roles:
    """Field paths by role. ``alarm`` is a state (every frame repeats it while the alarm is on:
    its rising edge opens a callout), ``press`` an event (each frame where it holds is an
    alert), ``button`` a gesture name the template gives a meaning, ``cancel`` a stand-down.
    ``battery`` is percent, ``battery_mv`` millivolts; ``accuracy`` metres.

    For the position policy: ``fix_failed`` / ``fix_cached`` are the device's flags, and
    ``sentinels`` the coordinate values (scaled) its datasheet uses for "no position"."""

    latitude: str | None = None
    longitude: str | None = None
    accuracy: str | None = None
    alarm: str | None = None
    press: str | None = None
    cancel: str | None = None
    button: str | None = None
    battery: str | None = None
    battery_mv: str | None = None
    fix_failed: str | None = None
    fix_cached: str | None = None
    sentinels: tuple[float, ...] = ()
    trigger: str = "sos"
    fix_source: FixSource = "gps"

    @property
    def calls_for_help(self) -> tuple[str, ...]:
        """The roles whose value alone raises the alarm."""
        return tuple(path for path in (self.alarm, self.press, self.button) if path)


def value_at(fields: Mapping[str, Any], path: str | None) -> Any:
    """The value at a dotted field path, or None when the frame does not carry it."""
    if path is None:
        return None
    value: Any = fields
    for name in path.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return None
        value = value[name]
    return value


def fix_of(roles: Roles, fields: Mapping[str, Any]) -> tuple[bool, Fix | None]:
    """Whether the frame carries a position at all, and the fix the position policy makes of it
    (:mod:`decoders.position`)."""
    if roles.latitude is None or roles.longitude is None:
        return False, None
    latitude = value_at(fields, roles.latitude)
    longitude = value_at(fields, roles.longitude)
    if _absent(fields, roles.latitude) or _absent(fields, roles.longitude):
        return False, None  # a cut frame that lost its coordinates
    fix = position(
        latitude,
        longitude,
        source=roles.fix_source,
        accuracy_m=value_at(fields, roles.accuracy),
        sentinels=roles.sentinels,
        failed=bool(value_at(fields, roles.fix_failed)),
        cached=bool(value_at(fields, roles.fix_cached)),
    )
    return True, fix


def _absent(fields: Mapping[str, Any], path: str) -> bool:
    *parents, leaf = path.split(".")
    holder = value_at(fields, ".".join(parents)) if parents else fields
    return not isinstance(holder, Mapping) or leaf not in holder


def meaning(roles: Roles, fields: Mapping[str, Any]) -> list[Message]:
    """The messages a frame's role fields make, in a fixed order: the alert or stand-down, the
    position, the battery."""
    positioned, fix = fix_of(roles, fields)
    alarm = value_at(fields, roles.alarm)
    press = value_at(fields, roles.press)
    out: list[Message] = []
    if alarm:
        out.append(Alert(roles.trigger, fix, sustained=True))
    elif press:
        out.append(Alert(roles.trigger, fix))
    gesture = value_at(fields, roles.button)
    if isinstance(gesture, str):
        out.append(Button(gesture))
    elif roles.button and not _absent(fields, roles.button) and not (alarm or press):
        # The device says a button was pressed but not how (an undefined gesture code): when
        # in doubt, it is a call for help, never a stand-down.
        out.append(Alert("button:unknown", fix))
    if value_at(fields, roles.cancel):
        out.append(Cancel("user"))
    if alarm is False:
        out.append(Status("alarm_clear"))
    if positioned and not (alarm or press):
        failed = bool(value_at(fields, roles.fix_failed))
        out.append(Location(fix) if fix else Status("fix_failed" if failed else "no_fix"))
    percent = value_at(fields, roles.battery)
    millivolts = value_at(fields, roles.battery_mv)
    if percent is not None or millivolts is not None:
        out.append(
            Battery(
                percent=None if percent is None else round(percent),
                voltage_mv=None if millivolts is None else round(millivolts),
            )
        )
    return out
