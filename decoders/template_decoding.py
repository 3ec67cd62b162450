"""What decodes a template's uplinks: exactly one of a registered ``model``, a Sigfox
``grammar``, the network's decoded payload (``decoded = "network"``) or a vendor JavaScript
``codec``; the last three read their decoded object with the template's ``fields``
(:mod:`decoders.fieldmap`). Network and codec templates get a stand-in model (``network:<name>``,
``codec:<name>``), which is what the store and the CLI show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from decoders.config_values import get_value
from decoders.errors import ConfigError, GrammarError, NoDecodedPayload, UnknownModel
from decoders.fieldmap import FieldMap, parse_fields
from decoders.frames import Custom
from decoders.model import Model
from decoders.models import get_model
from decoders.types import Message

# What decodes a template's uplinks: its model (a registered one or a grammar's), the network's
# decoded payload, or a vendor codec.
Source = Literal["model", "network", "codec"]
CODEC_TIMEOUT_MS = 100
CODEC_MEMORY_MB = 32
# Exactly one of these says what decodes a template's uplinks.
_DECODERS = ("model", "grammar", "decoded", "codec")


@dataclass(frozen=True, slots=True)
class Decoding:
    model: Model
    source: Source = "model"
    fields: FieldMap | None = None
    codec: Any = None


def decoding_from_table(
    name: str,
    table: Mapping[str, Any],
    where: str,
    models: Mapping[str, Model],
    base_dir: Path | None,
) -> Decoding:
    """What decodes the template's uplinks: exactly one of model, grammar, decoded, codec."""
    given = [key for key in _DECODERS if key in table]
    if len(given) != 1:
        said = f"got {' and '.join(given)}" if given else "got none"
        raise ConfigError(f"{where}: needs one of {', '.join(_DECODERS)}; {said}")
    if "fields" in table and "model" in table:
        raise ConfigError(
            f"{where}.fields: a model's fields have their roles already; fields apply to"
            " grammar, decoded and codec templates"
        )
    for key in ("codec_timeout_ms", "codec_memory_mb"):
        if key in table and "codec" not in table:
            raise ConfigError(f"{where}.{key}: only for a template with a codec")
    if "model" in table:
        return Decoding(_model(table, where, models))
    fields_map = parse_fields(table.get("fields", {}), f"{where}.fields")
    if "grammar" in table:
        # A device defined by configuration alone (Sigfox custom payload grammar).
        from decoders.grammar_model import model_from_grammar

        grammar = get_value(table, "grammar", str, where)
        try:
            model = model_from_grammar(grammar, name=f"grammar:{name}", mapping=fields_map)
        except ConfigError as error:
            if isinstance(error, GrammarError):
                raise
            raise ConfigError(f"{where}.fields: {error}") from None
        return Decoding(model, fields=fields_map)
    if "decoded" in table:
        decoded = get_value(table, "decoded", str, where)
        if decoded != "network":
            raise ConfigError(f"{where}.decoded: expected 'network', got {decoded!r}")
        return Decoding(_network_model(name), source="network", fields=fields_map)
    codec = _codec(table, where, base_dir)
    return Decoding(_codec_model(name, codec, fields_map), "codec", fields_map, codec)


def _model(table: Mapping[str, Any], where: str, models: Mapping[str, Model]) -> Model:
    model_id = get_value(table, "model", str, where, required=True)
    if model_id in models:
        return models[model_id]
    try:
        return get_model(model_id)
    except UnknownModel as error:
        raise ConfigError(f"{where}.model: {error}") from None


def _network_model(name: str) -> Model:
    """What stands for a ``decoded = "network"`` template where a model is asked for: it has
    no frames of its own (decoders.decode.decode_uplink reads the uplink's decoded object)."""

    def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
        raise NoDecodedPayload(
            'this template reads the network\'s decoded payload (decoded = "network"),'
            " not a frame: decode the callback body"
        )

    return Model(
        id=f"network:{name}",
        title=f"template {name}: the network server's decoded payload",
        network="lorawan",
        source="The Things Stack decoded_payload / ChirpStack object",
        frames=Custom(parse),
    )


def _codec(table: Mapping[str, Any], where: str, base_dir: Path | None) -> Any:
    """The template's codec, loaded now so that a missing or broken file stops start-up."""
    relative = get_value(table, "codec", str, where)
    timeout_ms = get_value(table, "codec_timeout_ms", int, where, default=CODEC_TIMEOUT_MS)
    memory_mb = get_value(table, "codec_memory_mb", int, where, default=CODEC_MEMORY_MB)
    if timeout_ms < 1:
        raise ConfigError(f"{where}.codec_timeout_ms: expected 1 or more, got {timeout_ms}")
    if memory_mb < 1:
        raise ConfigError(f"{where}.codec_memory_mb: expected 1 or more, got {memory_mb}")
    path = Path(relative) if base_dir is None else base_dir / relative
    try:
        # Imported only here: decoders/ stays importable without the JavaScript engine.
        from decoders.codecs import load_codec
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"{where}.codec: codecs need the JavaScript engine (cannot import {error.name}:"
            " pip install 'aura-uplink[codecs]')"
        ) from None
    try:
        return load_codec(path, timeout_ms=timeout_ms, memory_mb=memory_mb)
    except ConfigError as error:
        raise ConfigError(f"{where}.codec: {error}") from None


def _codec_model(name: str, codec: Any, fields_map: FieldMap) -> Model:
    """What stands for a codec template where a model is asked for (the CLI's ``decode``):
    the codec's output as the fields, the field map's messages. decode_uplink does the same
    and keeps the codec's and the mapping's warnings too."""

    def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
        return dict(codec.decode(frame, port, None).fields)

    def interpret(values: Mapping[str, Any]) -> list[Message]:
        return list(fields_map.read(values).messages)

    return Model(
        id=f"codec:{name}",
        title=f"template {name}: vendor codec",
        network="any",
        source="a vendor JavaScript codec (decoders/codecs)",
        frames=Custom(parse),
        interpret=interpret,
    )
