"""Reading one value of a configuration table, with a :class:`ConfigError` that names its key
path: what the template readers share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders.errors import ConfigError


def get_value(
    table: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: str,
    *,
    default: Any = None,
    required: bool = False,
) -> Any:
    if key not in table:
        if required:
            raise ConfigError(f"{where}: missing required key {key!r}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key}: expected {names}, got {value!r}")
    return value
