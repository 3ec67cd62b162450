"""``aura-uplink serve``: the webhook and its delivery worker (:mod:`webhook.service`).

Every way it can fail to start is one line on stderr and an exit status (docs/design.md §14): 2
for a config it cannot read or use (a missing or unreadable file included), 3 when the service
cannot start (the port is taken, the data directory cannot be made, the store is corrupt or
cannot commit). Never a traceback: the operator reads the line, not our stack."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from typing import NoReturn

import click

from decoders.errors import ConfigError
from webhook.config import load_config, load_demo_config
from webhook.errors import CannotStart


@click.command("serve")
# No click.Path(exists=True) or readability check: click would answer a missing or unreadable
# file with its usage text, on four lines; load_config says it in one.
@click.option("--config", "config_path", type=click.Path(readable=False), help="Service TOML.")
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
        _fail("--demo and --config are alternatives: give one", 2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_demo_config() if demo else load_config(config_path)
    except ConfigError as error:
        _fail(str(error), 2)
    config = replace(config, host=host or config.host, port=config.port if port is None else port)
    try:
        serve(config)
    except CannotStart as error:
        _fail(str(error), 3)


def _fail(message: str, status: int) -> NoReturn:
    click.echo(f"aura-uplink serve: {message}", err=True)
    sys.exit(status)
