"""The service's configuration: one TOML file plus environment overrides for secrets.

```toml
[service]
data_dir = "data"             # the SQLite file lives here (aura-uplink.db)
host = "127.0.0.1"
port = 8080
threads = 4                   # WSGI worker threads (see ServiceConfig.threads)
max_body_bytes = 16384        # larger requests get 413
connection_limit = 1000       # open client connections at once (idle ones included)
channel_timeout_s = 30        # an idle or stalled connection is closed after this (30-37 s)
operator_secret = "…"         # opens /status.json; or AURA_UPLINK_OPERATOR_SECRET; unset: 404
log_format = "text"           # or "json" (one JSON object a line); --log-format wins
metrics_listen = ""           # "127.0.0.1:9108": /metrics without a secret (docs/operations.md)
metrics_listen_public = false # true lets metrics_listen name a non-loopback address
instance_name = ""            # the metrics' `instance` label; default "<hostname>:<port>"
trusted_proxies = 0           # reverse proxies in front whose X-Forwarded-For/Proto/Host count

[store]
url = ""                      # "postgresql://user@host:5432/db", or AURA_UPLINK_DATABASE_URL;
                              # empty: SQLite in data_dir (the embedded default)
retention_days = 30           # raw uplinks and delivered events older than this are pruned;
                              # 0 keeps everything. Dead letters and undecodable uplinks stay.
pool_size = 10                # PostgreSQL connections per process

[aura]
url = "http://127.0.0.1:8081" # AURA base URL (…/panic-api/v2/deviceEvent is appended)
auth = "oauth2"               # or "bearer" (a fixed token in client_secret)
client_id = "demo-client"
client_secret = "demo-secret" # or AURA_CLIENT_SECRET in the environment
token_url = ""                # default: url + "/oauth/token"

[delivery]
workers = 4
lease_s = 3                   # renewed every lease_s/3 while a send is in flight
max_attempts = 60             # with max_backoff_s = 60: about half an hour of outage
base_backoff_s = 0.5
max_backoff_s = 60
alert_after_s = 30

[sources.sigfox]              # likewise [sources.ttn], [sources.chirpstack]
secret = "change-me"          # or AURA_UPLINK_SIGFOX_SECRET in the environment
header = "Authorization"      # "Authorization" carries "Bearer <secret>"; others the bare secret

[templates.<name>]            # see decoders/templates.py
```
Environment: ``AURA_URL``, ``AURA_CLIENT_ID``, ``AURA_CLIENT_SECRET``, ``AURA_UPLINK_DATA_DIR``,
``AURA_UPLINK_DATABASE_URL``,
``AURA_UPLINK_<SOURCE>_SECRET``, ``AURA_UPLINK_OPERATOR_SECRET``. Without a file every value has
a default, so the service starts on SQLite with no other service; a source without a secret
refuses every request (401).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from decoders.errors import ConfigError
from decoders.templates import Template, templates_from_config

SOURCES = ("sigfox", "ttn", "chirpstack")
LOG_FORMATS = ("text", "json")
SECTIONS = ("service", "aura", "delivery", "store", "sources", "templates")


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    secret: str | None = None
    header: str = "Authorization"


@dataclass(frozen=True, slots=True)
class AuraConfig:
    url: str | None = None
    auth: str = "oauth2"
    client_id: str = ""
    client_secret: str = ""
    token_url: str | None = None
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    workers: int = 4
    lease_s: float = 3.0  # short and renewed (webhook/delivery/leases.py): crash recovery in s
    max_attempts: int = 60  # a panic keeps trying for ~30 min of AURA outage (full jitter)
    base_backoff_s: float = 0.5
    max_backoff_s: float = 60.0
    alert_after_s: float = 30.0


@dataclass(frozen=True, slots=True)
class StoreConfig:
    # None: the embedded SQLite file in [service] data_dir. A URL is a secret (it may carry a
    # password): kept out of repr, and shown only through store_label().
    url: str | None = field(default=None, repr=False)
    # 30 days of raw uplinks is what an incident review reaches back to; older ones only cost
    # disk (~0.7 GB a day for 10,000 Sigfox devices). 0 keeps everything.
    retention_days: float = 30.0
    pool_size: int = 10


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    # Waitress's own default. Every write of the SQLite store goes through one writer lock, and
    # the thread that holds it waits for the GIL after each statement behind whichever threads
    # run Python meanwhile: 8 threads turned 200 callbacks/s into a delivery backlog (p99
    # 15.9 s from callback to AURA) where 4 kept it at 0.53 s, callbacks answered in ~0.1 s
    # (`python -m bench.crash --threads 8|4`, bench/RESULTS.md 2026-12-01).
    threads: int = 4
    max_body_bytes: int = 16384
    # Idle sockets must not starve callbacks: waitress stops accepting at its limit (100 by
    # default, which 98 idle connections reached). 1000 leaves room for hundreds of idle or
    # slow clients beside the senders' few dozen, in well under 1 MB of channel state; the
    # service raises its file limit to fit (webhook/server_options.py).
    connection_limit: int = 1000
    # Above any honest sender's pause between bytes (they give up after 5-10 s, docs/
    # reliability.md §1) and short enough that silent sockets free their slot in half a minute.
    channel_timeout_s: int = 30
    # Opens /status.json (docs/design.md §14); None: those routes answer 404.
    operator_secret: str | None = field(default=None, repr=False)
    # Logs and metrics (docs/operations.md). The metrics listener has no secret, so it stays on
    # loopback unless metrics_listen_public says the operator means it.
    log_format: str = "text"
    metrics_listen: str = ""
    metrics_listen_public: bool = False
    instance_name: str = ""
    # How many reverse proxies stand in front (docs/deploy.md): that many X-Forwarded-For/Proto/
    # Host entries are believed, counted from the right. 0: none, since a client could otherwise
    # write its own X-Forwarded-For and pass for another address in the refusal log.
    trusted_proxies: int = 0
    aura: AuraConfig = AuraConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    store: StoreConfig = StoreConfig()
    sources: Mapping[str, SourceConfig] = field(default_factory=dict)
    templates: Mapping[str, Template] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.data_dir / "aura-uplink.db"

    @property
    def store_label(self) -> str:
        """Which store this is, for one-line messages: the SQLite file or the masked URL."""
        return str(self.database) if self.store.url is None else mask_url(self.store.url)

    def source(self, name: str) -> SourceConfig:
        return self.sources.get(name, SourceConfig(name))


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> ServiceConfig:
    """The config from a TOML file (or none) with environment overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as error:
            raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
    base_dir = None if path is None else Path(path).parent  # codec paths are relative to it
    return config_from_dict(data, os.environ if env is None else env, base_dir=base_dir)


