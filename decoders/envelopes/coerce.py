"""Field readers shared by the envelope parsers: every failure names the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from decoders.errors import EnvelopeError

_MISSING = object()


def field(body: Mapping[str, Any], name: str, *, required: bool = True) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None or value == "":
        if required:
            raise EnvelopeError(f"missing field {name!r}", field=name)
        return None
    return value


def integer(body: Mapping[str, Any], name: str, *, required: bool = True) -> int | None:
    """An integer that templates may have quoted ("46") — never a float or a bool."""
    value = field(body, name, required=required)
    if value is None:
        return None
    if isinstance(value, bool):
        raise EnvelopeError(f"field {name!r}: expected an integer, got {value!r}", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise EnvelopeError(f"field {name!r}: expected an integer, got {value!r}", field=name)


def number(body: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = field(body, name, required=required)
    if value is None:
        return None
    if isinstance(value, bool):
        raise EnvelopeError(f"field {name!r}: expected a number, got {value!r}", field=name)
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = math.nan
    if not math.isfinite(result):
        raise EnvelopeError(f"field {name!r}: expected a number, got {value!r}", field=name)
    return result


def boolean(body: Mapping[str, Any], name: str) -> bool:
    """Missing means false (servers omit false fields; Sigfox templates send "true"/"false")."""
    value = field(body, name, required=False)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise EnvelopeError(f"field {name!r}: expected true or false, got {value!r}", field=name)


def hex_id(body: Mapping[str, Any], name: str, *, max_digits: int = 16) -> str:
    """A device id in hex, upper case."""
    value = field(body, name)
    text = str(value).strip()
    if not text or len(text) > max_digits or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise EnvelopeError(
            f"field {name!r}: expected up to {max_digits} hex digits, got {value!r}", field=name
        )
    return text.upper()


def epoch_seconds(body: Mapping[str, Any], name: str, *, required: bool = True) -> datetime | None:
    seconds = number(body, name, required=required)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise EnvelopeError(
            f"field {name!r}: not a usable epoch time: {seconds!r}", field=name
        ) from None
