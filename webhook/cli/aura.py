"""``aura-uplink aura check``: can we talk to AURA? Gets a token, sends no event."""

from __future__ import annotations

import sys
import time

import click

from webhook.cli.common import config_option, echo_json, load, open_aura


@click.group("aura")
def aura_group() -> None:
    """Talk to the AURA tenant of the configuration."""


@aura_group.command("check")
@config_option
def check_command(config_path: str | None) -> None:
    """Get a token from AURA and print one JSON line: the URL and how long the token lasts.
    Exit 1 with AURA's message if no token can be had."""
    from webhook.aura.token import TokenUnavailable

    api = open_aura(load(config_path))
    try:
        token = api.tokens.current()
    except TokenUnavailable as error:
        click.echo(f"aura-uplink aura check: {error}", err=True)
        sys.exit(1)
    finally:
        api.close()
    lifetime = token.expires_at - time.time()
    echo_json(
        {
            "url": api.base_url,
            "token_url": api.tokens.token_url,
            "token_expires_in_s": None if api.tokens.is_static else round(lifetime),
        }
    )
