"""Health routes, no secret needed (docs/design.md §8): ``/livez`` says the process answers,
``/readyz`` whether it can take callbacks now (webhook/readiness.py). ``/healthz`` is the old
name of ``/livez``, kept for existing monitors; it no longer shows store counts (those are the
operator's, at ``/status.json``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from webhook.http.runtime import runtime

health = Blueprint("health", __name__)


@health.get("/livez")
@health.get("/healthz")
def livez() -> Any:
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> Any:
    problem = runtime().readiness.problem()
    if problem is None:
        return jsonify(status="ok")
    return jsonify(status="unavailable", reason=problem), 503
