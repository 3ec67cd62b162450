"""V8 (through the ``mini-racer`` package) as a sandbox for one codec: per-call time and memory
limits, no I/O, and a bound on every wait.

Why these arrangements (each was seen to matter with mini-racer 0.14):

* Every V8 context is created and closed on one long-lived thread that owns an asyncio loop
  (``_Loop``). Creating contexts from several threads, or first from a thread that then ends,
  crashed the process, and so did a context closed by the garbage collector on another thread.
* A call does not go through mini-racer's asyncio relay (``MiniRacer.eval(timeout_sec=)``): that
  hands the call from thread to thread four times, each hand-over waiting for the GIL, and with
  one busy Python thread a decode took about 14 ms instead of 1. ``_Evaluation`` starts the
  evaluation and waits for its answer on the calling thread (mini-racer's own building blocks,
  the ones its synchronous ``eval`` uses; the package is held below 0.15 for that). At the time
  limit it cancels the task: mini-racer turns that into V8's ``TerminateExecution``, which stops
  loops, regular-expression backtracking and builtins alike, and which JavaScript cannot catch.
* Promise jobs a codec queues run *after* its call has answered, outside the call's time limit.
  So every call is followed by an empty evaluation that can only run once they are done: if it
  does not finish in time, the codec left work running and its context is thrown away (closing
  a context stops whatever still runs in it).
* Every wait on the engine has a deadline, so even an engine that failed to stop leaves the
  caller within a bounded time; that context is abandoned.
* mini-racer offers JavaScript no I/O (no ``require``, ``fetch``, ``process``, files or
  sockets); decoders/codecs/prelude.py removes its timer shim and the primitives under it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import queue
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSParseException,
    MiniRacer,
)

from decoders.codecs.output import clip
from decoders.errors import CodecError

T = TypeVar("T")

# How long a stopped evaluation may take to answer before its context is given up.
GRACE_S = 2.0
_POSITION = re.compile(r"^<anonymous>:(\d+): ")


class CodecTimeLimit(CodecError):
    """The call ran past its time limit and was stopped."""


class CodecMemoryLimit(CodecError):
    """The call went over its memory limit and was stopped."""


class CodecLeftRunning(CodecError):
    """The call answered, but left promise jobs running past the time limit."""


class CodecScriptError(CodecError):
    """The script is not valid JavaScript, or it threw past the prelude (its top-level code)."""


class _Loop:
    """The one thread that creates and closes every V8 context and relays its answers.

    It also holds every open context: a MiniRacer left to the garbage collector closes itself on
    whichever thread collects it, and that crashed the process; here a context is closed only by
    :meth:`close`, on this thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._open: set[MiniRacer] = set()

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise CodecError("the JavaScript engine is shut down (the process is exiting)")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="aura-codec-engine", daemon=True
                )
                thread.start()
                self._loop = loop
                atexit.register(self.shutdown)
            return self._loop

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        try:
            loop = self._running()
        except CodecError:
            work.close()  # never started: say so to the coroutine, not to a warning at exit
            raise
        return asyncio.run_coroutine_threadsafe(work, loop)

    async def _new(self) -> MiniRacer:
        racer = MiniRacer()  # on the loop thread: it adopts the running loop
        self._open.add(racer)
        return racer

    def new(self, timeout_s: float) -> MiniRacer:
        return self.submit(self._new()).result(timeout=timeout_s)

    def close(self, racer: MiniRacer) -> None:
        """Close ``racer`` on the engine's thread; returns at once."""

        async def close() -> None:
            self._open.discard(racer)
            racer.close()

        with contextlib.suppress(CodecError):  # exiting: shutdown() closes what is left
            self.submit(close())

    def shutdown(self) -> None:
        """Close every context, then stop the loop (at interpreter exit)."""
        with self._lock:
            loop, self._loop, self._closed = self._loop, None, True
        if loop is None:
            return

        async def close_all() -> None:
            while self._open:
                self._open.pop().close()

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)


LOOP = _Loop()


