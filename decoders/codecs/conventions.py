"""The calling conventions of vendor codecs, detected from the function a file defines
(docs/codecs.md §1), and how each one's answer becomes fields and warnings.

* ``decodeUplink(input)``: The Things Stack's payload formatters and Device Repository codecs
  (input ``{bytes, fPort, recvTime}``, answer ``{data, warnings, errors}``; any ``errors`` means
  the decoding failed) and ChirpStack v4 codecs (input ``{bytes, fPort, recvTime, variables}``,
  answer ``{data}``, or ``{errors}``). One input carries all four keys, so a file written for
  either network runs unchanged, and the two are not told apart.
* ``Decode(fPort, bytes, variables)``: ChirpStack v3, whose answer is the decoded object itself.

A file that defines both is called as ``decodeUplink``: vendors that ship one file for both
ChirpStack versions wrap the same decoding in each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from decoders.codecs.output import errors_text, warnings_from
from decoders.errors import CodecError

Reading = tuple[dict[str, Any], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Convention:
    name: str  # the JavaScript function the file defines; also the prelude's key for the call
    described: str  # for people: which networks use it
    read: Callable[[dict[str, Any]], Reading]  # the answer (a JSON object) -> fields, warnings


def _read_decode_uplink(answer: dict[str, Any]) -> Reading:
    failed = errors_text(answer.get("errors"))
    if failed is not None:
        raise CodecError(f"decodeUplink returned errors: {failed}")
    data = answer.get("data")
    if not isinstance(data, dict):
        got = "none" if data is None else f"a {type(data).__name__}"
        raise CodecError(f"decodeUplink returned no data object (data: {got})")
    return data, warnings_from(answer.get("warnings"))


def _read_decode(answer: dict[str, Any]) -> Reading:
    return answer, ()


# In order of preference when a file defines more than one.
CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "decodeUplink",
        "The Things Stack / TTN Device Repository, ChirpStack v4",
        _read_decode_uplink,
    ),
    Convention("Decode", "ChirpStack v3", _read_decode),
)
BY_NAME = {convention.name: convention for convention in CONVENTIONS}
