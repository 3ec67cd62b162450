"""What the routes share (configuration, store, the delivery worker's wake-up call) and the one
ingest step every network route ends with: commit, then answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from flask import Response, current_app, jsonify

from decoders.templates import Template, select_template
from decoders.types import Uplink
from webhook.config import ServiceConfig
from webhook.failpoints import failpoint
from webhook.ingest import IGNORED, plan_uplink
from webhook.logs import log_stored
from webhook.metrics import Metrics
from webhook.readiness import Readiness
from webhook.store import IngestResult, Store, UplinkRecord

log = logging.getLogger("aura_uplink.webhook")

EXTENSION_KEY = "aura_uplink"


@dataclass
class Runtime:
    """What the routes share: config, store, the delivery worker's wake-up call, and what
    ``/readyz`` answers. A store whose file was deleted or replaced refuses every write
    (:class:`webhook.errors.StoreUnavailable`): the routes then answer 503, never 2xx."""

    config: ServiceConfig
    store: Store
    on_commit: Callable[[], None]
    readiness: Readiness
    metrics: Metrics = field(default_factory=Metrics)

    def accept(
        self, uplink: Uplink, template: Template | None, partner_key: str | None = None
    ) -> IngestResult:
        """Store an uplink and its events in one transaction; wake delivery if there is work."""
        prepared = plan_uplink(uplink, template, now=uplink.received_at, partner_key=partner_key)
        if prepared.warnings:  # the decoder's, kept beside the envelope's
            uplink = replace(uplink, warnings=(*uplink.warnings, *prepared.warnings))
        result = self.store.ingest(UplinkRecord.from_uplink(uplink), prepared.plan, prepared.reads)
        failpoint("after-ingest-commit")
        model = None if template is None else template.model.id
        self.metrics.uplink_stored(uplink, result, prepared.status, model, uplink.warnings)
        log_stored(uplink, result, prepared.status)
        if not result.duplicate:
            if prepared.error is not None:
                # Could be a panic we cannot read: loud, and kept for `store replay`.
                log.error("undecodable uplink %s stored: %s", uplink.dedup_key, prepared.error)
            if result.event_ids:
                self.on_commit()
        return result

    def template_for(self, uplink: Uplink) -> Template | None:
        """The configured template this uplink's device matches, if any."""
        return select_template(self.config.templates, uplink)

    def keep(self, uplink: Uplink) -> IngestResult:
        """Store a callback that carries no frame to decode (status, ack, error) as ignored."""
        result = self.store.ingest(UplinkRecord.from_uplink(uplink), lambda reader: IGNORED)
        self.metrics.uplink_stored(uplink, result, IGNORED.status, None)
        log_stored(uplink, result, IGNORED.status)
        return result


def runtime() -> Runtime:
    """The :class:`Runtime` of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]


def stored_answer(result: IngestResult, **extra: object) -> tuple[Response, int]:
    """The 200 every network gets once its uplink is committed (or was already)."""
    status = "duplicate" if result.duplicate else "stored"
    return jsonify(status=status, uplink_id=result.uplink_id, **extra), 200


def now_utc() -> datetime:
    """The service's clock: the time the pure library is given where a body carries none."""
    return datetime.now(UTC)
