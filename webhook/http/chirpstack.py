"""ChirpStack v4 HTTP integration (docs/networks.md §2.2): one URL, the event type in the
``event`` query parameter. Like The Things Stack, ChirpStack does not retry: parse, commit,
answer, and 2xx for every event type not acted on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from decoders.envelopes.lorawan import parse_chirpstack
from decoders.envelopes.shown import shown
from decoders.errors import EnvelopeError
from webhook.http.auth import refuse_unauthorized
from webhook.http.bodies import read_variables, refuse_long_query
from webhook.http.refusals import log_refusal
from webhook.http.runtime import now_utc, runtime, stored_answer
from webhook.ingest import log_warnings

chirpstack = Blueprint("chirpstack", __name__)
chirpstack.after_request(log_refusal)

CHIRPSTACK_EVENTS = ("up", "join", "ack", "txack", "log", "status", "location", "integration")


@chirpstack.before_request
def check_chirpstack_secret() -> Any:
    refuse_long_query()
    return refuse_unauthorized("chirpstack")


@chirpstack.post("/chirpstack")
def chirpstack_event() -> Any:
    event = request.args.get("event", "")
    if event not in CHIRPSTACK_EVENTS:
        raise EnvelopeError(
            f"query parameter 'event' must be one of {', '.join(CHIRPSTACK_EVENTS)};"
            f" got {shown(event)}",
            field="event",
        )
    if request.mimetype == "application/octet-stream":
        raise EnvelopeError(
            "protobuf bodies are not supported: set the HTTP integration to JSON", field="body"
        )
    uplink = parse_chirpstack(read_variables(request), event, now=now_utc())
    result = runtime().accept(uplink, runtime().template_for(uplink))
    log_warnings(uplink, result)
    return stored_answer(result, kind=uplink.kind)
