"""A stand-in for AURA: the only one tests may use, so it follows AURA's docs closely.

Routes (AURA's device-event integration document, docs/aura-api.md; docs/design.md §6):

``POST /oauth/token``
    OAuth2 client credentials (RFC 6749 §4.4). The client authenticates with HTTP Basic *or* the
    form fields ``client_id``/``client_secret`` (both at once: 400 ``invalid_request``, §2.3).
    200 ``{"access_token", "token_type": "Bearer", "expires_in"}``; bad client: 401
    ``invalid_client``; missing grant: 400 ``invalid_request``; other grant: 400
    ``unsupported_grant_type``. Tokens are random, live ``SimState.token_ttl`` seconds, and
    ``SimState.expire_tokens()`` kills them all.
``POST /panic-api/v2/deviceEvent``
    Needs ``Authorization: Bearer <token>`` (else 401 with ``WWW-Authenticate``, RFC 6750), then
    ``Content-Type: application/json`` (else 415), then a body valid under the docs' typical
    template (else 400 ``{"error", "field"}``, ``field`` a dotted path such as
    ``location.latitude``). 200 echoes the input plus ``resolvedAuraEvent: {"eventTypes": [...],
    "eventResponse": {"calloutId": ...}}``.

AURA's callout rule, keyed on (device_type_id, device_id): a new-callout while the device has an
open callout resolves to that callout (same ``calloutId``, nothing created; a fix it carries is
added to the callout's ``locations``); a cancel closes it, so the next new-callout opens a new one.

Documented choices where the docs are silent (tests rely on them):

* A location update or cancel with **no open callout** is still 200: the event is accepted,
  ``eventTypes`` as usual, ``eventResponse = {"calloutId": null, "message": "no active callout
  for this device"}``. An event-ingest endpoint must accept it: templates may forward locations
  "always" (docs/design.md §5), and a cancel retried after an ambiguous failure must not
  dead-letter.
  A battery event answers ``{"calloutId": <open callout or null>, "batteryLevel": n}``.
* Validation is stricter than a real template may be: unknown keys (top level or in the payload)
  are rejected, so a client typo cannot pass silently. Payload keys: ``latitude``, ``longitude``
  (finite numbers, in range, both or neither; both required for type 2), ``sequenceNumber``
  (string, optional, any message type), ``batteryLevel`` (type 4 only, integer 0-100). Any
  ``device_type_id`` / ``device_id`` is accepted: there is no device-link registry.
* ``calloutId`` values are UUID strings, so clients cannot assume integers.
* ``Idempotency-Key`` is recorded but **ignored**, as AURA documents no such header. With
  ``SimState(honour_idempotency_keys=True)`` a repeated key returns the stored response without
  re-applying it (Stripe's contract; another body with the same key: 422).

Faults (``SimState.add_faults`` / ``fail_next`` / ``hang_next`` / ``reset_connection_next``, or
``POST /_sim/faults``) queue in order; each is used up by one deviceEvent request, whatever that
request holds. A faulted request is recorded with the status the client saw and changes nothing,
unless ``after_commit`` (5xx, hang, reset): then the event is processed first and the response
is replaced by the failure. ``status`` faults answer a JSON error; 401 also revokes the token
sent (it "expired": a retry with it fails, a refreshed one works); 429/503 may carry
``Retry-After``. ``hang`` waits ``seconds`` (other requests keep being served), then answers 504
or, after commit, the real answer. ``reset`` shuts the TCP connection down with no response
(linger 0, so the close is an RST): ``requests`` raises ``ConnectionError``.

Test hooks, unauthenticated (bind to 127.0.0.1): ``GET /_sim/requests``, ``GET /_sim/callouts``,
``GET|POST|DELETE /_sim/faults`` (POST: one spec, a list, or ``{"faults": [...]}``; a spec may
carry ``count``), ``POST /_sim/expire-tokens``, ``POST /_sim/reset``. Each recorded request holds
``seq, time, received_at, method, path, headers, idempotency_key, body, raw_body, status`` (what
the client saw; ``None`` for a reset), ``fault, committed, response``. ``SimState`` offers the same
in Python: ``requests()``, ``callouts()``, ``new_callouts_created(device_id)``,
``token_requests()``, ``active_callout()``, ``battery_level()``, ``reset()``.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import sys
import threading
import time
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from webhook.aurasim.state import Fault, SimState, utc_now_iso
from webhook.aurasim.validation import is_int, validate_event

__all__ = [
    "EVENT_PATH",
    "TOKEN_PATH",
    "Fault",
    "RunningSimulator",
    "SimState",
    "create_sim_app",
    "run_simulator",
    "serve_simulator",
    "validate_event",
]

TOKEN_PATH = "/oauth/token"
EVENT_PATH = "/panic-api/v2/deviceEvent"
MAX_BODY = 64 * 1024


def _error(status: int, error: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": error, **extra}), status


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _unauthorized(description: str, error: str | None = "invalid_token") -> tuple[Response, int]:
    response, status = _error(401, error or "unauthorized", error_description=description)
    challenge = 'Bearer realm="aura"' + (f', error="{error}"' if error else "")
    response.headers["WWW-Authenticate"] = challenge
    return response, status


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject), True
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, False


def _drop_connection() -> Response:
    """Close the client's TCP connection unanswered (linger 0: an RST once werkzeug closes it)."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("a 'reset' fault needs the real werkzeug server (run_simulator)")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.shutdown(socket.SHUT_RDWR)
    return Response(status=500)  # werkzeug's write fails with EPIPE and is dropped silently


