"""What the command groups share: the ``--config`` option, loading it (a missing, unreadable or
bad file is one line on stderr and exit status 2, docs/design.md §14), opening the store and
AURA's API from it, and printing JSON.

The store and the HTTP client are imported when a command opens them: ``aura-uplink decode`` on
a capture should not pay for ``requests`` at start-up."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from decoders.errors import AuraUplinkError, ConfigError
from webhook.config import ServiceConfig, load_config

if TYPE_CHECKING:
    from webhook.aura.api import AuraApi
    from webhook.store import Store


class ConfigProblem(click.ClickException, AuraUplinkError):
    """A configuration the command cannot use: click prints ``Error: <message>``, one line
    (a UsageError would add the usage text), and exits 2."""

    exit_code = 2


class StoreUnusable(click.ClickException, AuraUplinkError):
    """The store cannot be opened (corrupt, unreadable, from a newer version): one line, exit
    status 3, as ``serve`` does for the same store (docs/design.md §14)."""

    exit_code = 3


# No click.Path(exists=True) or readability check: click reports a missing or unreadable file
# with its usage text, on four lines; load_config says it in one (ConfigProblem).
config_option = click.option(
    "--config", "config_path", type=click.Path(readable=False), help="Service TOML."
)


def load(config_path: str | None) -> ServiceConfig:
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise ConfigProblem(str(error)) from None


def open_store(config: ServiceConfig, *, create: bool = False) -> Store:
    """The config's store: PostgreSQL at ``[store] url``, else the SQLite file in the data dir,
    which must exist unless ``create``."""
    import sqlite3

    from webhook.errors import StoreError
    from webhook.store import SqliteStore

    if config.store.url is not None:
        from webhook.store.postgres import PostgresStore

        try:
            return PostgresStore(config.store.url, pool_size=2)
        except StoreError as error:
            raise StoreUnusable(f"store unusable: {error}") from None
    try:
        if create:
            config.data_dir.mkdir(parents=True, exist_ok=True)
        elif not config.database.exists():
            raise ConfigProblem(f"no store at {config.database} (is --config right?)")
        return SqliteStore(config.database)
    except (OSError, sqlite3.Error, StoreError) as error:
        raise StoreUnusable(f"store {config.database} is unusable: {error}") from None


def open_aura(config: ServiceConfig) -> AuraApi:
    from webhook.aura.api import AuraApi

    try:
        return AuraApi.from_config(config.aura)
    except (AuraUplinkError, ValueError) as error:  # no url, no credentials
        raise ConfigProblem(str(error)) from None


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str))
