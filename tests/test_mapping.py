"""Messages + device state -> AURA device events (docs/design.md §5-6), byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import Alert, Battery, Button, Cancel, Fix, Location, Status
from decoders.aura import DEVICE_BATTERY_INFO_RECEIVED, DeviceState
from decoders.mapping import HEALTH_REPORTS, events_for
from decoders.templates import Template

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SERIAL = "00C0FFEEA1B2C3D4"
HERE = Fix(-26.10911, 28.053037, accuracy_m=10)
THERE = Fix(-26.2025, 28.0468)


def template(**overrides) -> Template:
    base = Template.for_model(decoders.get_model("aura-reference"), device_type_id=1)
    return Template(**{**{f: getattr(base, f) for f in base.__slots__}, **overrides})


EMPTY = DeviceState()


def bodies(messages, state=EMPTY, *, sequence=46, now=NOW, tpl=None):
    events, state = events_for(
        tpl or template(), SERIAL, messages, state, now=now, sequence=sequence
    )
    return [e.to_json() for e in events], state


def test_the_four_aura_documentation_examples_byte_for_byte() -> None:
    tpl = template(location_updates="always")
    state = DeviceState()
    out = []
    # The guide's examples have no accuracy: fixes without one.
    here = Fix(HERE.latitude, HERE.longitude)
    for sequence, message in enumerate(
        [Alert("alert", here), Location(THERE), Cancel(), Battery(72)], start=46
    ):
        produced, state = bodies([message], state, sequence=sequence, tpl=tpl)
        out += produced
    assert out == [
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 1, '
        '"location": {"latitude": -26.10911, "longitude": 28.053037, "sequenceNumber": "46"}}',
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 2, '
        '"body": {"latitude": -26.2025, "longitude": 28.0468, "sequenceNumber": "47"}}',
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 3, '
        '"body": {"sequenceNumber": "48"}}',
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 4, '
        '"body": {"batteryLevel": 72}}',
    ]


def test_alert_without_fix_uses_a_recent_remembered_fix() -> None:
    state = DeviceState(last_fix=THERE, last_fix_at=NOW - timedelta(minutes=5))
    out, _ = bodies([Alert("alert", None)], state)
    assert '"latitude": -26.2025' in out[0]


def test_alert_without_fix_and_an_old_fix_sends_no_coordinates() -> None:
    state = DeviceState(last_fix=THERE, last_fix_at=NOW - timedelta(hours=2))
    out, _ = bodies([Alert("alert", None)], state)
    assert out == [
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 1, '
        '"location": {"sequenceNumber": "46"}}'
    ]


def test_a_stale_fix_is_never_sent_as_fresh() -> None:
    stale = Fix(1.0, 2.0, source="cached")
    out, state = bodies([Alert("alert", stale)])
    assert '"latitude"' not in out[0]
    assert state.last_fix is None
    out, _ = bodies([Location(stale)], DeviceState(callout_open=True))
    assert out == []


def test_location_policy_open_callout_only_while_a_callout_is_open() -> None:
    assert bodies([Location(HERE)])[0] == []
    out, state = bodies([Location(HERE)], DeviceState(callout_open=True))
    assert len(out) == 1 and '"message_type": 2' in out[0]
    assert state.last_fix == HERE and state.last_fix_at == NOW


def test_location_policy_always() -> None:
    out, _ = bodies([Location(HERE)], tpl=template(location_updates="always"))
    assert len(out) == 1 and '"message_type": 2' in out[0]


def test_sustained_alarm_opens_one_callout_on_the_rising_edge_only() -> None:
    state = DeviceState()
    kinds = []
    frames = [
        [Alert("sos", HERE, sustained=True)],
        [Alert("sos", THERE, sustained=True)],
        [Alert("sos", None, sustained=True)],
        [Status("alarm_clear")],
        [Alert("sos", HERE, sustained=True)],
    ]
    for messages in frames:
        events, state = events_for(template(), SERIAL, messages, state, now=NOW, sequence=1)
        kinds.append([e.message_type for e in events])
    assert kinds == [[1], [2], [], [], [1]]


def test_button_gestures_follow_the_template() -> None:
    tpl = template(alert_gestures=frozenset({"double"}), cancel_gestures=frozenset({"long"}))
    assert '"message_type": 1' in bodies([Button("double")], tpl=tpl)[0][0]
    assert '"message_type": 3' in bodies([Button("long")], tpl=tpl)[0][0]
    assert bodies([Button("short")], tpl=tpl)[0] == []


def test_cancel_closes_the_local_callout() -> None:
    _, state = bodies([Cancel()], DeviceState(callout_open=True))
    assert not state.callout_open


def test_battery_is_sent_when_it_changes_and_from_the_voltage_curve() -> None:
    tpl = template(battery_curve=((3000.0, 0.0), (4200.0, 100.0)))
    out, state = bodies([Battery(None, 3600)], tpl=tpl)
    assert out == [
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 4, '
        '"body": {"batteryLevel": 50}}'
    ]
    assert bodies([Battery(50)], state, tpl=tpl)[0] == []
    assert bodies([Battery(None, 3600)], tpl=template())[0] == []  # no curve, no percent


def test_no_sequence_number_means_none_in_the_payload() -> None:
    out, _ = bodies([Cancel()], sequence=None)
    assert out == ['{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 3, "body": {}}']


@pytest.mark.parametrize(
    ("rule", "device_id"),
    [
        ({}, "A1B2C3D4"),
        ({"last": 6}, "B2C3D4"),
        ({"start": 2, "length": 6}, "C0FFEE"),
        ({"start": 8}, "A1B2C3D4"),
    ],
)
def test_device_id_derivation(tmp_path, rule, device_id) -> None:
    from decoders.templates import template_from_table

    tpl = template_from_table(
        "t", {"device_type_id": 9, "model": "aura-reference", "device_id": rule}
    )
    assert tpl.device_id.derive(SERIAL.lower()) == device_id


def test_message_type_numbers_come_from_the_template() -> None:
    tpl = template(message_types={1: 11, 2: 12, 3: 13, 4: 14})
    events, _ = events_for(tpl, SERIAL, [Alert("a", HERE)], DeviceState(), now=NOW)
    assert events[0].message_type == 11 and events[0].action == 1


# --- accuracy -----------------------------------------------------------------------------------


def test_a_fix_with_accuracy_sends_it_in_whole_metres() -> None:
    tpl = template(location_updates="always")
    out, _ = bodies([Alert("alert", Fix(-26.0919, 28.084, accuracy_m=69.6))], tpl=tpl)
    assert out == [
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 1, '
        '"location": {"latitude": -26.0919, "longitude": 28.084, "accuracy": 70, '
        '"sequenceNumber": "46"}}'
    ]
    out, _ = bodies([Location(Fix(-26.2025, 28.0468, accuracy_m=12))], sequence=None, tpl=tpl)
    assert out == [
        '{"device_type_id": 1, "device_id": "A1B2C3D4", "message_type": 2, '
        '"body": {"latitude": -26.2025, "longitude": 28.0468, "accuracy": 12}}'
    ]


def test_a_remembered_fix_keeps_its_accuracy_through_the_stored_state() -> None:
    _, state = bodies([Location(HERE)])
    state = DeviceState.from_json(json.loads(json.dumps(state.as_json())))
    events, _ = events_for(template(), SERIAL, [Alert("alert")], state, now=NOW)
    assert events[0].payload == {"latitude": -26.10911, "longitude": 28.053037, "accuracy": 10}


@pytest.mark.parametrize("accuracy", [None, -5.0, float("nan"), float("inf")])
def test_an_unknown_or_impossible_accuracy_is_left_out(accuracy) -> None:
    events, _ = events_for(
        template(), SERIAL, [Alert("alert", Fix(1.5, 2.5, accuracy_m=accuracy))], EMPTY, now=NOW
    )
    assert events[0].payload == {"latitude": 1.5, "longitude": 2.5}


# --- linked device ids --------------------------------------------------------------------------


def test_a_linked_device_id_replaces_the_template_rule_in_every_event() -> None:
    messages = [Alert("alert", HERE), Cancel(), Battery(80)]
    events, _ = events_for(
        template(), SERIAL, messages, EMPTY, now=NOW, device_id="26217939", sequence=9
    )
    assert [e.device_id for e in events] == ["26217939"] * 3
    assert (
        events[0]
        .to_json()
        .startswith('{"device_type_id": 1, "device_id": "26217939", "message_type": 1,')
    )
    derived, _ = events_for(template(), SERIAL, messages, EMPTY, now=NOW, device_id=None)
    assert {e.device_id for e in derived} == {"A1B2C3D4"}  # the template's rule by default


# --- message 4: battery level and heartbeat -----------------------------------------------------

HOUR = timedelta(hours=1)


def heartbeats(reports, *, interval_s: float = 3600, state=EMPTY, tpl=None):
    """The batteryLevel of each uplink's message 4 (None: none sent), and the final state.
    ``reports`` are (network time, that uplink's messages)."""
    tpl = tpl or template(heartbeat_interval_s=interval_s)
    sent = []
    for now, messages in reports:
        events, state = events_for(tpl, SERIAL, messages, state, now=now, sequence=1)
        levels = [e.payload["batteryLevel"] for e in events if e.action == 4]
        assert len(levels) <= 1, "at most one message 4 per uplink"
        sent.append(levels[0] if levels else None)
    return sent, state


def test_a_level_change_is_sent_at_once() -> None:
    sent, state = heartbeats([(NOW, [Battery(80)]), (NOW + timedelta(seconds=1), [Battery(79)])])
    assert sent == [80, 79]
    assert state.battery_percent == 79 and state.last_heartbeat_at == NOW + timedelta(seconds=1)


def test_the_same_level_within_the_interval_sends_nothing() -> None:
    sent, state = heartbeats(
        [(NOW, [Battery(80)]), (NOW + HOUR - timedelta(seconds=1), [Battery(80)])]
    )
    assert sent == [80, None]
    assert state.last_heartbeat_at == NOW  # unsent reports do not move the heartbeat clock


def test_the_same_level_after_the_interval_sends_one_heartbeat() -> None:
    reports = [
        (NOW, [Battery(80)]),
        (NOW + timedelta(minutes=30), [Battery(80)]),
        (NOW + HOUR, [Battery(80)]),  # exactly one interval after the last message 4: due
        (NOW + HOUR + timedelta(minutes=59), [Battery(80)]),
        (NOW + 2 * HOUR, [Battery(80)]),
    ]
    sent, state = heartbeats(reports)
    assert sent == [80, None, 80, None, 80]
    assert state.last_heartbeat_at == NOW + 2 * HOUR


def test_interval_zero_sends_every_report() -> None:
    reports = [(NOW, [Battery(80)]), (NOW, [Battery(80)]), (NOW - HOUR, [Status("stats")])]
    assert heartbeats(reports, interval_s=0)[0] == [80, 80, 80]


def test_a_health_report_without_a_level_repeats_the_last_known_level_when_due() -> None:
    reports = [
        (NOW, [Battery(64)]),
        (NOW + timedelta(minutes=10), [Status("stats")]),  # not due yet
        (NOW + HOUR, [Status("stats")]),
    ]
    assert heartbeats(reports)[0] == [64, None, 64]


@pytest.mark.parametrize("event", sorted(HEALTH_REPORTS))
def test_every_health_report_is_a_heartbeat(event: str) -> None:
    state = DeviceState(battery_percent=55, last_heartbeat_at=NOW - HOUR)
    assert heartbeats([(NOW, [Status(event, "detail")])], state=state)[0] == [55]


@pytest.mark.parametrize("event", ["alarm_clear", "no_fix", "fix_failed", "armed", "magnet"])
def test_other_status_events_are_not_heartbeats(event: str) -> None:
    state = DeviceState(battery_percent=55, last_heartbeat_at=NOW - 2 * HOUR)
    assert heartbeats([(NOW, [Status(event)])], state=state)[0] == [None]


def test_without_any_known_level_there_is_nothing_to_send() -> None:
    reports = [
        (NOW, [Status("stats")]),
        (NOW + 2 * HOUR, [Battery(None, 3600)]),  # volts, and no curve to read them with
        (NOW + 4 * HOUR, [Battery(70)]),
    ]
    sent, _ = heartbeats(reports)
    assert sent == [None, None, 70]


def test_volts_without_a_curve_still_count_as_a_heartbeat_once_a_level_is_known() -> None:
    state = DeviceState(battery_percent=70, last_heartbeat_at=NOW - HOUR)
    assert heartbeats([(NOW, [Battery(None, 3600)])], state=state)[0] == [70]


def test_uplinks_without_battery_or_health_information_never_heartbeat() -> None:
    state = DeviceState(battery_percent=70, last_heartbeat_at=NOW - 24 * HOUR)
    reports = [(NOW, [Location(HERE)]), (NOW, [Cancel()]), (NOW, [])]
    assert heartbeats(reports, state=state)[0] == [None, None, None]


def test_one_message_4_per_uplink_after_its_other_events_with_its_last_level() -> None:
    messages = [Battery(81), Alert("sos", HERE), Status("stats"), Battery(80)]
    events, state = events_for(template(), SERIAL, messages, EMPTY, now=NOW, sequence=7)
    assert [(e.action, e.payload) for e in events] == [
        (1, {"latitude": -26.10911, "longitude": 28.053037, "accuracy": 10, "sequenceNumber": "7"}),
        (DEVICE_BATTERY_INFO_RECEIVED, {"batteryLevel": 80}),  # never a sequenceNumber
    ]
    assert state.battery_percent == 80


def test_the_interval_is_measured_on_network_time_and_a_replay_never_turns_it_back() -> None:
    live = NOW + 3 * HOUR
    state = DeviceState(battery_percent=60, last_heartbeat_at=live)
    # A replayed (or late) uplink from before the last message 4 is not due: AURA heard from the
    # device after it. Only a level change goes out, and the heartbeat clock keeps the later time.
    sent, state = heartbeats([(NOW, [Battery(60)]), (NOW + HOUR, [Status("stats")])], state=state)
    assert sent == [None, None] and state.last_heartbeat_at == live
    sent, state = heartbeats([(NOW, [Battery(61)])], state=state)
    assert sent == [61] and state.last_heartbeat_at == live
    # Live traffic then goes on from the later time, not from the replayed one.
    sent, _ = heartbeats(
        [(live + timedelta(minutes=5), [Battery(61)]), (live + HOUR, [Battery(61)])], state=state
    )
    assert sent == [None, 61]


def test_heartbeat_state_round_trips_through_json() -> None:
    state = DeviceState(
        callout_open=True,
        alarm_active=True,
        last_fix=Fix(1.25, 2.5, accuracy_m=30, source="network", fixed_at=NOW),
        last_fix_at=NOW,
        battery_percent=42,
        last_heartbeat_at=NOW + timedelta(seconds=5),
    )
    stored = json.loads(json.dumps(state.as_json()))
    assert stored["battery_percent"] == 42
    assert stored["last_heartbeat_at"] == "2026-11-21T12:00:05+00:00"
    assert DeviceState.from_json(stored) == state
    assert DeviceState.from_json(DeviceState().as_json()) == DeviceState()


def test_a_state_stored_by_the_previous_version_loads_and_heartbeats_on_its_next_report() -> None:
    old = {
        "callout_open": True,
        "alarm_active": False,
        "last_fix": {"latitude": 1.0, "longitude": 2.0, "source": "gps"},
        "last_fix_at": "2026-11-21T11:00:00+00:00",
        "battery_percent": 72,
    }
    state = DeviceState.from_json(old)
    assert (state.battery_percent, state.last_heartbeat_at, state.callout_open) == (72, None, True)
    # Never a heartbeat time: the first report after the upgrade is one (once), even unchanged.
    sent, _ = heartbeats(
        [(NOW, [Battery(72)]), (NOW + timedelta(minutes=1), [Battery(72)])], state=state
    )
    assert sent == [72, None]


def test_heartbeats_from_real_frames_oyster_statistics_and_milesight_power_on() -> None:
    oyster = template(model=decoders.get_model("oyster-sigfox"))
    state = DeviceState(battery_percent=90, last_heartbeat_at=NOW - 2 * HOUR)
    stats = decoders.decode("oyster-sigfox", "02").messages
    assert heartbeats([(NOW, stats)], state=state, tpl=oyster)[0] == [90]
    ws101 = template(model=decoders.get_model("milesight-ws101"))
    power_on = decoders.decode("milesight-ws101", "ff0bff", 85).messages
    assert heartbeats([(NOW, power_on)], state=state, tpl=ws101)[0] == [90]


# Each report: (seconds after the previous one, its level or None for a keep-alive without one).
REPORTS = st.lists(
    st.tuples(st.integers(0, 3 * 3600), st.one_of(st.none(), st.integers(0, 100))), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(reports=REPORTS, interval_s=st.sampled_from([0, 1, 60, 3600, 5400]))
def test_heartbeat_rule_holds_for_any_sequence_of_reports(reports, interval_s) -> None:
    now, timeline = NOW, []
    for gap_s, level in reports:
        now += timedelta(seconds=gap_s)
        timeline.append((now, [Battery(level)] if level is not None else [Status("stats")]))
    sent, state = heartbeats(timeline, interval_s=interval_s)
    interval = timedelta(seconds=interval_s)

    known = None  # the last level reported so far
    last = None  # (time, level) of the last message 4
    for (at, _), (_, level), out in zip(timeline, reports, sent, strict=True):
        changed = level is not None and level != known
        known = level if level is not None else known
        if known is None:
            assert out is None  # nothing known, nothing to send
            continue
        # Every level change is sent at once, with the new level.
        if changed:
            assert out == known
        # No report goes by once an interval has passed since the last message 4 ...
        if last is None or at - last[0] >= interval:
            assert out == known
        # ... and nothing else is sent: no change, within the interval, nothing.
        if out is not None and not changed and last is not None:
            assert at - last[0] >= interval
        if out is not None:
            last = (at, out)
    assert state.battery_percent == known
    assert state.last_heartbeat_at == (None if last is None else last[0])
