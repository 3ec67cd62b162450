"""The registry of device models, by id: ``decoders/models/<vendor>/<device>.py``, each with its
worked examples beside it in ``<device>.json`` (input, expected fields, messages, warnings and
errors, each with its source). Adding a device is one schema module, one examples file and one
line below."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from decoders.errors import UnknownModel
from decoders.model import Model
from decoders.models.aura import reference
from decoders.models.browan import tbpb100
from decoders.models.digitalmatter import oyster_lorawan, oyster_sigfox
from decoders.models.dragino import lgt92, trackerd
from decoders.models.milesight import at101, ws101
from decoders.models.seeed import sensecap_t1000
from decoders.models.sigfox import sensit_v3
from decoders.models.simplehw import simplepack

MODULES: tuple[ModuleType, ...] = (
    reference,
    sensit_v3,
    oyster_sigfox,
    simplepack,
    lgt92,
    trackerd,
    ws101,
    at101,
    sensecap_t1000,
    tbpb100,
    oyster_lorawan,
)
MODELS: dict[str, Model] = {module.MODEL.id: module.MODEL for module in MODULES}
EXAMPLES: dict[str, Path] = {
    module.MODEL.id: Path(str(module.__file__)).with_suffix(".json") for module in MODULES
}


def get_model(model_id: str) -> Model:
    try:
        return MODELS[model_id]
    except KeyError:
        raise UnknownModel(
            f"unknown model {model_id!r}; known models: {', '.join(sorted(MODELS))}"
        ) from None
