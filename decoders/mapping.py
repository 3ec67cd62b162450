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
- Message 4 (DEVICE_BATTERY_INFO_RECEIVED) is AURA's battery level *and* its heartbeat (AURA keeps
  the device's ``healthCheckLastReceivedDate``). An uplink with battery or health information
  sends one message 4, after its other events, when its level differs from the last one sent or
  when the template's ``heartbeat_interval_s`` has passed since the last one (0: every such
  uplink); otherwise nothing, so trackers that report voltage in every frame do not flood AURA.
  A health report without a level repeats the last known level; with none ever known there is
  nothing to send. Only uplinks send it, never a timer: a timer would report a dead device alive.
- Time is the uplink's network time (``now``), for fix age and heartbeats alike, so a replay or a
  capture maps as the live traffic did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import decoders.aura as aura  # the module, not the package: no import cycle via __init__
from decoders.aura import DeviceEvent, DeviceState
from decoders.templates import Template
from decoders.types import Alert, Battery, Button, Cancel, Fix, Location, Message, Status

Emit = Callable[[int, dict[str, Any]], None]

# Status events that are health reports: the device telling how it is, rather than something
# happening to it or around it. An uplink holding one is a heartbeat even without a battery
# level. Not health reports: alarm_clear (the alarm's state), no_fix / fix_failed /
# positioning_failed / error (the positioning's luck, and those frames carry the battery when the
# device has one), arming, configuration and downlink events (a person's or the operator's
# doing), door / vibration / magnet / tamper / temperature_abnormal (the surroundings).
HEALTH_REPORTS = frozenset(
    {
        "stats",  # Oyster (Sigfox record 2, LoRaWAN port 3): its periodic device statistics
        "firmware",  # Sens'it standby (its daily frame) and T1000 status frames: a status report
        "power_on",  # Milesight WS101 / AT101: the device has (re)started and says so
        "reset",
        "battery_out_of_range",  # a grammar's battery reading too wild to use: still battery news
        "heartbeat",  # for callers: a network's device-status report that carries no level
    }
)


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What one uplink says about the device's health: the last battery level it gives, as an
    integer percent, or None when it gives none (a keep-alive, or volts with no curve)."""

    level: int | None = None


def events_for(
    template: Template,
    serial: str,
    messages: Iterable[Message],
    state: DeviceState,
    *,
    now: datetime,
    sequence: int | None = None,
    device_id: str | None = None,
    trusted: bool = True,
) -> tuple[list[DeviceEvent], DeviceState]:
    """The AURA events one uplink's messages produce, and the device's state afterwards.

    ``now`` is the uplink's network time (when the network received it), also for a replay.
    ``device_id`` is the id AURA gave the device when it was linked, if the caller knows it;
    otherwise the template's rule derives it from ``serial``. ``trusted`` is False for a frame
    decoded with warnings: its alerts count, its cancels do not (docs/design.md §14 "Safety
    asymmetry": a garbled frame must never stand a real callout down).
    """
    if device_id is None:
        device_id = template.device_id.derive(serial)
    messages = tuple(messages)  # read twice: for the events, then for the heartbeat
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
        if isinstance(message, Cancel) and not trusted:
            continue
        if isinstance(message, Alert):
            state = _alert(template, message, state, now, emit)
        elif isinstance(message, Location):
            state = _location(template, message.fix, state, now, emit)
        elif isinstance(message, Cancel):
            emit(aura.CALLOUT_CANCELLED, {})
            state = replace(state, callout_open=False)
        elif isinstance(message, Status) and message.event == "alarm_clear":
            state = replace(state, alarm_active=False)
    state = _heartbeat(template, _health_report(template, messages), state, now, emit)
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
    """A fix as AURA's location payload; ``accuracy`` (whole metres) only when it is known."""
    out: dict[str, Any] = {"latitude": round(fix.latitude, 7), "longitude": round(fix.longitude, 7)}
    accuracy = fix.accuracy_m
    # A negative or non-finite accuracy is a glitch: left out, never a reason for AURA to refuse
    # an alert (nor for round() to raise on one).
    if accuracy is not None and math.isfinite(accuracy) and accuracy >= 0:
        out["accuracy"] = round(accuracy)
    return out


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


def _health_report(template: Template, messages: Sequence[Message]) -> HealthReport | None:
    """What the uplink says about the device's health; None when it says nothing."""
    levels = [_percent(template, m) for m in messages if isinstance(m, Battery)]
    health_status = any(isinstance(m, Status) and m.event in HEALTH_REPORTS for m in messages)
    if not levels and not health_status:
        return None
    known = [level for level in levels if level is not None]
    return HealthReport(known[-1] if known else None)


def _percent(template: Template, battery: Battery) -> int | None:
    """An integer percent 0-100: the device's own, else its voltage through the template's curve."""
    percent = battery.percent
    if percent is None and battery.voltage_mv is not None:
        percent = template.battery_percent(battery.voltage_mv)
    return None if percent is None else max(0, min(100, round(percent)))


def _heartbeat(
    template: Template,
    report: HealthReport | None,
    state: DeviceState,
    now: datetime,
    emit: Emit,
) -> DeviceState:
    """At most one message 4 per uplink: on a level change at once, else when one is due."""
    if report is None:
        return state
    level = state.battery_percent if report.level is None else report.level
    if level is None:
        return state  # no level ever known: message 4 would have nothing to carry
    if level == state.battery_percent and not _heartbeat_due(template, state, now):
        return state
    emit(aura.DEVICE_BATTERY_INFO_RECEIVED, {"batteryLevel": level})
    return replace(state, battery_percent=level, last_heartbeat_at=_later(state, now))


def _heartbeat_due(template: Template, state: DeviceState, now: datetime) -> bool:
    """Whether ``heartbeat_interval_s`` of network time has passed since the last message 4.

    An uplink older than that message (a replay, or one the network delivered late) is not due:
    AURA already heard from the device after it. Interval 0 means every report, old or not.
    """
    if template.heartbeat_interval_s == 0 or state.last_heartbeat_at is None:
        return True
    elapsed_s = (now - state.last_heartbeat_at).total_seconds()
    return elapsed_s >= template.heartbeat_interval_s


def _later(state: DeviceState, now: datetime) -> datetime:
    """The heartbeat clock never runs backwards: an older uplink that sends a level change must
    not make the next live report look overdue."""
    last = state.last_heartbeat_at
    return now if last is None else max(last, now)
