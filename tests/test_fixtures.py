"""Every frame in fixtures/frames/*.json decodes to its documented values, field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import decoders
from decoders import DecodeError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "frames"


def _cases(section: str) -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = json.loads(path.read_text())
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


def test_every_registered_model_has_fixtures() -> None:
    with_fixtures = {json.loads(p.read_text())["model"] for p in FIXTURES.glob("*.json")}
    assert set(decoders.MODELS) <= with_fixtures


@pytest.mark.parametrize("case", _cases("frames"), ids=_id)
def test_fixture_frame_builds_back_to_its_bytes(case: tuple[str, dict]) -> None:
    model, frame = case
    build = decoders.MODELS[model].build
    if build is None:
        pytest.skip(f"{model} decodes only")
    fields = decoders.decode(model, frame["hex"], frame.get("port")).fields
    assert build(fields) == bytes.fromhex(frame["hex"])
