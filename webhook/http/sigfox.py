"""Sigfox backend callbacks (docs/design.md §8; docs/networks.md §1).

One radio message can reach us through the DATA (UPLINK/BIDIR) callback at once and the
DATA_ADVANCED callback ~25 s later. Both share (device, seqNumber, time); the advanced one is
stored under that key + ``:advanced`` and each names the other as its partner, so whichever
arrives second adds only its network fix (``computedLocation``), never a second callout.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request

from decoders.envelopes.coerce import epoch_seconds, hex_id
from decoders.envelopes.limits import SIGFOX
from decoders.envelopes.shown import printable
from decoders.envelopes.sigfox import parse_sigfox, wants_downlink
from decoders.types import Uplink
from webhook.http.auth import refuse_unauthorized
from webhook.http.bodies import read_variables, refuse_long_query
from webhook.http.refusals import log_refusal
from webhook.http.runtime import now_utc, runtime, stored_answer
from webhook.ingest import ADVANCED, log_warnings

sigfox = Blueprint("sigfox", __name__)
sigfox.after_request(log_refusal)
log = logging.getLogger("aura_uplink.sigfox")


@sigfox.before_request
def check_secret() -> Any:
    refuse_long_query()
    return refuse_unauthorized("sigfox")


@sigfox.route("/sigfox/uplink", methods=["POST", "GET"])
def uplink() -> Any:
    body = read_variables_from_request()
    message = parse_sigfox(body)
    # Read before the commit: a bad `ack` must be a 400 with nothing stored, not a 400 after.
    downlink_requested = wants_downlink(body)
    template = runtime().template_for(message)
    result = runtime().accept(message, template, partner_key=message.dedup_key + ADVANCED)
    log_warnings(message, result)
    if downlink_requested:
        # BIDIR: the device listens for 8 bytes now; a retried callback gets the same answer.
        if template is None or template.downlink is None:
            return Response(status=204)
        return jsonify({message.device: {"downlinkData": template.downlink}}), 200
    return stored_answer(result)


@sigfox.post("/sigfox/advanced")
def advanced() -> Any:
    body = read_variables_from_request()
    base = parse_sigfox(body)
    message = replace(base, dedup_key=base.dedup_key + ADVANCED)
    result = runtime().accept(message, runtime().template_for(message), partner_key=base.dedup_key)
    log_warnings(message, result)
    return stored_answer(result)


@sigfox.post("/sigfox/status")
def status() -> Any:
    return _keep("status", read_variables_from_request())


@sigfox.post("/sigfox/ack")
def acknowledge() -> Any:
    return _keep("ack", read_variables_from_request())


@sigfox.post("/sigfox/error")
def error() -> Any:
    body = read_variables_from_request()
    # Keep-alive breach or network trouble: somebody should look at the device.
    log.warning("Sigfox ERROR callback: %s", printable(json.dumps(body), 500))
    return _keep("error", body)


def read_variables_from_request() -> dict[str, Any]:
    return read_variables(request)


def _keep(kind: str, body: dict[str, Any]) -> Any:
    """Service callbacks carry no frame; they are kept (raw) so nothing that arrived is lost."""
    device = hex_id(body, "device", SIGFOX) if body.get("device") else "-"
    time = epoch_seconds(body, "time", SIGFOX, required=False) or now_utc()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    record = Uplink(
        network="sigfox",
        device=device,
        payload=b"",
        received_at=time,
        dedup_key=f"sigfox-{kind}:{device}:{int(time.timestamp())}:{digest}",
        raw={"callback": kind, **body},
    )
    return stored_answer(runtime().keep(record))
