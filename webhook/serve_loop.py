"""Waitress's event loop for ``serve``: run until SIGTERM or SIGINT, then drain.

waitress's own ``run()`` is not used: the usual way out of it, raising from a signal handler,
lands inside whatever the loop is doing, and the loop swallows what a channel's handler raises
("uncaptured python exception, closing channel"). A SIGTERM that arrived while the loop was
busy (hundreds of clients closing at once) was lost, and the process ran on until SIGKILL. Here
the handler only notes the signal and wakes the loop through waitress's trigger pipe.

:class:`QuietChannel` keeps the loop from spinning while a handler writes its answer.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

from waitress import wasyncore
from waitress.channel import HTTPChannel
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


class QuietChannel(HTTPChannel):
    """waitress's channel, not watched for writing while its handler thread holds the output.

    Why: waitress asks ``poll`` to watch every channel with output waiting. A handler thread
    writes its answer under the channel's output lock and sends it itself (waitress's
    ``send_bytes`` is 1), so for that moment the channel has output that the loop may not
    touch: ``poll`` returned at once, the loop found the lock taken, and turned again, 10 to 20
    times per request under load (counted with 8 keep-alive clients), each turn competing with
    the handler threads for the GIL. That was about a fifth of ``serve``'s CPU per callback.

    Nothing waits longer for it: the handler sends what it wrote before it lets go of the lock,
    and at the end of every request waitress wakes the loop (its trigger pipe), which then
    finds the lock free and flushes whatever the socket did not take. Only an answer larger
    than waitress's ``outbuf_high_watermark`` (16 MB; ours are a few KB) could wait for the
    loop's timeout between two of its parts.
    """

    def writable(self) -> bool:
        if self.requests and not (self.will_close or self.close_when_flushed):
            if not self.outbuf_lock.acquire(False):
                return False  # the handler thread is writing: it sends, then wakes the loop
            self.outbuf_lock.release()
        return bool(super().writable())
