"""Injected failures for the AURA simulator: what a test can make the next deviceEvent requests
suffer (an error status, a hang, a dropped connection), and whether AURA processed the event first.
"""

from __future__ import annotations

import email.utils
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from webhook.aurasim.validation import is_int, is_number

FAULT_KINDS = ("status", "hang", "reset")
_FAULT_FIELDS = {"kind", "status", "retry_after", "http_date", "seconds", "after_commit"}


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure; each is consumed by exactly one deviceEvent request.

    ``kind``: ``"status"`` answers ``status`` (with ``Retry-After`` when ``retry_after`` is set);
    ``"hang"`` waits ``seconds`` before answering; ``"reset"`` drops the connection unanswered.
    ``retry_after``: a number of seconds, sent as delta-seconds or, with ``http_date``, as the
    HTTP-date that many seconds from now (RFC 9110 §10.2.3); a string is sent verbatim (to test
    malformed values). ``after_commit`` (5xx, hang, reset only): AURA processes the event first and
    only the response is lost — the ambiguous failure of reliability scenarios 8 and 12.
    """

    kind: str = "status"
    status: int = 500
    retry_after: float | str | None = None
    http_date: bool = False
    seconds: float = 5.0
    after_commit: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.kind == "status" and not (is_int(self.status) and 400 <= self.status <= 599):
            raise ValueError(f"fault status must be an integer 400-599, got {self.status!r}")
        if not (is_number(self.seconds) and self.seconds >= 0):
            raise ValueError(f"fault seconds must be a number >= 0, got {self.seconds!r}")
        wait = self.retry_after
        if not (wait is None or isinstance(wait, str) or (is_number(wait) and wait >= 0)):
            raise ValueError(f"retry_after must be seconds >= 0 or a string: {wait!r}")
        if self.after_commit and self.kind == "status" and self.status < 500:
            raise ValueError("after_commit only makes sense for a 5xx status, a hang or a reset")

    @classmethod
    def from_json(cls, spec: Any) -> Fault:
        """Build a fault from its JSON form (the field names above); unknown keys are errors."""
        if not isinstance(spec, dict):
            raise ValueError("a fault spec must be a JSON object")
        unknown = set(spec) - _FAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        for flag in ("http_date", "after_commit"):
            if not isinstance(spec.get(flag, False), bool):
                raise ValueError(f"{flag} must be true or false")
        return cls(**spec)

    def retry_after_header(self, now: float) -> str | None:
        """The ``Retry-After`` value for a response sent at ``now`` (epoch seconds)."""
        if self.retry_after is None or isinstance(self.retry_after, str):
            return self.retry_after
        if self.http_date:
            # HTTP-date has one-second resolution: round up so "not before" stays true.
            when = datetime.fromtimestamp(math.ceil(now + self.retry_after), UTC)
            return email.utils.format_datetime(when, usegmt=True)
        return str(math.ceil(self.retry_after))

    def describe(self) -> str:
        text = {"status": f"status {self.status}", "hang": f"hang {self.seconds:g}s"}.get(
            self.kind, self.kind
        )
        return text + (" after_commit" if self.after_commit else "")

    def as_json(self) -> dict[str, Any]:
        """The JSON form :meth:`from_json` reads, without the fields this kind ignores."""
        ignored = {"status", "retry_after", "http_date"} if self.kind != "status" else set()
        ignored |= {"seconds"} if self.kind != "hang" else set()
        return {key: value for key, value in asdict(self).items() if key not in ignored}
