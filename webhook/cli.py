"""The ``aura-uplink`` command (click, bundled with Flask)."""

from __future__ import annotations

import json
import logging

import click

from decoders.errors import ConfigError
from decoders.models import MODELS
from webhook.config import load_config
from webhook.decode_command import decode_command
from webhook.store_commands import store_group


@click.group()
@click.version_option(package_name="aura-uplink")
def main() -> None:
    """Decode Sigfox/LoRaWAN panic-button and tracker frames and deliver them to AURA."""


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def models_command(as_json: bool) -> None:
    """List the device models this version decodes."""
    for model in sorted(MODELS.values(), key=lambda m: m.id):
        ports = ",".join(str(p) for p in model.ports) or "-"
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": model.id,
                        "network": model.network,
                        "ports": list(model.ports),
                        "title": model.title,
                        "source": model.source,
                    }
                )
            )
        else:
            click.echo(f"{model.id:<18} {model.network:<8} {ports:<10} {model.title}")


main.add_command(decode_command)
main.add_command(store_group)


@main.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True))
@click.option("--host", help="Listen address (default from config: 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default from config: 8080).")
def serve_command(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the webhook and the delivery worker (waitress, SQLite store in the data directory)."""
    from dataclasses import replace

    from webhook.serve import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    config = replace(config, host=host or config.host, port=config.port if port is None else port)
    serve(config)


@main.command("simulate-aura")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--client-id", default="aura-sim-client", show_default=True)
@click.option("--client-secret", default="aura-sim-secret", show_default=True)
def simulate_aura_command(host: str, port: int, client_id: str, client_secret: str) -> None:
    """Run the AURA simulator (deviceEvent, OAuth2 token, fault injection under /_sim)."""
    from webhook.aura_sim import serve_simulator

    serve_simulator(host, port, client_id=client_id, client_secret=client_secret)