def load_demo_config(env: Mapping[str, str] | None = None) -> ServiceConfig:
    """The demo configuration shipped in the package (``aura-uplink serve --demo``): the same
    file as ``webhook/demo.toml`` in a source checkout, so an installed wheel can run it too."""
    text = resources.files("webhook").joinpath("demo.toml").read_text(encoding="utf-8")
    return config_from_dict(tomllib.loads(text), os.environ if env is None else env)


def config_from_dict(
    data: Mapping[str, Any], env: Mapping[str, str], *, base_dir: Path | None = None
) -> ServiceConfig:
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]!r}")
    # The nested sections are fields of ServiceConfig but never keys of [service].
    service = _section(data, "service", ServiceConfig, exclude=set(SECTIONS))
    if "AURA_UPLINK_DATA_DIR" in env:
        service["data_dir"] = env["AURA_UPLINK_DATA_DIR"]
    aura = _section(data, "aura", AuraConfig)
    for key, variable in (("url", "AURA_URL"), ("client_id", "AURA_CLIENT_ID")):
        if variable in env:
            aura[key] = env[variable]
    if "AURA_CLIENT_SECRET" in env:
        aura["client_secret"] = env["AURA_CLIENT_SECRET"]
    if aura.get("auth", "oauth2") not in ("oauth2", "bearer"):
        raise ConfigError(f"aura.auth: expected 'oauth2' or 'bearer', got {aura['auth']!r}")
    sources = _sources(data.get("sources", {}), env)
    if "data_dir" in service:
        service["data_dir"] = Path(service["data_dir"])
    _check_service(service, env, sources)
    return ServiceConfig(
        **service,
        aura=AuraConfig(**aura),
        delivery=DeliveryConfig(**_section(data, "delivery", DeliveryConfig)),
        store=_store(data, env),
        sources=sources,
        templates=templates_from_config(data, models={}, base_dir=base_dir),
    )


def _section(
    data: Mapping[str, Any], name: str, kind: type, exclude: set[str] | None = None
) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    defaults = kind()
    allowed = {f.name for f in fields(kind) if f.name not in (exclude or set())}
    out = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, Mapping):
            # `[service.templates]` for `[templates]`: a table indented under the wrong header.
            raise ConfigError(
                f"[{name}.{key}]: misplaced table; [{key}] is a top-level section, not part of"
                f" [{name}]"
            )
        if key not in allowed:
            raise ConfigError(f"{name}.{key}: unknown key; known: {sorted(allowed)}")
        default = getattr(defaults, key)
        expected = type(default) if default is not None else str
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(default, Path):
            expected = str
        if not isinstance(value, expected) or isinstance(value, bool) != isinstance(default, bool):
            raise ConfigError(f"{name}.{key}: expected {expected.__name__}, got {value!r}")
        out[key] = value
    return out


