"""How values from a callback appear in error messages, warnings and log lines: escaped, so that
no control character (a newline above all) can forge a line, and clipped, so that a 16 KB value
cannot fill one."""

from __future__ import annotations

import reprlib
from typing import Any

SHOWN_CHARS = 40  # of a value inside a message
NAME_CHARS = 40  # of a body's own key inside a field path


class _Shown(reprlib.Repr):
    """``repr`` at most a few levels and characters deep. Integers are shown by size past 64
    bits: ``repr`` of one beyond Python's digit limit raises instead of printing."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 2
        self.maxstring = self.maxother = self.maxlong = SHOWN_CHARS
        self.maxdict = self.maxlist = 4

    def repr_int(self, x: int, level: int) -> str:
        return repr(x) if x.bit_length() <= 64 else f"<integer of {x.bit_length()} bits>"


_SHOWN = _Shown()


def shown(value: Any) -> str:
    """A value as an error message quotes it: ``repr`` (which escapes control characters and
    lone surrogates), clipped."""
    return _SHOWN.repr(value)


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for one log line or a field path: every non-printable character (controls,
    line and paragraph separators, lone surrogates, format characters) as a backslash escape,
    at most ``limit`` characters of it, and how many more there were."""
    clipped = text[:limit]
    if not clipped.isprintable():
        clipped = "".join(c if c.isprintable() else _escape(c) for c in clipped)
    if len(text) > limit:
        clipped += f"...(+{len(text) - limit} chars)"
    return clipped


def name(key: Any) -> str:
    """A key of the body itself (a TTS ``locations`` entry, say) as part of a field path."""
    return printable(key if isinstance(key, str) else shown(key), NAME_CHARS)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
