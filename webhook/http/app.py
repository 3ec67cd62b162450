"""The Flask application: one blueprint per network, ``/healthz``, and the error shapes every
route shares. Routes answer only after the uplink is committed (docs/design.md §8); they never
call AURA."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from decoders.errors import EnvelopeError
from webhook.config import ServiceConfig
from webhook.http.chirpstack import chirpstack
from webhook.http.runtime import EXTENSION_KEY, Runtime, runtime
from webhook.http.sigfox import sigfox
from webhook.http.ttn import ttn
from webhook.store import Store


def create_app(
    config: ServiceConfig, store: Store, on_commit: Callable[[], None] | None = None
) -> Flask:
    """The webhook app over a store; ``on_commit`` is called after each commit with events."""
    app = Flask("aura_uplink")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions[EXTENSION_KEY] = Runtime(config, store, on_commit or (lambda: None))
    for blueprint in (sigfox, ttn, chirpstack):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz() -> Any:
        status = runtime().store.status()
        return jsonify(status="ok", store=status)

    @app.errorhandler(EnvelopeError)
    def malformed(error: EnvelopeError) -> Any:
        return jsonify(error=str(error), field=error.field), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Any:
        return jsonify(error=f"body larger than {config.max_body_bytes} bytes"), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code

    return app
