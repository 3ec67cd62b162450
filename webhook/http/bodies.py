"""Reading a callback's variables from whatever shape its hand-written template produced:
JSON, form-urlencoded, text/plain ``key=value`` (lines or ``&``-separated), or a GET query.

Bounded like everything from the network: a body by ``[service] max_body_bytes`` (Flask's
``MAX_CONTENT_LENGTH``, 413), a query string by the same number (414; a GET callback carries its
variables there), JSON by nesting depth and integer length (:mod:`decoders.envelopes.jsontext`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import Request, request
from werkzeug.exceptions import RequestURITooLarge

from decoders.envelopes.jsontext import load_json
from decoders.errors import EnvelopeError
from webhook.http.runtime import runtime


def refuse_long_query() -> None:
    """A ``before_request`` check: 414 when the query string is longer than the body cap."""
    limit = runtime().config.max_body_bytes
    if len(request.query_string) > limit:
        raise RequestURITooLarge(f"query string longer than {limit} bytes")


def read_variables(request: Request) -> dict[str, Any]:
    """The callback's variables as a dict; :class:`EnvelopeError` if the body is not readable."""
    if request.method == "GET":
        return dict(request.args.items())
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH before it is read
    # Bytes that are not UTF-8 become U+FFFD: a field holding them is then refused by name.
    text = raw.decode("utf-8-sig", errors="replace").strip()
    if not text:
        raise EnvelopeError("empty body: expected the callback's variables", field="body")
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or text.startswith("{"):
        body = load_json(text)
        if not isinstance(body, dict):
            raise EnvelopeError("JSON body must be an object", field="body")
        return body
    pairs = parse_qsl(text.replace("\r\n", "&").replace("\n", "&"), keep_blank_values=True)
    if not pairs:
        raise EnvelopeError("body has no key=value pairs", field="body")
    return dict(pairs)
