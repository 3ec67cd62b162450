"""``POST /panic-api/v2/deviceEvent`` (docs/aura-api.md §3) with the injected faults of
:mod:`webhook.aurasim.faults`, and the record of every request for the tests' readback."""

from __future__ import annotations

import socket
import struct
import time
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request

from webhook.aurasim.faults import Fault
from webhook.aurasim.refusal import Refusal
from webhook.aurasim.state import SimState, utc_now_iso
from webhook.aurasim.validation import validate_event
from webhook.aurasim.wire import (
    EVENT_PATH,
    bearer_token,
    check_bearer,
    message,
    parse_json,
    refusal_response,
    require_json_type,
)


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
            state.revoke_token(token)  # it "expired": a retry with it fails, a fresh one works
        return message(401, "the access token is invalid or expired")
    response, status = message(fault.status, HTTPStatus(fault.status).phrase)
    retry_after = fault.retry_after_header(time.time())
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response, status


def _process(state: SimState, body: Any, parsed: bool) -> tuple[Response, int, bool]:
    """The real AURA answer: (response, status, whether the event was processed)."""
    try:
        check_bearer(state)
        require_json_type()
        if not parsed:
            raise Refusal(400, "the body is not valid JSON", field=None)
        problem = validate_event(body)
        if problem is not None:
            raise Refusal(400, f"{problem[0]} {problem[1]}", field=problem[0])
        status, answer, processed = state.commit(body, request.headers.get("Idempotency-Key"))
    except Refusal as refusal:
        return *refusal_response(refusal), False
    return jsonify(answer), status, processed


def add_event_route(app: Flask, state: SimState) -> None:
    """Register the deviceEvent route on ``app``."""

    @app.post(EVENT_PATH)
    def device_event() -> Response | tuple[Response, int]:
        arrived = time.time()  # before the body is read: the benchmarks time AURA's answer
        # Faults come first: a proxy or an overloaded AURA fails a request whatever it holds.
        fault = state.take_fault()
        raw = request.get_data(cache=True)
        body, parsed = parse_json(raw)
        response: Response | None = None
        status: int | None = None
        committed = False
        if fault is None or fault.after_commit:
            response, status, committed = _process(state, body, parsed)
        if fault is not None and fault.kind == "status":
            response, status = _status_fault(state, fault, bearer_token())
        elif fault is not None and fault.kind == "hang" and not fault.after_commit:
            response, status = message(504, HTTPStatus.GATEWAY_TIMEOUT.phrase)
        elif fault is not None and fault.kind == "reset":
            response, status = None, None
        state.record(
            {
                "time": time.time(),
                "arrived": arrived,
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
