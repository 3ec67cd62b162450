"""Messages + the device's previous state -> AURA device events + the device's next state.

Pure: no clock, no I/O. The caller passes ``now`` and stores the returned state. Rules:

- An alert opens a callout (NEW_CALLOUT, payload in ``location``) with the best known fix: the
  alert's own fix if it is fresh, else the last fresh fix if it is younger than the template's
  ``max_fix_age_s``, else no coordinates. A fix the device marks stale never goes out.
- An alert that is a *state* (``sustained``) opens a callout only on its rising edge; while it stays
  set, its fixes are location updates; ``Status("alarm_clear")`` re-arms it.
- A button gesture means alert or cancel as the template says, else nothing.
- A fresh location updates the callout when the template's policy allows (``always``, or
  ``open_callout`` only while this device has a callout open).
- A cancel is always forwarded (the wearer asked for it; AURA knows whether a callout is open).
- Battery is forwarded as an integer percent when it differs from the last level sent, so trackers
  that report voltage in every position frame do not flood AURA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import decoders.aura as aura  # the module, not the package: no import cycle via __init__
from decoders.aura import DeviceEvent, DeviceState
from decoders.templates import Template
from decoders.types import Alert, Battery, Button, Cancel, Fix, Location, Message, Status

Emit = Callable[[int, dict[str, Any]], None]


def events_for(
    template: Template,
    serial: str,
    messages: Iterable[Message],
    state: DeviceState,
    *,
    now: datetime,
    sequence: int | None = None,
) -> tuple[list[DeviceEvent], DeviceState]:
    """The AURA events one uplink's messages produce, and the device's state afterwards."""
    device_id = template.device_id.derive(serial)
    sequence_text = None if sequence is None else str(sequence)
    events: list[DeviceEvent] = []

    def emit(action: int, payload: dict[str, Any]) -> None:
        if sequence_text is not None and action != aura.DEVICE_BATTERY_INFO_RECEIVED:
            payload["sequenceNumber"] = sequence_text
        events.append(
            DeviceEvent(
                device_type_id=template.device_type_id,
                device_id=device_id,
                action=action,
                message_type=template.message_types[action],
                placement="location" if action == aura.NEW_CALLOUT else "body",
                payload=payload,
            )
        )

    for received in messages:
        message = _meaning(template, received)
        if isinstance(message, Alert):
            state = _alert(template, message, state, now, emit)
        elif isinstance(message, Location):
            state = _location(template, message.fix, state, now, emit)
        elif isinstance(message, Cancel):
            emit(aura.CALLOUT_CANCELLED, {})
            state = replace(state, callout_open=False)
        elif isinstance(message, Battery):
            state = _battery(template, message, state, emit)
        elif isinstance(message, Status) and message.event == "alarm_clear":
            state = replace(state, alarm_active=False)
    return events, state


def _meaning(template: Template, message: Message) -> Message | None:
    """What a button press means under this template."""
    if not isinstance(message, Button):
        return message
    if message.gesture in template.alert_gestures:
        return Alert(f"button:{message.gesture}")
    if message.gesture in template.cancel_gestures:
        return Cancel("user")
    return None


def _coordinates(fix: Fix) -> dict[str, Any]:
    return {"latitude": round(fix.latitude, 7), "longitude": round(fix.longitude, 7)}


def _remember(state: DeviceState, fix: Fix | None, now: datetime) -> DeviceState:
    if fix is None or not fix.is_fresh:
        return state
    return replace(state, last_fix=fix, last_fix_at=now)


def _alert(
    template: Template, alert: Alert, state: DeviceState, now: datetime, emit: Emit
) -> DeviceState:
    if alert.sustained and state.alarm_active:
        # The alarm is still set from an earlier frame: not a new press.
        return _location(template, alert.fix, state, now, emit) if alert.fix else state
    fix = _best_fix(template, alert.fix, state, now)
    emit(aura.NEW_CALLOUT, _coordinates(fix) if fix else {})
    state = replace(state, callout_open=True, alarm_active=state.alarm_active or alert.sustained)
    return _remember(state, alert.fix, now)


def _best_fix(template: Template, fix: Fix | None, state: DeviceState, now: datetime) -> Fix | None:
    if fix is not None and fix.is_fresh:
        return fix
    remembered = state.last_fix
    if remembered is None or state.last_fix_at is None:
        return None
    age_s = (now - state.last_fix_at).total_seconds()
    return remembered if age_s <= template.max_fix_age_s else None


def _location(
    template: Template, fix: Fix | None, state: DeviceState, now: datetime, emit: Emit
) -> DeviceState:
    if fix is None or not fix.is_fresh:
        return state
    if template.location_updates == "always" or state.callout_open:
        emit(aura.CALLOUT_LOCATION_UPDATED, _coordinates(fix))
    return _remember(state, fix, now)


def _battery(template: Template, battery: Battery, state: DeviceState, emit: Emit) -> DeviceState:
    percent = battery.percent
    if percent is None and battery.voltage_mv is not None:
        percent = template.battery_percent(battery.voltage_mv)
    if percent is None:
        return state
    percent = max(0, min(100, round(percent)))
    if percent == state.battery_percent:
        return state
    emit(aura.DEVICE_BATTERY_INFO_RECEIVED, {"batteryLevel": percent})
    return replace(state, battery_percent=percent)
