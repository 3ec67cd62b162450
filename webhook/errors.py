"""The service's errors, under the project's one root (:class:`decoders.AuraUplinkError`)."""

from __future__ import annotations

from decoders.errors import AuraUplinkError


class StoreError(AuraUplinkError):
    """The store cannot be used as it is: durability settings refused, a schema newer than this
    version knows, a migration that failed. The service must not start on it."""


class CannotStart(AuraUplinkError):
    """``serve`` cannot start: the store is unusable, the port is taken. The command exits 3
    with this one line (docs/design.md §14, exit codes)."""


class StoreUnavailable(StoreError):
    """The store cannot take a commit now: its file was deleted or replaced while the service
    ran, or a write failed. The routes answer 503 instead of acknowledging (a sender that
    retries will try again), and ``/readyz`` says why."""
