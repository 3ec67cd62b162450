"""Is the service ready to take callbacks? What ``/readyz`` answers (docs/design.md §8).

Ready means the store can commit now, to the file it opened, and no integrity check found damage:

* the file at the store's path is still the one it opened (a stat; a deleted or replaced file
  also makes every write refuse, see :mod:`webhook.store.sqlite_connections`);
* the background ``PRAGMA quick_check`` of a large store has not failed;
* a real write commits (:meth:`Store.probe_commit`): a full disk, a read-only file or
  directory, a broken file all show here and nowhere cheaper.

The probe fsyncs, and ``/readyz`` needs no secret, so it runs at most once per
``probe_interval_s`` whoever asks, one at a time; callers in between, or while it runs, get the
last answer at once. (Waiting for it could hold every waitress thread on a store that is slow to
commit, and starve the callbacks.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from webhook.store import Store

log = logging.getLogger("aura_uplink.readiness")


def recovery_hint(path: str) -> str:
    """How to recover from a corrupt store, for the one line an operator reads."""
    return (
        f"restore a backup, or salvage what is readable with `sqlite3 {path} .recover |"
        " sqlite3 NEW.db` (`.dump` where .recover fails) and put NEW.db in its place (its raw"
        " uplinks can be replayed with `aura-uplink store replay`)"
    )


class Readiness:
    """The answer of ``/readyz``: None when ready, else the reason (one line, no secrets)."""

    def __init__(
        self,
        store: Store,
        *,
        probe_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.probe_interval_s = probe_interval_s
        self._clock = clock
        self._lock = threading.Lock()  # guards the state below
        self._probing = threading.Lock()  # one probe at a time; nobody waits for it
        self._probed_at: float | None = None
        self._probe_problem: str | None = None
        self._integrity = "not checked"  # "running", "ok" or "failed" once a check started
        self._integrity_problem: str | None = None
        self._last_problem: str | None = None

    def problem(self) -> str | None:
        """Why the service is not ready, or None."""
        problem = self.store.identity_problem() or self._integrity_problem or self._probe()
        with self._lock:
            self._report(problem)
        return problem

    def _probe(self) -> str | None:
        if not self._probing.acquire(blocking=False):
            return self._probe_problem  # another caller is probing: take its last answer
        try:
            now = self._clock()
            if self._probed_at is not None and now - self._probed_at < self.probe_interval_s:
                return self._probe_problem
            try:
                self.store.probe_commit()
                self._probe_problem = None
            except Exception as error:  # whatever stops a commit makes the service not ready
                self._probe_problem = f"the store cannot commit: {error}"
            self._probed_at = now
            return self._probe_problem
        finally:
            self._probing.release()

    def _report(self, problem: str | None) -> None:
        """Log a change, not every probe: a not-ready store is an incident, once."""
        if problem == self._last_problem:
            return
        if problem is None:
            log.info("ready again: the store commits")
        else:
            log.critical("not ready: %s", problem)
        self._last_problem = problem

    # -- the integrity check -------------------------------------------------------------------

    def record_integrity(self, problem: str | None) -> None:
        """The outcome of ``PRAGMA quick_check`` (run at start-up or in the background)."""
        with self._lock:
            self._integrity = "ok" if problem is None else "failed"
            self._integrity_problem = (
                None if problem is None else f"store integrity check failed: {problem}"
            )
        if problem is not None:
            where = getattr(self.store, "path", "the database file")
            log.critical("store integrity check failed: %s; %s", problem, recovery_hint(where))

    def check_integrity_in_background(self) -> threading.Thread:
        """Run ``PRAGMA quick_check`` off the request path (a large store takes seconds or
        more); the service takes callbacks meanwhile, and ``/readyz`` turns 503 if it fails."""
        with self._lock:
            self._integrity = "running"

        def run() -> None:
            try:
                problem = self.store.integrity_problem()
            except Exception as error:  # a check that cannot run is no proof of a sound store
                problem = f"the check could not run: {error}"
            self.record_integrity(problem)
            if problem is None:
                log.info("store integrity check (background): ok")

        thread = threading.Thread(target=run, name="integrity-check", daemon=True)
        thread.start()
        return thread

    def as_json(self) -> dict[str, Any]:
        """For the operator's ``/status.json``."""
        problem = self.problem()
        return {
            "ready": problem is None,
            "reason": problem,
            "integrity_check": self._integrity,
        }
