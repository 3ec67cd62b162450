"""Vendor JavaScript codecs, run sandboxed (docs/codecs.md).

    from decoders.codecs import load_codec
    codec = load_codec("codecs/acme-button.js", timeout_ms=100, memory_mb=32)
    codec.decode(b"\\x01\\x50", 5, None)  # CodecResult(fields={...}, warnings=(...))

Importing this package needs nothing beyond the standard library; the JavaScript engine
(``mini-racer``, the ``codecs`` extra) is imported when the first codec is loaded.
"""

from __future__ import annotations

from decoders.codecs.codec import Codec, CodecCounts, CodecResult, load_codec
from decoders.codecs.conventions import CONVENTIONS, Convention
from decoders.errors import CodecError

__all__ = [
    "CONVENTIONS",
    "Codec",
    "CodecCounts",
    "CodecError",
    "CodecResult",
    "Convention",
    "load_codec",
]
