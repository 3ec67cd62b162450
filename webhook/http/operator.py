"""Routes for the operator, behind the operator secret (docs/design.md §14): programs send
``Authorization: Bearer <secret>``, browsers HTTP Basic with any user name and the secret as
the password. Without ``[service] operator_secret`` (or ``AURA_UPLINK_OPERATOR_SECRET``) the
routes answer 404, as if they did not exist; a network server's secret never opens them (the
config refuses an operator secret equal to one)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from webhook.http.runtime import runtime
from webhook.metrics import CONTENT_TYPE

operator = Blueprint("operator", __name__)

REALM = 'Basic realm="aura-uplink operator", charset="UTF-8"'


def operator_secret_given(secret: str) -> bool:
    """The request carries the operator secret, as a bearer token or a Basic password."""
    credentials = request.authorization
    if credentials is None:
        return False
    if credentials.type == "bearer":
        given = credentials.token or ""
    elif credentials.type == "basic":
        given = credentials.password or ""
    else:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


@operator.before_request
def require_operator() -> Any:
    secret = runtime().config.operator_secret
    if not secret:
        abort(404)
    if not operator_secret_given(secret):
        answer = jsonify(error="missing or wrong operator secret")
        answer.headers["WWW-Authenticate"] = REALM  # a browser asks for it
        return answer, 401
    return None


@operator.get("/status.json")
def status_json() -> Any:
    """Readiness with its reason, the integrity check, and the store's counts."""
    shared = runtime()
    ready = shared.readiness.as_json()
    try:
        store: dict[str, Any] = shared.store.status()
    except Exception as error:  # a broken store is what the operator came here to see
        store = {"error": str(error)}
    answer = jsonify(status="ok" if ready["ready"] else "unavailable", **ready, store=store)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@operator.get("/metrics")
def metrics() -> Response:
    """Prometheus text format (docs/operations.md): this process's counters, the store's gauges."""
    answer = Response(runtime().metrics.exposition(), content_type=CONTENT_TYPE)
    answer.headers["Cache-Control"] = "no-store"
    return answer
