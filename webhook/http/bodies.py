"""Reading a callback's variables from whatever shape its hand-written template produced:
JSON, form-urlencoded, text/plain ``key=value`` (lines or ``&``-separated), or a GET query."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from flask import Request

from decoders.errors import EnvelopeError


def read_variables(request: Request) -> dict[str, Any]:
    """The callback's variables as a dict; :class:`EnvelopeError` if the body is not readable."""
    if request.method == "GET":
        return dict(request.args.items())
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH before it is read
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        raise EnvelopeError("empty body: expected the callback's variables", field="body")
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or text.startswith("{"):
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise EnvelopeError(f"body is not valid JSON: {error}", field="body") from None
        if not isinstance(body, dict):
            raise EnvelopeError("JSON body must be an object", field="body")
        return body
    pairs = parse_qsl(text.replace("\r\n", "&").replace("\n", "&"), keep_blank_values=True)
    if not pairs:
        raise EnvelopeError("body has no key=value pairs", field="body")
    return dict(pairs)
