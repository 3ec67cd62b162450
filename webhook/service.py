"""The service process (``aura-uplink serve``): the webhook under waitress (a production WSGI
server, threaded, pure Python) plus the delivery worker, in one process, on the embedded SQLite
store or a shared PostgreSQL one, checked before it takes traffic (:mod:`webhook.startup`) and
watched while it does (:mod:`webhook.readiness`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from waitress.server import BaseWSGIServer, create_server

from webhook.config import ServiceConfig
from webhook.delivery import AuraClient, Deliverer
from webhook.delivery.leases import MIN_RELIABLE_LEASE_S, RENEWALS_PER_LEASE
from webhook.delivery.receipts import Receipts
from webhook.errors import CannotStart
from webhook.http import create_app
from webhook.pruner import Pruner
from webhook.readiness import Readiness
from webhook.serve_loop import QuietChannel, SignalLoop
from webhook.server_options import make_room_for_connections, waitress_options
from webhook.startup import open_checked_store
from webhook.store import Store

log = logging.getLogger("aura_uplink.serve")


def build_deliverer(config: ServiceConfig, store: Store) -> Deliverer | None:
    aura = config.aura
    if not aura.url:
        log.warning("no AURA url configured: events are stored but not delivered")
        return None
    settings = config.delivery
    if not settings.lease_s > 0:
        raise CannotStart(f"delivery.lease_s = {settings.lease_s}: a lease must be > 0 s")
    if settings.lease_s < MIN_RELIABLE_LEASE_S:
        # A short lease is the point (it is renewed while a send is in flight, and a crashed
        # process's events are claimed again within it), but it is renewed every lease_s / 3:
        # one write that waits longer than 2/3 of it for SQLite's lock lets the lease lapse
        # mid-send, and a second worker sends the event again (same idempotency key).
        log.warning(
            "delivery.lease_s = %s is too short to be renewed reliably (every %.2f s):"
            " expect resends; use at least %g s",
            settings.lease_s,
            settings.lease_s / RENEWALS_PER_LEASE,
            MIN_RELIABLE_LEASE_S,
        )
    client = AuraClient(
        aura.url,
        aura.client_id,
        aura.client_secret if aura.auth == "oauth2" else "",
        aura.token_url or None,
        timeout=(3.05, aura.timeout_s),
        static_token=aura.client_secret if aura.auth == "bearer" else None,
        pool_size=config.delivery.workers,
    )
    return Deliverer(
        store,
        client,
        receipts=_receipts(config),
        workers=settings.workers,
        lease_s=settings.lease_s,
        base_backoff_s=settings.base_backoff_s,
        max_backoff_s=settings.max_backoff_s,
        max_attempts=settings.max_attempts,
        alert_after_s=settings.alert_after_s,
    )


def _receipts(config: ServiceConfig) -> Receipts | None:
    """This process's delivery receipts in the data directory (webhook/delivery/receipts.py);
    without them delivery still works, but a kill may make AURA see more events twice."""
    receipts = Receipts(config.data_dir / "receipts")
    try:
        receipts.open()
    except OSError as error:
        log.warning("delivery receipts off: cannot write %s: %s", receipts.directory, error)
        return None
    return receipts


def serve(config: ServiceConfig) -> None:
    """Run until SIGTERM/SIGINT; delivery stops after the server stops taking requests.

    Start-up refuses, with :class:`CannotStart` (one line, exit 3), a data directory it cannot
    create, a store that is corrupt, unusable or cannot commit, and a port it cannot bind;
    nothing else is logged before those checks pass."""
    store, readiness = open_checked_store(config)
    try:
        server, deliverer = _start(config, store, readiness)
    except BaseException:
        store.close()
        raise

    loop = SignalLoop(server)
    loop.install()
    if deliverer is not None:
        deliverer.start()
    # Retention: 0 keeps everything. The first run comes soon after start-up, then one a minute.
    pruner = None
    if config.store.retention_days > 0:
        pruner = Pruner(store, config.store.retention_days)
        pruner.start()
    log.info(
        "aura-uplink listening on http://%s:%s (store %s, AURA %s)",
        config.host,
        server.effective_port,
        config.store_label,
        config.aura.url or "not configured",
    )
    try:
        log.info("signal %s: stopping", loop.run())
        loop.drain()
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=10)
        if pruner is not None:
            pruner.stop()
        if deliverer is not None:
            deliverer.stop()
        store.close()


def _start(
    config: ServiceConfig, store: Store, readiness: Readiness
) -> tuple[BaseWSGIServer, Deliverer | None]:
    """Bind the port, then build the deliverer: a port in use fails before any warning."""
    wake = _Wake()
    app = create_app(config, store, on_commit=wake, readiness=readiness)
    options = waitress_options(config, connection_limit=make_room_for_connections(config))
    try:
        server = create_server(app, host=config.host, port=config.port, **options)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CannotStart(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    server.channel_class = QuietChannel  # type: ignore[misc]
    try:
        deliverer = build_deliverer(config, store)
    except BaseException:
        server.close()
        raise
    wake.target = deliverer.wake if deliverer is not None else None
    return server, deliverer


class _Wake:
    """The routes' ``on_commit``: wakes the deliverer once it exists (it is built after the
    port is bound)."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()
