"""The Flask application: one blueprint per network, the health routes, the operator's routes,
and the error shapes every route shares. Routes answer only after the uplink is committed
(docs/design.md §8); they never call AURA. A store that cannot commit makes them answer 503."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from decoders.errors import EnvelopeError
from webhook.config import ServiceConfig
from webhook.errors import StoreUnavailable
from webhook.http.chirpstack import chirpstack
from webhook.http.health import health
from webhook.http.operator import operator
from webhook.http.runtime import EXTENSION_KEY, Runtime
from webhook.http.sigfox import sigfox
from webhook.http.status_page import status_page
from webhook.http.ttn import ttn
from webhook.metrics import Metrics
from webhook.readiness import Readiness
from webhook.store import Store

log = logging.getLogger("aura_uplink.webhook")


def create_app(
    config: ServiceConfig,
    store: Store,
    on_commit: Callable[[], None] | None = None,
    readiness: Readiness | None = None,
    metrics: Metrics | None = None,
) -> Flask:
    """The webhook app over a store; ``on_commit`` is called after each commit with events;
    ``readiness`` is what ``/readyz`` answers (by default, probes of ``store``); ``metrics`` is
    what ``/metrics`` shows (by default, this app's own, which no deliverer feeds)."""
    app = Flask("aura_uplink")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions[EXTENSION_KEY] = Runtime(
        config,
        store,
        on_commit or (lambda: None),
        readiness or Readiness(store),
        metrics or Metrics(store, config.instance_name),
    )
    for blueprint in (sigfox, ttn, chirpstack, health, operator, status_page):
        app.register_blueprint(blueprint)
    if config.trusted_proxies:
        # Behind N proxies, the client's address, scheme and host are N entries from the right
        # of their X-Forwarded-* headers (docs/deploy.md); without proxies those are believed
        # from no one: any client could write them.
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    @app.errorhandler(EnvelopeError)
    def malformed(error: EnvelopeError) -> Any:
        return jsonify(error=str(error), field=error.field), 400

    @app.errorhandler(StoreUnavailable)
    def store_gone(error: StoreUnavailable) -> Any:
        # Not acknowledged: a sender that retries (Sigfox) tries again; nothing went to disk.
        log.error("callback not acknowledged: %s", error)
        return jsonify(error=str(error)), 503

    @app.errorhandler(sqlite3.OperationalError)
    def store_failed(error: sqlite3.OperationalError) -> Any:
        # A full disk, a read-only file, an I/O error: the commit did not happen.
        log.error("callback not acknowledged: the store cannot commit: %s", error)
        return jsonify(error=f"the store cannot commit: {error}"), 503

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> Any:
        return jsonify(error=f"body larger than {config.max_body_bytes} bytes"), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return jsonify(error=error.description), error.code

    return app
