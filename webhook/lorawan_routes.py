"""LoRaWAN network servers (DESIGN §8; specs/lorawan-webhooks.md §1.1-1.2).

Neither The Things Stack nor ChirpStack retries by default: a slow or failed answer loses the
uplink for good. So these routes do as little as the Sigfox ones — parse, commit, answer — and
answer 2xx for every message type they do not act on, so the server never disables the webhook.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from decoders.envelopes.lorawan import parse_chirpstack, parse_ttn
from decoders.errors import EnvelopeError
from decoders.templates import select_template
from decoders.types import Uplink
from webhook.app import refuse_unauthorized, runtime
from webhook.bodies import read_variables

ttn = Blueprint("ttn", __name__)
chirpstack = Blueprint("chirpstack", __name__)

CHIRPSTACK_EVENTS = ("up", "join", "ack", "txack", "log", "status", "location", "integration")


@ttn.before_request
def check_ttn_secret() -> Any:
    return refuse_unauthorized("ttn")


@chirpstack.before_request
def check_chirpstack_secret() -> Any:
    return refuse_unauthorized("chirpstack")


@ttn.post("/ttn/uplink")
def ttn_uplink() -> Any:
    """Every message type The Things Stack sends (uplink_message, join_accept, location_solved,
    downlink_*, ...), on one path or several: the body says which it is."""
    return _ingest(parse_ttn(read_variables(request)))


@chirpstack.post("/chirpstack")
def chirpstack_event() -> Any:
    event = request.args.get("event", "")
    if event not in CHIRPSTACK_EVENTS:
        raise EnvelopeError(
            f"query parameter 'event' must be one of {', '.join(CHIRPSTACK_EVENTS)}; got {event!r}",
            field="event",
        )
    if request.mimetype == "application/octet-stream":
        raise EnvelopeError(
            "protobuf bodies are not supported: set the HTTP integration to JSON", field="body"
        )
    return _ingest(parse_chirpstack(read_variables(request), event))


def _ingest(uplink: Uplink) -> Any:
    template = select_template(runtime().config.templates, uplink)
    result = runtime().accept(uplink, template)
    status = "duplicate" if result.duplicate else "stored"
    return jsonify(status=status, uplink_id=result.uplink_id, kind=uplink.kind), 200