def _evaluate(racer: MiniRacer, script: str, timeout_s: float, keep: list[Any]) -> Any:
    """Run ``script`` in ``racer``'s context and wait for its value on this thread.

    mini-racer answers evaluations started with callback id 0 through one queue per context, in
    order; a context is only ever evaluated by one thread at a time here, so the next answer in
    the queue is this evaluation's. A stopped evaluation still answers (with "terminated"): that
    answer is taken off the queue before returning, so the next call cannot read it."""
    context = racer._ctx  # private: see the module docstring
    assert context is not None
    answers: queue.Queue[Any] = context._non_cancelable_mr_task_results_queue
    code = context._python_to_value_handle(script)
    task = context._dll.mr_eval(context._ctx, code.raw, 0)
    try:
        answer = answers.get(timeout=timeout_s)
    except queue.Empty:
        context._dll.mr_cancel_task(context._ctx, task)
        try:
            answers.get(timeout=GRACE_S)
        except queue.Empty:
            keep.append(code)  # the engine may still read the script: never free it
            raise _Abandoned(f"did not stop within {timeout_s + GRACE_S:g} s") from None
        raise CodecTimeLimit(f"ran past its time limit of {timeout_s * 1000:g} ms") from None
    return context._value_handle_to_python(answer)


class _Abandoned(CodecTimeLimit):
    """The engine did not stop at the time limit; its context is given up."""


def _first_line(error: JSEvalException) -> str:
    """mini-racer's ``<anonymous>:LINE: Error: message`` as ``Error: message (line LINE)``."""
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    found = _POSITION.match(line)
    return f"{line[found.end() :]} (line {found.group(1)})" if found else line


class Sandbox:
    """One V8 context holding one codec. Used by one thread at a time; ``dead`` once a limit
    stopped it (the caller builds a new one)."""

    def __init__(self, prelude: str, source: str, *, memory_mb: int, load_timeout_s: float):
        self.memory_mb = memory_mb
        self.dead = False
        self._kept: list[Any] = []  # scripts an abandoned evaluation may still read
        self._racer: MiniRacer | None = None
        try:
            self._racer = LOOP.new(load_timeout_s + GRACE_S)
        except concurrent.futures.TimeoutError:
            raise CodecTimeLimit("could not get a JavaScript context in time") from None
        try:
            self._racer.set_hard_memory_limit(memory_mb * 1024 * 1024)
            self.evaluate(prelude, load_timeout_s)
            self.evaluate(source, load_timeout_s)
        except BaseException:
            self.close()
            raise

    def evaluate(self, script: str, timeout_s: float) -> Any:
        """Run ``script`` in the context; its value (a string, number, bool or None)."""
        return self._run(script, timeout_s)

    def call(self, script: str, timeout_s: float, settle_s: float) -> Any:
        """Run ``script``, then wait (up to ``settle_s``) for any promise jobs it left."""
        answer = self._run(script, timeout_s)
        try:
            self._run("0", settle_s)
        except CodecTimeLimit:
            self.close()
            raise CodecLeftRunning(
                f"answered but left work running (a promise or an async function) past"
                f" {settle_s * 1000:g} ms"
            ) from None
        return answer

    def _live(self) -> MiniRacer:
        if self.dead or self._racer is None:
            raise CodecError("this codec context was stopped; build a new one")
        return self._racer

    def _run(self, script: str, limit_s: float) -> Any:
        racer = self._live()
        try:
            return _evaluate(racer, script, limit_s, self._kept)
        except _Abandoned:
            self.close()
            raise
        except JSOOMException:
            self.close()
            raise CodecMemoryLimit(f"went over its memory limit of {self.memory_mb} MiB") from None
        except JSParseException as error:
            raise CodecScriptError(f"is not valid JavaScript: {_first_line(error)}") from None
        except JSEvalException as error:
            if racer.was_hard_memory_limit_reached():
                self.close()
                raise CodecMemoryLimit(
                    f"went over its memory limit of {self.memory_mb} MiB"
                ) from None
            raise CodecScriptError(f"threw {clip(_first_line(error), 500)}") from None

    def close(self) -> None:
        """Throw the context away (closed on the engine's thread; this returns at once)."""
        self.dead = True
        racer, self._racer = self._racer, None
        if racer is not None:
            LOOP.close(racer)

    def __del__(self) -> None:
        if getattr(self, "_racer", None) is not None:
            self.close()
