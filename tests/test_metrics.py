"""``/metrics`` (issue 15, docs/operations.md): Prometheus's text format behind the operator
secret, and on its own loopback listener without it.

A real ``aura-uplink serve`` child process on each store, the AURA simulator behind it, real HTTP
on 127.0.0.1; the answers are parsed with ``prometheus_client.parser``, so what is asserted is
what a Prometheus server would read.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from webhook_support import (
    ALERT,
    BATTERY,
    CLIENT_ID,
    CLIENT_SECRET,
    HTTP_TIMEOUT,
    OPERATOR_SECRET,
    AppServer,
    ServeProcess,
    aura_posts,
    post_callback,
    read_config,
    sigfox_body,
    wait_until,
    write_config,
)

from decoders.errors import ConfigError
from webhook.aurasim import SimState, run_simulator
from webhook.config import config_from_dict, listen_address

BEARER = {"Authorization": f"Bearer {OPERATOR_SECRET}"}
_METRICS_AT = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def sim():
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


def samples(text: str) -> Samples:
    """Every sample of a scrape, keyed by (name, labels)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(scrape: Samples, name: str, **labels: str) -> float:
    """The one sample ``name{labels}``; a missing one fails with the names that are there."""
    key = (name, frozenset(labels.items()))
    assert key in scrape, (key, sorted({n for n, _ in scrape}))
    return scrape[key]


def scrape(url: str, **kw: object) -> Samples:
    answer = requests.get(url + "/metrics", timeout=HTTP_TIMEOUT, **kw)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(answer.text)


def serve(tmp_path: Path, sim, database_url: str | None, service_extra: str) -> ServeProcess:
    config = write_config(
        tmp_path / "service.toml",
        aura_url=sim.url,
        database_url=database_url,
        service_extra=service_extra,
    )
    command = [sys.executable, "-m", "webhook", "serve", "--config", str(config)]
    return ServeProcess(None, tmp_path / "serve.log", command=command)


def test_a_press_shows_in_metrics_behind_the_operator_secret(tmp_path, sim, store_factory):
    """After one press: the uplink counter, AURA's answers by code, one latency observation
    (the alert, not its battery event), and the store's gauges labelled with the instance."""
    extra = 'metrics_listen = "127.0.0.1:0"\ninstance_name = "blue-1"'
    with serve(tmp_path, sim, store_factory.database_url, extra) as service:
        answer = post_callback(service.url, sigfox_body(data=ALERT, seq=7))
        assert answer.status_code == 200
        wait_until(lambda: len(aura_posts(sim, ok=True)) == 2, what="both events at AURA")
        post_callback(service.url, sigfox_body(data=ALERT, seq=7))  # the network's retry

        def delivered() -> Samples | None:
            got = scrape(service.url, headers=BEARER)
            done = value(got, "aura_uplink_events", instance="blue-1", state="delivered")
            return got if done == 2 else None

        got = wait_until(delivered, what="both events delivered in the store's gauges")
        assert value(got, "aura_uplink_uplinks_total", network="sigfox", status="decoded") == 1
        assert value(got, "aura_uplink_uplinks_total", network="sigfox", status="duplicate") == 1
        assert value(got, "aura_uplink_delivery_attempts_total", outcome="delivered") == 2
        assert value(got, "aura_uplink_aura_answers_total", code="200") == 2
        # NEW_CALLOUT only: the battery event that came with it is not a press.
        assert value(got, "aura_uplink_press_to_aura_seconds_count") == 1
        assert value(got, "aura_uplink_press_to_aura_seconds_bucket", le="+Inf") == 1
        assert 0 < value(got, "aura_uplink_press_to_aura_seconds_sum") < 60
        for state, count in {"pending": 0, "in_flight": 0, "delivered": 2, "dead": 0}.items():
            assert value(got, "aura_uplink_events", instance="blue-1", state=state) == count
        assert value(got, "aura_uplink_dead_letters", instance="blue-1") == 0
        assert value(got, "aura_uplink_oldest_undelivered_age_seconds", instance="blue-1") == 0
        assert value(got, "aura_uplink_store_up", instance="blue-1") == 1

        # Browsers: HTTP Basic with any user name and the secret as the password.
        assert scrape(service.url, auth=("anyone", OPERATOR_SECRET)) == got
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic Og=="}):
            refused = requests.get(service.url + "/metrics", headers=headers, timeout=HTTP_TIMEOUT)
            assert refused.status_code == 401
            assert "aura_uplink" not in refused.text
        assert "Basic" in refused.headers["WWW-Authenticate"]
        # A network server's secret never opens it.
        sigfox = {"Authorization": "Bearer sigfox-test-secret"}
        assert requests.get(service.url + "/metrics", headers=sigfox, timeout=5).status_code == 401

        # The loopback listener: the same registry, no secret asked.
        port = int(wait_until(lambda: _METRICS_AT.search(service.log()), what="listener")[1])
        local = scrape(f"http://127.0.0.1:{port}")
        assert value(local, "aura_uplink_uplinks_total", network="sigfox", status="decoded") == 1
        assert value(local, "aura_uplink_events", instance="blue-1", state="delivered") == 2
        # Scrapes come for as long as the service runs: they must not hold on to anything (a
        # thread per scrape would open, and the store keep, a SQLite connection per scrape).
        fds = Path(f"/proc/{service.proc.pid}/fd")
        before = len(list(fds.iterdir()))
        for _ in range(30):
            scrape(f"http://127.0.0.1:{port}")
        assert len(list(fds.iterdir())) <= before + 2


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_refusals_retries_and_dead_letters_are_counted(tmp_path, sim, store_factory):
    """A 503 then a 400: one retry and one refusal by code, a dead letter counted and gauged,
    no latency observed; the default instance label is <hostname>:<port>."""
    sim.state.fail_next(503)
    sim.state.fail_next(400)
    with serve(tmp_path, sim, None, "") as service:
        post_callback(service.url, sigfox_body(data=ALERT, seq=8))
        instance = f"{socket.gethostname()}:{service.url.rsplit(':', 1)[1]}"

        def settled() -> Samples | None:
            got = scrape(service.url, headers=BEARER)
            states = ("pending", "in_flight")
            left = sum(value(got, "aura_uplink_events", instance=instance, state=s) for s in states)
            return got if left == 0 else None

        got = wait_until(settled, what="both events delivered or dead")
        assert value(got, "aura_uplink_aura_answers_total", code="503") == 1
        assert value(got, "aura_uplink_aura_answers_total", code="400") == 1
        assert value(got, "aura_uplink_delivery_attempts_total", outcome="retry") == 1
        assert value(got, "aura_uplink_delivery_attempts_total", outcome="rejected") == 1
        assert value(got, "aura_uplink_dead_lettered_total") == 1
        assert value(got, "aura_uplink_dead_letters", instance=instance) == 1
        assert value(got, "aura_uplink_events", instance=instance, state="dead") == 1
        # The alert was refused: no press reached AURA, so nothing was observed.
        assert value(got, "aura_uplink_press_to_aura_seconds_count") == 0


