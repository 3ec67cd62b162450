"""The one exception tree of aura-uplink.

Every error a caller of :func:`decoders.decode` can see is a :class:`DecodeError`. It names the
model, the field path, the byte offset, what was expected and what was found, and the frame in hex,
because the person reading it is usually looking at a captured frame and a datasheet side by side.
"""

from __future__ import annotations

from typing import Any


class AuraUplinkError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(AuraUplinkError, ValueError):
    """A template, config file or command-line choice is wrong (not the frame)."""


class UnknownModel(ConfigError, LookupError):
    """No device model has that id."""


class GrammarError(ConfigError):
    """A Sigfox custom payload grammar is malformed. ``token`` is the offending piece of text and
    ``column`` its 1-based position in the grammar, so an editor or a caret line can point at it."""

    def __init__(self, reason: str, *, token: str, column: int) -> None:
        self.reason = reason
        self.token = token
        self.column = column
        super().__init__(f"bad grammar at column {column} ({token!r}): {reason}")


class DecodeError(AuraUplinkError, ValueError):
    """A frame cannot be decoded. Subclasses say why; the attributes say where."""

    def __init__(
        self,
        reason: str,
        *,
        model: str | None = None,
        field: str | None = None,
        offset: int | None = None,
        expected: Any = None,
        got: Any = None,
        frame: bytes | None = None,
    ) -> None:
        self.reason = reason
        self.model = model
        self.field = field
        self.offset = offset
        self.expected = expected
        self.got = got
        self.frame = frame
        super().__init__(self._render())

    @property
    def frame_hex(self) -> str | None:
        return None if self.frame is None else self.frame.hex().upper()

    def _render(self) -> str:
        parts = [f"{self.model}: " if self.model else "", self.reason]
        if self.field is not None:
            parts.append(f" (field {self.field!r}")
            parts.append(f" at byte {self.offset})" if self.offset is not None else ")")
        elif self.offset is not None:
            parts.append(f" (at byte {self.offset})")
        if self.expected is not None or self.got is not None:
            parts.append(f": expected {self.expected}, got {self.got}")
        if self.frame is not None:
            parts.append(f" in frame {self.frame_hex or '(empty)'}")
        return "".join(parts)

    def with_context(self, *, model: str | None = None, frame: bytes | None = None) -> DecodeError:
        """Fill in the model and frame where the raiser did not know them, and re-render."""
        if model is not None and self.model is None:
            self.model = model
        if frame is not None and self.frame is None:
            self.frame = frame
        self.args = (self._render(),)
        return self

    def as_dict(self) -> dict[str, Any]:
        """The CLI's error object (docs/design.md §10)."""
        return {
            "type": type(self).__name__,
            "message": str(self),
            "field": self.field,
            "offset": self.offset,
        }


class InvalidHex(DecodeError):
    """The payload text is not an even number of hex digits."""


class FrameLengthError(DecodeError):
    """The frame's length does not fit any layout of the model."""


class ShortFrame(FrameLengthError):
    """The frame ends before a field it must contain."""


class TrailingBytes(FrameLengthError):
    """The frame has bytes after the end of its layout."""


class UnknownMessageType(DecodeError):
    """The type/selector field holds a value the model does not define."""


class UnknownPort(DecodeError):
    """The LoRaWAN fPort is not one the model uses."""


class ValueOutOfRange(DecodeError):
    """A field parsed, but its value is impossible (latitude 120°, battery 180 %, …). The
    models no longer raise it: such a value is a decoder warning (``Decoded.warnings``) and the
    rest of the frame is decoded. Kept for callers that catch it."""


class NoDecodedPayload(DecodeError):
    """A template reads the network's decoded payload (``decoded = "network"``) and the uplink
    carries none (no payload formatter or codec on the network server, or one it dropped)."""


class CodecError(DecodeError):
    """A vendor JavaScript codec (decoders/codecs) did not give a usable result: it threw,
    returned ``errors``, ran past its time limit (and the one retry) or its memory limit, or
    returned something that is not a bounded JSON object. The message says which."""


class EnvelopeError(AuraUplinkError, ValueError):
    """A network callback body is malformed (missing field, wrong type). ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "message": str(self), "field": self.field}
