"""Per-source shared secrets: each network server sends its own, as a header (docs/design.md §8).
Compared in constant time, so the answer's timing says nothing about how much of a guess was
right. In ``Authorization`` the scheme is case-insensitive (RFC 7235 §2.1): ``Bearer``,
``bearer`` and ``BEARER`` all carry the secret; only the secret itself is compared.

A source without a secret is closed: every request is refused, and the answer says so ("no secret
configured for ttn"), so whoever sets up the network server's side sees at once that the fault is
on ours, not in the header they typed."""

from __future__ import annotations

import hmac
from typing import Any

from flask import jsonify, request

from webhook.http.refusals import note_reason
from webhook.http.runtime import runtime

BEARER = "Bearer"
NO_SECRET = "no secret configured for {source}"


def authorized(source: str) -> bool:
    """The request carries the source's shared secret (constant-time compare)."""
    return _problem(source) is None


def refuse_unauthorized(source: str) -> tuple[Any, int] | None:
    """A 401 answer unless the request is authorized; a ``before_request`` hook's return value.
    The refusal log says why (never with what was sent)."""
    problem = _problem(source)
    if problem is None:
        return None
    note_reason(problem)
    if problem == NO_SECRET.format(source=source):
        return jsonify(error=problem), 401
    return jsonify(error=f"missing or wrong {source} secret"), 401


def _problem(source: str) -> str | None:
    """Why the request is not authorized, or None when it is."""
    settings = runtime().config.source(source)
    if not settings.secret:
        return NO_SECRET.format(source=source)
    sent = request.headers.get(settings.header)
    presented, expected = sent or "", settings.secret
    if settings.header.lower() == "authorization":
        presented, expected = _bearer(presented), f"{BEARER} {settings.secret}"
    # Compared even when the header is missing: every refusal costs the same.
    if hmac.compare_digest(presented.encode(), expected.encode()):
        return None
    if sent is None:
        return f"no {settings.header} header"
    return f"wrong {source} secret in {settings.header}"


def _bearer(value: str) -> str:
    """``Authorization: <scheme> <token>`` with the scheme written as ``Bearer`` if it is that
    scheme in any case; anything else unchanged (and so refused)."""
    scheme, space, token = value.partition(" ")
    if space and scheme.lower() == BEARER.lower():
        return f"{BEARER} {token.lstrip(' ')}"
    return value
