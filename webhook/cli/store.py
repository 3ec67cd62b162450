"""``aura-uplink store status | list | replay | check | prune``: look into the store, recover
from failures, check the file before trusting it again, and prune what retention lets go."""

from __future__ import annotations

import json
import sys

import click

from decoders.envelopes.shown import printable
from decoders.errors import ConfigError
from webhook.aura.answers import event_answer
from webhook.cli.common import ConfigProblem, config_option, echo_json, load, open_store
from webhook.config import ServiceConfig
from webhook.ingest import replan_stored
from webhook.store import Store


def _open(config_path: str | None) -> tuple[ServiceConfig, Store]:
    config = load(config_path)
    return config, open_store(config)


@click.group("store")
def store_group() -> None:
    """Inspect the durable store; replay dead-lettered events and undecodable uplinks."""


@store_group.command("status")
@config_option
def status_command(config_path: str | None) -> None:
    """Counts of events by state and uplinks by status, and the oldest undelivered event."""
    _, store = _open(config_path)
    click.echo(json.dumps(store.status(), indent=2, sort_keys=True))


@store_group.command("check")
@config_option
def check_command(config_path: str | None) -> None:
    """The checks `serve` makes before it takes traffic: the file header, the schema, a real
    commit and PRAGMA quick_check (whatever the size). Prints "ok", or the problem and how to
    recover, and exits 1."""
    from webhook.errors import CannotStart
    from webhook.startup import open_checked_store

    config = load(config_path)
    if config.store.url is None and not config.database.exists():
        raise ConfigProblem(f"no store at {config.database} (is --config right?)")
    try:
        store, _ = open_checked_store(config, inline_check_max_bytes=sys.maxsize)
    except CannotStart as error:
        click.echo(f"aura-uplink store check: {error}", err=True)
        sys.exit(1)
    store.close()
    click.echo(f"{config.store_label}: ok")


@store_group.command("list")
@config_option
@click.option("--events", "what", flag_value="events", default=True, help="List events.")
@click.option("--uplinks", "what", flag_value="uplinks", help="List uplinks.")
@click.option("--state", help="Only events in this state / uplinks with this status.")
@click.option("--limit", type=int, default=50, show_default=True)
def list_command(config_path: str | None, what: str, state: str | None, limit: int) -> None:
    """One JSON object per line, newest first. A delivered event shows AURA's answer as
    ``aura``: the resolved event types and the callout id."""
    _, store = _open(config_path)
    if what == "events":
        for event in store.list_events(state, limit):  # type: ignore[arg-type]
            echo_json(event.as_json() | {"aura": event_answer(event.response)})
    else:
        for uplink in store.list_uplinks(state, limit):  # type: ignore[arg-type]
            echo_json(uplink.as_json())


@store_group.command("replay")
@config_option
@click.option("--dead", "dead_ids", multiple=True, type=int, help="Dead event id (repeatable).")
@click.option("--all-dead", is_flag=True, help="Replay every dead-lettered event.")
@click.option("--undecodable", is_flag=True, help="Decode undecodable uplinks again.")
def replay_command(
    config_path: str | None, dead_ids: tuple[int, ...], all_dead: bool, undecodable: bool
) -> None:
    """Send dead-lettered events again (same idempotency key), or re-decode uplinks that could
    not be decoded, with the templates as they are now. A running `serve` delivers them."""
    if not (dead_ids or all_dead or undecodable):
        raise click.UsageError("give --dead ID, --all-dead or --undecodable")
    config, store = _open(config_path)
    if dead_ids or all_dead:
        count = store.replay_dead(None if all_dead else list(dead_ids))
        click.echo(f"{count} dead event(s) queued again")
    if undecodable:
        fixed = still = 0
        for stored in store.undecodable_uplinks():
            # Sigfox, The Things Stack and ChirpStack alike: the route's parser, template choice
            # and plan again, under the stored dedup key (the same uplink, never a second one).
            named = f"uplink {stored.id} ({printable(stored.record.dedup_key, 200)})"
            try:
                prepared = replan_stored(stored, config.templates)
            except (ValueError, ConfigError) as error:
                click.echo(f"{named} still undecodable: {error}", err=True)
                still += 1
                continue
            store.replace_uplink_outcome(stored.id, prepared.plan, prepared.warnings)
            if prepared.error is None:
                fixed += 1
            else:
                still += 1
                click.echo(f"{named} still undecodable: {prepared.error}", err=True)
        click.echo(f"{fixed} uplink(s) decoded, {still} still undecodable")
        if still:
            sys.exit(1)


@store_group.command("prune")
@config_option
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0, min_open=True),
    help="Prune what is older than this  [default: [store] retention_days].",
)
def prune_command(config_path: str | None, dry_run: bool, older_than_days: float | None) -> None:
    """Remove delivered events and decoded or ignored uplinks older than N days (as `serve`
    does continuously), in small batches; dead letters, open events and undecodable uplinks
    stay. Prints {"older_than", "uplinks", "events", "dry_run"} as JSON."""
    import time

    from webhook.pruner import cutoff, iso, prune

    config = load(config_path)
    days = config.store.retention_days if older_than_days is None else older_than_days
    if not days > 0:
        click.echo(
            "store.retention_days = 0 keeps everything: nothing to prune"
            " (--older-than-days N prunes anyway)",
            err=True,
        )
        echo_json({"older_than": None, "uplinks": 0, "events": 0, "dry_run": dry_run})
        return
    store = open_store(config)
    try:
        older_than = cutoff(time.time(), days)
        if dry_run:
            found = store.prunable(older_than)
        else:
            # A running `serve` shares the store: its writes get the lock between batches.
            found, _ = prune(store, older_than, pause_s=0.01)
    finally:
        store.close()
    echo_json(
        {
            "older_than": iso(older_than),
            "uplinks": found.uplinks,
            "events": found.events,
            "dry_run": dry_run,
        }
    )