def _status_fault(state: SimState, fault: Fault, token: str | None) -> tuple[Response, int]:
    if fault.status == 401:
        if token:
            state.revoke_token(token)
        return _unauthorized("the access token expired")
    response, status = _error(fault.status, HTTPStatus(fault.status).phrase)
    retry_after = fault.retry_after_header(time.time())
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response, status


def create_sim_app(state: SimState | None = None) -> Flask:
    """A Flask app simulating AURA over ``state`` (a fresh :class:`SimState` when omitted)."""
    state = state if state is not None else SimState()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["aura_sim"] = state

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return _error(exc.code or 500, exc.name)

    @app.post(TOKEN_PATH)
    def token() -> tuple[Response, int]:
        auth = request.authorization
        basic = auth if auth is not None and auth.type == "basic" else None
        form_id = request.form.get("client_id")
        if basic is not None and form_id is not None:
            return _error(400, "invalid_request", error_description="use one auth method")
        if basic is not None:
            client_id, secret = basic.username or "", basic.password or ""
            candidates = [(client_id, secret), (unquote_plus(client_id), unquote_plus(secret))]
        else:
            client_id, secret = form_id or "", request.form.get("client_secret", "")
            candidates = [(client_id, secret)]
        if not any(state.check_client(cid, sec) for cid, sec in candidates):
            state.record_token_request(client_id or None, 401)
            response, status = _error(401, "invalid_client")
            response.headers["WWW-Authenticate"] = 'Basic realm="aura"'
            return response, status
        grant = request.form.get("grant_type")
        if grant != "client_credentials":
            state.record_token_request(client_id, 400)
            return _error(400, "invalid_request" if grant is None else "unsupported_grant_type")
        state.record_token_request(client_id, 200)
        body = {
            "access_token": state.issue_token(),
            "token_type": "Bearer",
            "expires_in": math.ceil(state.token_ttl),
        }
        response = jsonify(body)
        response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
        return response, 200

    def process(body: Any, parsed: bool) -> tuple[Response, int, bool]:
        """The real AURA answer: (response, status, whether the event changed state)."""
        token = _bearer_token()
        if token is None:
            return *_unauthorized("a bearer token is required", error=None), False
        if not state.token_valid(token):
            return *_unauthorized("the access token is invalid or expired"), False
        if request.mimetype != "application/json":
            return *_error(415, "Content-Type must be application/json"), False
        if not parsed:
            return *_error(400, "the body is not valid JSON", field=None), False
        problem = validate_event(body)
        if problem is not None:
            return *_error(400, f"{problem[0]} {problem[1]}", field=problem[0]), False
        status, answer, changed = state.commit(body, request.headers.get("Idempotency-Key"))
        return jsonify(answer), status, changed

    @app.post(EVENT_PATH)
    def device_event() -> Response | tuple[Response, int]:
        fault = state.take_fault()
        raw = request.get_data(cache=True)
        body, parsed = _parse_json(raw)
        response: Response | None = None
        status: int | None = None
        committed = False
        if fault is None or fault.after_commit:
            response, status, committed = process(body, parsed)
        if fault is not None and fault.kind == "status":
            response, status = _status_fault(state, fault, _bearer_token())
        elif fault is not None and fault.kind == "hang" and not fault.after_commit:
            response, status = _error(504, HTTPStatus.GATEWAY_TIMEOUT.phrase)
        elif fault is not None and fault.kind == "reset":
            response, status = None, None
        state.record(
            {
                "time": time.time(),
                "received_at": utc_now_iso(),
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "idempotency_key": request.headers.get("Idempotency-Key"),
                "body": body,
                "raw_body": raw.decode("utf-8", "replace"),
                "status": status,
                "fault": None if fault is None else fault.describe(),
                "committed": committed,
                "response": None if response is None else response.get_json(silent=True),
            }
        )
        if response is None or status is None:
            return _drop_connection()
        if fault is not None and fault.kind == "hang":
            state.wake.wait(fault.seconds)
        return response, status

    @app.get("/_sim/requests")
    def sim_requests() -> Response:
        return jsonify({"requests": state.requests()})

    @app.get("/_sim/callouts")
    def sim_callouts() -> Response:
        return jsonify({"callouts": state.callouts(), "created": state.created_per_device()})

    @app.route("/_sim/faults", methods=["GET", "POST", "DELETE"])
    def sim_faults() -> tuple[Response, int]:
        if request.method == "DELETE":
            state.clear_faults()
        elif request.method == "POST":
            specs, parsed = _parse_json(request.get_data())
            if isinstance(specs, dict) and "faults" in specs:
                specs = specs["faults"]
            specs = specs if isinstance(specs, list) else [specs]
            try:
                queued = [_fault_with_count(spec) for spec in specs] if parsed else None
            except (TypeError, ValueError) as exc:
                return _error(400, str(exc))
            if queued is None:
                return _error(400, "the body is not valid JSON")
            for fault, count in queued:
                state.add_faults(fault, count=count)
        return jsonify({"pending": [f.as_json() for f in state.pending_faults()]}), 200

    @app.post("/_sim/expire-tokens")
    def sim_expire_tokens() -> tuple[Response, int]:
        state.expire_tokens()
        return jsonify({"ok": True}), 200

    @app.post("/_sim/reset")
    def sim_reset() -> tuple[Response, int]:
        state.reset()
        return jsonify({"ok": True}), 200

    return app


