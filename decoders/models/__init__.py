"""The registry of device models, by id. One module per hardware family."""

from __future__ import annotations

from decoders.errors import UnknownModel
from decoders.model import Model
from decoders.models import aura_reference, oyster_sigfox, sensit_v3, simplepack

MODELS: dict[str, Model] = {
    module.MODEL.id: module.MODEL
    for module in (aura_reference, sensit_v3, oyster_sigfox, simplepack)
}


def get_model(model_id: str) -> Model:
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(
            f"unknown model {model_id!r}; known models: {', '.join(sorted(MODELS))}"
        ) from None
