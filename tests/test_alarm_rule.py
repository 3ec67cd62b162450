"""The rule of docs/design.md §14, for every model, from the model's own declarations: a frame
whose alarm or press bits can be read raises the alarm, whatever else in it is garbage, cut off,
or followed by records the model does not know. The frames come from each layout's declared
roles (:mod:`decoders.roles`) and bit positions, so a new model is covered without a new test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders.frames import ByPort, BySelector, Sized
from decoders.model import Model
from decoders.records import Records
from decoders.schema import Layout
from decoders.types import Alert, Button, Decoded


def _calls_for_help(decoded: Decoded) -> bool:
    return any(isinstance(m, Alert | Button) for m in decoded.messages)


def _alarm_paths(model: Model) -> tuple[str, ...]:
    return tuple(path for path in (model.roles.alarm, model.roles.press) if path)


def _fixed_cases() -> Iterator[tuple[str, Layout, int | None, BySelector | None, int | None, str]]:
    """(model, layout, port, selector, selector code, alarm path) for every fixed layout that
    holds a readable alarm or press flag."""
    for model_id, model in sorted(decoders.MODELS.items()):
        paths = _alarm_paths(model)
        frames = model.frames
        choices: list[tuple[int | None, BySelector | None, int | None, Sized]] = []
        if isinstance(frames, ByPort):
            choices = [(port, None, None, sized) for port, sized in frames.table.items()]
        elif isinstance(frames, BySelector):
            choices = [(None, frames, code, sized) for code, sized in frames.table.items()]
        elif isinstance(frames, Sized):
            choices = [(None, None, None, frames)]
        for port, selector, code, sized in choices:
            for layout in sized.variants:
                for path in paths:
                    start, end = layout.bits.get(path, (0, 0))
                    if end - start == 1:
                        yield model_id, layout, port, selector, code, path


FIXED = list(_fixed_cases())


def _case_id(case: tuple) -> str:
    model_id, layout, port, _selector, code, path = case
    return f"{model_id}:{layout.name}:{port if port is not None else code}:{path}"


def _with_alarm(frame: bytes, case: tuple) -> bytes:
    _model, layout, _port, selector, code, path = case
    data = bytearray(frame)
    if selector is not None:
        keep = data[selector.offset] & ~(selector.mask << selector.shift)
        data[selector.offset] = keep | (code << selector.shift)
    start, _end = layout.bits[path]
    data[start // 8] |= 0x80 >> (start % 8)
    return bytes(data)


def test_models_with_an_alarm_flag_are_covered() -> None:
    # The models whose alarm is a declared role; the others (a press that is a message type,
    # a button in device logic) have the same property in their own test files.
    assert {case[0] for case in FIXED} >= {"dragino-lgt92", "dragino-trackerd", "oyster-lorawan"}
    assert {case[0] for case in PRESSES} >= {"milesight-ws101", "sensecap-t1000"}


@pytest.mark.parametrize("case", FIXED, ids=_case_id)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_alarm_set_and_garbage_elsewhere_still_raises_the_alarm(case: tuple, data) -> None:
    model_id, layout, port, *_ = case
    garbage = data.draw(st.binary(min_size=layout.size, max_size=layout.size))
    frame = _with_alarm(garbage, case)
    decoded = decoders.decode(model_id, frame, port)
    assert _calls_for_help(decoded), decoded.as_dict()


@pytest.mark.parametrize("case", FIXED, ids=_case_id)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_alarm_in_a_cut_or_overlong_frame_still_raises_the_alarm(case: tuple, data) -> None:
    model_id, layout, port, selector, _code, path = case
    whole = data.draw(st.binary(min_size=layout.size + 8, max_size=layout.size + 8))
    cap = selector.max_size if selector is not None and selector.max_size else layout.size + 8
    length = data.draw(st.integers(layout.bits[path][0] // 8 + 1, cap))
    frame = _with_alarm(whole, case)[:length]
    if _variant(decoders.MODELS[model_id], port, selector, case[4], length) not in (None, layout):
        return  # that length is another variant of the message, with its own layout
    decoded = decoders.decode(model_id, frame, port)  # a cut frame with the alarm: no error
    assert _calls_for_help(decoded), decoded.as_dict()


def _variant(
    model: Model, port: int | None, selector: BySelector | None, code: int | None, length: int
) -> Layout | None:
    """The layout a frame of ``length`` bytes is read with whole, if any."""
    frames = model.frames
    if isinstance(frames, ByPort):
        return frames.table[port].fits(length)
    if isinstance(frames, BySelector):
        return frames.table[code].fits(length)
    assert isinstance(frames, Sized)
    return frames.fits(length)


def _press_records() -> Iterator[tuple[str, int, Layout, Records, str]]:
    for model_id, model in sorted(decoders.MODELS.items()):
        frames = model.frames
        roles = model.roles
        if not isinstance(frames, Records):
            continue
        for key, layout in frames.table.items():
            for path in (roles.alarm, roles.press, roles.button):
                if path and path in layout.bits:
                    yield model_id, key, layout, frames, path


PRESSES = list(_press_records())


@pytest.mark.parametrize("case", PRESSES, ids=lambda case: f"{case[0]}:{case[2].name}:{case[4]}")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_press_record_before_unknown_records_still_calls_for_help(case: tuple, data) -> None:
    model_id, key, layout, frames, path = case
    body = data.draw(st.binary(min_size=layout.size - frames.key_size, max_size=layout.size))
    record = bytearray(key.to_bytes(frames.key_size, "big") + body[: layout.size - frames.key_size])
    start, end = layout.bits[path]
    if end - start == 1:  # an alarm or press flag: set it (a gesture code is any value)
        record[start // 8] |= 0x80 >> (start % 8)
    unknown_key = data.draw(
        st.integers(0, 256**frames.key_size - 1).filter(lambda k: k not in frames.table)
    )
    tail = unknown_key.to_bytes(frames.key_size, "big") + data.draw(st.binary(max_size=12))
    port = decoders.MODELS[model_id].ports[0] if decoders.MODELS[model_id].ports else None
    decoded = decoders.decode(model_id, bytes(record) + tail, port)
    assert _calls_for_help(decoded), decoded.as_dict()
    assert decoded.warnings and not decoded.trusted
