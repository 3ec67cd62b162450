"""The service process (``aura-uplink serve``): the webhook under waitress (a production WSGI
server, threaded, pure Python) plus the delivery worker, in one process, on the embedded SQLite
store."""

from __future__ import annotations

import logging
import signal
import sqlite3
from types import FrameType

from waitress.server import create_server

from decoders.errors import AuraUplinkError
from webhook.config import ServiceConfig
from webhook.delivery import AuraClient, Deliverer
from webhook.errors import CannotStart, StoreError
from webhook.http import create_app
from webhook.store import SqliteStore

log = logging.getLogger("aura_uplink.serve")


def build_deliverer(config: ServiceConfig, store: SqliteStore) -> Deliverer | None:
    aura = config.aura
    if not aura.url:
        log.warning("no AURA url configured: events are stored but not delivered")
        return None
    client = AuraClient(
        aura.url,
        aura.client_id,
        aura.client_secret if aura.auth == "oauth2" else "",
        aura.token_url or None,
        timeout=(3.05, aura.timeout_s),
        static_token=aura.client_secret if aura.auth == "bearer" else None,
        pool_size=config.delivery.workers,
    )
    settings = config.delivery
    worst_send_s = 2 * (3.05 + aura.timeout_s)  # a token fetch and a POST, each timing out
    if settings.lease_s < worst_send_s:
        # Not an error (tests shorten leases on purpose), but in production a lease that runs
        # out mid-send lets a second worker send the same event again (same idempotency key).
        log.warning(
            "delivery.lease_s = %s is shorter than one slow send (%.0f s): expect resends",
            settings.lease_s,
            worst_send_s,
        )
    return Deliverer(
        store,
        client,
        workers=settings.workers,
        lease_s=settings.lease_s,
        base_backoff_s=settings.base_backoff_s,
        max_backoff_s=settings.max_backoff_s,
        max_attempts=settings.max_attempts,
        alert_after_s=settings.alert_after_s,
    )


def serve(config: ServiceConfig) -> None:
    """Run until SIGTERM/SIGINT; delivery stops after the server stops taking requests."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(config.database)
    except (OSError, sqlite3.Error, StoreError) as error:
        raise CannotStart(f"store {config.database} is unusable: {error}") from None
    deliverer = build_deliverer(config, store)
    app = create_app(config, store, on_commit=deliverer.wake if deliverer else None)
    try:
        server = create_server(
            app,
            host=config.host,
            port=config.port,
            threads=config.threads,
            # waitress refuses a body of max_request_body_size bytes or more; ours may be that long.
            max_request_body_size=config.max_body_bytes + 1,
            ident="aura-uplink",
        )
    except OSError as error:
        store.close()
        raise CannotStart(f"cannot listen on {config.host}:{config.port}: {error}") from None

    def stop(signum: int, frame: FrameType | None) -> None:
        # Raised in the main thread, out of waitress's loop; the finally below cleans up.
        raise _Stop(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if deliverer is not None:
        deliverer.start()
    log.info(
        "aura-uplink listening on http://%s:%s (store %s, AURA %s)",
        config.host,
        server.effective_port,
        config.database,
        config.aura.url or "not configured",
    )
    try:
        server.run()
    except _Stop as stop_signal:
        log.info("signal %s: stopping", stop_signal.args[0])
    finally:
        server.close()
        # Let requests already inside a handler finish their commit and answer.
        server.task_dispatcher.shutdown(timeout=10)
        if deliverer is not None:
            deliverer.stop()
        store.close()


class _Stop(AuraUplinkError):
    """SIGTERM/SIGINT arrived."""
