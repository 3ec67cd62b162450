"""``aura-uplink customers create | update | get | delete``: AURA customers
(docs/aura-api.md §5), so a whole onboarding — customer, device link, events — is scriptable.
Bodies go to AURA as given (documented fields and any others), answers come back as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from webhook.cli.common import config_option, echo_json, load, open_aura

json_option = click.option(
    "--json",
    "body_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help='The request body, e.g. {"customer": {"name", "surname", "mobile"}}; - for stdin.',
)
if TYPE_CHECKING:
    from webhook.aura.api import AuraApi

id_option = click.option("--customer-id", type=int, required=True, help="AURA customer id.")


def _body(handle: Any) -> dict[str, Any]:
    try:
        body = json.load(handle)
    except ValueError as error:
        raise click.UsageError(f"--json: not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise click.UsageError("--json: the body must be a JSON object")
    return body


def _run(config_path: str | None, call: Callable[[AuraApi], Any]) -> None:
    from webhook.aura.api import AuraRefused

    api = open_aura(load(config_path))
    try:
        echo_json(call(api))
    except AuraRefused as error:
        click.echo(f"aura-uplink customers: {error}", err=True)
        sys.exit(1)
    finally:
        api.close()


@click.group("customers")
def customers_group() -> None:
    """Create, read, update and (soft) delete AURA customers."""


@customers_group.command("create")
@config_option
@json_option
def create_command(config_path: str | None, body_file: Any) -> None:
    """POST /panic-api/v2/customers (optionally with a subscription)."""
    body = _body(body_file)
    _run(config_path, lambda api: api.create_customer(body))


@customers_group.command("get")
@config_option
@id_option
def get_command(config_path: str | None, customer_id: int) -> None:
    """GET /panic-api/v2/customers/{customerId}."""
    _run(config_path, lambda api: api.get_customer(customer_id))


@customers_group.command("update")
@config_option
@id_option
@json_option
def update_command(config_path: str | None, customer_id: int, body_file: Any) -> None:
    """PUT /panic-api/v2/customers/{customerId} with {"customer": {...}}."""
    body = _body(body_file)
    _run(config_path, lambda api: api.update_customer(customer_id, body))


@customers_group.command("delete")
@config_option
@id_option
def delete_command(config_path: str | None, customer_id: int) -> None:
    """Soft delete: POST /panic-api/v2/customers/{customerId}/delete."""
    _run(config_path, lambda api: api.delete_customer(customer_id))
