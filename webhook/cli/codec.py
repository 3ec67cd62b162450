"""``aura-uplink decode --codec FILE``: frames through a vendor JavaScript codec, offline
(docs/codecs.md §5). One JSON object per frame, shaped like ``decode``'s: the codec's output is
``fields``; its warnings, and those of a captured callback body, are ``warnings``; a frame the
codec fails on is an ``error`` object, and the exit status is then 1."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import click

from decoders.decode import frame_bytes
from decoders.errors import ConfigError, DecodeError
from webhook.cli.captures import CapturedFrame, UnreadableLine

# The options that choose a model; a codec replaces all of them.
MODEL_OPTIONS = ("--model", "--grammar", "--config", "--template", "--device-type-id")


def load(path: str, timeout_ms: int, memory_mb: int) -> Any:
    """The codec, or a usage error (exit 2) saying why it cannot be used."""
    from decoders.codecs import load_codec  # the JavaScript engine only when asked for

    try:
        return load_codec(path, timeout_ms=timeout_ms, memory_mb=memory_mb)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def run(
    frames: Iterable[CapturedFrame | UnreadableLine],
    codec: Any,
    port: int | None,
    out: IO[str],
) -> int:
    """Decode every frame with ``codec``, print one JSON line each; how many failed."""
    failures = 0
    for frame in frames:
        if isinstance(frame, UnreadableLine):
            failures += 1
            _print(out, {"hex": None, "line": frame.line, "error": frame.error})
            continue
        frame_port = frame.port if frame.port is not None else port
        try:
            # The edge reads the clock: a hex argument was received now (decoders/ never asks).
            received = frame.received_at or datetime.now(UTC)
            result = codec.decode(frame_bytes(frame.hex), frame_port, received)
        except DecodeError as error:  # a CodecError, or hex that is not hex
            failures += 1
            _print(out, _warned({"hex": frame.hex, "error": error.as_dict()}, frame, ()))
            continue
        record = {"codec": codec.name, "port": frame_port, "hex": frame.hex}
        record["fields"] = result.fields
        _print(out, _warned(record, frame, result.warnings))
    return failures


def _warned(record: dict[str, Any], frame: CapturedFrame, said: tuple[str, ...]) -> dict[str, Any]:
    """``record`` with ``"warnings"`` in the one shape of docs/design.md §14, when the callback
    body or the codec had any."""
    found = [dict(w) for w in (frame.uplink.warnings if frame.uplink is not None else ())]
    found += [{"source": "decoder", "field": "codec", "message": text} for text in said]
    if found:
        record["warnings"] = found
    return record


def _print(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
