"""The service process (``aura-uplink serve``): the webhook under waitress (a production WSGI
server, threaded, pure Python) plus the delivery worker, in one process, on the embedded SQLite
store or a shared PostgreSQL one, checked before it takes traffic (:mod:`webhook.startup`) and
watched while it does (:mod:`webhook.readiness`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from waitress.server import BaseWSGIServer, create_server

from webhook.config import ServiceConfig, listen_address
from webhook.delivery import AuraClient, Deliverer
from webhook.delivery.leases import MIN_RELIABLE_LEASE_S, RENEWALS_PER_LEASE
from webhook.delivery.receipts import Receipts
from webhook.errors import CannotStart
from webhook.http import create_app
from webhook.logs import use_config
from webhook.metrics import Metrics, default_instance, serve_metrics
from webhook.pruner import Pruner
from webhook.readiness import Readiness
from webhook.serve_loop import QuietChannel, SignalLoop
from webhook.server_options import make_room_for_connections, waitress_options
from webhook.startup import open_checked_store, warn_closed_sources
from webhook.store import Store

log = logging.getLogger("aura_uplink.serve")


def build_deliverer(
    config: ServiceConfig, store: Store, metrics: Metrics | None = None
) -> Deliverer | None:
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
        metrics=metrics,
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
    use_config(config.log_format)
    store, readiness = open_checked_store(config)
    try:
        server, deliverer, metrics_server = _start(config, store, readiness)
    except BaseException:
        store.close()
        raise

    loop = SignalLoop(server)
    loop.install()
    warn_closed_sources(config)  # after the port is bound: a failed start stays one line
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
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        server.task_dispatcher.shutdown(timeout=10)
        if pruner is not None:
            pruner.stop()
        if deliverer is not None:
            deliverer.stop()
        store.close()


def _start(
    config: ServiceConfig, store: Store, readiness: Readiness
) -> tuple[BaseWSGIServer, Deliverer | None, WSGIServer | None]:
    """Bind the port (and the metrics listener's), then build the deliverer: a port in use
    fails before any warning."""
    wake = _Wake()
    metrics = Metrics(store, config.instance_name)
    app = create_app(config, store, on_commit=wake, readiness=readiness, metrics=metrics)
    options = waitress_options(config, connection_limit=make_room_for_connections(config))
    try:
        server = create_server(app, host=config.host, port=config.port, **options)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CannotStart(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    server.channel_class = QuietChannel  # type: ignore[misc]
    if not config.instance_name:
        metrics.instance = default_instance(server.effective_port)
    try:
        deliverer = build_deliverer(config, store, metrics)
        metrics_server = _listen_for_metrics(config, metrics)  # unstarted deliverer: no threads
    except BaseException:
        server.close()
        raise
    wake.target = deliverer.wake if deliverer is not None else None
    return server, deliverer, metrics_server


def _listen_for_metrics(config: ServiceConfig, metrics: Metrics) -> WSGIServer | None:
    """``[service] metrics_listen``: /metrics without the secret, for a local Prometheus."""
    if not config.metrics_listen:
        return None
    host, port = listen_address(config.metrics_listen, config.metrics_listen_public)
    try:
        server = serve_metrics(metrics, host, port)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CannotStart(f"cannot listen for metrics on {host}:{port}: {reason}") from None
    log.info("metrics on http://%s:%s/metrics", host, server.server_port)
    return server


class _Wake:
    """The routes' ``on_commit``: wakes the deliverer once it exists (it is built after the
    port is bound)."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()
