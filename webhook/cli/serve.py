"""``aura-uplink serve``: the webhook and its delivery worker (:mod:`webhook.service`)."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace

import click

from decoders.errors import ConfigError
from webhook.config import load_config, load_demo_config
from webhook.errors import CannotStart


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--demo",
    is_flag=True,
    help="Use the demo configuration shipped with the package (AURA simulator on 127.0.0.1:8081).",
)
@click.option("--host", help="Listen address (default from config: 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default from config: 8080).")
def serve_command(config_path: str | None, demo: bool, host: str | None, port: int | None) -> None:
    """Run the webhook and the delivery worker (waitress, SQLite store in the data directory)."""
    # Imported here: `aura-uplink decode` should not pay for waitress and the store.
    from webhook.service import serve

    if demo and config_path is not None:
        raise click.UsageError("--demo and --config are alternatives: give one")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_demo_config() if demo else load_config(config_path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    config = replace(config, host=host or config.host, port=config.port if port is None else port)
    try:
        serve(config)
    except CannotStart as error:
        click.echo(f"aura-uplink serve: {error}", err=True)
        sys.exit(3)
