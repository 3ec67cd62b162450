"""Checks shared by the JSON request bodies of the customer and device-link endpoints. Each one
raises a 400 :class:`Refusal` naming the field by its dotted path (``customer.mobile``), the same
``field`` the deviceEvent validation gives, so every refusal points at what to fix."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from webhook.aurasim.refusal import Refusal
from webhook.aurasim.validation import is_int


def bad(field: str, problem: str) -> Refusal:
    return Refusal(400, f"{field} {problem}", field=field)


def path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def an_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(field, "must be a JSON object")
    return value


def only(body: dict[str, Any], allowed: Collection[str], where: str = "") -> None:
    """Refuse the first key (in sorted order) outside ``allowed``: a typo must not pass."""
    for name in sorted(set(body) - set(allowed)):
        raise bad(path(where, name), "is not a field of this request")


def text(body: dict[str, Any], name: str, where: str = "", *, required: bool) -> str | None:
    """A non-blank string, or ``None`` when absent and optional."""
    if name not in body:
        if required:
            raise bad(path(where, name), "is required")
        return None
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise bad(path(where, name), "must be a non-empty string")
    return value


def integer(body: dict[str, Any], name: str, where: str = "", *, required: bool) -> int | None:
    """A positive integer (AURA's ids), or ``None`` when absent and optional."""
    if name not in body:
        if required:
            raise bad(path(where, name), "is required")
        return None
    value = body[name]
    if not (is_int(value) and value > 0):
        raise bad(path(where, name), "must be a positive integer")
    return value
