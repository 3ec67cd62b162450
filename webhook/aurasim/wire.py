"""HTTP plumbing shared by the simulator's routes: the paths, AURA's error body, reading a JSON
request body, and the bearer token check (docs/aura-api.md §1, §4.2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, jsonify, request

from webhook.aurasim.refusal import Refusal
from webhook.aurasim.state import SimState

API = "/panic-api/v2"
TOKEN_PATH = f"{API}/oauth/token"
EVENT_PATH = f"{API}/deviceEvent"
CUSTOMERS_PATH = f"{API}/customers"
DEVICES_PATH = f"{API}/devices"
MAX_BODY = 64 * 1024
_FORMS = {"application/x-www-form-urlencoded", "multipart/form-data"}

Route = TypeVar("Route", bound=Callable[..., Any])


def message(status: int, text: str, **extra: Any) -> tuple[Response, int]:
    """AURA's error body, ``{"message": ...}`` plus any ``extra`` fields (``field``)."""
    return jsonify({"message": text, **extra}), status


def refusal_response(refusal: Refusal) -> tuple[Response, int]:
    return jsonify(refusal.body()), refusal.status


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """(value, True) for strict JSON (no NaN/Infinity), else (None, False)."""

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject), True
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, False


def require_json_type() -> None:
    """Every AURA endpoint with a body takes ``application/json`` (§ Hosts); anything else is a
    malformed request, 400 (AURA documents no 415)."""
    if request.mimetype != "application/json":
        found = "a form" if request.mimetype in _FORMS else (request.mimetype or "no Content-Type")
        raise Refusal(400, f"the body must be JSON (application/json), not {found}")


def json_body() -> Any:
    """The request's JSON body, or a 400 Refusal."""
    require_json_type()
    body, parsed = parse_json(request.get_data(cache=True))
    if not parsed:
        raise Refusal(400, "the body is not valid JSON", field=None)
    return body


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_bearer(state: SimState) -> None:
    """Every endpoint but the token exchange needs a valid server token (§1): else 401."""
    token = bearer_token()
    if token is None:
        raise Refusal(401, "a bearer token is required (Authorization: Bearer <token>)")
    if not state.token_valid(token):
        raise Refusal(401, "the access token is invalid or expired")


def authorized(state: SimState) -> Callable[[Route], Route]:
    """Decorate a route so it runs only with a valid bearer token."""

    def decorate(route: Route) -> Route:
        @wraps(route)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_bearer(state)
            return route(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
