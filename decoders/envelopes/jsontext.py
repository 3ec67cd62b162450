"""JSON text of a callback body -> Python values, bounded, with every failure an
:class:`EnvelopeError` on ``body``.

``json.loads`` recurses once per nesting level (10,000 ``[`` raise ``RecursionError``), turns an
integer literal longer than Python's digit limit into a ``ValueError`` that is not a
``JSONDecodeError``, and takes ``NaN`` and ``Infinity``, which are not JSON. So the nesting depth
is measured on the text first, by a scan that does not recurse; an integer literal longer than
``MAX_INTEGER_DIGITS`` is kept as its digits, a string, so that the field readers refuse it by
name (a 400 naming ``time``, or a warning for an optional part) and one in a field nothing reads
costs nothing; and the non-standard constants are refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from decoders.errors import EnvelopeError

# The deepest real body is a The Things Stack uplink, about 6 levels (uplink_message.rx_metadata
# [].gateway_ids, settings.data_rate.lora) plus whatever a payload formatter's decoded_payload
# nests; 32 leaves room for that and stays far below Python's recursion limit.
MAX_DEPTH = 32
# 20 digits hold any 64-bit integer; a real body has nothing longer. Converting longer ones is
# what Python limits (4,300 digits), and no field could use them.
MAX_INTEGER_DIGITS = 40

# A string (to its closing quote, or to the end of an unterminated one, so the scan stays
# linear) or one bracket. Brackets inside strings are skipped with their string.
_TOKEN = re.compile(r'"(?:[^"\\]+|\\.)*"?|[\[\]{}]', re.DOTALL)


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON ``text`` (0 for a scalar)."""
    depth = deepest = 0
    for token in _TOKEN.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of JSON ``text``; :class:`EnvelopeError` (field ``body``) if it is not JSON or
    nests deeper than ``max_depth``. Integers longer than ``MAX_INTEGER_DIGITS`` digits come back
    as strings of their digits."""
    depth = nesting_depth(text)
    if depth > max_depth:
        raise EnvelopeError(
            f"body nests {depth} levels deep; at most {max_depth} are accepted", field="body"
        )
    try:
        return json.loads(text, parse_int=_integer, parse_constant=_not_json)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise EnvelopeError(f"body is not valid JSON: {_first_line(error)}", field="body") from None


def _integer(digits: str) -> int | str:
    return digits if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS else int(digits)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
