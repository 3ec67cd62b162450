"""The simulator's test hooks under ``/_sim`` (no authentication: bind to 127.0.0.1): readback of
what AURA received and holds, fault injection over HTTP, closing a callout, token expiry, reset."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

from webhook.aurasim.faults import Fault
from webhook.aurasim.state import SimState
from webhook.aurasim.validation import is_int
from webhook.aurasim.wire import message, parse_json


def _fault_with_count(spec: Any) -> tuple[Fault, int]:
    spec = dict(spec) if isinstance(spec, dict) else spec
    count = spec.pop("count", 1) if isinstance(spec, dict) else 1
    if not (is_int(count) and count >= 1):
        raise ValueError("count must be an integer >= 1")
    return Fault.from_json(spec), count


def add_control_routes(app: Flask, state: SimState) -> None:
    """Register the ``/_sim`` routes on ``app``."""

    @app.get("/_sim/requests")
    def sim_requests() -> Response:
        return jsonify({"requests": state.requests()})

    @app.get("/_sim/callouts")
    def sim_callouts() -> Response:
        return jsonify({"callouts": state.callouts(), "created": state.created_per_device()})

    @app.post("/_sim/callouts/<int:callout_id>/close")
    def sim_close_callout(callout_id: int) -> Response:
        return jsonify({"callout": state.close_callout(callout_id)})

    @app.get("/_sim/customers")
    def sim_customers() -> Response:
        return jsonify({"customers": state.customers()})

    @app.get("/_sim/devices")
    def sim_devices() -> Response:
        return jsonify({"devices": state.devices()})

    @app.route("/_sim/faults", methods=["GET", "POST", "DELETE"])
    def sim_faults() -> tuple[Response, int]:
        if request.method == "DELETE":
            state.clear_faults()
        elif request.method == "POST":
            specs, parsed = parse_json(request.get_data())
            if not parsed:
                return message(400, "the body is not valid JSON")
            if isinstance(specs, dict) and "faults" in specs:
                specs = specs["faults"]
            specs = specs if isinstance(specs, list) else [specs]
            try:
                queued = [_fault_with_count(spec) for spec in specs]
            except (TypeError, ValueError) as exc:
                return message(400, str(exc))
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
