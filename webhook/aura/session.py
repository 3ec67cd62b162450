"""The HTTP session every call to AURA goes through."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


def new_session(pool_size: int = 10) -> requests.Session:
    """A pooled session that never retries below us: every attempt must be visible to (and
    counted by) the caller, and a retried POST is the caller's decision."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
