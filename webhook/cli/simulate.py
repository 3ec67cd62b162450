"""``aura-uplink simulate-aura``: the AURA simulator (:mod:`webhook.aurasim`) for local work."""

from __future__ import annotations

import click


@click.command("simulate-aura")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--client-id", default="aura-sim-client", show_default=True)
@click.option("--client-secret", default="aura-sim-secret", show_default=True)
def simulate_aura_command(host: str, port: int, client_id: str, client_secret: str) -> None:
    """Run the AURA simulator (deviceEvent, OAuth2 token, fault injection under /_sim)."""
    from webhook.aurasim import serve_simulator

    serve_simulator(host, port, client_id=client_id, client_secret=client_secret)
