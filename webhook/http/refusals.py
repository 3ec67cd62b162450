"""Refused requests in the log: one WARNING line per refusal (401 wrong secret, 400 malformed,
413/414 too large, ...) with the route, the client's address and the reason, at most
``PER_WINDOW`` lines per client address in ``WINDOW_S``; past that, one line with the number that
were not logged, said when that client's window closes (with its next refusal, or the next
refusal of anyone at least a second later).

:func:`log_refusal` is an ``after_request`` hook of every network blueprint, so it sees each
answer those routes give, whichever handler made it (``app.py``'s error handlers included). The
reason is taken from the answer's JSON ``error``, or from what a route put in
:data:`REASON_KEY` of ``flask.g``; it never holds the secret (a 401 says only whether the header
was missing or wrong), and values from the request reach it only in a 400, which is only given
after the secret was checked. Everything from the request is escaped and clipped
(:func:`decoders.envelopes.shown.printable`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, current_app, g, request

from decoders.envelopes.shown import printable

log = logging.getLogger("aura_uplink.refused")

WINDOW_S = 10.0
PER_WINDOW = 5
# Distinct addresses tracked at once; beyond it they share one window, so a flood from many
# addresses costs bounded memory and still at most PER_WINDOW lines for all of them.
MAX_CLIENTS = 1024
OTHER_CLIENTS = "(other addresses)"
SWEEP_S = 1.0  # closed windows of other clients are looked for at most this often
REASON_CHARS = 300
PATH_CHARS = 100
REASON_KEY = "aura_uplink_refusal"
_EXTENSION_KEY = "aura_uplink.refusals"
_create_lock = threading.Lock()


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


class RefusalLog:
    """The rate-limited refusal lines of one app (thread-safe)."""

    def __init__(
        self,
        *,
        per_window: int = PER_WINDOW,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._swept = clock()

    def refused(self, client: str, status: int, route: str, reason: str) -> None:
        """One refusal: a line unless ``client`` already had ``per_window`` in this window.
        ``route`` and ``reason`` must already be escaped."""
        with self._lock:
            now = self._clock()
            closed = self._close_windows(now, client)
            window = self._windows.get(client)
            if window is None and len(self._windows) >= MAX_CLIENTS:
                client = OTHER_CLIENTS
                window = self._windows.get(client)
            if window is None:
                window = self._windows[client] = _Window(started=now)
            write = window.logged < self.per_window
            if write:
                window.logged += 1
            else:
                window.suppressed += 1
        for who, count in closed:
            self._log.warning(
                "%d more refused requests from %s in %g s were not logged",
                count,
                who,
                self.window_s,
            )
        if write:
            self._log.warning("refused %s from %s: %d %s", route, client, status, reason)

    def _close_windows(self, now: float, client: str) -> list[tuple[str, int]]:
        """Forget windows that have run their time (``client``'s always, others at most every
        SWEEP_S); the suppressed counts of those that had any."""
        names = [client, OTHER_CLIENTS]
        if now - self._swept >= SWEEP_S:
            self._swept = now
            names = list(self._windows)
        closed = []
        for name in names:
            window = self._windows.get(name)
            if window is not None and now - window.started >= self.window_s:
                del self._windows[name]
                if window.suppressed:
                    closed.append((name, window.suppressed))
        return closed


def refusals() -> RefusalLog:
    """The :class:`RefusalLog` of the current app (made on first use)."""
    found = current_app.extensions.get(_EXTENSION_KEY)
    if found is None:
        with _create_lock:
            found = current_app.extensions.setdefault(_EXTENSION_KEY, RefusalLog())
    return found


def note_reason(reason: str) -> None:
    """What the refusal line of this request should say, when the answer's ``error`` says too
    little (a 401's answer does not say which header was wrong)."""
    setattr(g, REASON_KEY, reason)


def log_refusal(response: Response) -> Response:
    """``after_request`` hook: log the answer if it refuses the request (4xx)."""
    if 400 <= response.status_code < 500:
        reason = getattr(g, REASON_KEY, None) or _reason_in(response)
        route = f"{request.method} {printable(request.path, PATH_CHARS)}"
        client = printable(request.remote_addr or "-", 64)
        refusals().refused(client, response.status_code, route, printable(reason, REASON_CHARS))
    return response


def _reason_in(response: Response) -> str:
    answer = response.get_json(silent=True) if response.is_json else None
    if not isinstance(answer, dict) or "error" not in answer:
        return response.status
    return str(answer["error"])  # a 400's names its field
