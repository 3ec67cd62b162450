"""Server tokens of the simulated tenant (docs/aura-api.md §1): JWT-shaped bearer tokens, their
lifetime, and the spelling of the token answer, which AURA's doc revisions disagree on (§9, C1-C2).

Tokens are real HS256 JWTs signed with a key that lives and dies with the state, so a client can
read the ``exp`` claim the way one public client does (§1.1). The server never verifies the
signature: it only knows which tokens it issued and until when (``time.monotonic``, so a test's
sub-second ``token_ttl`` is exact). Not thread-safe on its own: :class:`SimState` holds the lock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Field names of the token answer: (token, type, expiry). camel = newest reference and the
#: concepts page; snake = the older reference (§9, C1).
TOKEN_SPELLINGS: dict[str, tuple[str, str, str]] = {
    "camel": ("accessToken", "tokenType", "expiresIn"),
    "snake": ("access_token", "token_type", "expires_in"),
}
#: The expiry field's value from (lifetime in seconds, JWT exp): a lifetime in seconds (newest
#: reference), an absolute epoch time (one reading of docs.aura.services), or no field at all
#: (the client must read the JWT's exp claim) (§9, C2).
TOKEN_EXPIRIES: dict[str, Callable[[float, int], int | None]] = {
    "seconds": lambda ttl, exp: math.ceil(ttl),
    "epoch": lambda ttl, exp: exp,
    "omit": lambda ttl, exp: None,
}
ISSUER = "aura-sim"


@dataclass(frozen=True, slots=True)
class TokenStyle:
    """How the token answer is spelled; both fields are keys of the tables above."""

    spelling: str = "camel"
    expiry: str = "seconds"

    def __post_init__(self) -> None:
        if self.spelling not in TOKEN_SPELLINGS:
            raise ValueError(f"token spelling must be one of {sorted(TOKEN_SPELLINGS)}")
        if self.expiry not in TOKEN_EXPIRIES:
            raise ValueError(f"token expiry must be one of {sorted(TOKEN_EXPIRIES)}")

    def answer(self, token: str, ttl: float, exp: int) -> dict[str, Any]:
        token_key, type_key, expiry_key = TOKEN_SPELLINGS[self.spelling]
        body: dict[str, Any] = {token_key: token, type_key: "Bearer"}
        expiry = TOKEN_EXPIRIES[self.expiry](ttl, exp)
        if expiry is not None:
            body[expiry_key] = expiry
        return body


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


class TokenBook:
    """The tokens issued and still alive: token -> monotonic deadline."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._alive: dict[str, float] = {}

    def issue(self, subject: str, ttl: float, customer_source_id: int) -> tuple[str, int]:
        """A new JWT for ``subject`` living ``ttl`` seconds; returns it with its ``exp`` claim."""
        now = time.time()
        # NumericDate rounded up: the claim never says "expired" before the server does.
        exp = math.ceil(now + ttl)
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "customerSourceId": customer_source_id,
            "iat": int(now),
            "exp": exp,
            "jti": secrets.token_urlsafe(12),
        }
        signing_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT'})}.{_b64json(claims)}"
        signature = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64url(signature)}"
        self._alive[token] = time.monotonic() + ttl
        return token, exp

    def valid(self, token: str) -> bool:
        deadline = self._alive.get(token)
        return deadline is not None and time.monotonic() < deadline

    def revoke(self, token: str) -> None:
        self._alive.pop(token, None)

    def expire_all(self) -> None:
        self._alive.clear()
