"""``aura-uplink models``: the device models this version decodes."""

from __future__ import annotations

import json

import click

from decoders.models import MODELS


def ports_text(ports: tuple[int, ...]) -> str:
    """fPorts as a datasheet writes them, runs collapsed: (1, 2, 3, 4, 85) → ``1-4,85``."""
    runs: list[list[int]] = []
    for port in sorted(ports):
        if runs and port == runs[-1][-1] + 1:
            runs[-1].append(port)
        else:
            runs.append([port])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r)) for r in runs) or "-"


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def models_command(as_json: bool) -> None:
    """List the device models this version decodes."""
    for model in sorted(MODELS.values(), key=lambda m: m.id):
        ports = ports_text(model.ports)
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
