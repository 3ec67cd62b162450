"""Every model's examples (``decoders/models/<vendor>/<device>.json``, beside the model) decode to
their documented values, field by field, with the documented warnings."""

from __future__ import annotations

import json

import pytest

import decoders
from decoders import DecodeError
from decoders.models import EXAMPLES


def _cases(section: str) -> list[tuple[str, dict]]:
    cases = []
    for model, path in sorted(EXAMPLES.items()):
        data = json.loads(path.read_text())
        assert data["model"] == model, path
        for case in data.get(section, []):
            cases.append((data["model"], case))
    return cases


def _id(case: tuple[str, dict]) -> str:
    model, frame = case
    return f"{model}:{frame['hex'] or 'empty'}"


@pytest.mark.parametrize("case", _cases("frames"), ids=_id)
def test_fixture_frame_decodes_to_documented_values(case: tuple[str, dict]) -> None:
    model, frame = case
    decoded = decoders.decode(model, frame["hex"], frame.get("port"))
    for name, expected in frame["fields"].items():
        assert name in decoded.fields, f"{name} missing from {decoded.fields}"
        assert decoded.fields[name] == expected, name
    assert [m.as_dict() for m in decoded.messages] == frame["messages"]
    assert [dict(w) for w in decoded.warnings] == frame.get("warnings", [])


@pytest.mark.parametrize("case", _cases("errors"), ids=_id)
def test_fixture_error_names_what_was_wrong(case: tuple[str, dict]) -> None:
    model, frame = case
    with pytest.raises(DecodeError) as caught:
        decoders.decode(model, frame["hex"], frame.get("port"))
    error = caught.value
    assert type(error).__name__ == frame["type"]
    assert error.field == frame["field"]
    assert error.offset == frame["offset"]
    assert error.model == model
    assert model in str(error)


def test_every_registered_model_has_examples_beside_it() -> None:
    for model, path in EXAMPLES.items():
        assert path.exists(), f"{model}: no examples file {path}"
        assert json.loads(path.read_text())["frames"], f"{model}: no example frames"


@pytest.mark.parametrize("case", _cases("frames"), ids=_id)
def test_fixture_frame_builds_back_to_its_bytes(case: tuple[str, dict]) -> None:
    model, frame = case
    build = decoders.MODELS[model].build
    if build is None:
        pytest.skip(f"{model} decodes only")
    if frame.get("warnings"):  # bytes not read, or a value kept only to be shown
        pytest.skip("a frame read with warnings does not build back")
    fields = decoders.decode(model, frame["hex"], frame.get("port")).fields
    assert build(fields) == bytes.fromhex(frame["hex"])
