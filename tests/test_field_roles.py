"""The templates' one field-mapping language (decoders/fieldmap.py; docs/design.md §14 "Field
roles"): paths, equals/in, scale/offset, what a missing path and a wrong type mean, and the
safety asymmetry through the AURA mapping (a rising alarm edge opens one callout, every press
is an alert, a cancel only from an uplink without warnings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from decoders import ConfigError, DeviceState, events_for, parse_fields
from decoders.fieldmap import FieldMap, Rule
from decoders.templates import template_from_table
from decoders.types import Alert, Battery, Button, Cancel, Fix, Location, Status

NEW_CALLOUT, LOCATION_UPDATED, CANCELLED, BATTERY_INFO = 1, 2, 3, 4
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def read(table: dict[str, Any], data: dict[str, Any]):
    return parse_fields(table, "templates.t.fields").read(data)


# -- paths -----------------------------------------------------------------------------------


def test_dotted_paths_and_list_steps() -> None:
    table = {"latitude": "gps.fixes.0.lat", "longitude": "gps.fixes.0.lng", "accuracy": "gps.hdop"}
    data = {"gps": {"fixes": [{"lat": 52.5, "lng": 13.4}, {"lat": 1, "lng": 1}], "hdop": 12}}
    assert read(table, data).messages == (Location(Fix(52.5, 13.4, accuracy_m=12)),)


def test_a_missing_path_means_not_in_this_uplink() -> None:
    table = {"latitude": "gps.lat", "longitude": "gps.lng", "alarm": "sos", "battery": "bat"}
    reading = read(table, {"temperature": 21.5})
    assert reading.messages == ()
    assert reading.warnings == ()
    # A path through something that is not an object is missing too, never an error.
    assert read(table, {"gps": 7, "sos": None}).messages == ()


def test_null_coordinates_are_no_fix_and_zero_zero_is_a_placeholder() -> None:
    table = {"latitude": "lat", "longitude": "lng"}
    assert read(table, {"lat": None, "lng": None}).messages == (
        Status("no_fix", "position not in frame"),
    )
    assert read(table, {"lat": 0, "lng": 0}).messages == (
        Status("no_fix", "placeholder position 0,0"),
    )
    # One zero coordinate alone is a real place (docs/design.md §14 position policy).
    assert read(table, {"lat": 0, "lng": -0.12}).messages == (Location(Fix(0.0, -0.12)),)
    assert read(table, {"lat": 91, "lng": 0}).messages[0].event == "no_fix"  # type: ignore[union-attr]


# -- equals / in, scale / offset -------------------------------------------------------------


def test_equals_makes_a_state_and_in_a_set_of_names() -> None:
    table = {
        "alarm": {"path": "event", "equals": "SOS"},
        "cancel": {"path": "event", "in": ["CANCEL", "SAFE"]},
    }
    assert read(table, {"event": "SOS"}).messages == (Alert("alarm", None, sustained=True),)
    assert read(table, {"event": "SAFE"}).messages == (Status("alarm_clear"), Cancel("user"))
    assert read(table, {"event": "HEARTBEAT"}).messages == (Status("alarm_clear"),)
    assert read(table, {}).messages == ()


def test_comparisons_keep_types_apart() -> None:
    table = {"press": {"path": "code", "in": [1, "2", True]}}
    assert read(table, {"code": 1}).messages == (Alert("press", None),)
    assert read(table, {"code": 1.0}).messages == (Alert("press", None),)
    assert read(table, {"code": "2"}).messages == (Alert("press", None),)
    assert read(table, {"code": True}).messages == (Alert("press", None),)
    assert read(table, {"code": 2}).messages == ()
    assert read(table, {"code": "1"}).messages == ()


def test_scale_and_offset_for_numbers() -> None:
    table = {
        "latitude": {"path": "lat", "scale": 1e-7},
        "longitude": {"path": "lng", "scale": 1e-7},
        "battery_mv": {"path": "volts", "scale": 1000},
        "battery": {"path": "level", "scale": 0.5, "offset": 10},
    }
    reading = read(table, {"lat": -261091100, "lng": 280530370, "volts": 3.6, "level": 150})
    assert reading.messages == (
        Location(Fix(-26.10911, 28.053037)),
        Battery(percent=85, voltage_mv=3600),
    )


def test_battery_out_of_range_is_a_status_not_a_level() -> None:
    assert read({"battery": "b"}, {"b": 180}).messages == (
        Status("battery_out_of_range", "180.0 %"),
    )
    assert read({"battery_mv": "mv"}, {"mv": -5}).messages == (
        Status("battery_out_of_range", "-5.0 mV"),
    )


def test_button_gives_a_gesture_name() -> None:
    assert read({"button": "press.kind"}, {"press": {"kind": "double"}}).messages == (
        Button("double"),
    )


# -- wrong types: warnings, never a lost uplink ------------------------------------------------


def test_a_wrong_type_is_a_warning_in_the_design_shape() -> None:
    table = {"latitude": "lat", "longitude": "lng", "battery": "bat", "alarm": "sos"}
    reading = read(table, {"lat": "52.1", "lng": 13.4, "bat": [1], "sos": True})
    assert reading.messages == (
        Alert("alarm", None, sustained=True),
        Status("no_fix", "position unreadable"),
    )
    assert reading.warnings == (
        {"source": "decoder", "field": "lat", "message": "expected a number, got '52.1'"},
        {"source": "decoder", "field": "bat", "message": "expected a number, got [1]"},
    )


def test_text_where_a_flag_belongs_asks_for_equals() -> None:
    reading = read({"alarm": "event"}, {"event": "SOS"})
    assert reading.messages == ()
    assert reading.warnings[0]["field"] == "event"
    assert "use equals or in" in reading.warnings[0]["message"]


def test_an_object_where_a_name_is_compared_is_a_warning() -> None:
    reading = read({"cancel": {"path": "event", "equals": "OK"}}, {"event": {"a": 1}})
    assert (reading.messages, len(reading.warnings)) == ((), 1)


# -- the AURA mapping: rising edge, presses, trusted cancels ------------------------------------


def _template(**fields: Any):
    return template_from_table("t", {"device_type_id": 9, "decoded": "network", "fields": fields})


def _run(template, objects: list[dict[str, Any]]) -> list[list[int]]:
    """The AURA message types each decoded object gives, in order, one state carried along."""
    assert template.fields is not None
    state, out = DeviceState(), []
    for index, data in enumerate(objects):
        reading = template.fields.read(data)
        events, state = events_for(
            template,
            "0004A30B001C0530",
            reading.messages,
            state,
            now=T0 + timedelta(minutes=index),
            trusted=not reading.warnings,
        )
        out.append([event.action for event in events])
    return out


def test_an_alarm_state_opens_one_callout_on_its_rising_edge() -> None:
    template = _template(alarm={"path": "event", "equals": "SOS"}, latitude="lat", longitude="lng")
    sos = {"event": "SOS", "lat": 52.5, "lng": 13.4}
    idle = {"event": "IDLE", "lat": 52.5, "lng": 13.4}
    assert _run(template, [sos, sos, idle, sos]) == [
        [NEW_CALLOUT],
        [LOCATION_UPDATED],  # still set: where the wearer is now, not a new press
        [LOCATION_UPDATED],  # the callout is open; the alarm re-arms
        [NEW_CALLOUT],
    ]


def test_a_press_is_an_alert_in_every_uplink() -> None:
    template = _template(press={"path": "event", "equals": "SOS"})
    assert _run(template, [{"event": "SOS"}, {"event": "SOS"}, {}]) == [
        [NEW_CALLOUT],
        [NEW_CALLOUT],  # AURA folds repeats into the active callout
        [],
    ]


def test_a_cancel_only_from_an_uplink_without_warnings_an_alarm_always() -> None:
    template = _template(
        press={"path": "event", "equals": "SOS"},
        cancel={"path": "event", "equals": "CANCEL"},
        battery="battery",
    )
    garbled = {"event": "CANCEL", "battery": "full"}  # the battery warns: untrusted uplink
    clean = {"event": "CANCEL", "battery": 80}
    alarm_with_warning = {"event": "SOS", "battery": "full"}
    assert _run(template, [alarm_with_warning, garbled, clean]) == [
        [NEW_CALLOUT],
        [],
        [CANCELLED, BATTERY_INFO],
    ]


# -- the TOML table: every mistake names its key ------------------------------------------------


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"lattitude": "a"}, "templates.t.fields: unknown key 'lattitude'"),
        ({"latitude": "a"}, "needs both latitude and longitude"),
        ({"alarm": "a..b"}, "templates.t.fields.alarm: 'a..b' is not a dotted path"),
        ({"alarm": ""}, "templates.t.fields.alarm: '' is not a dotted path"),
        ({"alarm": {"path": "x", "equals": [1]}}, "templates.t.fields.alarm.equals"),
        ({"alarm": {"path": "x", "in": []}}, "templates.t.fields.alarm.in"),
        ({"alarm": {"path": "x", "equals": 1, "in": [1]}}, "equals or in, not both"),
        ({"alarm": {"path": "x", "scale": 2}}, "scale/offset apply to numbers"),
        ({"battery": {"path": "x", "equals": 2}}, "equals/in compare states and events"),
        ({"battery": {"path": "x", "scale": 0}}, "templates.t.fields.battery.scale"),
        ({"battery": {"path": "x", "scale": "2"}}, "templates.t.fields.battery.scale"),
        ({"battery": {"equals": 1}}, "templates.t.fields.battery.path"),
        ({"battery": {"path": "x", "unit": "mV"}}, "templates.t.fields.battery: unknown key"),
        ({"battery": 7}, "templates.t.fields.battery: expected a path or a table"),
        ({"battery_unit": "percent"}, "battery is not mapped"),
        ({"battery": "b", "battery_unit": "kV"}, "templates.t.fields.battery_unit"),
        (
            {"latitude": {"path": "a", "scale": 2}, "longitude": "b", "latitude_scale": 2},
            "in one place",
        ),
        ("lat", "expected a table"),
    ],
)
def test_mistakes_are_config_errors_naming_the_key(table: Any, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(".", r"\.")):
        parse_fields(table, "templates.t.fields")


def test_the_grammar_keys_are_a_case_of_the_language() -> None:
    legacy = parse_fields(
        {
            "latitude": "lat",
            "latitude_scale": 1e-7,
            "longitude": "lng",
            "longitude_scale": 1e-7,
            "battery": "v",
            "battery_unit": "volts",
            "battery_offset": 2,
            "battery_scale": 0.01,
        },
        "f",
    )
    assert legacy == FieldMap(
        latitude=Rule("lat", scale=1e-7),
        longitude=Rule("lng", scale=1e-7),
        battery_mv=Rule("v", scale=10.0, offset=2000.0),
    )
    assert legacy.read({"lat": 1, "lng": 2, "v": 100}).messages == (
        Location(Fix(1e-7, 2e-7)),
        Battery(voltage_mv=3000),
    )


def test_a_press_while_the_alarm_state_is_set_is_still_an_alert() -> None:
    template = _template(alarm="sos", press={"path": "event", "equals": "PRESS"})
    assert _run(template, [{"sos": True}, {"sos": True}, {"sos": True, "event": "PRESS"}]) == [
        [NEW_CALLOUT],
        [],
        [NEW_CALLOUT],
    ]
