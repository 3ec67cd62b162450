"""milesight-ws101: fixture frames build back, records in any order, bad records named by
offset, presses never lost among other records, and properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import (
    Battery,
    Button,
    DecodeError,
    ShortFrame,
    Status,
    UnknownMessageType,
    ValueOutOfRange,
    decode,
)
from decoders.models import milesight_ws101

MODEL = "milesight-ws101"
PRESSES = {1: "short", 2: "long", 3: "double"}
# one example record of each kind, and what it means
RECORDS = {
    "017564": [Battery(percent=100)],
    "FF2E01": [Button("short")],
    "FF2E02": [Button("long")],
    "FF2E03": [Button("double")],
    "FF0110": [],
    "FF090140": [],
    "FF0A0114": [],
    "FFFF0100": [],
    "FF166136C3124256004E": [],
    "FF0F02": [],
    "FF0B01": [Status("power_on")],
    "FFFE01": [Status("reset")],
}


def test_public_vectors() -> None:
    assert decode(MODEL, "FF2E01", 85).messages == (Button("short"),)
    readme = decode(MODEL, "017510FF2E01", 85)
    assert readme.fields["records"][0] == {"record": "battery", "battery_pct": 16}
    assert readme.messages == (Battery(percent=16), Button("short"))


def test_model_metadata() -> None:
    assert milesight_ws101.MODEL.ports == (85,)
    assert milesight_ws101.MODEL.alert_gestures == ("short", "long", "double")
    assert milesight_ws101.MODEL.cancel_gestures == ()
    assert set(milesight_ws101.MODEL.alert_gestures) == set(PRESSES.values())


@given(st.lists(st.sampled_from(sorted(RECORDS)), min_size=1, max_size=8))
def test_records_decode_in_any_order(keys: list[str]) -> None:
    frame = bytes.fromhex("".join(keys))
    decoded = decode(MODEL, frame, 85)
    assert [m for key in keys for m in RECORDS[key]] == list(decoded.messages)
    assert len(decoded.fields["records"]) == len(keys)
    assert milesight_ws101.build(decoded.fields) == frame


@given(
    st.lists(st.sampled_from(sorted(RECORDS)), max_size=4),
    st.sampled_from(sorted(PRESSES)),
    st.lists(st.sampled_from(sorted(RECORDS)), max_size=4),
)
def test_a_press_is_found_wherever_it_is(before: list[str], code: int, after: list[str]) -> None:
    frame = bytes.fromhex("".join(before) + f"FF2E{code:02X}" + "".join(after))
    assert Button(PRESSES[code]) in decode(MODEL, frame, 85).messages


@pytest.mark.parametrize("code", [c for c in range(256) if c not in PRESSES])
def test_undefined_press_codes_are_refused_loudly(code: int) -> None:
    with pytest.raises(ValueOutOfRange) as caught:
        decode(MODEL, f"017564FF2E{code:02X}", 85)
    assert (caught.value.field, caught.value.offset) == ("records[1].press", 5)


@given(st.lists(st.sampled_from(sorted(RECORDS)), max_size=4), st.integers(0, 0xFFFF))
def test_unknown_channel_type_pairs_name_their_offset(prefix: list[str], key: int) -> None:
    if f"{key:04X}" in {k[:4] for k in RECORDS}:
        return
    head = bytes.fromhex("".join(prefix))
    with pytest.raises(UnknownMessageType) as caught:
        decode(MODEL, head + key.to_bytes(2, "big") + bytes(8), 85)
    assert caught.value.offset == len(head)
    assert caught.value.field == f"records[{len(prefix)}].record"


@pytest.mark.parametrize("key", sorted(RECORDS))
def test_every_cut_record_is_a_short_frame(key: str) -> None:
    record = bytes.fromhex("017564" + key)
    for cut in range(4, len(record)):
        with pytest.raises(ShortFrame) as caught:
            decode(MODEL, record[:cut], 85)
        assert caught.value.offset == cut


@given(st.binary(min_size=0, max_size=64))
def test_any_bytes_decode_or_raise_decode_error(frame: bytes) -> None:
    try:
        decoded = decode(MODEL, frame, 85)
    except DecodeError as error:
        assert error.model == MODEL
        return
    json.dumps(decoded.as_dict())
    assert milesight_ws101.build(decoded.fields) == frame
