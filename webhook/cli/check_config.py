"""``aura-uplink check-config --config FILE``: read a service configuration as ``serve`` would
(environment overrides included), check what ``serve`` would only find out later, and print what
it sets up: templates, sources, AURA, the store. Nothing is started, created or connected to.

Any error is one line on stderr naming the key, and exit status 2 (docs/design.md §14); a file
that loads but has several problems gets one line for each. Warnings (a source without a
secret, templates that cancel each other out, no AURA url) are printed with the summary and do
not change the exit status: the service runs with them, just not as its operator may think.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import fields
from importlib.util import find_spec
from typing import NoReturn
from urllib.parse import urlsplit

import click

from decoders.errors import ConfigError
from decoders.templates import Template
from webhook.config import SOURCES, ServiceConfig, load_config, load_demo_config

NETWORKS = ("sigfox", "lorawan")

# [delivery] keys with a lower bound (exclusive when True): below it the worker cannot work as
# configured (no worker, a lease that has run out before it starts, negative waits).
DELIVERY_BOUNDS: dict[str, tuple[float, bool]] = {
    "workers": (1, False),
    "lease_s": (0, True),
    "max_attempts": (1, False),
    "base_backoff_s": (0, False),
    "max_backoff_s": (0, False),
    "alert_after_s": (0, False),
}


@click.command("check-config")
# No click.Path(exists=True): load_config says a missing file in one line (design §14).
@click.option("--config", "config_path", type=click.Path(readable=False), help="Service TOML.")
@click.option("--demo", is_flag=True, help="Check the demo configuration shipped in the package.")
def check_config_command(config_path: str | None, demo: bool) -> None:
    """Validate a service configuration and print what it sets up, without starting anything
    (exit status 2 on any error)."""
    if demo == (config_path is not None):
        _fail(["give --config FILE or --demo"])
    try:
        config = load_demo_config() if demo else load_config(config_path)
    except ConfigError as error:
        _fail([str(error)])
    errors = [problem for check in CHECKS for problem in check(config)]
    if errors:
        _fail(errors)
    click.echo(f"config {'(demo)' if demo else config_path}: valid")
    for line in summary(config):
        click.echo(line)
    for line in warnings(config):
        click.echo(f"warning: {line}")


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(f"aura-uplink check-config: {line}", err=True)
    sys.exit(2)


# -- errors: what `serve` would refuse, or what would fail on the first request ------------------


def _service_problems(config: ServiceConfig) -> Iterator[str]:
    if not 0 <= config.port <= 65535:
        yield f"service.port: expected 0 to 65535, got {config.port}"
    if config.threads < 1:
        yield f"service.threads: expected at least 1, got {config.threads}"


def _aura_problems(config: ServiceConfig) -> Iterator[str]:
    aura = config.aura
    if not aura.url:
        return  # a warning: the service stores events and delivers none
    for key, url in (("url", aura.url), ("token_url", aura.token_url)):
        if url and not _http_url(url):
            yield f"aura.{key}: expected an http:// or https:// URL, got {url!r}"
    if aura.auth == "oauth2" and not aura.client_id:
        yield "aura.client_id: required with auth = 'oauth2' (or AURA_CLIENT_ID)"
    if not aura.client_secret:
        yield "aura.client_secret: required (or AURA_CLIENT_SECRET)"
    if not aura.timeout_s > 0:
        yield f"aura.timeout_s: expected more than 0, got {aura.timeout_s}"


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a bad port or an unbalanced IPv6 bracket
        return False


def _delivery_problems(config: ServiceConfig) -> Iterator[str]:
    for key, (lowest, exclusive) in DELIVERY_BOUNDS.items():
        value = getattr(config.delivery, key)
        if value < lowest or (exclusive and value == lowest):
            wanted = f"more than {lowest:g}" if exclusive else f"at least {lowest:g}"
            yield f"delivery.{key}: expected {wanted}, got {value}"


def _store_problems(config: ServiceConfig) -> Iterator[str]:
    if config.store.url is not None:
        if find_spec("psycopg") is None:
            yield "store.url: PostgreSQL needs psycopg: pip install 'aura-uplink[postgresql]'"
    elif config.data_dir.exists() and not config.data_dir.is_dir():
        yield f"service.data_dir: {config.data_dir} is not a directory"


CHECKS: tuple[Callable[[ServiceConfig], Iterator[str]], ...] = (
    _service_problems,
    _aura_problems,
    _delivery_problems,
    _store_problems,
)


# -- the summary ---------------------------------------------------------------------------------


def summary(config: ServiceConfig) -> list[str]:
    """What the configuration sets up, one line each (templates and sources get a table)."""
    operator = "set" if config.operator_secret else "not set (/status.json answers 404)"
    lines = [
        f"service: listens on {config.host}:{config.port}, operator secret {operator},"
        f" trusted proxies {config.trusted_proxies}",
        "templates:" if config.templates else "templates: none (every uplink is undecodable)",
    ]
    lines += _table([_template_row(t) for t in config.templates.values()])
    lines.append("sources:")
    lines += _table([_source_row(config, name) for name in SOURCES])
    lines.append(f"aura: {_aura_line(config)}")
    lines.append(f"store: {_store_line(config)}")
    return lines


def _template_row(template: Template) -> list[str]:
    keys = [
        f"{f.name} = {', '.join(sorted(getattr(template.match, f.name)))}"
        for f in fields(template.match)
        if getattr(template.match, f.name)
    ]
    return [
        template.name,
        f"model {template.model.id}",
        f"device type {template.device_type_id}",
        _serves(template),
        f"match {'; '.join(keys)}" if keys else "catch-all (no match keys)",
    ]


def _serves(template: Template) -> str:
    network = _network(template)
    return "any uplink" if network == "any" else f"{network} uplinks"


def _network(template: Template) -> str:
    """The network whose uplinks the template can serve: its own restriction, else its model's."""
    return template.network if template.network != "any" else template.model.network


