"""Waitress's event loop for ``serve``: run until SIGTERM or SIGINT, then drain.

waitress's own ``run()`` is not used: the usual way out of it, raising from a signal handler,
lands inside whatever the loop is doing, and the loop swallows what a channel's handler raises
("uncaptured python exception, closing channel"). A SIGTERM that arrived while the loop was
busy (hundreds of clients closing at once) was lost, and the process ran on until SIGKILL. Here
the handler only notes the signal and wakes the loop through waitress's trigger pipe.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

from waitress import wasyncore
from waitress.server import BaseWSGIServer

LOOP_TIMEOUT_S = 1.0  # the longest one wait for socket events lasts (a signal cuts it short)
DRAIN_S = 10.0  # requests already in a handler get this long to commit and answer


class SignalLoop:
    """The loop of one server; :meth:`install` before :meth:`run`."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self.server = server
        self.received: list[int] = []

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._note)
        signal.signal(signal.SIGINT, self._note)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.server.pull_trigger()  # a byte on a pipe: safe in a handler, and wakes poll()

    def run(self) -> int:
        """Serve until a signal arrives; returns its number."""
        while not self.received:
            self._turn(LOOP_TIMEOUT_S)
        return self.received[0]

    def drain(self) -> None:
        """Stop accepting, and keep the loop turning while requests are in a handler (up to
        DRAIN_S): their commits finish and their answers are written, so a sender that does
        not retry (TTS, ChirpStack) is not left without one."""
        self.server.accepting = False  # waitress then stops polling the listening socket
        tasks = self.server.task_dispatcher
        deadline = time.monotonic() + DRAIN_S
        while (tasks.active_count or tasks.queue) and time.monotonic() < deadline:
            self._turn(0.05)
        self._turn(0.05)  # write out what the last of them answered

    def _turn(self, timeout: float) -> None:
        wasyncore.loop(
            timeout=timeout,
            map=self.server._map,
            use_poll=self.server.adj.asyncore_use_poll,
            count=1,
        )
