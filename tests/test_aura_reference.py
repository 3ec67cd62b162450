"""aura-reference: build -> parse round trips over arbitrary valid values (docs/design.md §7)."""

from __future__ import annotations

from hypothesis import given

import decoders
from decoders.models import aura_reference
from decoders.testing import fields

# Every valid value of every field, from the schema (decoders.testing); positions are alerts and
# locations, the two types that carry a fix.
any_fields = fields("aura-reference")
position_fields = any_fields.filter(lambda values: values["message_type"] in ("alert", "location"))


@given(values=any_fields)
def test_build_then_parse_gives_the_same_fields(values: dict) -> None:
    frame = aura_reference.build(values)
    assert len(frame) <= 12  # one Sigfox frame
    assert decoders.decode("aura-reference", frame).fields == values


@given(values=position_fields)
def test_alert_without_fix_round_trips_as_no_fix(values: dict) -> None:
    values = {**values, "message_type": "alert", "latitude": None, "longitude": None}
    frame = aura_reference.build(values)
    assert frame[1:9] == bytes.fromhex("7FFFFFFF7FFFFFFF")
    decoded = decoders.decode("aura-reference", frame)
    assert decoded.messages[0] == decoders.Alert("alert", None)


def test_stale_flag_marks_the_fix_cached_not_fresh() -> None:
    decoded = decoders.decode("aura-reference", "01EBC779D30AFB49A9FFFF01")
    alert = decoded.messages[0]
    assert isinstance(alert, decoders.Alert)
    assert alert.fix is not None and not alert.fix.is_fresh
