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
import http.client
import json
import logging
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import requests.utils

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


class _EventPool:
    """The events' own keep-alive connections: one ``http.client`` connection per sending
    thread (each delivery worker keeps its own), reused from one event to the next.

    Why not ``requests``, which the token exchange uses: it cost about 0.6 ms of CPU per POST
    above urllib3's own, most of it reading the environment again on every request (proxies,
    CA bundle, ``.netrc``), and urllib3's pool costs as much again above ``http.client``
    (loopback, 2 cores: 0.83, 0.26 and 0.12 ms per POST); at a few hundred events a second,
    in a process whose threads share one GIL with the webhook's, that was the largest cost
    of a delivery. The environment does not change under a running process, so it is read
    once here, the way ``requests`` reads it: the same CA bundle (``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, else certifi's). A proxy configured for AURA's URL is not handled here:
    :meth:`for_url` answers None and the client keeps ``requests`` (which honours it).

    Like ``requests`` (with ``max_retries=0``) it never resends: a kept connection that the
    server closed while idle is noticed before it is used (it reads as ready: EOF) and
    replaced; one that breaks under a request is the caller's error (a :class:`Retry`), and
    the next request opens a new one.
    """

    def __init__(self, url: str, timeout: tuple[float, float]) -> None:
        parts = urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host = parts.hostname or ""
        self.port = parts.port
        self.connect_timeout, self.read_timeout = timeout
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._tls = ssl.create_default_context(
                cafile=os.environ.get("REQUESTS_CA_BUNDLE")
                or os.environ.get("CURL_CA_BUNDLE")
                or requests.utils.DEFAULT_CA_BUNDLE_PATH
            )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[http.client.HTTPConnection] = []

    @classmethod
    def for_url(cls, url: str, timeout: tuple[float, float]) -> _EventPool | None:
        """Connections for ``url``, or None where ``requests`` must stay (a proxy, a scheme
        other than http and https)."""
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        if requests.utils.get_environ_proxies(url):
            return None
        return cls(url, timeout)

    def post(self, body: bytes, headers: Mapping[str, str]) -> _Answer:
        """POST ``body`` and read the whole answer; raises ``OSError`` (timeouts included)
        or ``http.client.HTTPException``, and then drops the connection."""
        conn = self._connection()
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()  # half a request or an unread answer: never reuse it
            raise
        text = _text(data, resp.getheader("Content-Type"))
        # getheader() is case-insensitive, as requests' headers are; _classify reads only this.
        retry_after = resp.getheader("Retry-After")
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        return _Answer(resp.status, text, headers)

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_connection()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        if conn.sock is not None and _readable(conn.sock):
            conn.close()  # closed by the server while idle (or it sent what we never asked)
        if conn.sock is None:
            conn.connect()  # with the connect timeout; then every read waits up to the other
            assert conn.sock is not None
            conn.sock.settimeout(self.read_timeout)
        return conn

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._tls is not None:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.connect_timeout, context=self._tls
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()


def _readable(sock: socket.socket) -> bool:
    """True when an idle kept connection has something to read: the server closed it (EOF)."""
    # poll, not select: select cannot watch descriptors numbered past 1024, and the service
    # raises its open-file limit for its many client connections.
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed under us
        return True


@dataclass(frozen=True, slots=True)
class _Answer:
    """What :meth:`AuraClient._classify` reads of an answer, from either transport."""

    status_code: int
    text: str
    headers: Mapping[str, str]


def _text(data: bytes, content_type: str | None) -> str:
    """The answer's text: its declared charset, else UTF-8 (JSON's, RFC 8259 §8.1)."""
    charset = "utf-8"
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return data.decode("utf-8", errors="replace")


class AuraClient:
    """Posts device events to AURA over kept-alive connections, one per thread (thread-safe).

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
        # Events (the hot path) skip requests when they can; the token exchange (rare) keeps it.
        self._events = _EventPool.for_url(self.event_url, timeout)
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
        if self._events is not None:
            self._events.close()
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
        except (requests.Timeout, TimeoutError) as exc:  # socket.timeout is TimeoutError
            return Retry(f"timeout: {exc}")
        except requests.RequestException as exc:  # refused, reset, broken chunked body, ...
            return Retry(f"{type(exc).__name__}: {exc}")
        except ssl.SSLError as exc:
            return Retry(f"SSLError: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            # Refused, reset, closed mid-answer: named as requests names them.
            return Retry(f"ConnectionError: {type(exc).__name__}: {exc}")
        if resp.status_code == 401:
            log.error(
                "AURA answered 401 even with a fresh token: check the client credentials"
                " (event key %s): %s",
                idempotency_key,
                _excerpt(resp.text),
            )
            return Retry("unauthorized", None, 401)
        return self._classify(resp)

    def _post(self, body: bytes, idempotency_key: str, token: str) -> _Answer | requests.Response:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": idempotency_key,
        }
        if self._events is not None:
            return self._events.post(body, headers)
        return self._session.post(
            self.event_url,
            data=body,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,  # a redirected POST may silently become a GET
        )

    def _classify(self, resp: _Answer | requests.Response) -> Outcome:
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
