"""From an accepted uplink to what the store commits: template choice, decoding, AURA events.

Decoding runs before the store transaction (it needs no state, and a slow or buggy decoder must
not hold the write lock); only the mapping, which reads the device's state, runs inside it.
An uplink that cannot be decoded — no template, bad payload text, a frame the model rejects, even
a decoder bug — is still stored, raw, as ``undecodable``, so it can be re-decoded after a fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from decoders import decode
from decoders.envelopes.shown import printable
from decoders.envelopes.sigfox import parse_sigfox
from decoders.errors import DecodeError
from decoders.mapping import events_for
from decoders.templates import Template, select_template
from decoders.types import Battery, Location, Message, Status, Uplink
from webhook.store import IngestResult, Plan, PlanFn, StoredUplink, TxReader

log = logging.getLogger("aura_uplink.ingest")
IGNORED = Plan(status="ignored")

# Key suffix of a Sigfox DATA_ADVANCED callback: the same radio message as the DATA callback.
ADVANCED = ":advanced"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A plan for the store, and the reason the uplink is undecodable if it is."""

    plan: PlanFn
    error: str | None = None


def plan_uplink(
    uplink: Uplink,
    template: Template | None,
    *,
    now: datetime,
    partner_key: str | None = None,
) -> Prepared:
    """The store plan for one uplink. ``partner_key`` is the dedup key of another callback that
    carries the same radio message (Sigfox DATA vs DATA_ADVANCED): if it was stored first, this
    one adds only its network fix — one press never opens two callouts."""
    if uplink.kind == "other" or (template is None and uplink.kind != "uplink"):
        return Prepared(lambda reader: IGNORED)
    if template is None:
        return _undecodable(f"no template matches {uplink.network} device {uplink.device}")
    messages: tuple[Message, ...] = ()
    if uplink.kind == "status":
        # A network's device-status report: the level when it has one, else a heartbeat (the
        # mapping repeats the last known level at most once per heartbeat interval).
        if uplink.battery_percent is not None:
            messages = (Battery(percent=round(uplink.battery_percent)),)
        else:
            messages = (Status("heartbeat"),)
    elif uplink.kind == "uplink":
        if uplink.payload_error is not None:
            return _undecodable(uplink.payload_error, template)
        try:
            messages = decode(template.model, uplink.payload, uplink.port).messages
        except DecodeError as error:
            return _undecodable(str(error), template)
        except Exception as error:  # a decoder bug must not lose a possible panic
            log.exception("decoder %s failed on %s", template.model.id, uplink.payload.hex())
            return _undecodable(f"internal decoder error: {error!r}", template)

    def plan(reader: TxReader) -> Plan:
        meaning = messages
        if partner_key is not None and reader.uplink_exists(partner_key):
            meaning = ()  # the partner callback already acted on this radio message
        if uplink.network_location is not None:
            meaning = (*meaning, Location(uplink.network_location))
        # The key of the device's state and queue comes from the template's rule, so it stays
        # the same when the device is linked later; the events carry AURA's deviceId.
        device_key = f"{template.device_type_id}:{template.device_id.derive(uplink.device)}"
        events, state = events_for(
            template,
            uplink.device,
            meaning,
            reader.state(device_key),
            now=now,
            device_id=_aura_device_id(reader, uplink.device),
            sequence=uplink.sequence,
        )
        return Plan(
            status="decoded",
            model=template.model.id,
            template=template.name,
            events=[(device_key, event) for event in events],
            states={device_key: state},
        )

    return Prepared(plan)


def log_warnings(uplink: Uplink, result: IngestResult) -> None:
    """Say which optional parts of a newly stored uplink's body were dropped (a network fix out
    of range, a malformed device type): kept with the uplink too (``store list``)."""
    if uplink.warnings and not result.duplicate:
        said = "; ".join(w["message"] for w in uplink.warnings)
        log.warning(
            "uplink %s stored without part of its body: %s", uplink.dedup_key, printable(said, 500)
        )


_warned_unlinked: set[str] = set()


def _aura_device_id(reader: TxReader, network_id: str) -> str | None:
    """The ``deviceId`` AURA gave the device when it was linked (docs/aura-api.md §2.1); None:
    never linked here, and the template's derivation rule stands in (said once per device)."""
    linked = reader.linked_device_id(network_id)
    if linked is None and network_id not in _warned_unlinked:
        _warned_unlinked.add(network_id)
        log.warning(
            "device %s is not linked to an AURA customer (aura-uplink devices link): its events"
            " use the template's device_id rule",
            network_id,
        )
    return linked


def _undecodable(error: str, template: Template | None = None) -> Prepared:
    plan = Plan(
        status="undecodable",
        error=error,
        model=None if template is None else template.model.id,
        template=None if template is None else template.name,
    )
    return Prepared(lambda reader: plan, error)


def replan_stored(stored: StoredUplink, templates: Mapping[str, Template]) -> Prepared:
    """A fresh plan for a stored uplink (``aura-uplink store replay --undecodable``), from its
    raw callback body, with the templates and models as they are now."""
    record = stored.record
    key = record.dedup_key
    if record.network != "sigfox":
        raise ValueError(f"re-decoding {record.network} uplinks is not supported yet")
    uplink = replace(parse_sigfox(record.raw), dedup_key=key)
    partner = key.removesuffix(ADVANCED) if key.endswith(ADVANCED) else key + ADVANCED
    template = select_template(templates, uplink)
    return plan_uplink(uplink, template, now=uplink.received_at, partner_key=partner)
