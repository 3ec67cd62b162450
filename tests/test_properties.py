"""Properties every model must have, checked with hypothesis over random frames."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders import DecodeError
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


@pytest.mark.parametrize("model_id", MODEL_IDS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_frames_that_decode_build_back_to_the_same_bytes(
    model_id: str, data: st.DataObject
) -> None:
    model = decoders.MODELS[model_id]
    if model.build is None:
        pytest.skip(f"{model_id} decodes only")
    frame = data.draw(st.binary(min_size=1, max_size=16))
    port = data.draw(_ports(model_id))
    try:
        decoded = decoders.decode(model_id, frame, port)
    except DecodeError:
        return
    assert model.build(decoded.fields) == frame


@given(text=st.text(max_size=30))
def test_hex_text_input_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(DecodeError):  # anything else fails the test
        decoders.decode("aura-reference", text)