def _fault_with_count(spec: Any) -> tuple[Fault, int]:
    spec = dict(spec) if isinstance(spec, dict) else spec
    count = spec.pop("count", 1) if isinstance(spec, dict) else 1
    if not (is_int(count) and count >= 1):
        raise ValueError("count must be an integer >= 1")
    return Fault.from_json(spec), count


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests run many requests; werkzeug's access log would only add noise."""


class RunningSimulator:
    """A simulator serving on a real socket in a background thread; a context manager."""

    def __init__(self, server: BaseWSGIServer, state: SimState) -> None:
        self.state = state
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.url = f"http://{host}:{server.server_port}"
        self.token_url = self.url + TOKEN_PATH
        self.event_url = self.url + EVENT_PATH
        self._server = server
        # A short poll interval: stop() waits up to one interval for serve_forever to notice.
        serve = partial(server.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="aura-sim", daemon=True)
        self._stopped = False
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; hung requests are woken so nothing waits out its ``seconds``."""
        if self._stopped:
            return
        self._stopped = True
        self.state.wake.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_simulator(
    host: str = "127.0.0.1", port: int = 0, state: SimState | None = None, *, quiet: bool = True
) -> RunningSimulator:
    """Start the simulator on ``host:port`` (0: a free port) and return at once."""
    state = state if state is not None else SimState()
    state.wake.clear()
    handler = _QuietHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, create_sim_app(state), threaded=True, request_handler=handler)
    return RunningSimulator(server, state)


def serve_simulator(
    host: str, port: int, *, client_id: str, client_secret: str, token_ttl: float = 3600.0
) -> None:
    """Serve the simulator in the foreground until interrupted (``aura-uplink simulate-aura``)."""
    state = SimState(client_id, client_secret, token_ttl=token_ttl)
    server = make_server(host, port, create_sim_app(state), threaded=True)
    print(f"AURA simulator listening on http://{host}:{server.server_port}", file=sys.stderr)
    print(f"  token: {TOKEN_PATH}  events: {EVENT_PATH}  control: /_sim/*", file=sys.stderr)
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.wake.set()
        server.server_close()
