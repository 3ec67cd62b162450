"""What the command groups share: the ``--config`` option, loading it (a bad file is a usage
error, exit 2), opening the store and AURA's API from it, and printing JSON.

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
    from webhook.store import SqliteStore

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, exists=True), help="Service TOML."
)


def load(config_path: str | None) -> ServiceConfig:
    try:
        return load_config(config_path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def open_store(config: ServiceConfig, *, create: bool = False) -> SqliteStore:
    """The store in the config's data dir; it must exist unless ``create``."""
    from webhook.store import SqliteStore

    if create:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    elif not config.database.exists():
        raise click.UsageError(f"no store at {config.database} (is --config right?)")
    return SqliteStore(config.database)


def open_aura(config: ServiceConfig) -> AuraApi:
    from webhook.aura.api import AuraApi

    try:
        return AuraApi.from_config(config.aura)
    except (AuraUplinkError, ValueError) as error:  # no url, no credentials
        raise click.UsageError(str(error)) from None


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str))
