"""Field readers shared by the envelope parsers.

Every reader checks its value against the field's bounds in a table of
:mod:`decoders.envelopes.limits` and raises :class:`EnvelopeError` naming the field (its dotted
path), with the value shown escaped and clipped. Nothing else escapes them: no ``ValueError``
from a 5,000-digit number, no ``OverflowError`` from a 400-digit time, no Unicode digit taken for
an ASCII one.

A parser reads a *required* field directly (the error becomes a 400) and an *optional* part
through :meth:`Warnings.optional`, which turns the error into a warning (docs/design.md §14) and
drops the part, so that a bad network fix never costs the press it came with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from decoders.envelopes.limits import Limits, Range, Text
from decoders.envelopes.shown import shown
from decoders.errors import EnvelopeError

T = TypeVar("T")
P = ParamSpec("P")
_MISSING = object()
# ASCII only: str.isdigit() and float() also take "²" and Arabic-Indic digits.
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]{1,40}(?:\.[0-9]{0,40})?|\.[0-9]{1,40})(?:[eE][+-]?[0-9]{1,4})?"
)


def path(at: str, name: str) -> str:
    """The dotted path of field ``name`` inside the object at ``at`` ("" for the body)."""
    return f"{at}.{name}" if at else name


# What a template renders for a variable the network does not have: Sigfox's {rssi} is null
# when unknown, which a form, text or GET template (or a quoted JSON one) sends as the text.
_NOTHING = ("", "null")


def field(body: Mapping[str, Any], name: str, *, required: bool = True, at: str = "") -> Any:
    """The value, or None when it is missing, null, "" or "null" (servers omit or blank what
    they do not have); a missing required field is an :class:`EnvelopeError`."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None or (isinstance(value, str) and value in _NOTHING):
        if required:
            where = path(at, name)
            raise EnvelopeError(f"missing field {where!r}", field=where)
        return None
    return value


def integer(
    body: Mapping[str, Any], name: str, limits: Limits, *, required: bool = True, at: str = ""
) -> int | None:
    """An integer within ``limits[name]``, which templates may have quoted ("46") — never a
    bool, never a float with a fraction."""
    value = field(body, name, required=required, at=at)
    if value is None:
        return None
    bounds = _range(limits, name)
    result = _as_int(value)
    if result is None or not bounds.low <= result <= bounds.high:
        raise _invalid(at, name, f"an integer {bounds}", value)
    return result


def number(
    body: Mapping[str, Any], name: str, limits: Limits, *, required: bool = True, at: str = ""
) -> float | None:
    """A finite number within ``limits[name]``, maybe quoted."""
    value = field(body, name, required=required, at=at)
    if value is None:
        return None
    bounds = _range(limits, name)
    result = _as_float(value)
    # NaN fails both comparisons, infinities the bounds.
    if result is None or not bounds.low <= result <= bounds.high:
        raise _invalid(at, name, f"a number {bounds}", value)
    return result


def text(
    body: Mapping[str, Any], name: str, limits: Limits, *, required: bool = True, at: str = ""
) -> str | None:
    """Text (surrounding spaces dropped) matching ``limits[name]``. A small integer is taken as
    its digits: hand-written templates leave ids unquoted."""
    value = field(body, name, required=required, at=at)
    if value is None:
        return None
    rule = limits[name]
    assert isinstance(rule, Text), f"{name} is not a text field"
    result = as_text(value)
    if result is None or not rule.pattern.fullmatch(result):
        raise _invalid(at, name, rule.what, value)
    return result


def hex_id(body: Mapping[str, Any], name: str, limits: Limits, *, at: str = "") -> str:
    """A required id in hex, upper case."""
    value = text(body, name, limits, at=at)
    assert value is not None  # required
    return value.upper()


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
    raise EnvelopeError(f"field {name!r}: expected true or false, got {shown(value)}", field=name)


def epoch_seconds(
    body: Mapping[str, Any], name: str, limits: Limits, *, required: bool = True, at: str = ""
) -> datetime | None:
    """A UTC time from epoch seconds within ``limits[name]``."""
    seconds = number(body, name, limits, required=required, at=at)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # the bounds should make this unreachable
        raise _invalid(at, name, "a usable epoch time", seconds) from None


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """An object (JSON ``{}``) at ``where``."""
    if not isinstance(value, Mapping):
        raise EnvelopeError(f"field {where!r}: expected an object, got {shown(value)}", field=where)
    return value


class Warnings:
    """What one body's optional parts said that could not be used: each a warning in the shape
    of docs/design.md §14, ``{"source": "envelope", "field", "message"}``."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def optional(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``read(*args, **kwargs)``; or, when what it reads is invalid, None and a warning: the
        part is dropped and the rest of the uplink kept."""
        try:
            return read(*args, **kwargs)
        except EnvelopeError as error:
            self.items.append(
                {"source": "envelope", "field": error.field or "body", "message": str(error)}
            )
            return None

    def check(self, body: Mapping[str, Any], limits: Limits, names: tuple[str, ...]) -> None:
        """Warn about the fields ``names`` that are present but out of ``limits``, without using
        them (network metadata nothing acts on: a broken template is still worth a word)."""
        for name in names:
            rule = limits[name]
            read = text if isinstance(rule, Text) else number
            self.optional(read, body, name, limits, required=False)

    def all(self) -> tuple[dict[str, str], ...]:
        return tuple(self.items)


# -- conversions ---------------------------------------------------------------------------------


def _range(limits: Limits, name: str) -> Range:
    rule = limits[name]
    assert isinstance(rule, Range), f"{name} is not a number field"
    return rule


def _invalid(at: str, name: str, expected: str, value: Any) -> EnvelopeError:
    where = path(at, name)
    return EnvelopeError(f"field {where!r}: expected {expected}, got {shown(value)}", field=where)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        digits = value.strip()
        return int(digits) if _INTEGER.fullmatch(digits) else None
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # beyond any float, so beyond any bounds too
            return None
    if isinstance(value, str):
        digits = value.strip()
        return float(digits) if _DECIMAL.fullmatch(digits) else None
    return None


def as_text(value: Any) -> str | None:
    """A string (stripped), or a small integer's digits; None for anything else."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        return str(value)
    return None
