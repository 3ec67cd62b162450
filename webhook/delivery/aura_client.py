"""AURA's device-event endpoint as one call that never raises: :meth:`AuraClient.send`.

The client only classifies (reliability rule 6); the delivery worker decides what to do:

* :class:`Delivered`: a 2xx, including AURA's custom 285 (a location update to a closed callout:
  AURA took it and answered with the callout's state; sending it again cannot change that).
* :class:`Retry`: worth trying again later: 408, 425, 429, 5xx, timeouts, connection errors and
  resets, a token endpoint that is down, a 401 that survives a fresh token. ``retry_after_s`` is
  AURA's ``Retry-After`` (delta-seconds or HTTP-date), ``None`` when absent or malformed.
* :class:`Permanent`: any other 4xx (and an unexpected redirect): the request itself is wrong and
  repeating it cannot help.

A timeout or reset after the request was written is ambiguous (AURA may have acted); it is a
:class:`Retry` all the same, and the retry carries the same ``Idempotency-Key`` and the same bytes.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from webhook.aura.session import new_session
from webhook.aura.token import TOKEN_PATH, TokenSource, TokenUnavailable

log = logging.getLogger(__name__)

EVENT_PATH = "/panic-api/v2/deviceEvent"
BODY_EXCERPT = 500
# Statuses that say "not now" rather than "never" (RFC 9110 §15.5.9, RFC 6585 §4, any 5xx).
RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivered:
    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Retry:
    error: str
    retry_after_s: float | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Permanent:
    status: int
    error: str
    body: str = ""


Outcome = Delivered | Retry | Permanent


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from ``now`` (epoch seconds), or None if ``value`` is absent or malformed.

    RFC 9110 §10.2.3: either delta-seconds (digits only) or an HTTP-date; a date in the past
    means 0. Anything else is ignored, and the caller falls back to its own backoff.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are always GMT; "-0000" parses as naive
        return None
    return max(0.0, when.timestamp() - now)


def _excerpt(text: str) -> str:
    return text[:BODY_EXCERPT]


class AuraClient:
    """Posts device events to AURA over one pooled :class:`requests.Session` (thread-safe).

    ``base_url`` is AURA's host root (e.g. ``https://staging-panic.aura.services``); paths come
    from the docs. Authentication: the documented token exchange (:mod:`webhook.aura.token`,
    ``token_url`` overrides where it is), or with ``static_token`` a fixed bearer token.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str = "",
        client_secret: str = "",
        token_url: str | None = None,
        timeout: tuple[float, float] = (3.05, 10),
        *,
        static_token: str | None = None,
        pool_size: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.event_url = self.base_url + EVENT_PATH
        self.timeout = timeout
        self._clock = clock
        self._session = new_session(pool_size)
        self.tokens = TokenSource(
            self._session,
            token_url or self.base_url + TOKEN_PATH,
            client_id,
            client_secret,
            timeout=timeout,
            static_token=static_token,
            clock=clock,
        )

    def close(self) -> None:
        self._session.close()

    # -- events --------------------------------------------------------------------------------

    def send(self, event_body_json: str, idempotency_key: str) -> Outcome:
        """POST one event body, byte for byte, and classify the answer. Never raises."""
        body = event_body_json.encode("utf-8")
        try:
            token = self.tokens.current().value
            resp = self._post(body, idempotency_key, token)
            if resp.status_code == 401:
                # An expired or revoked token: refresh once and retry now. This is not an
                # attempt of the event (reliability rule 6), so it stays inside send().
                fresh = self.tokens.refresh_after_401(token)
                if fresh is not None:
                    resp = self._post(body, idempotency_key, fresh.value)
        except TokenUnavailable as exc:
            # Bad credentials are our configuration, not the event's fault: retry, and say so
            # loudly, since every event is stuck until someone fixes it.
            log.error("AURA token unavailable: %s", exc)
            return Retry(str(exc), status=exc.status)
        except requests.Timeout as exc:
            return Retry(f"timeout: {exc}")
        except requests.RequestException as exc:  # refused, reset, broken chunked body, ...
            return Retry(f"{type(exc).__name__}: {exc}")
        if resp.status_code == 401:
            log.error(
                "AURA answered 401 even with a fresh token: check the client credentials"
                " (event key %s): %s",
                idempotency_key,
                _excerpt(resp.text),
            )
            return Retry("unauthorized", None, 401)
        return self._classify(resp)

    def _post(self, body: bytes, idempotency_key: str, token: str) -> requests.Response:
        return self._session.post(
            self.event_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=self.timeout,
            allow_redirects=False,  # a redirected POST may silently become a GET
        )

    def _classify(self, resp: requests.Response) -> Outcome:
        status, text = resp.status_code, resp.text  # the body is already read (stream=False)
        if 200 <= status < 300:
            return Delivered(status, text)
        if status >= 500 or status in RETRYABLE_4XX:
            after = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
            return Retry(f"HTTP {status}: {_excerpt(text)}", after, status)
        return Permanent(status, f"HTTP {status}: {_excerpt(text)}", _excerpt(text))


def response_json(outcome: Delivered) -> str:
    """What the store keeps of a 2xx: AURA's JSON answer (e.g. the calloutId) and the status."""
    try:
        body = json.loads(outcome.body) if outcome.body else None
    except ValueError:
        body = outcome.body
    return json.dumps({"status": outcome.status, "body": body}, ensure_ascii=False)
