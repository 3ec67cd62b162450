"""A daemon thread that does one thing every so often until stopped: what the retention pruner
and the lease keeper share. The work handles its own errors (each says what a failure means
for it); the thread only keeps time."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``tick`` every ``period_s`` seconds (the first time after ``first_s``, by default
    one period) on a thread named ``name``; :meth:`stop` ends it after the tick in progress."""

    def __init__(
        self, name: str, tick: Callable[[], object], period_s: float, first_s: float | None = None
    ) -> None:
        self.name = name
        self.tick = tick
        self.period_s = period_s
        self.first_s = period_s if first_s is None else first_s
        # Set by stop(): long work inside a tick may wait on it to end sooner (the pruner's
        # pauses between batches do).
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        wait = self.first_s
        while not self.stopping.wait(wait):
            wait = self.period_s
            self.tick()
