"""AURA's token, customer and device-link endpoints (docs/aura-api.md §1, §2, §5), as routes over
a :class:`SimState`. The model raises :class:`Refusal`; the app turns it into ``{"message"}``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request

import webhook.aurasim.bodies as bodies
from webhook.aurasim.customers import CREATED, UPDATED
from webhook.aurasim.refusal import Refusal
from webhook.aurasim.state import SimState
from webhook.aurasim.wire import (
    CUSTOMERS_PATH,
    DEVICES_PATH,
    TOKEN_PATH,
    authorized,
    json_body,
)

#: RFC 6749 names a client might send out of habit; AURA's exchange has none of them (§1.1).
OAUTH_FIELDS = ("grant_type", "client_id", "client_secret", "scope")
#: Sent by one old public client and, by all appearances, ignored by AURA (§1.1).
TOLERATED = ("client_credentials",)


def token_body() -> dict[str, Any]:
    """The token request's JSON object; HTTP Basic and form bodies are refused (400)."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        raise Refusal(
            400,
            "HTTP Basic authentication is not accepted: send clientId and clientSecret as JSON",
            field="Authorization",
        )
    return bodies.an_object(json_body(), "$")


def token_credentials(body: dict[str, Any]) -> tuple[str, str]:
    for name in OAUTH_FIELDS:
        if name in body:
            raise bodies.bad(name, "is not accepted: the body is {clientId, clientSecret}")
    bodies.only(body, ("clientId", "clientSecret", *TOLERATED))
    client_id = bodies.text(body, "clientId", required=True)
    secret = bodies.text(body, "clientSecret", required=True)
    assert client_id is not None and secret is not None
    return client_id, secret


def add_api_routes(app: Flask, state: SimState) -> None:
    """Register the token, customer and device-link routes on ``app``."""
    guard = authorized(state)

    @app.post(TOKEN_PATH)
    def token() -> tuple[Response, int]:
        claimed: str | None = None
        try:
            body = token_body()
            claimed = body.get("clientId") if isinstance(body.get("clientId"), str) else None
            client_id, secret = token_credentials(body)
            if not state.check_client(client_id, secret):
                raise Refusal(401, "clientId or clientSecret is wrong")
        except Refusal as refusal:
            state.record_token_request(claimed, refusal.status)
            raise
        state.record_token_request(client_id, 200)
        return jsonify(state.token_answer()), 200

    @app.post(CUSTOMERS_PATH)
    @guard
    def create_customer() -> tuple[Response, int]:
        customer = state.create_customer(json_body())
        return jsonify({"message": CREATED, "customer": customer}), 201

    @app.get(f"{CUSTOMERS_PATH}/<int:customer_id>")
    @guard
    def get_customer(customer_id: int) -> tuple[Response, int]:
        return jsonify(state.get_customer(customer_id)), 200

    @app.put(f"{CUSTOMERS_PATH}/<int:customer_id>")
    @guard
    def update_customer(customer_id: int) -> tuple[Response, int]:
        state.get_customer(customer_id)  # an unknown id is 404 whatever the body holds
        customer = state.update_customer(customer_id, json_body())
        return jsonify({"message": UPDATED, "customer": customer}), 200

    @app.post(f"{CUSTOMERS_PATH}/<int:customer_id>/delete")
    @guard
    def delete_customer(customer_id: int) -> tuple[Response, int]:
        return jsonify({"message": state.delete_customer(customer_id)}), 200

    @app.post(DEVICES_PATH)
    @guard
    def link_device() -> tuple[Response, int]:
        return jsonify(state.link(json_body())), 200

    @app.put(DEVICES_PATH)
    @guard
    def update_device() -> tuple[Response, int]:
        return jsonify(state.update_link(json_body())), 200

    @app.delete(f"{DEVICES_PATH}/<device_id>")
    @guard
    def unlink_device(device_id: str) -> tuple[Response, int]:
        return jsonify({"message": state.unlink(device_id)}), 200
