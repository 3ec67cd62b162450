"""Crash points for the kill tests (docs/reliability.md §6.2, scenarios 6, 8, 9).

``AURA_UPLINK_FAILPOINTS="after-ingest-commit,after-claim,after-send"`` makes the process
SIGKILL itself the first time it reaches a named point, exactly where a real crash hurts most.
Unset (always, in production) every call is one set lookup.
"""

from __future__ import annotations

import os
import signal

FAILPOINTS = frozenset(filter(None, os.environ.get("AURA_UPLINK_FAILPOINTS", "").split(",")))


def failpoint(name: str) -> None:
    """Die here, with no clean-up at all, if the environment asked for it."""
    if name in FAILPOINTS:
        os.kill(os.getpid(), signal.SIGKILL)
