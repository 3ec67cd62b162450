"""The Flask application: authentication, limits, error shapes and the ingest step every network
route shares. Routes answer only after the uplink is committed (DESIGN §8); they never call AURA."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from decoders.errors import EnvelopeError
from decoders.templates import Template
from decoders.types import Uplink
from webhook.config import ServiceConfig
from webhook.failpoints import failpoint
from webhook.ingest import IGNORED, plan_uplink
from webhook.store import IngestResult, Store, UplinkRecord

log = logging.getLogger("aura_uplink.webhook")


@dataclass
class Runtime:
    """What the routes share: config, store, and the delivery worker's wake-up call."""

    config: ServiceConfig
    store: Store
    on_commit: Callable[[], None]

    def accept(
        self, uplink: Uplink, template: Template | None, partner_key: str | None = None
    ) -> IngestResult:
        """Store an uplink and its events in one transaction; wake delivery if there is work."""
        prepared = plan_uplink(uplink, template, now=uplink.received_at, partner_key=partner_key)
        result = self.store.ingest(UplinkRecord.from_uplink(uplink), prepared.plan)
        failpoint("after-ingest-commit")
        if not result.duplicate:
            if prepared.error is not None:
                # Could be a panic we cannot read: loud, and kept for `store replay`.
                log.error("undecodable uplink %s stored: %s", uplink.dedup_key, prepared.error)
            if result.event_ids:
                self.on_commit()
        return result

    def keep(self, uplink: Uplink) -> IngestResult:
        """Store a callback that carries no frame to decode (status, ack, error) as ignored."""
        return self.store.ingest(UplinkRecord.from_uplink(uplink), lambda reader: IGNORED)


def runtime() -> Runtime:
    return current_app.extensions["aura_uplink"]


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
    if authorized(source):
        return None
    return jsonify(error=f"missing or wrong {source} secret"), 401


def now_utc() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: ServiceConfig, store: Store, on_commit: Callable[[], None] | None = None
) -> Flask:
    """The webhook app over a store; ``on_commit`` is called after each commit with events."""
    from webhook.lorawan_routes import chirpstack, ttn
    from webhook.sigfox_routes import sigfox

    app = Flask("aura_uplink")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["aura_uplink"] = Runtime(config, store, on_commit or (lambda: None))
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
