"""The package layout keeps its promises, read from the code: no import cycles anywhere; the
pure library imports nothing of the service, Flask, requests or sqlite3; the AURA simulator is
outside the service path."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from import_graph import all_imports, cycles, graph, imported_names, modules

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["decoders", "webhook", "bench"]

# What a pure library must not reach for (docs/design.md §2): the service, HTTP, the database.
NOT_IN_DECODERS = ("webhook", "flask", "werkzeug", "requests", "waitress", "sqlite3", "click")


def test_there_are_no_import_cycles() -> None:
    found = cycles(graph(ROOT, PACKAGES))
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_graph_sees_the_project() -> None:
    edges = graph(ROOT, PACKAGES)
    # A few edges that must exist if the reader works at all.
    assert "webhook.store.sqlite" in edges["webhook.store"]
    assert "decoders.decode" in edges["decoders"]
    assert "webhook.http.runtime" in edges["webhook.http.sigfox"]


@pytest.mark.parametrize("name", sorted(n for n in modules(ROOT, ["decoders"])))
def test_decoders_import_nothing_of_the_service(name: str) -> None:
    path = modules(ROOT, ["decoders"])[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in all_imports(tree):  # function-local imports count here too
        for target in imported_names(node, name, path.name == "__init__.py"):
            top = target.split(".")[0]
            assert top not in NOT_IN_DECODERS, f"{name} imports {target} (line {node.lineno})"


def test_the_simulator_is_outside_the_service_path() -> None:
    edges = graph(ROOT, ["webhook"])
    allowed = {"webhook.cli.simulate"}
    users = {
        name
        for name, targets in edges.items()
        if any(t.startswith("webhook.aurasim") for t in targets)
        and not name.startswith("webhook.aurasim")
    }
    assert users <= allowed, f"service modules importing the simulator: {sorted(users - allowed)}"


def write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_a_cycle_and_ignores_function_and_type_checking_imports(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import thing\n",
            "pkg/a.py": "from . import b\nthing = 1\n",
            "pkg/b.py": "import pkg.c\n",
            "pkg/c.py": "from pkg import a\n",  # pkg.c -> pkg and pkg.a: closes the loop
            "pkg/d.py": "def f():\n    import pkg.e\n",
            "pkg/e.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n"),
        },
    )
    edges = graph(tmp_path, ["pkg"])
    assert edges["pkg.a"] == {"pkg", "pkg.b"}
    assert edges["pkg.d"] == set() and edges["pkg.e"] == set()
    assert cycles(edges) == [["pkg", "pkg.a", "pkg.b", "pkg.c"]]
