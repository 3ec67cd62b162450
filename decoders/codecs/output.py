"""The bounds of what a codec may hand back, and the reader that enforces them.

A codec's output becomes stored JSON, field-mapping input and log text, so it is bounded the way
callback bodies are (decoders/envelopes/limits.py): a size and a nesting depth that no real
decoder output comes near (the biggest TTN Device Repository examples are a few kilobytes, a few
levels deep), counted before Python builds anything from it. Warnings are advice: too many or
too long ones are cut, never a reason to lose the uplink.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from decoders.errors import CodecError


@dataclass(frozen=True, slots=True)
class OutputLimits:
    json_chars: int = 64 * 1024  # the codec's whole answer, as JSON text
    depth: int = 16  # nested objects and arrays, the answer itself at depth 1
    warnings: int = 16  # kept; the rest are summed up in one line
    warning_chars: int = 300
    message_chars: int = 500  # a thrown message or the joined ``errors`` in a CodecError


LIMITS = OutputLimits()


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def depth_of(text: str) -> int:
    """How deeply the JSON ``text`` nests, counted on the text: ``json.loads`` would recurse
    once per level, and a hostile codec can nest thousands of levels in a few kilobytes."""
    deepest = level = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def read_json(text: str, what: str, limits: OutputLimits = LIMITS) -> Any:
    """The value of the JSON ``text`` the sandbox produced, within ``limits``."""
    if len(text) > limits.json_chars:
        raise CodecError(
            f"{what} is {len(text):,} characters of JSON, more than the {limits.json_chars:,}"
            " a codec may return"
        )
    if depth_of(text) > limits.depth:
        raise CodecError(f"{what} nests deeper than {limits.depth} levels")
    try:
        return json.loads(text)
    except ValueError as error:  # the sandbox's own JSON.stringify wrote it: should not happen
        raise CodecError(f"{what} is not JSON: {error}") from None


def warnings_from(value: Any, limits: OutputLimits = LIMITS) -> tuple[str, ...]:
    """A codec's ``warnings``: a list of anything (a lone value counts as one), as short text."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    texts = [
        clip(item if isinstance(item, str) else json.dumps(item), limits.warning_chars)
        for item in items[: limits.warnings]
    ]
    if len(items) > limits.warnings:
        texts.append(f"... and {len(items) - limits.warnings} more warnings")
    return tuple(texts)


def errors_text(value: Any, limits: OutputLimits = LIMITS) -> str | None:
    """A codec's ``errors`` as one line, or None when there are none (a missing, null or empty
    ``errors`` is success: many codecs always return ``errors: []``)."""
    if value is None or value == [] or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    joined = "; ".join(item if isinstance(item, str) else json.dumps(item) for item in items)
    return clip(joined, limits.message_chars)
