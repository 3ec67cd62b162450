"""The Things Stack v3 webhook (docs/networks.md §2.1).

The Things Stack does not retry by default: a slow or failed answer loses the uplink for good.
So the route does as little as the Sigfox ones — parse, commit, answer — and answers 2xx for
every message type it does not act on, so the server never disables the webhook.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from decoders.envelopes.lorawan import parse_ttn
from webhook.http.auth import refuse_unauthorized
from webhook.http.bodies import read_variables, refuse_long_query
from webhook.http.refusals import log_refusal
from webhook.http.runtime import now_utc, runtime, stored_answer
from webhook.ingest import log_warnings

ttn = Blueprint("ttn", __name__)
ttn.after_request(log_refusal)


@ttn.before_request
def check_ttn_secret() -> Any:
    refuse_long_query()
    return refuse_unauthorized("ttn")


# The Things Stack posts to the webhook's base URL joined with the message type's path (the
# console's "uplink message" path, e.g. "uplink" or "/uplink"): the base URL /ttn/uplink with
# that path is /ttn/uplink/uplink. Whatever path is set, the route is the same and the body says
# what the message is; a base URL written with a trailing slash and no path ends in "/".
@ttn.post("/ttn/uplink")
@ttn.post("/ttn/uplink/")
@ttn.post("/ttn/uplink/<path:message_path>")
def ttn_uplink(message_path: str = "") -> Any:
    """Every message type The Things Stack sends (uplink_message, join_accept, location_solved,
    downlink_*, ...), on one path or several: the body says which it is, not ``message_path``."""
    uplink = parse_ttn(read_variables(request), now=now_utc())
    result = runtime().accept(uplink, runtime().template_for(uplink))
    log_warnings(uplink, result)
    return stored_answer(result, kind=uplink.kind)