@pytest.fixture
def app_server(tmp_path):
    """The app in this process without a deliverer (what ingest counts needs no AURA)."""
    started: list[AppServer] = []

    def start(**settings: object) -> AppServer:
        config = read_config(write_config(tmp_path / "service.toml", aura_url=None, **settings))
        started.append(AppServer(config, deliver=False))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_metrics_answer_404_without_an_operator_secret(app_server):
    server = app_server(operator_secret=None)
    for headers in ({}, BEARER):
        answer = requests.get(server.url + "/metrics", headers=headers, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 404


def test_decode_errors_and_warnings_are_counted_by_model(app_server):
    server = app_server()
    post_callback(server.url, sigfox_body(data="FF", seq=1))  # too short for aura-reference
    post_callback(server.url, sigfox_body(data=BATTERY, seq=2))
    # A network fix out of range is dropped with an envelope warning; the frame is kept.
    far = {"computedLocation": {"lat": 123.0, "lng": 5.0, "radius": 1000, "source": 2}}
    post_callback(server.url, sigfox_body(data=BATTERY, seq=3, **far))
    post_callback(server.url, sigfox_body(seq=4), path="/sigfox/status")
    got = scrape(server.url, headers=BEARER)
    assert value(got, "aura_uplink_uplinks_total", network="sigfox", status="ignored") == 1
    assert value(got, "aura_uplink_uplinks_total", network="sigfox", status="undecodable") == 1
    assert value(got, "aura_uplink_uplinks_total", network="sigfox", status="decoded") == 2
    assert value(got, "aura_uplink_decode_errors_total", model="aura-reference") == 1
    model = "aura-reference"
    assert value(got, "aura_uplink_decode_warnings_total", model=model, source="envelope") == 1
    # No deliverer in this app: its events wait, and the gauges say so (the app was given no
    # port: create_app alone does not know the one it is served on).
    instance = f"{socket.gethostname()}:0"
    # The first battery frame's level is an event; the same level again is not.
    assert value(got, "aura_uplink_events", instance=instance, state="pending") == 1
    assert value(got, "aura_uplink_oldest_undelivered_age_seconds", instance=instance) > 0


@pytest.mark.parametrize(
    ("listen", "public", "expected"),
    [
        ("127.0.0.1:9108", False, ("127.0.0.1", 9108)),
        ("9108", False, ("127.0.0.1", 9108)),
        ("[::1]:9108", False, ("::1", 9108)),
        ("localhost:9108", False, ("localhost", 9108)),
        ("0.0.0.0:9108", True, ("0.0.0.0", 9108)),
    ],
)
def test_metrics_listen_addresses(listen, public, expected):
    assert listen_address(listen, public) == expected


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ({"metrics_listen": "0.0.0.0:9108"}, "not a loopback address"),
        ({"metrics_listen": "metrics.example:9108"}, "not a loopback address"),
        ({"metrics_listen": "127.0.0.1:http"}, "expected host:port"),
        ({"metrics_listen": "127.0.0.1:70000"}, "expected host:port"),
        ({"log_format": "xml"}, "service.log_format"),
    ],
)
def test_the_config_refuses_an_open_listener_and_unknown_log_formats(service, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"service": service}, env={})
    if "metrics_listen" in service and "loopback" in message:  # unless it is meant
        config_from_dict({"service": {**service, "metrics_listen_public": True}}, env={})
