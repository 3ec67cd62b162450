"""What ``import decoders`` promises: the names users need, one exception tree, and no heavy or
server-side imports (the webhook, HTTP clients, SQLite, hypothesis)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import decoders
from decoders import errors

# Names users write in their own code (README, docs/, the webhook); each must stay exported.
EXPECTED = {
    "decode", "frame_bytes", "MODELS", "get_model", "Model",
    "Template", "load_templates", "templates_from_config", "select_template",
    "DeviceEvent", "DeviceState", "events_for",
    "parse_sigfox", "parse_ttn", "parse_chirpstack", "parse_helium", "parse_loriot",
    "parse_thingpark",
    "compile_grammar", "model_from_grammar", "GrammarMapping",
    "decode_uplink", "FieldMap", "parse_fields",
    "Fix", "Hints", "Uplink", "Message", "Alert", "Location", "Cancel", "Battery", "Button",
    "Status", "Decoded", "FixSource", "UplinkKind",
}  # fmt: skip
# Never imported by `import decoders`: the server side and test-only dependencies.
FORBIDDEN = ("flask", "requests", "sqlite3", "_sqlite3", "webhook", "hypothesis", "waitress")


def _classes(module: object) -> dict[str, type]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__  # type: ignore[attr-defined]
    }


@pytest.mark.parametrize("name", decoders.__all__)
def test_every_exported_name_exists(name: str) -> None:
    assert hasattr(decoders, name)


def test_the_names_users_need_are_exported() -> None:
    assert set(decoders.__all__) >= EXPECTED


def test_every_error_class_is_exported() -> None:
    assert set(_classes(errors)) <= set(decoders.__all__)


EXCEPTIONS = [
    name
    for name in decoders.__all__
    if isinstance(getattr(decoders, name), type) and issubclass(getattr(decoders, name), Exception)
]


def test_the_exception_list_is_not_empty() -> None:
    assert {"AuraUplinkError", "DecodeError", "EnvelopeError", "GrammarError"} <= set(EXCEPTIONS)


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_every_exported_exception_is_an_aura_uplink_error(name: str) -> None:
    assert issubclass(getattr(decoders, name), decoders.AuraUplinkError)


def test_the_package_is_marked_typed() -> None:
    assert (Path(decoders.__file__).parent / "py.typed").is_file()


def test_import_decoders_loads_no_server_or_test_dependencies() -> None:
    # A fresh interpreter: this test process has imported flask and hypothesis already.
    script = (
        "import decoders, json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
