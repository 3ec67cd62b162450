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

from decoders.decode import decode_uplink
from decoders.envelopes.lorawan import parse_chirpstack, parse_ttn
from decoders.envelopes.shown import printable
from decoders.envelopes.sigfox import parse_sigfox
from decoders.errors import DecodeError, EnvelopeError
from decoders.mapping import events_for
from decoders.templates import Template, select_template
from decoders.types import Battery, Location, Message, Status, Uplink, UplinkWarning
from webhook.store import (
    IngestResult,
    Plan,
    PlanFn,
    PlanReads,
    StoredUplink,
    TxReader,
    UplinkRecord,
)

log = logging.getLogger("aura_uplink.ingest")
IGNORED = Plan(status="ignored")

# Key suffix of a Sigfox DATA_ADVANCED callback: the same radio message as the DATA callback.
ADVANCED = ":advanced"
# How the LoRaWAN routes' dedup keys start (docs/networks.md §3): they say which route it was.
TTN_KEY = "ttn:"
CHIRPSTACK_KEY = "chirpstack:"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A plan for the store, and the reason the uplink is undecodable if it is."""

    plan: PlanFn
    error: str | None = None
    # What the decoder read but did not trust (docs/design.md §14), kept beside the uplink.
    warnings: tuple[UplinkWarning, ...] = ()
    # What the plan stores the uplink as, for /metrics (the plan runs inside the transaction).
    status: str = "decoded"
    # What the plan will read, for the store to fetch ahead (None: it reads nothing).
    reads: PlanReads | None = None


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
        return Prepared(lambda reader: IGNORED, status=IGNORED.status)
    if template is None:
        return _undecodable(f"no template matches {uplink.network} device {uplink.device}")
    messages: tuple[Message, ...] = ()
    warnings: tuple[UplinkWarning, ...] = ()
    if uplink.kind == "status":
        # A network's device-status report: the level when it has one, else a heartbeat (the
        # mapping repeats the last known level at most once per heartbeat interval).
        if uplink.battery_percent is not None:
            messages = (Battery(percent=round(uplink.battery_percent)),)
        else:
            messages = (Status("heartbeat"),)
    elif uplink.kind == "uplink":
        # A template on the network's decoded payload does not read the frame: bad frame text
        # does not stop it (its decoded payload, or the lack of one, decides).
        if uplink.payload_error is not None and template.source != "network":
            return _undecodable(uplink.payload_error, template)
        try:
            decoded = decode_uplink(template, uplink)
            messages, warnings = decoded.messages, decoded.warnings
        except DecodeError as error:
            return _undecodable(str(error), template)
        except Exception as error:  # a decoder bug must not lose a possible panic
            log.exception("decoder %s failed on %s", template.model.id, uplink.payload.hex())
            return _undecodable(f"internal decoder error: {error!r}", template)

    # The key of the device's state and queue comes from the template's rule, so it stays the
    # same when the device is linked later; the events carry AURA's deviceId.
    device_key = f"{template.device_type_id}:{template.device_id.derive(uplink.device)}"

    def plan(reader: TxReader) -> Plan:
        meaning = messages
        if partner_key is not None and reader.uplink_exists(partner_key):
            meaning = ()  # the partner callback already acted on this radio message
        if uplink.network_location is not None:
            meaning = (*meaning, Location(uplink.network_location))
        events, state = events_for(
            template,
            uplink.device,
            meaning,
            reader.state(device_key),
            now=now,
            device_id=_aura_device_id(reader, uplink.device),
            sequence=uplink.sequence,
            trusted=not warnings,
        )
        return Plan(
            status="decoded",
            model=template.model.id,
            template=template.name,
            events=[(device_key, event) for event in events],
            states={device_key: state},
        )

    reads = PlanReads(device_key, uplink.device, partner_key)
    return Prepared(plan, warnings=warnings, reads=reads)


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
    return Prepared(lambda reader: plan, error, status=plan.status)


def replan_stored(stored: StoredUplink, templates: Mapping[str, Template]) -> Prepared:
    """A fresh plan for a stored uplink (``aura-uplink store replay --undecodable``), from its
    raw callback body, with the templates and models as they are now: the same parser, template
    choice and plan as the route that accepted it, under the stored dedup key (so the store
    updates that uplink, never adds a second). A body that cannot be parsed again, or whose
    sender cannot be told, is a :class:`ValueError` naming the uplink."""
    uplink, partner = _parse_stored(stored.record)
    template = select_template(templates, uplink)
    return plan_uplink(uplink, template, now=uplink.received_at, partner_key=partner)


def _parse_stored(record: UplinkRecord) -> tuple[Uplink, str | None]:
    """The :class:`Uplink` a route made of ``record``'s raw body, and its partner key.

    Which route it was is not a column: the dedup key says it (docs/networks.md §3), and that
    holds for uplinks stored by any version. ``sigfox`` records came from the Sigfox callbacks
    (DATA_ADVANCED ones end in ``:advanced``); LoRaWAN keys start with ``ttn:`` (The Things
    Stack) or ``chirpstack:`` (ChirpStack, whose ``?event=`` is found by
    :func:`_parse_chirpstack_stored`). The received time stored with the uplink stands in for a body
    without one, as the clock did when it arrived."""
    key = record.dedup_key
    partner: str | None = None
    if record.network == "sigfox":
        uplink = parse_sigfox(record.raw)
        partner = key.removesuffix(ADVANCED) if key.endswith(ADVANCED) else key + ADVANCED
    elif record.network == "lorawan" and key.startswith(TTN_KEY):
        uplink = parse_ttn(record.raw, now=record.received_at)
    elif record.network == "lorawan" and key.startswith(CHIRPSTACK_KEY):
        uplink = _parse_chirpstack_stored(record)
    else:
        raise ValueError(
            f"cannot re-decode {record.network} uplink {printable(key, 200)}: its key names no"
            " network route this version reads (sigfox, ttn:, chirpstack:)"
        )
    return replace(uplink, dedup_key=key), partner


def _parse_chirpstack_stored(record: UplinkRecord) -> Uplink:
    """``record``'s body parsed as the ``?event=`` ChirpStack posted it with (the event is not
    stored, and an ``up`` read as ``status`` would be another uplink). The route keys an ``up``
    event ``chirpstack:<id>`` and any other ``chirpstack:<event>:<id>``, where ``<id>`` comes
    from the body (its ``deduplicationId``, else its digest); so the body gives back the stored
    key under exactly one event, and that is the one (``up`` is tried first: a
    ``deduplicationId`` may itself hold a colon)."""
    key = record.dedup_key
    named = key.removeprefix(CHIRPSTACK_KEY).partition(":")
    candidates = ["up"] if not named[1] or named[0] == "up" else ["up", named[0]]
    refused: EnvelopeError | None = None
    for event in candidates:
        try:
            uplink = parse_chirpstack(record.raw, event, now=record.received_at)
        except EnvelopeError as error:
            refused = refused or error
            continue
        if uplink.dedup_key == key:
            return uplink
    why = f" ({refused})" if refused is not None else ""
    raise ValueError(
        f"cannot tell which ChirpStack event uplink {printable(key, 200)} was: its stored body"
        f" does not give back its key under ?event={' or ?event='.join(candidates)}{why}"
    )
