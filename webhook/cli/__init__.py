"""The ``aura-uplink`` command (click, bundled with Flask): one module per command group."""

from __future__ import annotations

import click

from webhook.cli.aura import aura_group
from webhook.cli.check_config import check_config_command
from webhook.cli.customers import customers_group
from webhook.cli.decode import decode_command
from webhook.cli.devices import devices_group
from webhook.cli.models import models_command
from webhook.cli.serve import serve_command
from webhook.cli.simulate import simulate_aura_command
from webhook.cli.store import store_group
from webhook.logs import DEFAULT_LEVEL, FORMATS, LEVELS, configure


@click.group()
@click.version_option(package_name="aura-uplink")
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    help="Log lines as text or as one JSON object a line (serve: overrides [service] log_format).",
)
@click.option(
    "--log-level",
    type=click.Choice(LEVELS, case_sensitive=False),
    help=f"The least severe level logged (default {DEFAULT_LEVEL} once either option is given).",
)
def main(log_format: str | None, log_level: str | None) -> None:
    """Decode Sigfox/LoRaWAN panic-button and tracker frames and deliver them to AURA."""
    # Without either option each command logs as it always did (serve: text at INFO).
    if log_format is not None or log_level is not None:
        configure(log_format, None if log_level is None else log_level.upper())


COMMANDS = (
    models_command,
    decode_command,
    serve_command,
    check_config_command,
    simulate_aura_command,
    store_group,
    aura_group,
    devices_group,
    customers_group,
)
for command in COMMANDS:
    main.add_command(command)
