"""The ``aura-uplink`` command (click, bundled with Flask): one module per command group."""

from __future__ import annotations

import click

from webhook.cli.aura import aura_group
from webhook.cli.customers import customers_group
from webhook.cli.decode import decode_command
from webhook.cli.devices import devices_group
from webhook.cli.models import models_command
from webhook.cli.serve import serve_command
from webhook.cli.simulate import simulate_aura_command
from webhook.cli.store import store_group


@click.group()
@click.version_option(package_name="aura-uplink")
def main() -> None:
    """Decode Sigfox/LoRaWAN panic-button and tracker frames and deliver them to AURA."""


COMMANDS = (
    models_command,
    decode_command,
    serve_command,
    simulate_aura_command,
    store_group,
    aura_group,
    devices_group,
    customers_group,
)
for command in COMMANDS:
    main.add_command(command)
