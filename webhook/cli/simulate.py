"""``aura-uplink simulate-aura``: the AURA simulator (:mod:`webhook.aurasim`) for local work.

The simulator is imported only when the command runs, so the rest of the CLI never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from webhook.aurasim import DeviceType, SerialRule

DEVICE_TYPE_HELP = (
    "A device type AURA provisioned, as ID=SUPPLIER[,RULE] with RULE last:N (default last:8), "
    "substring:START,LENGTH or regex:PATTERN. Repeatable."
)


def _rule(kind: str, value: str) -> SerialRule:
    from webhook.aurasim import SerialRule

    builders = {
        "last": lambda: SerialRule.last(int(value)),
        "substring": lambda: SerialRule.substring(*(int(v) for v in value.split(",", 1))),
        "regex": lambda: SerialRule.regex(value),
    }
    if kind not in builders:
        raise ValueError(f"unknown rule {kind!r} (last, substring, regex)")
    return builders[kind]()


def parse_device_types(
    ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]
) -> dict[int, DeviceType]:
    """``ID=SUPPLIER[,RULE]`` options as the ``device_types`` of :class:`SimState`."""
    from webhook.aurasim import DeviceType

    types: dict[int, DeviceType] = {}
    for spec in specs:
        type_id, _, rest = spec.partition("=")
        supplier, _, rule = rest.partition(",")
        try:
            if not type_id.strip().isdigit() or not supplier.strip():
                raise ValueError("expected ID=SUPPLIER[,RULE]")
            kind, _, value = rule.partition(":")
            device_type = (
                DeviceType(supplier.strip(), _rule(kind, value))
                if rule
                else DeviceType(supplier.strip())
            )
        except (TypeError, ValueError) as exc:  # a bad number or regex: one line, no traceback
            raise click.BadParameter(f"{spec!r}: {exc}", ctx, param) from exc
        types[int(type_id)] = device_type
    return types


@click.command("simulate-aura")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--client-id", default="aura-sim-client", show_default=True)
@click.option("--client-secret", default="aura-sim-secret", show_default=True)
@click.option(
    "--token-ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=3600.0,
    show_default=True,
    help="Token lifetime in seconds.",
)
@click.option(
    "--token-spelling",
    type=click.Choice(["camel", "snake"]),
    default="camel",
    show_default=True,
    help="accessToken/tokenType/expiresIn (camel) or access_token/token_type/expires_in.",
)
@click.option(
    "--token-expiry",
    type=click.Choice(["seconds", "epoch", "omit"]),
    default="seconds",
    show_default=True,
    help="The token answer's expiry: a lifetime, an epoch time, or none.",
)
@click.option(
    "--require-links",
    is_flag=True,
    help="Refuse (400) device events from devices not linked with POST /panic-api/v2/devices.",
)
@click.option(
    "--device-type",
    "device_types",
    multiple=True,
    callback=parse_device_types,
    help=DEVICE_TYPE_HELP,
)
def simulate_aura_command(
    host: str,
    port: int,
    client_id: str,
    client_secret: str,
    token_ttl: float,
    token_spelling: str,
    token_expiry: str,
    require_links: bool,
    device_types: dict[int, DeviceType],
) -> None:
    """Run the AURA simulator: token, customers, device links, device events (AURA's documented
    API, docs/aura-api.md), and fault injection and readback under /_sim."""
    from webhook.aurasim import SimState, serve_simulator

    state = SimState(
        client_id,
        client_secret,
        token_ttl=token_ttl,
        token_spelling=token_spelling,
        token_expiry=token_expiry,
        require_links=require_links,
        device_types=device_types,
    )
    serve_simulator(host, port, client_id=client_id, client_secret=client_secret, state=state)
