"""The server token: ``POST /panic-api/v2/oauth/token`` with a JSON body ``{"clientId",
"clientSecret"}`` (docs/aura-api.md §1.1), cached and renewed a margin before it expires.

AURA's documentation revisions disagree on the answer (docs/aura-api.md §9, C1-C2): the token is
``accessToken`` or ``access_token``; its lifetime ``expiresIn`` or ``expires_in`` is seconds,
though one revision speaks of an epoch time, and one public client reads the JWT's ``exp``
instead. So: either spelling; a lifetime above 1e9 is an absolute epoch time; no lifetime, the
JWT's ``exp``; neither, one hour.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from decoders.errors import AuraUplinkError

log = logging.getLogger(__name__)

TOKEN_PATH = "/panic-api/v2/oauth/token"
DEFAULT_LIFETIME_S = 3600.0
# An "expiresIn" this large cannot be a lifetime in seconds (31 years): it is an epoch time.
EPOCH_THRESHOLD = 1e9
# Renew this share of a token's lifetime early (at most MAX_MARGIN_S), so a token never expires
# between our check and AURA's.
MARGIN_SHARE, MAX_MARGIN_S = 0.1, 60.0
EXCERPT = 300


class TokenUnavailable(AuraUplinkError):
    """No token could be had: the endpoint is unreachable, refused the credentials (``status``),
    or answered something unusable. The message never contains the secret or a token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # epoch seconds
    lifetime_s: float


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (not verified: we only need to know when to renew it)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        return None
    return _number(claims.get("exp")) if isinstance(claims, dict) else None


def token_from_answer(answer: Mapping[str, Any], now: float) -> Token:
    """The token in the token endpoint's JSON answer, with its expiry (rules above)."""
    value = answer.get("accessToken", answer.get("access_token"))
    if not isinstance(value, str) or not value:
        raise TokenUnavailable("token answer has no accessToken (nor access_token)")
    expires = _number(answer.get("expiresIn", answer.get("expires_in")))
    if expires is not None and expires > EPOCH_THRESHOLD:
        expires_at = expires
    elif expires is not None and expires > 0:
        expires_at = now + expires
    else:
        expires_at = jwt_expiry(value) or now + DEFAULT_LIFETIME_S
    return Token(value, expires_at, max(0.0, expires_at - now))


class TokenSource:
    """The current server token, fetched when missing or near expiry (thread-safe), or a fixed
    bearer token (``static_token``) for deployments that are given one."""

    def __init__(
        self,
        session: requests.Session,
        token_url: str,
        client_id: str = "",
        client_secret: str = "",
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
        static_token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if static_token is None and not (client_id and client_secret):
            raise ValueError("AURA needs client_id and client_secret, or a static token")
        self.token_url = token_url
        self._session = session
        self._credentials = {"clientId": client_id, "clientSecret": client_secret}
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._static = static_token
        self._token: Token | None = (
            Token(static_token, float("inf"), float("inf")) if static_token else None
        )

    @property
    def is_static(self) -> bool:
        return self._static is not None

    def current(self) -> Token:
        """A token valid for a while yet; fetches one if needed (:class:`TokenUnavailable`)."""
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at - _margin(token):
                token = self._token = self._fetch()
            return token

    def refresh_after_401(self, rejected: str) -> Token | None:
        """A fresh token after AURA refused ``rejected``; None for a static token. Several
        senders may see the same 401 at once: only the first fetches, the others reuse it."""
        if self._static is not None:
            return None
        with self._lock:
            if self._token is None or self._token.value == rejected:
                self._token = self._fetch()
            return self._token

    def _fetch(self) -> Token:
        try:
            resp = self._session.post(
                self.token_url,
                json=self._credentials,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise TokenUnavailable(
                f"token request to {self.token_url} failed: {type(exc).__name__}: {exc}"
            ) from None
        if resp.status_code != 200:
            message = answer_message(resp)
            raise TokenUnavailable(
                f"token request to {self.token_url} refused: HTTP {resp.status_code}: {message}",
                resp.status_code,
            )
        try:
            answer = resp.json()
        except ValueError:
            raise TokenUnavailable(f"token answer is not JSON: {resp.text[:EXCERPT]!r}") from None
        if not isinstance(answer, dict):
            raise TokenUnavailable("token answer is not a JSON object")
        return token_from_answer(answer, self._clock())


def _margin(token: Token) -> float:
    return min(MAX_MARGIN_S, token.lifetime_s * MARGIN_SHARE)


def answer_message(resp: requests.Response) -> str:
    """AURA's own words from an answer: its ``message`` (docs/aura-api.md §4.2), else the start
    of the body."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:EXCERPT] or resp.reason or ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return json.dumps(body)[:EXCERPT]
