"""The service's log lines: plain text (the default) or one JSON object a line, and the first line
of a press's trail (docs/operations.md).

``aura-uplink --log-format json|text --log-level LEVEL <command>`` chooses (:func:`configure`);
``serve`` also reads ``[service] log_format``, which the option overrides (:func:`use_config`).

A JSON line has ``ts`` (UTC, ISO 8601, milliseconds), ``level``, ``logger`` and ``message``, plus
every field the call passed with ``extra=`` — the ids that let an operator follow one press by
grepping one number: ``uplink_id`` (and ``event_ids``) when the callback is stored, then
``event_id`` with ``uplink_id`` on each delivery step, and ``callout_id`` on AURA's answer.

Log injection: a device id is the sender's text. JSON escapes it (a newline stays inside its
string); the text format relies on messages showing such text through
:func:`decoders.envelopes.shown.printable`, as every call with sender text does.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from decoders.envelopes.shown import printable
from webhook.aura.answers import event_answer

if TYPE_CHECKING:
    from decoders.types import Uplink
    from webhook.store import EventRow, IngestResult

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LEVEL = "INFO"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# What every LogRecord carries; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}

log = logging.getLogger("aura_uplink.webhook")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (json.dumps escapes every control character)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that is not JSON (a Path, a datetime) is shown, never lost.
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(name: str) -> logging.Formatter:
    return JsonFormatter() if name == "json" else logging.Formatter(TEXT_FORMAT)


class _Choice:
    """What the command line said (None: not given), so the config file does not override it."""

    format: str | None = None
    level: str | None = None


def configure(fmt: str | None, level: str | None) -> None:
    """Log to stderr in ``fmt`` at ``level`` from now on (the command-line options). Later
    ``logging.basicConfig`` calls (``serve`` makes one) then change nothing."""
    _Choice.format, _Choice.level = fmt, level
    _install(fmt or "text", level or DEFAULT_LEVEL)


def use_config(fmt: str) -> None:
    """``[service] log_format``: applied unless ``--log-format`` was given."""
    if _Choice.format is None and fmt != "text":
        _install(fmt, _Choice.level or logging.getLevelName(logging.getLogger().level))


def _install(fmt: str, level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or basicConfig's stderr handler: replaced. Others (a test
        # runner's capture) stay.
        if getattr(handler, "aura_uplink", False) or (
            type(handler) is logging.StreamHandler and handler.stream is sys.stderr
        ):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.aura_uplink = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)


def log_stored(uplink: Uplink, result: IngestResult, status: str) -> None:
    """The first line of a press's trail: the uplink id the callback was stored under and the
    ids of its events. The device id is the sender's text: escaped in the message, kept as
    sent in the ``device`` field (which JSON escapes)."""
    shown = printable(uplink.device, 100)
    if result.duplicate:
        log.info(
            "callback for uplink %d again (a duplicate, not stored twice): %s device %s",
            result.uplink_id,
            uplink.network,
            shown,
            extra={"uplink_id": result.uplink_id, "device": uplink.device, "duplicate": True},
        )
        return
    log.info(
        "uplink %d stored %s: %s device %s, events %s",
        result.uplink_id,
        status,
        uplink.network,
        shown,
        list(result.event_ids),
        extra={
            "uplink_id": result.uplink_id,
            "event_ids": list(result.event_ids),
            "device": uplink.device,
            "network": uplink.network,
            "status": status,
        },
    )


def event_fields(row: EventRow, **more: object) -> dict[str, object]:
    """The ``extra=`` of a delivery step's line: the event, the uplink it came from (the link
    back to :func:`log_stored`'s line) and the device's queue key, plus ``more``."""
    return {"event_id": row.id, "uplink_id": row.uplink_id, "device_key": row.device_key, **more}


def callout_id(response_json: str) -> object:
    """AURA's calloutId in what the store keeps of a 2xx (None when the answer has none)."""
    answer = event_answer(response_json)
    return None if answer is None else answer["calloutId"]
