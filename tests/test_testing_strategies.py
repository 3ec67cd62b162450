"""decoders.testing: its strategies give what they promise, for every model and network."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import construct as cs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decoders
from decoders.testing import SHAPES, callback_bodies, fields, frames
from decoders.testing_bodies import NETWORK_MODELS
from decoders.testing_values import values

MODEL_IDS = sorted(decoders.MODELS)
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
PARSERS: dict[str, Callable[[dict[str, Any]], decoders.Uplink]] = {
    "sigfox": lambda body: decoders.parse_sigfox(body),
    "ttn": lambda body: decoders.parse_ttn(body, now=NOW),
    "chirpstack": lambda body: decoders.parse_chirpstack(body, "up", now=NOW),
}
FEW = settings(max_examples=50, deadline=None)


def test_every_model_has_a_shape() -> None:
    assert set(SHAPES) == set(decoders.MODELS)


@pytest.mark.parametrize("model_id", MODEL_IDS)
@FEW
@given(data=st.data())
def test_frames_decode_on_one_of_the_models_ports(model_id: str, data: st.DataObject) -> None:
    port, frame = data.draw(frames(model_id))
    model = decoders.MODELS[model_id]
    assert port in model.ports if model.ports else port is None
    decoders.decode(model_id, frame, port=port)


@pytest.mark.parametrize("model_id", MODEL_IDS)
@FEW
@given(data=st.data())
def test_fields_build_to_a_frame_that_decodes(model_id: str, data: st.DataObject) -> None:
    values_ = data.draw(fields(model_id))
    build = decoders.MODELS[model_id].build
    assert build is not None
    decoders.decode(model_id, build(values_), port=SHAPES[model_id].port(values_))


@pytest.mark.parametrize("network", sorted(PARSERS))
@FEW
@given(data=st.data())
def test_callback_bodies_parse_with_their_networks_parser(
    network: str, data: st.DataObject
) -> None:
    uplink = PARSERS[network](data.draw(callback_bodies(network)))
    assert (uplink.kind, uplink.payload_error) == ("uplink", None)
    assert uplink.payload
    assert uplink.received_at != NOW  # servers send the time; the caller's now is not needed


@pytest.mark.parametrize(
    ("network", "model_id"),
    [
        (network, model)
        for network in sorted(PARSERS)
        for model in MODEL_IDS
        if decoders.MODELS[model].network in NETWORK_MODELS[network]
    ],
)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_callback_bodies_carry_a_frame_of_the_chosen_model(
    network: str, model_id: str, data: st.DataObject
) -> None:
    uplink = PARSERS[network](data.draw(callback_bodies(network, model=model_id)))
    decoders.decode(model_id, uplink.payload, port=uplink.port)


def test_an_unknown_network_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="sigfox, ttn, chirpstack"):
        callback_bodies("helium")


def test_a_model_of_another_network_is_refused() -> None:
    with pytest.raises(ValueError, match="simplepack"):
        callback_bodies("ttn", model="simplepack")


def test_an_unknown_model_is_the_usual_error() -> None:
    with pytest.raises(decoders.UnknownModel):
        frames("no-such-model")


def test_schemas_it_cannot_generate_are_named() -> None:
    with pytest.raises(TypeError, match="cannot generate"):
        values(cs.Struct("n" / cs.Int8ub, "items" / cs.Array(cs.this.n, cs.Int8ub)))


def test_without_hypothesis_the_import_error_says_how_to_install_it() -> None:
    script = (
        "import sys\n"
        "sys.modules['hypothesis'] = None  # as if it were not installed\n"
        "try:\n"
        "    import decoders.testing\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "pip install aura-uplink[testing]" in result.stdout
