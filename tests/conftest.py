"""Fixtures shared by the suites that run on both stores (tests/pg_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_support import STORE_KINDS, StoreFactory, test_database_url


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store the test runs on; a test pins one with parametrize("store_kind", [...])."""
    return request.param


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path) -> Iterator[StoreFactory]:
    """``make(clock=...)`` -> a handle on this test's store (see :class:`StoreFactory`)."""
    if store_kind == "postgresql":
        test_database_url()  # skip (or fail under CI=true) before the test starts, not inside
    factory = StoreFactory(store_kind, tmp_path)
    yield factory
    factory.close()
