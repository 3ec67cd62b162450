"""Messages + device state -> AURA device events (docs/design.md §5-6), byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import decoders
from decoders import Alert, Battery, Button, Cancel, Fix, Location, Status
from decoders.aura import DeviceState
from decoders.mapping import events_for
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
    for sequence, message in enumerate(
        [Alert("alert", HERE), Location(THERE), Cancel(), Battery(72)], start=46
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
