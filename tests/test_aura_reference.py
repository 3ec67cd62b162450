"""aura-reference: build -> parse round trips over arbitrary valid values (DESIGN §7)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import decoders
from decoders.models import aura_reference

coordinate = st.integers(-900_000_000, 900_000_000).map(lambda raw: round(raw * 1e-7, 7))
longitude = st.integers(-1_800_000_000, 1_800_000_000).map(lambda raw: round(raw * 1e-7, 7))
flags = st.fixed_dictionaries(
    {"reserved": st.integers(0, 63), "moving": st.booleans(), "stale": st.booleans()}
)
position_fields = st.fixed_dictionaries(
    {
        "message_type": st.sampled_from(["alert", "location"]),
        "latitude": coordinate,
        "longitude": longitude,
        "accuracy_m": st.one_of(st.none(), st.integers(0, 254).map(lambda raw: raw * 4)),
        "battery_percent": st.one_of(st.none(), st.integers(0, 100)),
        "flags": flags,
    }
)
cancel_fields = st.fixed_dictionaries(
    {"message_type": st.just("cancel"), "reason": st.sampled_from(["user", "timeout", "remote"])}
)
battery_fields = st.fixed_dictionaries(
    {
        "message_type": st.just("battery"),
        "battery_percent": st.integers(0, 100),
        "battery_mv": st.integers(0, 0xFFFF),
    }
)


@given(fields=st.one_of(position_fields, cancel_fields, battery_fields))
def test_build_then_parse_gives_the_same_fields(fields: dict) -> None:
    frame = aura_reference.build(fields)
    assert len(frame) <= 12  # one Sigfox frame
    assert decoders.decode("aura-reference", frame).fields == fields


@given(fields=position_fields)
def test_alert_without_fix_round_trips_as_no_fix(fields: dict) -> None:
    fields = {**fields, "message_type": "alert", "latitude": None, "longitude": None}
    frame = aura_reference.build(fields)
    assert frame[1:9] == bytes.fromhex("7FFFFFFF7FFFFFFF")
    decoded = decoders.decode("aura-reference", frame)
    assert decoded.messages[0] == decoders.Alert("alert", None)


def test_stale_flag_marks_the_fix_cached_not_fresh() -> None:
    decoded = decoders.decode("aura-reference", "01EBC779D30AFB49A9FFFF01")
    alert = decoded.messages[0]
    assert isinstance(alert, decoders.Alert)
    assert alert.fix is not None and not alert.fix.is_fresh
