"""Template TOML: good configs load, every mistake names its key path."""

from __future__ import annotations

import pytest

from decoders import ConfigError
from decoders.templates import load_templates, template_from_table

GOOD = """
[templates.panic]
device_type_id = 7
model = "aura-reference"
device_id = { start = 0, length = 8 }
location_updates = "always"
max_fix_age_s = 300
heartbeat_interval_s = 900
battery_curve = [[3000, 0], [3600, 50], [4200, 100]]
downlink = "01000000000000ff"

[templates.panic.message_types]
new_callout = 21

[templates.panic.match]
devices = ["1a2b3c4d"]
sigfox_device_types = ["5f2a0b1c"]
"""


def test_a_full_template_loads(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(GOOD)
    tpl = load_templates(path)["panic"]
    assert tpl.device_type_id == 7
    assert tpl.model.id == "aura-reference"
    assert tpl.device_id.derive("1a2b3c4d5e") == "1A2B3C4D"
    assert tpl.location_updates == "always"
    assert (tpl.max_fix_age_s, tpl.heartbeat_interval_s) == (300.0, 900.0)
    assert tpl.battery_percent(3300) == 25
    assert tpl.battery_percent(2000) == 0 and tpl.battery_percent(5000) == 100
    assert tpl.downlink == "01000000000000FF"
    assert tpl.message_types[1] == 21 and tpl.message_types[4] == 4
    assert tpl.match.devices == frozenset({"1A2B3C4D"})


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"model": "aura-reference"}, "missing required key 'device_type_id'"),
        ({"device_type_id": "7", "model": "aura-reference"}, "templates.t.device_type_id"),
        ({"device_type_id": 7, "model": "nope"}, "templates.t.model: unknown model 'nope'"),
        ({"device_type_id": 7, "model": "aura-reference", "colour": 1}, "unknown key 'colour'"),
        (
            {"device_type_id": 7, "model": "aura-reference", "location_updates": "sometimes"},
            "templates.t.location_updates",
        ),
        (
            {"device_type_id": 7, "model": "aura-reference", "device_id": {"last": "8"}},
            "templates.t.device_id.last",
        ),
        (
            {"device_type_id": 7, "model": "aura-reference", "battery_curve": [[3000, 0]]},
            "templates.t.battery_curve",
        ),
        (
            {"device_type_id": 7, "model": "aura-reference", "downlink": "0102"},
            "templates.t.downlink",
        ),
        (
            {"device_type_id": 7, "model": "aura-reference", "message_types": {"panic": 1}},
            "unknown action 'panic'",
        ),
        (
            {
                "device_type_id": 7,
                "model": "aura-reference",
                "alert_gestures": ["long"],
                "cancel_gestures": ["long"],
            },
            "both alert and cancel",
        ),
        (
            {"device_type_id": 7, "model": "aura-reference", "match": {"eui": []}},
            "unknown key 'eui'",
        ),
    ],
)
def test_mistakes_name_the_key(table, named) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        template_from_table("t", table)


def test_heartbeat_interval_defaults_to_an_hour_and_zero_means_every_report() -> None:
    base = {"device_type_id": 7, "model": "aura-reference"}
    assert template_from_table("t", base).heartbeat_interval_s == 3600.0
    assert template_from_table("t", {**base, "heartbeat_interval_s": 0}).heartbeat_interval_s == 0
    assert (
        template_from_table("t", {**base, "heartbeat_interval_s": 90.5}).heartbeat_interval_s
        == 90.5
    )


@pytest.mark.parametrize("key", ["heartbeat_interval_s", "max_fix_age_s"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "expected a number of seconds >= 0, got -1"),
        (float("nan"), "expected a number of seconds >= 0, got nan"),
        ("1h", "expected int or float, got '1h'"),
        (True, "expected int or float, got True"),
    ],
)
def test_durations_must_be_non_negative_numbers(key: str, value, message: str) -> None:
    table = {"device_type_id": 7, "model": "aura-reference", key: value}
    with pytest.raises(ConfigError, match=f"^templates.t.{key}: {message}$"):
        template_from_table("t", table)


def test_bad_toml_and_missing_file_are_config_errors(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[templates\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_templates(path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_templates(tmp_path / "missing.toml")


def _uplink(network: str, device: str, **hints: str):
    from datetime import UTC, datetime

    from decoders.types import Hints, Uplink

    return Uplink(network, device, b"", datetime.now(UTC), "k", hints=Hints(**hints))  # type: ignore[arg-type]


def test_select_template_by_device_list_grouping_then_catch_all() -> None:
    from decoders.templates import select_template

    def template(name: str, model: str, **match: list[str]):
        return template_from_table(name, {"device_type_id": 1, "model": model, "match": match})

    templates = {
        t.name: t
        for t in (
            template("listed", "milesight-ws101", devices=["0004a30b001c0530"]),
            template("by-app", "milesight-ws101", ttn_applications=["panic-app"]),
            template("by-cs-app", "dragino-lgt92", chirpstack_applications=["17C8"]),
            template("by-profile", "dragino-lgt92", chirpstack_device_profiles=["1485"]),
            template("by-type", "simplepack", sigfox_device_types=["5F2A0B1C"]),
            template("sigfox-default", "sensit-v3"),
        )
    }
    pick = lambda *a, **k: select_template(templates, _uplink(*a, **k)).name  # noqa: E731
    assert pick("lorawan", "0004A30B001C0530", ttn_application="panic-app") == "listed"
    assert pick("lorawan", "0101010101010101", ttn_application="panic-app") == "by-app"
    assert pick("lorawan", "01", chirpstack_application="17c8") == "by-cs-app"
    assert pick("lorawan", "01", chirpstack_device_profile="1485") == "by-profile"
    assert pick("sigfox", "1A2B", sigfox_device_type="5f2a0b1c") == "by-type"
    assert pick("sigfox", "1A2B", sigfox_device_type="00000000") == "sigfox-default"
    # No LoRaWAN catch-all: an unmatched LoRaWAN device gets no template (stored undecodable).
    assert select_template(templates, _uplink("lorawan", "02")) is None
