"""Per-source shared secrets: each network server sends its own, as a header (docs/design.md §8).
Compared in constant time, so the answer's timing says nothing about how much of a guess was
right."""

from __future__ import annotations

import hmac
from typing import Any

from flask import jsonify, request

from webhook.http.runtime import runtime


def authorized(source: str) -> bool:
    """The request carries the source's shared secret (constant-time compare)."""
    settings = runtime().config.source(source)
    if not settings.secret:
        return False
    presented = request.headers.get(settings.header, "")
    expected = settings.secret
    if settings.header.lower() == "authorization":
        expected = f"Bearer {settings.secret}"
    return hmac.compare_digest(presented.encode(), expected.encode())


def refuse_unauthorized(source: str) -> tuple[Any, int] | None:
    """A 401 answer unless the request is authorized; a ``before_request`` hook's return value."""
    if authorized(source):
        return None
    return jsonify(error=f"missing or wrong {source} secret"), 401
