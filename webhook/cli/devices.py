"""``aura-uplink devices link | update | unlink | list | import``: link devices to AURA
customers (docs/aura-api.md §2) and keep the local registry whose ``deviceId`` every event of
the device carries. Each command prints AURA's answer (or the registry) as JSON lines; a refusal
is one line on stderr with AURA's message and exit 1."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from webhook.cli.common import config_option, echo_json, load, open_aura, open_store


def _run(action: Callable[[], Any]) -> None:
    from webhook.aura.api import AuraRefused
    from webhook.device_links import LinkError

    try:
        echo_json(action())
    except (AuraRefused, LinkError) as error:
        click.echo(f"aura-uplink devices: {error}", err=True)
        sys.exit(1)


@click.group("devices")
def devices_group() -> None:
    """Link devices to AURA customers; AURA's deviceId becomes their events' device_id."""


@devices_group.command("link")
@config_option
@click.option("--customer-id", type=int, required=True, help="AURA customer id.")
@click.option("--serial", required=True, help="The device's full serial (AURA deviceSerial).")
@click.option("--supplier", required=True, help="The device brand (AURA deviceSupplier).")
@click.option("--device-type", type=int, help="AURA device_type_id (deviceType).")
@click.option("--alias", help="A name for the device (deviceAlias).")
@click.option("--firmware", help="Firmware version.")
@click.option(
    "--network-id",
    help="The id its network uses (Sigfox id, DevEUI) when the serial is not that (an IMEI).",
)
def link_command(config_path: str | None, **options: Any) -> None:
    """Link a device to a customer (POST /panic-api/v2/devices)."""
    from webhook.device_links import LinkRequest, link

    config = load(config_path)
    request = LinkRequest(
        customer_id=options["customer_id"],
        serial=options["serial"],
        supplier=options["supplier"],
        device_type=options["device_type"],
        alias=options["alias"],
        firmware=options["firmware"],
        network_id=options["network_id"],
    )
    api, store = open_aura(config), open_store(config, create=True)
    _run(lambda: link(api, store, request))


@devices_group.command("update")
@config_option
@click.option("--serial", required=True)
@click.option("--customer-id", type=int)
@click.option("--device-type", type=int)
@click.option("--alias")
@click.option("--firmware")
def update_command(config_path: str | None, serial: str, **changes: Any) -> None:
    """Change a linked device (PUT /panic-api/v2/devices); other fields keep their value."""
    from webhook.device_links import update

    config = load(config_path)
    api, store = open_aura(config), open_store(config, create=True)
    _run(lambda: update(api, store, serial, **changes))


@devices_group.command("unlink")
@config_option
@click.option("--serial", required=True)
def unlink_command(config_path: str | None, serial: str) -> None:
    """Unlink a device (DELETE /panic-api/v2/devices/{deviceId}) and forget it here."""
    from webhook.device_links import unlink

    config = load(config_path)
    api, store = open_aura(config), open_store(config, create=True)
    _run(lambda: unlink(api, store, serial))


@devices_group.command("list")
@config_option
def list_command(config_path: str | None) -> None:
    """The local registry: one JSON object per linked device."""
    store = open_store(load(config_path), create=True)
    for link in store.links():
        echo_json(link.as_json())


@devices_group.command("import")
@config_option
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
def import_command(config_path: str | None, csv_file: Any) -> None:
    """Link every device of a CSV (columns customerId, deviceSerial, deviceSupplier; optional
    deviceType, alias, firmwareVersion, networkId). Idempotent: one JSON line per row, with
    result linked, updated, unchanged or failed; exit 1 if any row failed."""
    from webhook.device_links import LinkError, import_rows, read_rows

    config = load(config_path)
    try:
        rows = list(read_rows(csv_file))
    except LinkError as error:
        raise click.UsageError(str(error)) from None
    api, store = open_aura(config), open_store(config, create=True)
    failed = 0
    for result in import_rows(api, store, rows):
        failed += result.result == "failed"
        echo_json(result.as_json())
    sys.exit(1 if failed else 0)
