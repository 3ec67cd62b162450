"""Reading AURA's answer to a device event (docs/aura-api.md §3.2): the resolved event types and
the callout id. The revisions differ — ``eventTypes`` is a string in the example despite its
plural name and may be a list; ids are numbers in one revision and strings in another — so both
forms are read, and the ids are kept as AURA sent them."""

from __future__ import annotations

import json
from typing import Any


def event_answer(response_json: str | None) -> dict[str, Any] | None:
    """``{"status", "eventTypes": [...], "calloutId"}`` from what the store kept of a delivered
    event's answer (``{"status", "body"}``); None if nothing was kept."""
    if not response_json:
        return None
    try:
        kept = json.loads(response_json)
    except ValueError:
        return None
    body = kept.get("body") if isinstance(kept, dict) else None
    resolved = body.get("resolvedAuraEvent") if isinstance(body, dict) else None
    resolved = resolved if isinstance(resolved, dict) else {}
    types = resolved.get("eventTypes")
    response = resolved.get("eventResponse")
    response = response if isinstance(response, dict) else {}
    return {
        "status": kept.get("status") if isinstance(kept, dict) else None,
        "eventTypes": [types] if isinstance(types, str) else list(types or []),
        "calloutId": response.get("calloutId"),
    }
