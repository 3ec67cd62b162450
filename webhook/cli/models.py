"""``aura-uplink models``: the device models this version decodes."""

from __future__ import annotations

import json

import click

from decoders.models import MODELS


@click.command("models")
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
