"""Delivery receipts: AURA's 2xx answers, written down the instant they arrive.

Why: between AURA acting on an event and the store recording that it did, a process that dies
makes AURA see the event again once its lease lapses (AURA documents no idempotency key). That
window was the store's commit: waiting for SQLite's writer lock behind the callbacks' commits,
then an fsync; milliseconds under load, and at a few hundred events a second a kill caught two
or three events in it. A receipt is one ``write(2)`` to an append-only file of this process's
own, with no lock to wait for and no fsync. The kernel keeps it when the process is killed, so
when the process starts again, or another process on the same data directory sees that the
file's writer is gone, the receipts are recorded in the store before those events could be
claimed again (within the lease: recovery runs at start and every second after).

What a receipt cannot do: survive a power cut before the kernel wrote it out (then the event is
sent again, as it would be without receipts: at least once either way), or help another host
(a PostgreSQL peer claims a dead instance's events after the lease, as before).

Files: ``<data dir>/receipts/<pid>-<random>.jsonl``, each held under an exclusive ``flock`` by
its writer for as long as it is open: a file whose lock can be taken has no writer left. A file
is rotated at ``rotate_bytes`` and deleted once every receipt in it is in the store.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"


class DeliveredRecorder(Protocol):
    """What recovery needs of a store: the worker's own ``mark_delivered``."""

    def mark_delivered(
        self, event_id: int, response_json: str, now: float, *, claim: int | None = None
    ) -> bool: ...


@dataclass(slots=True, eq=False)
class Segment:
    """One receipts file of this process, and how many of its receipts the store lacks."""

    path: Path
    fd: int
    size: int = 0
    unrecorded: int = 0
    closed: bool = field(default=False)


class Receipts:
    """This process's receipts in ``directory``; :meth:`recover` records a dead writer's."""

    def __init__(self, directory: Path, *, rotate_bytes: int = 1 << 20) -> None:
        self.directory = directory
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._own: set[Path] = set()

    def open(self) -> None:
        """Create the directory and this process's first file (raises ``OSError``)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._current = self._new_segment()

    def write(self, event_id: int, claim: int | None, response_json: str, at: float) -> Segment:
        """Write one receipt before the store records it; pass the result to :meth:`recorded`.
        One ``write`` call per receipt, so a kill leaves at most the last line cut short."""
        line = json.dumps({"id": event_id, "claim": claim, "at": at, "response": response_json})
        data = (line + "\n").encode()
        with self._lock:
            segment = self._current
            if segment is None:
                raise RuntimeError("Receipts.open() was not called")
            if segment.size + len(data) > self.rotate_bytes and segment.size:
                segment = self._current = self._rotate(segment)
            os.write(segment.fd, data)
            segment.size += len(data)
            segment.unrecorded += 1
            return segment

    def recorded(self, segment: Segment) -> None:
        """The store has that receipt's verdict (or the event is no longer ours to record)."""
        with self._lock:
            segment.unrecorded -= 1
            if segment is not self._current and segment.unrecorded == 0 and not segment.closed:
                self._delete(segment)

    def close(self) -> None:
        """Delete this process's files whose receipts are all in the store; leave the others
        (the store failed meanwhile) for the next :meth:`recover`."""
        with self._lock:
            current, self._current = self._current, None
            if current is not None and current.unrecorded == 0:
                self._delete(current)
            elif current is not None:
                os.close(current.fd)  # lets go of the lock: the next start recovers them
                current.closed = True

    def recover(self, store: DeliveredRecorder) -> int:
        """Record the receipts of files whose writer is gone; returns how many events that
        marked delivered (the others were already recorded, or claimed again since)."""
        marked = 0
        try:
            paths = sorted(self.directory.glob(f"*{SUFFIX}"))
        except OSError:
            return 0
        for path in paths:
            if path in self._own:
                continue
            marked += self._recover_file(path, store)
        return marked

    # -- internals -----------------------------------------------------------------------------

    def _new_segment(self) -> Segment:
        path = self.directory / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours alone while this process lives
        self._own.add(path)
        return Segment(path, fd)

    def _rotate(self, full: Segment) -> Segment:
        fresh = self._new_segment()
        if full.unrecorded == 0:
            self._delete(full)
        return fresh

    def _delete(self, segment: Segment) -> None:
        # Unlinked before the lock goes with the descriptor: nobody can find it to recover.
        try:
            segment.path.unlink()
        except OSError as error:
            log.warning("cannot delete receipts file %s: %s", segment.path, error)
        os.close(segment.fd)
        segment.closed = True
        self._own.discard(segment.path)

    def _recover_file(self, path: Path, store: DeliveredRecorder) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return 0  # its writer deleted it, or another process recovered it
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # its writer is alive
            if not os.path.exists(path):
                return 0  # recovered and deleted by another process while we waited
            with os.fdopen(os.dup(fd), "rb") as handle:
                lines = handle.read().splitlines()
            marked = sum(self._apply(line, store, path) for line in lines)
            path.unlink()  # every receipt is in the store: a failure above left it in place
            if marked:
                log.info("recorded %d delivery receipt(s) of a process that died: %s", marked, path)
            return marked
        finally:
            os.close(fd)

    @staticmethod
    def _apply(line: bytes, store: DeliveredRecorder, path: Path) -> bool:
        try:
            receipt = json.loads(line)
            event_id, claim = int(receipt["id"]), receipt["claim"]
            at, response = float(receipt["at"]), str(receipt["response"])
        except (ValueError, KeyError, TypeError):
            # The line a kill cut short: its event is sent again, as without receipts.
            log.warning("ignoring a damaged delivery receipt in %s", path)
            return False
        return store.mark_delivered(
            event_id, response, at, claim=None if claim is None else int(claim)
        )
