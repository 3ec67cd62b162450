"""What every model's tests check of random bytes: decoding either raises the project's own
:class:`DecodeError` (naming the model) or gives a result that serializes, and a frame decoded
without warnings builds back to the same bytes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from decoders import DecodeError, decode


def assert_decodes_or_raises_decode_error(
    model: str, frame: bytes, port: int, build: Callable[[Mapping[str, Any]], bytes]
) -> None:
    try:
        decoded = decode(model, frame, port)
    except DecodeError as error:
        assert error.model == model
        return
    json.dumps(decoded.as_dict())
    if decoded.trusted:
        assert build(decoded.fields) == frame
