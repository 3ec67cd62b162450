"""Sigfox custom payload grammar: public vectors, real configs, bad grammars, properties, and
grammar-based models (docs/grammar.md)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import decoders
from decoders.errors import ConfigError, DecodeError, GrammarError
from decoders.grammar import KINDS, compile_grammar
from decoders.grammar_model import GrammarMapping, model_from_grammar
from decoders.types import Alert, Battery, Cancel, Fix, Location, Status

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures" / "grammar.json").read_text())


# --- vectors from public sources ------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v["grammar"][:40] for v in VECTORS])
def test_public_vector_decodes_to_its_expected_fields(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    grammar = compile_grammar(vector["grammar"])
    assert grammar.parse(frame) == vector["expected"]
    if None not in vector["expected"].values():
        # build is the reverse of parse on the bytes the grammar covers
        assert grammar.parse(grammar.build(vector["expected"])) == vector["expected"]


def test_fixture_holds_every_shared_sigfox_grammar_vector() -> None:
    shared = [v for v in VECTORS if v["origin"] == "shared public_vectors.json"]
    assert [v["grammar"] for v in shared] == [
        "int1::uint:8 int2::uint:8",
        "b1::bool:7 b2::bool:6 i1:1:uint:16",
        "b1::bool:7 b2::bool:6 i1:1:uint:16:little-endian",
        "str::char:6 i1::uint:16 i2::uint:32",
        "lightAmbi::uint:16 temperature:2:int:8",
    ]
    assert all(v["source"] for v in VECTORS)


def test_spec_bool_example_bits_7_5_4_0_of_b1() -> None:
    grammar = compile_grammar(" ".join(f"b{n}:0:bool:{n}" for n in range(8)))
    fields = grammar.parse(b"\xb1")
    assert [n for n in range(8) if fields[f"b{n}"]] == [0, 4, 5, 7]


# --- real configs seen in public repos (docs/grammar.md §2.3) --------------------------

MRKFOX = (
    "lat::float:32:little-endian lng::float:32:little-endian "
    "device_id::uint:16:little-endian voltage::uint:16:little-endian"
)
UNASHIELD = "count::uint:16:little-endian temperature::float:32 voltage::float:32"


def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def test_mrkfox1200_gps_frame() -> None:
    frame = struct.pack("<ffHH", -26.10911, 28.053037, 0x1A2B, 3312)
    assert len(frame) == 12
    assert compile_grammar(MRKFOX).parse(frame) == {
        "lat": _f32(-26.10911),
        "lng": _f32(28.053037),
        "device_id": 0x1A2B,
        "voltage": 3312,
    }


def test_kccs_unashield_sample_frame() -> None:
    frame = struct.pack("<H", 517) + struct.pack(">ff", 23.5, 3.3)
    assert compile_grammar(UNASHIELD).parse(frame) == {
        "count": 517,
        "temperature": 23.5,
        "voltage": _f32(3.3),
    }


@pytest.mark.parametrize(("hex_frame", "pressed"), [("80", True), ("7F", False), ("FF00", True)])
def test_kccs_button_sample(hex_frame: str, pressed: bool) -> None:
    assert compile_grammar("button::bool:7").parse(bytes.fromhex(hex_frame)) == {"button": pressed}


# --- documented choices ---------------------------------------------------------------------


def test_short_frame_gives_null_for_fields_that_do_not_fit_only() -> None:
    grammar = compile_grammar("alarm::bool:7 lat:1:int:32 lng::int:32 mv::uint:16")
    assert grammar.parse(b"\x80\x01\x02\x03\x04\x05") == {
        "alarm": True,
        "lat": 0x01020304,
        "lng": None,
        "mv": None,
    }
    assert grammar.parse(b"") == dict.fromkeys(grammar.names)


def test_longer_frame_ignores_the_extra_bytes() -> None:
    grammar = compile_grammar("a::uint:8 b::uint:8")
    assert grammar.size == 2
    assert grammar.parse(bytes.fromhex("0102FFFFFF")) == {"a": 1, "b": 2}


def test_cursor_bools_share_a_byte_and_do_not_advance_it() -> None:
    grammar = compile_grammar("t::uint:8 f1::bool:7 f0::bool:0 all::uint:8 next::uint:8")
    assert grammar.parse(bytes.fromhex("0A8133")) == {
        "t": 10,
        "f1": True,
        "f0": True,
        "all": 0x81,
        "next": 0x33,
    }


def test_cursor_stays_on_the_last_byte_after_an_explicit_bit_offset() -> None:
    grammar = compile_grammar("hi::uint:4::7 lo::uint:4::3 mid:1:uint:16::5 last::uint:8")
    # A5 = 1010 0101; from bit 5 of byte 1: 3C FF 80 -> 111100 11111111 10 = 0xF3FE, ending in
    # byte 3, which `last` then reads again because `mid` wrote a bit offset.
    assert grammar.parse(bytes.fromhex("A53CFF80EE")) == {
        "hi": 0xA,
        "lo": 0x5,
        "mid": 0xF3FE,
        "last": 0x80,
    }
    assert compile_grammar("mid:1:uint:16 last::uint:8").parse(bytes.fromhex("A53CFF80EE")) == {
        "mid": 0x3CFF,
        "last": 0x80,
    }


def test_bit_offset_reads_across_bytes_msb_first_and_signed() -> None:
    grammar = compile_grammar("x::int:12::3")  # low nibble of byte 0, then all of byte 1
    assert grammar.parse(bytes.fromhex("0FFF")) == {"x": -1}
    assert grammar.parse(bytes.fromhex("F8FF")) == {"x": 0x8FF - 0x1000}  # high nibble ignored
    assert grammar.parse(bytes.fromhex("0780")) == {"x": 0x780}
    assert grammar.parse(bytes.fromhex("0F00")) == {"x": -256}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x::uint:16::3", 0x1278),
        ("x::uint:16:3", 0x1278),
        ("x::uint:16:big-endian:3", 0x1278),
        ("x::uint:16:little-endian:3", 0x7812),
        ("x::uint:4:little-endian", 0x0),
        ("x::uint:8:little-endian:3", 0x12),
    ],
)
def test_endianness_and_bit_offset_forms(text: str, value: int) -> None:
    # 0x01 0x27 0x8F: bits 3.. of byte 0 = 0001 0010 0111 1000 = 0x1278
    assert compile_grammar(text).parse(bytes.fromhex("01278F")) == {"x": value}


def test_little_endian_float_with_bit_offset_round_trips() -> None:
    grammar = compile_grammar("pad::uint:3::7 x::float:32:little-endian:4 tail::uint:5::3")
    frame = grammar.build({"pad": 5, "x": 1.5, "tail": 17})
    assert grammar.parse(frame) == {"pad": 5, "x": 1.5, "tail": 17}


def test_names_may_hold_dash_and_hash() -> None:
    assert compile_grammar("battery-mv::uint:8 #seq::uint:8").parse(b"\x01\x02") == {
        "battery-mv": 1,
        "#seq": 2,
    }


def test_char_decodes_every_byte_as_latin1_and_keeps_nul() -> None:
    assert compile_grammar("s::char:4").parse(b"A\xe9\x00\xff") == {"s": "A\u00e9\x00\u00ff"}


@pytest.mark.parametrize(
    "raw", [struct.pack(">f", math.nan), struct.pack(">f", math.inf), struct.pack(">f", -math.inf)]
)
def test_nan_and_infinite_floats_are_null(raw: bytes) -> None:
    assert compile_grammar("t::float:32").parse(raw) == {"t": None}


def test_float64_both_endiannesses() -> None:
    grammar = compile_grammar("a::float:64 b::float:64:little-endian")
    assert grammar.parse(struct.pack(">d", -1.25) + struct.pack("<d", 1e300)) == {
        "a": -1.25,
        "b": 1e300,
    }


def test_uint64_and_int64_extremes() -> None:
    grammar = compile_grammar("u::uint:64 i::int:64:little-endian")
    frame = b"\xff" * 8 + (-(2**63)).to_bytes(8, "little", signed=True)
    assert grammar.parse(frame) == {"u": 2**64 - 1, "i": -(2**63)}


def test_compiled_once_per_text() -> None:
    assert compile_grammar("a::uint:8") is compile_grammar("a::uint:8")


def test_build_rejects_unknown_names_and_values_that_do_not_fit() -> None:
    grammar = compile_grammar("a::uint:4 s::char:2 f::bool:0")
    with pytest.raises(ValueError, match="'b'"):
        grammar.build({"b": 1})
    with pytest.raises(ValueError, match="'a'"):
        grammar.build({"a": 16})
    with pytest.raises(ValueError, match="'s'"):
        grammar.build({"s": "abc"})
    with pytest.raises(ValueError, match="'f'"):
        grammar.build({"f": "yes"})
    assert grammar.build({"s": "A"}) == b"\x00A\x00\x00"


# --- bad grammars ---------------------------------------------------------------------------

BAD = [
    # (grammar, column, token, words in the reason)
    ("a::foo:8", 4, "foo", "unknown type"),
    ("a::UINT:8", 4, "UINT", "lower case"),
    ("a:uint:8", 3, "uint", "missing ':'"),
    ("a", 1, "a", "name:byte_index:type"),
    ("a::", 4, "", "missing type"),
    ("ok::uint:8 b::bool:8", 20, "8", "bool bit number"),
    ("b::bool", 4, "bool", "needs a parameter"),
    ("b::bool:7:1", 11, "1", "one parameter"),
    ("u::uint:0", 9, "0", "1..64"),
    ("u::uint:65", 9, "65", "1..64"),
    ("u::uint:", 9, "", "missing"),
    ("u::int:x", 8, "x", "must be a number"),
    ("f::float:16", 10, "16", "32 or 64"),
    ("u::uint:16:middle-endian", 12, "middle-endian", "little-endian"),
    ("u::uint:16:LITTLE-ENDIAN:3", 12, "LITTLE-ENDIAN", "little-endian"),
    ("u::uint:16:", 12, "", "little-endian"),
    ("u::uint:16:8", 12, "8", "0..7"),
    ("u::uint:16:little-endian:8", 26, "8", "0..7"),
    ("u::uint:16:little-endian:", 26, "", "missing bit offset"),
    ("u::uint:16:big-endian:1:2", 25, "2", "too many"),
    ("u::uint:12:little-endian", 12, "little-endian", "whole bytes"),
    ("c::char:0", 9, "0", "1..255"),
    ("c::char:4:little-endian", 11, "little-endian", "bit offset"),
    ("c::char:4:1:2", 13, "2", "length and an optional bit offset"),
    ("u:x:uint:8", 3, "x", "byte index must be a number"),
    ("u:-1:uint:8", 3, "-1", "byte index must be a number"),
    ("u:256:uint:8", 3, "256", "0..255"),
    ("u:99999999999999999999:uint:8", 3, "99999999999999999999", "0..255"),
    ("u:\u0663:uint:8", 3, "\u0663", "must be a number"),
    ("a::uint:8 a::uint:8", 11, "a", "duplicate"),
    ("::uint:8", 1, "", "missing field name"),
    ("a.b::uint:8", 1, "a.b", "letters, digits"),
    ("caf\u00e9::uint:8", 1, "caf\u00e9", "letters, digits"),
    ("", 1, "", "no fields"),
    ("   \t ", 1, "   \t ", "no fields"),
]


@pytest.mark.parametrize(("text", "column", "token", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_grammar_names_the_token_and_column(
    text: str, column: int, token: str, reason: str
) -> None:
    with pytest.raises(GrammarError) as caught:
        compile_grammar(text)
    error = caught.value
    assert (error.column, error.token) == (column, token)
    assert reason in error.reason
    assert f"column {column}" in str(error)
    assert isinstance(error, ConfigError)


def test_non_text_grammar_is_a_grammar_error() -> None:
    with pytest.raises(GrammarError):
        compile_grammar(None)  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------


@st.composite
def layouts(draw: st.DrawFn) -> tuple[str, dict[str, Any], bytes, bytes]:
    """A valid grammar, values for its fields, and the frame an independent encoder builds
    for them: once over random background bits (which decoding must ignore), once over zeros
    (what ``build`` must produce). Fields never overlap, so both are exact."""
    cursor, used, pieces, values, writes = 0, set(), [], {}, []
    for number in range(draw(st.integers(1, 8))):
        name = draw(st.from_regex(r"[A-Za-z0-9#-]{1,6}", fullmatch=True)) + f"_{number}"
        kind = draw(st.sampled_from(KINDS))
        if kind == "bool":
            bits = 1
        elif kind == "char":
            bits = 8 * draw(st.integers(1, 4))
        elif kind == "float":
            bits = draw(st.sampled_from([32, 64]))
        else:
            bits = draw(st.integers(1, 64))
        bit = draw(st.integers(0, 7)) if kind == "bool" else None
        offset = None if kind == "bool" or draw(st.booleans()) else draw(st.integers(0, 7))
        endian = ""
        if kind in ("float", "uint", "int") and (bits <= 8 or bits % 8 == 0):
            endian = draw(st.sampled_from(["", "big-endian", "little-endian"]))
        byte = draw(st.integers(0, 20)) if draw(st.booleans()) else None
        start = 8 * (cursor if byte is None else byte) + 7 - (bit if bit is not None else 7)
        if offset is not None:
            start += 7 - offset
        if used & set(range(start, start + bits)):  # would overlap: move to fresh bytes
            byte = max(used) // 8 + 1
            start = 8 * byte + 7 - (bit if bit is not None else offset if offset is not None else 7)
        used |= set(range(start, start + bits))
        if kind != "bool":
            last = (start + bits - 1) // 8
            cursor = last if offset is not None else last + 1
        params = [str(bit if kind == "bool" else bits // 8 if kind == "char" else bits)]
        if endian or (offset is not None and kind != "char" and draw(st.booleans())):
            params.append(endian)
        if offset is not None:
            params.append(str(offset))
        index = "" if byte is None else str(byte)
        pieces.append(":".join([name, index, kind, *params]))
        value, pattern = draw(_value(kind, bits, endian == "little-endian"))
        values[name] = value
        writes.append((start, pattern))
    size = max(start + len(pattern) - 1 for start, pattern in writes) // 8 + 1
    extra = draw(st.integers(0, 3))
    noise = draw(st.binary(min_size=size + extra, max_size=size + extra))
    sep = draw(st.sampled_from([" ", "  ", "\t", " \n "]))
    text = sep.join(pieces)
    return text, values, _write(noise, writes), _write(bytes(size), writes)


def _value(kind: str, bits: int, little: bool) -> st.SearchStrategy[tuple[Any, str]]:
    """A value for a field and its bit pattern on the wire (MSB-first, as the grammar reads)."""

    def pattern(data: bytes) -> str:
        return "".join(f"{b:08b}" for b in data)

    def integer(v: int) -> tuple[int, str]:
        raw = v % (1 << bits)
        if little and bits > 8:
            return v, pattern(raw.to_bytes(bits // 8, "little"))
        return v, f"{raw:0{bits}b}"

    if kind == "bool":
        return st.booleans().map(lambda v: (v, "1" if v else "0"))
    if kind == "char":
        return st.binary(min_size=bits // 8, max_size=bits // 8).map(
            lambda b: (b.decode("latin-1"), pattern(b))
        )
    if kind == "float":
        fmt = ("<" if little else ">") + ("f" if bits == 32 else "d")
        floats = st.floats(width=bits, allow_nan=False, allow_infinity=False)  # type: ignore[arg-type]
        return floats.map(lambda v: (v, pattern(struct.pack(fmt, v))))
    if kind == "uint":
        return st.integers(0, (1 << bits) - 1).map(integer)
    return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1).map(integer)


def _write(background: bytes, writes: list[tuple[int, str]]) -> bytes:
    bits = list("".join(f"{b:08b}" for b in background))
    for start, pattern in writes:
        bits[start : start + len(pattern)] = pattern
    return bytes(int("".join(bits[i : i + 8]), 2) for i in range(0, len(bits), 8))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_random_valid_grammar_decodes_the_values_it_was_built_from(
    layout: tuple[str, dict[str, Any], bytes, bytes],
) -> None:
    text, values, noisy, clean = layout
    grammar = compile_grammar(text)
    assert grammar.parse(noisy) == values
    assert grammar.build(values) == clean


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts(), st.binary(max_size=64))
def test_random_bytes_never_raise_and_give_json_safe_fields(
    layout: tuple[str, dict[str, Any], bytes, bytes], frame: bytes
) -> None:
    model = model_from_grammar(layout[0])
    try:
        decoded = decoders.decode(model, frame)
    except DecodeError:  # the only error decode may raise; a grammar frame never needs it
        return
    json.dumps(decoded.as_dict(), allow_nan=False)
    assert set(decoded.fields) == set(compile_grammar(layout[0]).names)


PIECES = st.sampled_from(
    [*KINDS, "a", "b", "", "0", "7", "8", "16", "32", "64", "65", "little-endian", "big-endian",
     "x", "-1", "#", "\u00e9"]
)  # fmt: skip
GRAMMAR_ISH = st.lists(st.lists(PIECES, max_size=7).map(":".join), max_size=5).map(" ".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), GRAMMAR_ISH))
def test_any_text_compiles_or_raises_grammar_error(text: str) -> None:
    try:
        grammar = compile_grammar(text)
    except GrammarError as error:
        assert 1 <= error.column <= len(text) + 1  # len + 1: just after a missing last piece
        return
    assert grammar.fields and grammar.size >= 1


# --- grammar models and mappings ------------------------------------------------------------

TRACKER = "lat::int:32 lng::int:32 alarm::bool:7 cancel::bool:6 mv:9:uint:16"
TRACKER_MAPPING = GrammarMapping(
    latitude="lat",
    latitude_scale=1e-7,
    longitude="lng",
    longitude_scale=1e-7,
    alarm="alarm",
    cancel="cancel",
    battery="mv",
    battery_unit="millivolts",
)


def _tracker_frame(lat: int, lng: int, flags: int, mv: int) -> str:
    return struct.pack(">iiBH", lat, lng, flags, mv).hex()


def test_alarm_state_gives_a_sustained_alert_with_the_fix() -> None:
    model = model_from_grammar(TRACKER, name="acme", mapping=TRACKER_MAPPING)
    decoded = decoders.decode(model, _tracker_frame(-261091100, 280530370, 0x80, 3712))
    fix = Fix(latitude=-26.10911, longitude=28.053037)
    assert decoded.model == "acme"
    assert decoded.messages == (Alert("alarm", fix, sustained=True), Battery(voltage_mv=3712))


def test_alarm_clear_gives_location_and_status() -> None:
    model = model_from_grammar(TRACKER, mapping=TRACKER_MAPPING)
    decoded = decoders.decode(model, _tracker_frame(10, 20, 0x00, 3000))
    assert decoded.messages == (
        Location(Fix(latitude=1e-6, longitude=2e-6)),
        Status("alarm_clear"),
        Battery(voltage_mv=3000),
    )


def test_cancel_and_placeholder_position() -> None:
    model = model_from_grammar(TRACKER, mapping=TRACKER_MAPPING)
    decoded = decoders.decode(model, _tracker_frame(0, 0, 0x40, 2900))
    assert decoded.messages == (
        Status("no_fix", "placeholder position 0,0"),
        Status("alarm_clear"),
        Cancel("user"),
        Battery(voltage_mv=2900),
    )


def test_alarm_in_a_truncated_frame_is_not_lost() -> None:
    model = model_from_grammar("alarm::bool:0 lat::int:32 lng::int:32", mapping=GrammarMapping(
        latitude="lat", longitude="lng", latitude_scale=1e-7, longitude_scale=1e-7, alarm="alarm"
    ))  # fmt: skip
    decoded = decoders.decode(model, "01")
    assert decoded.fields == {"alarm": True, "lat": None, "lng": None}
    assert decoded.messages == (
        Alert("alarm", None, sustained=True),
        Status("no_fix", "position not in frame"),
    )


def test_out_of_range_position_is_no_fix_not_an_error() -> None:
    model = model_from_grammar(TRACKER, mapping=TRACKER_MAPPING)
    decoded = decoders.decode(model, _tracker_frame(950000000, 0, 0x80, 3000))
    assert decoded.messages[0] == Alert("alarm", None, sustained=True)
    assert decoded.messages[1].event == "no_fix"  # type: ignore[union-attr]


def test_mrkfox_float_position_and_millivolts() -> None:
    mapping = GrammarMapping.from_dict(
        {"latitude": "lat", "longitude": "lng", "battery": "voltage", "battery_unit": "millivolts"}
    )
    model = model_from_grammar(MRKFOX, name="mrkfox1200", mapping=mapping)
    decoded = decoders.decode(model, struct.pack("<ffHH", 48.8566, 2.3522, 7, 3300).hex())
    assert decoded.messages == (
        Location(Fix(latitude=_f32(48.8566), longitude=_f32(2.3522))),
        Battery(voltage_mv=3300),
    )


def test_unashield_volts_and_button_as_alarm() -> None:
    volts = model_from_grammar(
        UNASHIELD, mapping=GrammarMapping(battery="voltage", battery_unit="volts")
    )
    frame = struct.pack("<H", 1) + struct.pack(">ff", 21.0, 3.3)
    assert decoders.decode(volts, frame).messages == (Battery(voltage_mv=3300),)
    button = model_from_grammar("button::bool:7", mapping=GrammarMapping(alarm="button"))
    assert decoders.decode(button, "80").messages == (Alert("alarm", None, sustained=True),)
    assert decoders.decode(button, "00").messages == (Status("alarm_clear"),)


@pytest.mark.parametrize(
    ("raw", "messages"),
    [
        (87, (Battery(percent=87),)),
        (101, (Status("battery_out_of_range", "101.0 %"),)),
    ],
)
def test_battery_percent(raw: int, messages: tuple[Any, ...]) -> None:
    model = model_from_grammar(
        "b::uint:8", mapping=GrammarMapping(battery="b", battery_unit="percent")
    )
    assert decoders.decode(model, bytes([raw])).messages == messages


def test_battery_scale_and_offset() -> None:
    # Oyster-style: 25 mV units
    model = model_from_grammar(
        "b::uint:8",
        mapping=GrammarMapping(battery="b", battery_unit="millivolts", battery_scale=25),
    )
    assert decoders.decode(model, "C2").messages == (Battery(voltage_mv=4850),)
    volts = GrammarMapping(battery="b", battery_unit="volts", battery_scale=0.01, battery_offset=2)
    assert decoders.decode(model_from_grammar("b::uint:8", mapping=volts), "64").messages == (
        Battery(voltage_mv=3000),
    )


def test_without_a_mapping_fields_only() -> None:
    decoded = decoders.decode(model_from_grammar("a::uint:8"), "2A")
    assert (decoded.fields, decoded.messages) == ({"a": 42}, ())
    assert json.loads(json.dumps(decoded.as_dict()))["fields"] == {"a": 42}


def test_bad_grammar_through_model_from_grammar_is_a_grammar_error() -> None:
    with pytest.raises(GrammarError):
        model_from_grammar("a::uint:99")


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"latitude": "lat", "longitude": "lng", "lattitude_scale": 1e-7}, "'lattitude_scale'"),
        ({"battery": "mv"}, "battery_unit"),
        ({"battery": "mv", "battery_unit": "kV"}, "'kV'"),
        ({"latitude": "lat"}, "both latitude and longitude"),
        ({"latitude": "lat", "longitude": "lng", "latitude_scale": 0}, "latitude_scale"),
        ({"latitude": "lat", "longitude": "lng", "latitude_scale": "1e-7"}, "latitude_scale"),
        ({"alarm": 7}, "alarm"),
    ],
)
def test_mapping_table_errors_name_the_key(table: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        GrammarMapping.from_dict(table)


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        (GrammarMapping(alarm="panic"), "'panic'"),
        (GrammarMapping(latitude="s", longitude="lng"), "char"),
        (GrammarMapping(alarm="f"), "float"),
    ],
)
def test_mapping_must_fit_the_grammar(mapping: GrammarMapping, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        model_from_grammar("s::char:2 lng::int:32 f::float:32", mapping=mapping)


def test_from_dict_accepts_a_whole_toml_table() -> None:
    import tomllib

    table = tomllib.loads(
        'latitude = "lat"\nlatitude_scale = 1e-7\nlongitude = "lng"\nlongitude_scale = 1e-7\n'
        'alarm = "sos"\ncancel = "ok"\nbattery = "mv"\nbattery_unit = "millivolts"\n'
    )
    assert GrammarMapping.from_dict(table) == GrammarMapping(**table)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_mapped_model_never_raises_on_random_bytes(frame: bytes) -> None:
    model = model_from_grammar(TRACKER, mapping=TRACKER_MAPPING)
    decoded = decoders.decode(model, frame)
    json.dumps(decoded.as_dict(), allow_nan=False)
    alerts = [m for m in decoded.messages if isinstance(m, Alert)]
    assert len(alerts) == (1 if decoded.fields["alarm"] else 0)
