"""``/status``: the operator's page (docs/design.md §14). Devices, events on their way to AURA,
dead letters with a replay button, undecodable uplinks with a re-decode button, AURA's refusals.

Server-rendered HTML (a Jinja template shipped as package data), readable without JavaScript,
every value escaped (a device id is whatever a network server sent). Behind the operator secret
like ``/status.json``: HTTP Basic with the secret as the password, 404 without one configured.

The buttons are POST forms with a CSRF token: a browser sends cached Basic credentials with any
request, including one another site's page makes it send, so credentials alone do not show the
operator meant it. The token is an HMAC, under a key this process drew at random, of what the
form does (``replay:42``): another site cannot read it from our page nor compute it. A restart
draws a new key; a form from before it is refused (403) and a reload gives a fresh one.
After a POST the answer is a 303 back to the page (a reload does not repeat the action), with
a notice chosen from a fixed table by code: no text from the request reaches the page.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as BaseResponse

from decoders.errors import ConfigError
from webhook.http.operator import require_operator
from webhook.http.runtime import runtime
from webhook.http.status_view import age, read_view, when
from webhook.ingest import replan_stored

log = logging.getLogger("aura_uplink.status")

status_page = Blueprint("status_page", __name__, template_folder="templates")
status_page.before_request(require_operator)  # the same rule as the operator's other routes

_KEY = "aura_uplink.status_csrf_key"
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
MIN_REFRESH_S = 5  # ?refresh=N reloads the page every N s (a <meta> tag: no script needed)

# What the page says after an action: ``?done=<code>&id=<n>``; unknown codes say nothing.
NOTICES = {
    "replayed": "Dead letter {id} is queued again; the delivery worker sends it now.",
    "not-dead": "Event {id} is not a dead letter (any more): nothing was replayed.",
    "decoded": "Uplink {id} was decoded; the events it makes are queued for AURA.",
    "still-undecodable": (
        "Uplink {id} is still undecodable with the templates this process loaded; its error"
        " below is the new one. After a fix in the configuration, restart serve first."
    ),
    "unreadable": "Uplink {id}'s stored body could not be parsed again (the log says why).",
    "not-undecodable": "Uplink {id} is not undecodable (any more): nothing was done.",
}


@status_page.record_once
def _draw_key(state: BlueprintSetupState) -> None:
    state.app.extensions[_KEY] = secrets.token_bytes(32)


def csrf_token(action: str) -> str:
    """The token a form for ``action`` (e.g. ``replay:42``) must carry."""
    key: bytes = current_app.extensions[_KEY]
    return hmac.new(key, action.encode(), hashlib.sha256).hexdigest()


def _require_token(action: str) -> None:
    given = request.form.get("csrf_token", "")
    if not hmac.compare_digest(given.encode(), csrf_token(action).encode()):
        abort(403, "missing or wrong CSRF token: reload /status and try again")


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return min(max(value, low), high)


def _secured(answer: BaseResponse, nonce: str | None = None) -> BaseResponse:
    """The page's own headers: nothing loads from elsewhere, no script runs, no site frames it
    (a framed page could be clicked through by its host), nothing is cached or leaks on."""
    style = f"'nonce-{nonce}'" if nonce else "'none'"
    answer.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {style}; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'"
    )
    answer.headers["X-Frame-Options"] = "DENY"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Referrer-Policy"] = "no-referrer"
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _back(done: str, ident: int) -> BaseResponse:
    limit = request.args.get("limit")
    target = url_for("status_page.page", done=done, id=ident, limit=limit)
    return _secured(redirect(target, 303))


@status_page.get("/status")
def page() -> Any:
    shared = runtime()
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    refresh = _int_arg("refresh", 0, 0, 3600)
    view = read_view(shared.store, shared.config.templates, limit)
    notice = NOTICES.get(request.args.get("done", ""))
    ident = _int_arg("id", 0, 0, 2**63 - 1)
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "status_page/status.html",
        view=view,
        notice=None if notice is None else notice.format(id=ident),
        refresh=refresh and max(refresh, MIN_REFRESH_S),
        limit=limit,
        token=csrf_token,
        when=when,
        age=age,
        style_nonce=nonce,
    )
    return _secured(Response(html, mimetype="text/html"), nonce)


@status_page.post("/status/events/<int:event_id>/replay")
def replay(event_id: int) -> Any:
    """Put a dead letter back in its device's queue (``store replay --dead ID``): same
    idempotency key, attempts from zero, before the device's later events."""
    _require_token(f"replay:{event_id}")
    shared = runtime()
    if shared.store.replay_dead([event_id]) == 0:
        return _back("not-dead", event_id)
    log.warning("operator replayed dead letter %d from /status", event_id)
    shared.on_commit()  # wake the delivery worker: it sends the event now
    return _back("replayed", event_id)


@status_page.post("/status/uplinks/<int:uplink_id>/redecode")
def redecode(uplink_id: int) -> Any:
    """Decode an undecodable uplink again with the templates this process loaded, as ``store
    replay --undecodable`` does (webhook/ingest.py ``replan_stored``): the same uplink, its
    events queued for AURA."""
    _require_token(f"redecode:{uplink_id}")
    shared = runtime()
    stored = shared.store.get_uplink(uplink_id)
    if stored is None:
        abort(404, f"no uplink {uplink_id}")
    if stored.status != "undecodable":
        return _back("not-undecodable", uplink_id)
    try:
        prepared = replan_stored(stored, shared.config.templates)
    except (ValueError, ConfigError) as error:
        log.error("uplink %d from /status: still undecodable: %s", uplink_id, error)
        return _back("unreadable", uplink_id)
    result = shared.store.replace_uplink_outcome(uplink_id, prepared.plan, prepared.warnings)
    if result.duplicate:  # someone else re-decoded it between our read and our write
        return _back("not-undecodable", uplink_id)
    if result.event_ids:
        shared.on_commit()
    if prepared.error is not None:
        return _back("still-undecodable", uplink_id)
    log.warning("operator re-decoded uplink %d from /status", uplink_id)
    return _back("decoded", uplink_id)
