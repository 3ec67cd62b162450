"""Reading the store's SQL from the ``.sql`` files shipped beside it (package data).

Two shapes: a *query file* of named blocks (``-- name: claim`` up to the next such line), and a
*script* (a migration) cut into statements. The files are read once, at start-up.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterator, Mapping
from importlib import resources

_NAME_LINE = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def read_text(relative_path: str) -> str:
    """A file of this package (``webhook.store``), e.g. ``migrations/sqlite/0001_initial.sql``."""
    return resources.files(__package__).joinpath(relative_path).read_text(encoding="utf-8")


def named_queries(text: str) -> dict[str, str]:
    """``{name: statement}`` from a query file; a repeated name is a mistake, not an override."""
    parts = _NAME_LINE.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


@functools.cache
def query_file(relative_path: str) -> Mapping[str, str]:
    """:func:`named_queries` of a query file of this package, read once for every module that
    runs its statements."""
    return named_queries(read_text(relative_path))


def sqlite_statements(script: str) -> Iterator[str]:
    """The statements of a script, one at a time: SQLite's own tokenizer decides where each
    ends (a ``;`` inside a string or a trigger body does not)."""
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer
            buffer = ""


def _has_code(statement: str) -> bool:
    """False for a fragment of only comments and blank lines (the tail after the last ``;``)."""
    return any(
        line.strip() not in ("", ";") and not line.strip().startswith("--")
        for line in statement.splitlines()
    )