def _store(data: Mapping[str, Any], env: Mapping[str, str]) -> StoreConfig:
    store = _section(data, "store", StoreConfig)
    url = env.get("AURA_UPLINK_DATABASE_URL", store.get("url")) or None
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"store.url: expected a postgresql://user@host:port/db URL, got {mask_url(url)!r}"
        )
    store["url"] = url
    if store.get("retention_days", 0) < 0:
        days = store["retention_days"]
        raise ConfigError(f"store.retention_days: expected 0 or more, got {days}")
    if store.get("pool_size", 1) < 1:
        raise ConfigError(f"store.pool_size: expected at least 1, got {store['pool_size']}")
    return StoreConfig(**store)


def mask_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``: what logs and errors may show."""
    url = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``-csearch_path=<schema>`` added to its ``options``: the PostgreSQL store
    creates its tables unqualified, so they land in that schema (several stores in one
    database: one per test, say). Percent-encoded, because libpq decodes only %XX in a URI: a
    space must not become ``+``, and a second bare ``=`` in one parameter is an error to it."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = " ".join([*(v for k, v in query if k == "options"), f"-csearch_path={schema}"])
    others = [(k, v) for k, v in query if k != "options"]
    encoded = urlencode([*others, ("options", options)], safe="/", quote_via=quote)
    return urlunsplit(parts._replace(query=encoded))


def _sources(table: Any, env: Mapping[str, str]) -> dict[str, SourceConfig]:
    if not isinstance(table, Mapping):
        raise ConfigError("[sources] must be a table of [sources.<name>] tables")
    unknown = sorted(set(table) - set(SOURCES))
    if unknown:
        raise ConfigError(f"sources.{unknown[0]}: unknown source; known: {list(SOURCES)}")
    out = {}
    for name in SOURCES:
        entry = table.get(name, {})
        if not isinstance(entry, Mapping) or set(entry) - {"secret", "header"}:
            raise ConfigError(f"sources.{name}: expected keys 'secret' and 'header'")
        secret = env.get(f"AURA_UPLINK_{name.upper()}_SECRET", entry.get("secret"))
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError(f"sources.{name}.secret: expected a non-empty string")
        header = entry.get("header", "Authorization")
        if not isinstance(header, str) or not header:
            raise ConfigError(f"sources.{name}.header: expected a header name")
        out[name] = SourceConfig(name, secret, header)
    return out


def _check_service(
    service: dict[str, Any], env: Mapping[str, str], sources: Mapping[str, SourceConfig]
) -> None:
    """Ranges of the [service] keys that have one, and the operator secret (its environment
    variable wins; it must not be any network server's secret: those never open the operator
    routes, docs/design.md §14)."""
    for key in ("connection_limit", "channel_timeout_s"):
        if key in service and service[key] < 1:
            raise ConfigError(f"service.{key}: expected at least 1, got {service[key]}")
    if service.get("trusted_proxies", 0) < 0:
        count = service["trusted_proxies"]
        raise ConfigError(f"service.trusted_proxies: expected 0 or more, got {count}")
    if service.get("log_format", "text") not in LOG_FORMATS:
        raise ConfigError(f"service.log_format: expected one of {list(LOG_FORMATS)}")
    if service.get("metrics_listen"):
        listen_address(service["metrics_listen"], service.get("metrics_listen_public", False))
    secret = env.get("AURA_UPLINK_OPERATOR_SECRET", service.get("operator_secret"))
    if secret is not None and not secret:
        raise ConfigError("service.operator_secret: expected a non-empty string (or no key)")
    if secret is not None and any(secret == source.secret for source in sources.values()):
        raise ConfigError("service.operator_secret: must differ from every source's secret")
    service["operator_secret"] = secret


def listen_address(value: str, public: bool = False) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``; a bare port means 127.0.0.1) of ``[service]
    metrics_listen``. Its listener asks for no secret, so a host that is not loopback is a
    ConfigError unless ``public`` (``metrics_listen_public = true``) says it is meant."""
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if colon else "127.0.0.1"
    if not port.isascii() or not port.isdigit() or int(port) > 65535 or not host:
        raise ConfigError(f"service.metrics_listen: expected host:port, got {value!r}")
    if not public and host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:  # a host name: where it points can change, so it is not loopback
            loopback = False
        if not loopback:
            raise ConfigError(
                f"service.metrics_listen: {host} is not a loopback address and the listener"
                " has no secret; set metrics_listen_public = true if that is meant"
            )
    return host, int(port)
