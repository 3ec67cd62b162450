"""A stand-in for AURA: the only one tests may use, so it models AURA's API as documented
(docs/aura-api.md, newest revision where revisions disagree; the choices where AURA is silent are
listed in docs/aura-api.md §9.1). Every error body is ``{"message": "<text>"}`` (§4.2), with
``field`` (a dotted path such as ``location.latitude`` or ``customer.mobile``) when one field is
to blame. Every route but the token exchange and ``/_sim`` needs ``Authorization: Bearer <token>``
with a live token, else 401. Bodies must be ``application/json``, else 400.

Routes (all under ``/panic-api/v2``):

``POST /oauth/token`` (§1.1)
    JSON ``{"clientId", "clientSecret"}``. HTTP Basic, a form body, or any RFC 6749 field
    (``grant_type``, ``client_id``, ``client_secret``, ``scope``): 400; other unknown fields: 400,
    except ``client_credentials`` (one old client sends it, AURA ignores it). Wrong credentials:
    401. 200 ``{"accessToken", "tokenType": "Bearer", "expiresIn": <seconds>}``; with
    ``SimState(token_spelling="snake")`` ``access_token``/``token_type``/``expires_in``; with
    ``token_expiry="epoch"`` the expiry is the absolute epoch time, with ``"omit"`` it is left out.
    Tokens are HS256 JWTs (``iss``, ``sub``, ``customerSourceId``, ``iat``, ``exp``, ``jti``) and
    live ``SimState.token_ttl`` seconds; ``SimState.expire_tokens()`` kills them all.
``POST /customers`` (§5.2)
    ``{"customer": {"name", "surname", "mobile", ...}, "subscription"?: {"subscriptionTypeId",
    "validFrom"?, "validTo"?}, "subscriptionId"?}``; other customer fields pass through. Both
    ``subscription`` and ``subscriptionId``: 400. A mobile number a live customer has: 409.
    **201** ``{"message", "customer": {"id", "customerSourceId", ..., "createdAt", "updatedAt"}}``.
``GET /customers/{id}`` (§5.3)
    200, the customer object; unknown or soft-deleted: 404.
``PUT /customers/{id}`` (§5.4)
    ``{"customer": {...}}`` merged into the profile; 200 ``{"message", "customer"}``; 404; 409
    for a mobile number another live customer has.
``POST /customers/{id}/delete`` (§5.5)
    Soft delete: 200 ``{"message": "Request completed successfully."}``; the customer then 404s,
    its mobile number is free again, and its device links are removed. 404 if unknown.
``POST /devices`` (§2.2)
    ``{"customerId", "deviceSerial", "deviceSupplier", "deviceAlias"?, "deviceType"?,
    "firmwareVersion"?}``. Unknown customer: 404. Without ``deviceType`` the type is the one
    configured type whose supplier matches (case-insensitive), else 400. The serial must fit the
    type's :class:`SerialRule` (configured types: ``SimState(device_types=...)``; other types:
    ``default_rule``, the last 8 characters upper-cased), else 400 naming serial and type. A
    configured type with another supplier: 400. A derived ``deviceId`` already linked: 409.
    **200** with the §2.2 link (``deviceId`` a string, ``alias``, ``deviceTypeId``, ...).
``PUT /devices`` (§2.3)
    ``{"deviceId", "customerId", ...any of deviceSerial, deviceSupplier, deviceAlias,
    deviceType, firmwareVersion}``: the link is found by (customerId, deviceId), else 404; the
    device id is derived again; 200 with the link.
``DELETE /devices/{deviceId}`` (§2.4)
    ``{deviceId}`` is the derived id. 200 ``{"message": "Request completed successfully."}``; 404.
``POST /deviceEvent`` (§3)
    A body valid under the typical template (:func:`validate_event`: unknown keys refused,
    ``device_id`` a non-empty string, ``accuracy`` >= 0 optional next to a fix), else 400 with
    ``field``. With ``SimState(require_links=True)`` an event from a device that is not linked
    (same ``device_type_id`` and ``device_id``) is 400 naming it. 200 ``{"message": "Event
    successfully processed...", "input": <the event>, "resolvedAuraEvent": {"eventTypes":
    "NEW_CALLOUT", "eventResponse": {"calloutId": <int>, "deviceId": <device_id>}}}``;
    ``eventTypes`` is one string. Battery events add ``batteryLevel``; a cancel with no active
    callout answers ``calloutId: null`` and ``message``.

AURA's callout rule, keyed on (device_type_id, device_id) (§3.3): a new-callout while the device
has an active callout resolves to it (same ``calloutId``, nothing created; its fix is appended to
the callout's ``locations``); a cancel ends it, so the next new-callout opens a new one. A location
update with no active callout (ended, closed with ``SimState.close_callout``, or never opened) is
answered with AURA's custom status **285** (§3.3, §6.5) and ``eventResponse.callout``, the latest
callout state (``null`` when there never was one); it changes nothing. A battery event (message 4,
battery or heartbeat) sets ``batteryLevel``, ``batteryLevelLastReceivedDate`` and
``healthCheckLastReceivedDate`` on the device's link when it has one.

``Idempotency-Key`` is recorded but **ignored**, as AURA documents no such header. With
``SimState(honour_idempotency_keys=True)`` a repeated key returns the stored answer without
re-applying it (another body with the same key: 422).

Faults (``SimState.add_faults`` / ``fail_next`` / ``hang_next`` / ``reset_connection_next``, or
``POST /_sim/faults``) queue in order; each is used up by one deviceEvent request, whatever that
request holds. A faulted request is recorded with the status the client saw and changes nothing,
unless ``after_commit`` (5xx, hang, reset): then the event is processed first and the response
is replaced by the failure. ``status`` faults answer ``{"message"}``; 401 also revokes the token
sent (it "expired": a retry with it fails, a refreshed one works); 429/503 may carry
``Retry-After``. ``hang`` waits ``seconds`` (other requests keep being served), then answers 504
or, after commit, the real answer. ``reset`` shuts the TCP connection down with no response
(linger 0, so the close is an RST): ``requests`` raises ``ConnectionError``.

Test hooks, unauthenticated (bind to 127.0.0.1): ``GET /_sim/requests``, ``GET /_sim/callouts``,
``POST /_sim/callouts/{calloutId}/close``, ``GET /_sim/customers``, ``GET /_sim/devices``,
``GET|POST|DELETE /_sim/faults`` (POST: one spec, a list, or ``{"faults": [...]}``; a spec may
carry ``count``), ``POST /_sim/expire-tokens``, ``POST /_sim/reset``. Each recorded request holds
``seq, time, received_at, method, path, headers, idempotency_key, body, raw_body, status`` (what
the client saw; ``None`` for a reset), ``fault, committed, response``. ``SimState`` offers the same
in Python: ``requests()``, ``callouts()``, ``customers()``, ``devices()``,
``new_callouts_created(device_id)``, ``token_requests()``, ``active_callout()``,
``battery_level()``, ``close_callout()``, ``reset()``, and sets tenants up with
``add_customer(...)`` and ``link_device(serial, device_type, ...)``.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from webhook.aurasim.api import add_api_routes
from webhook.aurasim.control import add_control_routes
from webhook.aurasim.devices import DeviceType, SerialRule
from webhook.aurasim.events import add_event_route
from webhook.aurasim.faults import Fault
from webhook.aurasim.refusal import Refusal
from webhook.aurasim.state import SimState
from webhook.aurasim.validation import validate_event
from webhook.aurasim.wire import (
    API,
    CUSTOMERS_PATH,
    DEVICES_PATH,
    EVENT_PATH,
    MAX_BODY,
    TOKEN_PATH,
    message,
    refusal_response,
)

__all__ = [
    "API",
    "CUSTOMERS_PATH",
    "DEVICES_PATH",
    "EVENT_PATH",
    "TOKEN_PATH",
    "DeviceType",
    "Fault",
    "RunningSimulator",
    "SerialRule",
    "SimState",
    "create_sim_app",
    "run_simulator",
    "serve_simulator",
    "validate_event",
]


def create_sim_app(state: SimState | None = None) -> Flask:
    """A Flask app simulating AURA over ``state`` (a fresh :class:`SimState` when omitted)."""
    state = state if state is not None else SimState()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["aura_sim"] = state

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return message(exc.code or 500, exc.description or exc.name)

    app.register_error_handler(Refusal, refusal_response)
    add_api_routes(app, state)
    add_event_route(app, state)
    add_control_routes(app, state)
    return app


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, as a real AURA behind a load balancer answers.

    werkzeug's server closes every connection whatever the protocol (``Connection: close`` on
    every answer, then it reads away what is left on the socket, which on a kept connection
    would swallow the next request): every delivered event paid for a new TCP connection on
    both sides and a new thread here, which is not what the client meets in production and
    cost the benchmarks' CPU. So a plain request (a ``Content-Length`` body within
    ``MAX_BODY``, no ``Expect``, no chunked body, not ``Connection: close``) is answered here:
    its body read whole first, so nothing of it is left on the connection, and the answer
    framed by its length; the connection then waits for the next request. Anything else goes
    to werkzeug's own handling, which answers and closes. The app sees the same environ
    (``werkzeug.socket`` included: the ``reset`` fault shuts it down, and the write that
    follows fails and ends the connection, as under werkzeug).
    """

    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm the body then waits for the client's delayed ACK (40 ms) on a kept connection.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        # RunningSimulator.stop() closes kept connections: a stopped AURA must not answer.
        opened = getattr(self.server, "kept_connections", None)
        if opened is not None:
            with _KEPT_LOCK:
                opened.add(self.connection)

    def finish(self) -> None:
        opened = getattr(self.server, "kept_connections", None)
        if opened is not None:
            with _KEPT_LOCK:
                opened.discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        length = self._plain_length()
        if length is None:
            super().run_wsgi()
            return
        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length else b"")
        answer: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            answer[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            chunks[:] = [b"Internal Server Error"]
            self.close_connection = True
        body = b"".join(chunks)
        status, headers = answer
        code, _, reason = status.partition(" ")
        try:
            self.send_response(int(code), reason)
            for name, value in headers:
                self.send_header(name, value)  # "Connection: close" from the app is honoured
            if not any(name.lower() == "content-length" for name, _ in headers):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:  # the client went, or a reset fault shut the socket down
            self.close_connection = True

    def _plain_length(self) -> int | None:
        """The body length of a request this handler answers itself, None for werkzeug's."""
        headers = self.headers
        if self.request_version != "HTTP/1.1" or self.close_connection:
            return None
        if headers.get("Expect") or headers.get("Transfer-Encoding"):
            return None
        text = headers.get("Content-Length", "0").strip()
        if not text.isdigit() or int(text) > MAX_BODY:
            return None
        return int(text)


class _QuietHandler(_KeepAliveHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Tests run many requests; werkzeug's access log would only add noise."""


_KEPT_LOCK = threading.Lock()


class RunningSimulator:
    """A simulator serving on a real socket in a background thread; a context manager.
    ``url`` is the host root (AURA's base URL); ``token_url`` and ``event_url`` are full URLs."""

    def __init__(self, server: BaseWSGIServer, state: SimState) -> None:
        self.state = state
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.url = f"http://{host}:{server.server_port}"
        self.token_url = self.url + TOKEN_PATH
        self.event_url = self.url + EVENT_PATH
        self.customers_url = self.url + CUSTOMERS_PATH
        self.devices_url = self.url + DEVICES_PATH
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
        with _KEPT_LOCK:
            kept = list(getattr(self._server, "kept_connections", ()))
        for conn in kept:  # idle kept-alive connections: their threads wait for a request
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
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
    handler = _QuietHandler if quiet else _KeepAliveHandler
    server = make_server(host, port, create_sim_app(state), threaded=True, request_handler=handler)
    server.kept_connections = set()  # type: ignore[attr-defined]
    return RunningSimulator(server, state)


def serve_simulator(
    host: str,
    port: int,
    *,
    client_id: str,
    client_secret: str,
    token_ttl: float = 3600.0,
    require_links: bool = False,
    state: SimState | None = None,
) -> None:
    """Serve the simulator in the foreground until interrupted (``aura-uplink simulate-aura``).
    ``state``, when given, is used as is (its own credentials and options win)."""
    if state is None:
        state = SimState(client_id, client_secret, token_ttl=token_ttl, require_links=require_links)
    server = make_server(
        host, port, create_sim_app(state), threaded=True, request_handler=_KeepAliveHandler
    )
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
