"""Every exception class the project defines derives from its one root, ``AuraUplinkError``,
so a caller can catch everything aura-uplink raises on purpose with one except clause."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from decoders import AuraUplinkError

ROOT = Path(__file__).resolve().parent.parent
# decoders.testing needs hypothesis, which the tests have; every module is imported.
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for package in ("decoders", "webhook")
    for path in (ROOT / package).rglob("*.py")
    if path.name != "__main__.py"
)


def defined_exceptions(module_name: str) -> list[type[BaseException]]:
    module = importlib.import_module(module_name)
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module_name
    ]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exception_class_has_the_one_root(module_name: str) -> None:
    for exception in defined_exceptions(module_name):
        assert issubclass(exception, AuraUplinkError), f"{module_name}.{exception.__name__}"


def test_the_check_sees_the_project_exceptions() -> None:
    found = {e.__name__ for name in MODULES for e in defined_exceptions(name)}
    assert {"DecodeError", "EnvelopeError", "GrammarError", "StoreError", "CannotStart"} <= found
