"""Properties every model must have, checked with hypothesis over random frames and over the
frames :mod:`decoders.testing` builds from each model's schema."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import DecodeError
from decoders.testing import SHAPES, fields, frames
from decoders.types import Message

MODEL_IDS = sorted(decoders.MODELS)


def _ports(model_id: str) -> st.SearchStrategy[int | None]:
    ports = decoders.MODELS[model_id].ports
    if not ports:
        return st.none()
    return st.one_of(st.sampled_from(ports), st.integers(0, 255))


@pytest.mark.parametrize("model_id", MODEL_IDS)
@settings(max_examples=400, deadline=None)
@given(data=st.data(), frame=st.binary(min_size=0, max_size=64))
def test_random_bytes_decode_or_raise_decode_error(
    model_id: str, data: st.DataObject, frame: bytes
) -> None:
    port = data.draw(_ports(model_id))
    try:
        decoded = decoders.decode(model_id, frame, port)
    except DecodeError as error:
        assert error.model == model_id
        assert error.frame == frame
        return
    json.dumps(decoded.as_dict())  # JSON-safe: no Container, no bytes
    assert all(isinstance(m, Message) for m in decoded.messages)


# Fields a model's parse derives or normalises beyond its layout (see the model's parse).
DERIVED_FIELDS = {"sensit-v3": {"temperature_c", "config"}}


@pytest.mark.parametrize("model_id", MODEL_IDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_generated_frame_decodes_and_builds_back(model_id: str, data: st.DataObject) -> None:
    port, frame = data.draw(frames(model_id))
    decoded = decoders.decode(model_id, frame, port)
    json.dumps(decoded.as_dict())
    assert all(isinstance(m, Message) for m in decoded.messages)
    build = decoders.MODELS[model_id].build
    assert build is not None
    assert build(decoded.fields) == frame


@pytest.mark.parametrize("model_id", MODEL_IDS)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_generated_fields_decode_back_to_themselves(model_id: str, data: st.DataObject) -> None:
    values = data.draw(fields(model_id))
    port = SHAPES[model_id].port(values)
    build = decoders.MODELS[model_id].build
    assert build is not None
    decoded = decoders.decode(model_id, build(values), port)
    derived = DERIVED_FIELDS.get(model_id, set())
    assert _without(decoded.fields, derived) == _without(values, derived)


def _without(values: dict, names: set[str]) -> dict:
    return {k: v for k, v in values.items() if k not in names}


@given(text=st.text(max_size=30))
def test_hex_text_input_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(DecodeError):  # anything else fails the test
        decoders.decode("aura-reference", text)
