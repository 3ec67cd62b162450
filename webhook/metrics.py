"""What ``/metrics`` shows (Prometheus text format; docs/operations.md).

Two kinds of numbers, kept apart on purpose:

* **Counters and the latency histogram** count what *this process* did (uplinks it accepted,
  answers it got from AURA). Behind a load balancer each instance counts its own share, so
  Prometheus sums them across instances.
* **Store gauges** (events by state, dead letters, the age of the oldest undelivered event) are
  read from the store when scraped. The store is shared by every instance on one PostgreSQL, so
  each instance reports the same numbers; they carry an ``instance`` label (``[service]
  instance_name``, default ``<hostname>:<port>``) so the copies can be told apart, and are
  aggregated with ``max``, never ``sum``.

Every app has its own :class:`Metrics` and registry, never prometheus_client's global one: the
tests start many apps in one process, and each must count only its own.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, make_wsgi_app
from prometheus_client.registry import Collector

from decoders.aura import NEW_CALLOUT

if TYPE_CHECKING:  # only for annotations: the store and the client import much more
    from decoders.types import Uplink, UplinkWarning
    from webhook.delivery.aura_client import Outcome
    from webhook.store import EventRow, IngestResult, Store

log = logging.getLogger("aura_uplink.metrics")

# No `<name>_created` sample beside each counter and histogram: they double the lines, and a
# restart is already visible as counters going back to zero. (prometheus_client's switch is
# process-wide; nothing else in the process uses the library.)
disable_created_metrics()

PREFIX = "aura_uplink"
# The classic text format, which every Prometheus server reads (version 1.0.0 is Prometheus 3's).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Press to AURA's 2xx: tens of milliseconds when all is well, up to the retry budget (about half
# an hour with the default backoff) when AURA is down. The buckets cover both ends.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
# The `model` label where no template matched (no model was tried).
NO_MODEL = "none"
# The `code` label of an attempt that got no HTTP answer (timeout, refused, reset).
NO_ANSWER = "none"
# Outcome class name -> the `outcome` label of an attempt.
OUTCOMES = {"Delivered": "delivered", "Retry": "retry", "Permanent": "rejected"}


class Metrics:
    """One app's registry: the process's counters and a collector of the store's gauges."""

    def __init__(self, store: Store | None = None, instance: str = "") -> None:
        self.registry = CollectorRegistry()
        self.instance = instance or default_instance(0)
        self.uplinks = Counter(
            f"{PREFIX}_uplinks",
            "Callbacks accepted by this process, by network and what was stored"
            " (decoded, undecodable, ignored, duplicate).",
            ["network", "status"],
            registry=self.registry,
        )
        self.decode_errors = Counter(
            f"{PREFIX}_decode_errors",
            "Uplinks stored undecodable by this process, by device model (none: no template).",
            ["model"],
            registry=self.registry,
        )
        self.decode_warnings = Counter(
            f"{PREFIX}_decode_warnings",
            "Warnings on uplinks stored by this process, by model and source (envelope, decoder).",
            ["model", "source"],
            registry=self.registry,
        )
        self.attempts = Counter(
            f"{PREFIX}_delivery_attempts",
            "Sends of an event to AURA by this process, by outcome (delivered, retry, rejected).",
            ["outcome"],
            registry=self.registry,
        )
        self.answers = Counter(
            f"{PREFIX}_aura_answers",
            "AURA's answers to this process's sends, by HTTP status code (none: no answer).",
            ["code"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            f"{PREFIX}_dead_lettered",
            "Events this process dead-lettered (AURA refused them, or the attempts ran out).",
            registry=self.registry,
        )
        self.press_latency = Histogram(
            f"{PREFIX}_press_to_aura_seconds",
            "From an alert's callback stored to AURA's 2xx for its NEW_CALLOUT event, in seconds.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if store is not None:
            self.registry.register(StoreGauges(store, self))

    # -- what the process does -----------------------------------------------------------------

    def uplink_stored(
        self,
        uplink: Uplink,
        result: IngestResult,
        status: str,
        model: str | None,
        warnings: Iterable[UplinkWarning] = (),
    ) -> None:
        """Count one accepted callback; a duplicate counts as such and nothing else."""
        if result.duplicate:
            self.uplinks.labels(uplink.network, "duplicate").inc()
            return
        self.uplinks.labels(uplink.network, status).inc()
        model = model or NO_MODEL
        if status == "undecodable":
            self.decode_errors.labels(model).inc()
        for warning in warnings:
            self.decode_warnings.labels(model, warning.get("source", "")).inc()

    def attempted(self, row: EventRow, outcome: Outcome, now: float) -> None:
        """One send of ``row`` and AURA's answer; the latency of an alert that AURA took."""
        kind = OUTCOMES[type(outcome).__name__]
        self.attempts.labels(kind).inc()
        status = outcome.status
        self.answers.labels(NO_ANSWER if status is None else str(status)).inc()
        if kind == "delivered" and row.action == NEW_CALLOUT:
            # The event's created_at is the ingest commit, a few ms after the callback arrived.
            self.press_latency.observe(max(0.0, now - row.created_at))

    def dead_letter(self) -> None:
        self.dead_lettered.inc()

    # -- the answer ----------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class StoreGauges(Collector):
    """The store-wide gauges, read at scrape time with one :meth:`Store.status` call."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing read at registration: the store may not be ready yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        instance = self.metrics.instance
        up = GaugeMetricFamily(
            f"{PREFIX}_store_up",
            "1 if the store answered this scrape, else 0.",
            labels=["instance"],
        )
        try:
            status = self.store.status()
        except Exception as error:  # a scrape must still answer, and say the store did not
            log.warning("metrics: the store did not answer: %s", error)
            up.add_metric([instance], 0)
            yield up
            return
        up.add_metric([instance], 1)
        yield up
        events = GaugeMetricFamily(
            f"{PREFIX}_events",
            "Events in the (shared) store by state; every instance reports the same numbers.",
            labels=["instance", "state"],
        )
        for state, count in sorted(status["events"].items()):
            events.add_metric([instance, state], count)
        yield events
        dead = GaugeMetricFamily(
            f"{PREFIX}_dead_letters",
            "Dead-lettered events in the store, waiting for `aura-uplink store replay --dead`.",
            labels=["instance"],
        )
        dead.add_metric([instance], status["events"].get("dead", 0))
        yield dead
        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_undelivered_age_seconds",
            "Age of the oldest pending or in-flight event in the store; 0 when there is none.",
            labels=["instance"],
        )
        oldest.add_metric([instance], max(0.0, status["oldest_undelivered_age_s"] or 0.0))
        yield oldest


def serve_metrics(metrics: Metrics, host: str, port: int) -> WSGIServer:
    """``[service] metrics_listen``: the registry on its own listener, with no secret
    (config.listen_address keeps it on loopback unless told otherwise). Raises ``OSError``
    when the address cannot be bound; ``shutdown()`` then ``server_close()`` stop it.

    One thread answers every scrape, one after the other. Not prometheus_client's
    ``start_wsgi_server``, which starts a thread per request: each new thread opens a SQLite
    connection of its own for the store's gauges, and the store keeps every connection it
    opened until it closes, so a scrape every 15 s would leak one a time, for good."""

    class Server(WSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = make_server(host, port, make_wsgi_app(metrics.registry), Server, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-listener", daemon=True)
    thread.start()
    return server


class _QuietHandler(WSGIRequestHandler):
    """No access line per scrape on stderr; a client that stalls is dropped after 10 s (it
    would hold up the next scrape: there is one thread)."""

    timeout = 10

    def log_message(self, format: str, *args: object) -> None:
        pass


def default_instance(port: int) -> str:
    """``<hostname>:<port>``: what tells instances on one PostgreSQL apart by default."""
    return f"{socket.gethostname()}:{port}"
