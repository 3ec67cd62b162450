"""Reading AURA's answers where its documentation revisions disagree (docs/aura-api.md §9):
the token answer in either spelling with any of the expiry forms, and a device event's resolved
event types and callout id."""

from __future__ import annotations

import base64
import json

import pytest

from webhook.aura.answers import event_answer
from webhook.aura.token import (
    DEFAULT_LIFETIME_S,
    TokenUnavailable,
    jwt_expiry,
    token_from_answer,
)

NOW = 1_800_000_000.0


def jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("answer", "expires_at"),
    [
        ({"accessToken": "t", "tokenType": "Bearer", "expiresIn": 3600}, NOW + 3600),
        ({"access_token": "t", "token_type": "Bearer", "expires_in": 900}, NOW + 900),
        ({"accessToken": "t", "expiresIn": "120"}, NOW + 120),  # a quoted number
        ({"accessToken": "t", "expiresIn": NOW + 500}, NOW + 500),  # an epoch time: absolute
        ({"accessToken": jwt({"exp": NOW + 42})}, NOW + 42),  # no lifetime: the JWT's exp
        ({"accessToken": "opaque"}, NOW + DEFAULT_LIFETIME_S),  # nothing at all: one hour
        ({"accessToken": jwt({"sub": "x"}), "expiresIn": 0}, NOW + DEFAULT_LIFETIME_S),
    ],
)
def test_token_answers_of_every_revision(answer: dict, expires_at: float) -> None:
    token = token_from_answer(answer, NOW)
    assert token.value == answer.get("accessToken", answer.get("access_token"))
    assert token.expires_at == pytest.approx(expires_at)


@pytest.mark.parametrize("answer", [{}, {"accessToken": ""}, {"token": "t"}, {"accessToken": 5}])
def test_a_token_answer_without_a_token_is_refused_by_name(answer: dict) -> None:
    with pytest.raises(TokenUnavailable, match="accessToken"):
        token_from_answer(answer, NOW)


@pytest.mark.parametrize("token", ["a.b", "a.!!!.c", "a." + "bm90IGpzb24" + ".c", "x.W10.y"])
def test_jwt_expiry_of_a_token_that_is_not_a_jwt_is_none(token: str) -> None:
    assert jwt_expiry(token) is None


def kept(body: object, status: int = 200) -> str:
    return json.dumps({"status": status, "body": body})


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            kept({"resolvedAuraEvent": {"eventTypes": "NEW_CALLOUT",
                  "eventResponse": {"calloutId": 992011, "deviceId": "A1B2C3D4"}}}),
            {"status": 200, "eventTypes": ["NEW_CALLOUT"], "calloutId": 992011},
        ),
        (
            kept({"resolvedAuraEvent": {"eventTypes": ["CALLOUT_LOCATION_UPDATED"],
                  "eventResponse": {"calloutId": "c-7"}}}, 285),
            {"status": 285, "eventTypes": ["CALLOUT_LOCATION_UPDATED"], "calloutId": "c-7"},
        ),
        (kept({"message": "ok"}), {"status": 200, "eventTypes": [], "calloutId": None}),
        (kept("not json"), {"status": 200, "eventTypes": [], "calloutId": None}),
        (None, None),
        ("{broken", None),
    ],
)  # fmt: skip
def test_event_answers_in_either_form(response: str | None, expected: dict | None) -> None:
    assert event_answer(response) == expected
