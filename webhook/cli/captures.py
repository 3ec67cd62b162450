"""Reading captured frames for offline decoding: hex per line, CSV with a data column, or JSON
lines of saved network callback bodies. Streams line by line, so memory stays flat however long
the capture is."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from decoders.envelopes import lorawan
from decoders.envelopes.jsontext import load_json
from decoders.envelopes.sigfox import parse_sigfox
from decoders.errors import EnvelopeError
from decoders.types import Fix, Uplink


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame to decode, with what the capture says about where it came from."""

    hex: str
    line: int
    port: int | None = None
    serial: str | None = None
    sequence: int | None = None
    received_at: datetime | None = None
    network_location: Fix | None = None
    dedup_key: str | None = None
    uplink: Uplink | None = None  # the whole uplink, when the line was a callback body


@dataclass(frozen=True, slots=True)
class UnreadableLine:
    """A line that is not a frame at all (bad JSON, a body without its fields)."""

    text: str
    line: int
    error: dict[str, Any]


def read_capture(
    lines: Iterable[str], *, now: datetime
) -> Iterator[CapturedFrame | UnreadableLine]:
    """Frames from a capture. The format is chosen by the first non-blank, non-# line:
    ``{`` starts JSON lines, a line with a comma and a ``data`` column is a CSV header,
    anything else is hex, one frame per line. ``now`` stands in for the received time of a
    saved body that carries none."""
    numbered = ((n, line.strip()) for n, line in enumerate(lines, start=1))
    content = ((n, text) for n, text in numbered if text and not text.startswith("#"))
    first = next(content, None)
    if first is None:
        return
    rest = _chain(first, content)
    if first[1].startswith("{"):
        yield from _json_lines(rest, now)
    elif "," in first[1] and "data" in [c.strip().lower() for c in first[1].split(",")]:
        yield from _csv(first[1], content)
    else:
        for number, text in rest:
            yield CapturedFrame(hex=text, line=number)


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


def _json_lines(
    lines: Iterable[tuple[int, str]], now: datetime
) -> Iterator[CapturedFrame | UnreadableLine]:
    for number, text in lines:
        try:
            body = load_json(text)  # bounded: no RecursionError from a 10,000-deep line
        except EnvelopeError as error:
            yield UnreadableLine(text, number, _error("InvalidJSON", f"line {number}: {error}"))
            continue
        try:
            uplink = _uplink(body, now)
        except EnvelopeError as error:
            yield UnreadableLine(text, number, error.as_dict())
            continue
        if uplink.kind != "uplink":
            continue  # joins, acks, network locations: no frame to decode offline
        if uplink.payload_error is not None:
            problem = {"type": "InvalidPayload", "message": uplink.payload_error}
            yield UnreadableLine(text, number, {**problem, "field": "payload", "offset": None})
            continue
        has_time = uplink.network != "sigfox" or "time" in body
        yield CapturedFrame(
            hex=uplink.payload.hex().upper(),
            line=number,
            port=uplink.port,
            serial=uplink.device,
            sequence=uplink.sequence,
            received_at=uplink.received_at if has_time else None,
            network_location=uplink.network_location,
            dedup_key=uplink.dedup_key if has_time else None,
            uplink=uplink,
        )


def _uplink(body: Any, now: datetime) -> Uplink:
    """A saved body of any network: LoRaWAN servers by their own keys, else Sigfox."""
    parser = lorawan.detect(body)
    if parser is not None:
        return parser(body, now=now)
    return parse_sigfox(body, now=now)


def _csv(header: str, lines: Iterable[tuple[int, str]]) -> Iterator[CapturedFrame | UnreadableLine]:
    columns = [c.strip() for c in next(csv.reader([header]))]
    lower = [c.lower() for c in columns]
    for number, text in lines:
        row = dict(zip(lower, next(csv.reader([text])), strict=False))
        try:
            yield CapturedFrame(
                hex=row.get("data", "").strip(),
                line=number,
                port=_optional_int(row, ("port", "fport", "f_port")),
                serial=(row.get("device") or row.get("deveui") or "").strip().upper() or None,
                sequence=_optional_int(row, ("seqnumber", "sequence", "fcnt", "f_cnt")),
            )
        except ValueError as error:
            yield UnreadableLine(text, number, _error("InvalidCSV", f"line {number}: {error}"))


def _optional_int(row: dict[str, str], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = (row.get(name) or "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise ValueError(f"column {name!r}: expected an integer, got {value!r}") from None
    return None


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "field": None, "offset": None}