def _source_row(config: ServiceConfig, name: str) -> list[str]:
    source = config.source(name)
    if not source.secret:
        return [name, "closed", "no secret: every request is refused (401)"]
    sent = "Bearer <secret>" if source.header.lower() == "authorization" else "<secret>"
    return [name, "open", f"{source.header}: {sent}"]


def _aura_line(config: ServiceConfig) -> str:
    aura = config.aura
    if not aura.url:
        return "not configured (events are stored, not delivered)"
    client = f", client_id {aura.client_id}" if aura.auth == "oauth2" else ""
    return f"{aura.url} ({aura.auth}{client})"


def _store_line(config: ServiceConfig) -> str:
    if config.store.url is not None:
        return f"PostgreSQL {config.store_label} (not connected: `store check` tries it)"
    state = "exists" if config.database.exists() else "created by the first serve"
    return f"SQLite {config.database} ({state})"


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as indented, aligned columns."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  " + "  ".join([*map(str.ljust, row[:-1], widths), row[-1]]).rstrip() for row in rows]


# -- warnings: the service starts, but does not do what its operator may expect ------------------


def warnings(config: ServiceConfig) -> list[str]:
    # Here, not at the top: webhook.startup brings the store, which `aura-uplink decode` (the
    # same command group) should not load.
    from webhook.startup import closed_sources

    out = []
    closed = closed_sources(config)
    if closed:
        out.append(f"no secret configured for {', '.join(closed)}: every request is refused")
    for network in NETWORKS:
        catch_all = [
            t.name
            for t in config.templates.values()
            if _network(t) in (network, "any") and t.match == type(t.match)()
        ]
        if len(catch_all) > 1:
            # select_template uses a catch-all only when it is the only one for the network.
            out.append(
                f"templates {', '.join(catch_all)} all catch every {network} uplink, so none"
                f" is used for it: give all but one a [match] or a network"
            )
    if not config.aura.url:
        out.append("no [aura] url (or AURA_URL): events are stored but not delivered")
    return out
