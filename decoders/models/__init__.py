"""The registry of device models, by id. One module per hardware family."""

from __future__ import annotations

from decoders.errors import UnknownModel
from decoders.model import Model
from decoders.models import (
    aura_reference,
    browan_tbpb100,
    dragino_lgt92,
    dragino_trackerd,
    milesight_at101,
    milesight_ws101,
    oyster_lorawan,
    oyster_sigfox,
    sensecap_t1000,
    sensit_v3,
    simplepack,
)

MODELS: dict[str, Model] = {
    module.MODEL.id: module.MODEL
    for module in (
        aura_reference,
        sensit_v3,
        oyster_sigfox,
        simplepack,
        dragino_lgt92,
        dragino_trackerd,
        milesight_ws101,
        milesight_at101,
        sensecap_t1000,
        browan_tbpb100,
        oyster_lorawan,
    )
}


def get_model(model_id: str) -> Model:
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(
            f"unknown model {model_id!r}; known models: {', '.join(sorted(MODELS))}"
        ) from None
