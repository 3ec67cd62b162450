"""A device model made from a Sigfox custom payload grammar, for hardware with no Python module.

:func:`model_from_grammar` compiles the grammar (:mod:`decoders.grammar`) and, with a
:class:`GrammarMapping` saying which fields are the position, the battery, an alarm and a cancel,
turns each frame's fields into the project's messages. A template author writes both in TOML;
the ``fields`` table is the templates' one mapping language (:mod:`decoders.fieldmap`, where
``press``, ``button``, ``equals``/``in`` and the ``{ path, scale, offset }`` tables work too),
and these grammar keys remain a case of it::

    [templates.acme-tracker]
    grammar = "lat::int:32 lng::int:32 mv::uint:16 alarm::bool:7"
    [templates.acme-tracker.fields]
    latitude = "lat"
    latitude_scale = 1e-7
    longitude = "lng"
    longitude_scale = 1e-7
    battery = "mv"
    battery_unit = "millivolts"
    alarm = "alarm"

Meaning of the mapped fields (scaled ones: ``value = raw * scale + offset``):

* latitude + longitude (degrees): a fix when both are present, in range, and not both 0 (0°, 0° is
  what trackers send with no GPS fix). Otherwise ``Status("no_fix", reason)``, never an error, so
  a bad position cannot hide an alarm in the same frame.
* alarm (bool, or a number where non-zero is true) is a *state* the device repeats in every frame
  while active: true gives ``Alert("alarm", fix, sustained=True)`` (the AURA mapping opens a callout
  only on its rising edge, then treats repeats as location updates); false gives
  ``Status("alarm_clear")`` plus the location, if any.
* cancel (bool or number): true gives ``Cancel("user")``.
* battery, in ``battery_unit`` "volts", "millivolts" or "percent": ``Battery(voltage_mv=…)`` or
  ``Battery(percent=…)`` (the template maps voltage to percent). A percent outside 0-100 or a
  negative voltage gives ``Status("battery_out_of_range")`` instead.

A field that is null (the frame was too short for it) means "not reported" for every purpose.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

from decoders.errors import ConfigError
from decoders.fieldmap import ROLE_KINDS, FieldMap, Rule
from decoders.frames import Custom
from decoders.grammar import Grammar, compile_grammar
from decoders.model import Model
from decoders.types import Message

BatteryUnit = Literal["volts", "millivolts", "percent"]
BATTERY_UNITS: tuple[str, ...] = ("volts", "millivolts", "percent")
_NUMERIC = ("uint", "int", "float")
_FLAG = ("bool", "uint", "int")


@dataclass(frozen=True, slots=True)
class GrammarMapping:
    """Which grammar fields mean what. Every name is a grammar field name, or ``None``."""

    latitude: str | None = None
    latitude_scale: float = 1.0
    latitude_offset: float = 0.0
    longitude: str | None = None
    longitude_scale: float = 1.0
    longitude_offset: float = 0.0
    battery: str | None = None
    battery_unit: BatteryUnit | None = None
    battery_scale: float = 1.0
    battery_offset: float = 0.0
    alarm: str | None = None
    cancel: str | None = None

    def __post_init__(self) -> None:
        for role in ("latitude", "longitude", "battery", "alarm", "cancel"):
            name = getattr(self, role)
            if name is not None and (not isinstance(name, str) or not name):
                raise ConfigError(f"grammar mapping {role} must be a field name, got {name!r}")
        for role in ("latitude", "longitude", "battery"):
            for part in ("scale", "offset"):
                value = getattr(self, f"{role}_{part}")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"grammar mapping {role}_{part} must be a number")
                if not math.isfinite(value) or (part == "scale" and value == 0):
                    raise ConfigError(f"grammar mapping {role}_{part} cannot be {value!r}")
        if (self.latitude is None) != (self.longitude is None):
            raise ConfigError("grammar mapping needs both latitude and longitude, or neither")
        if self.battery_unit is not None and self.battery_unit not in BATTERY_UNITS:
            raise ConfigError(
                f"grammar mapping battery_unit must be one of {', '.join(BATTERY_UNITS)},"
                f" got {self.battery_unit!r}"
            )
        if self.battery is not None and self.battery_unit is None:
            raise ConfigError(
                f"grammar mapping battery needs battery_unit ({', '.join(BATTERY_UNITS)}):"
                " raw battery values differ too much to guess"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GrammarMapping:
        """Build from a config table (e.g. TOML); an unknown key is a :class:`ConfigError`."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"grammar mapping must be a table, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise ConfigError(
                    f"unknown grammar mapping key {key!r}; known keys: {', '.join(known)}"
                )
        return cls(**data)

    def check(self, grammar: Grammar) -> None:
        """Raise :class:`ConfigError` unless every mapped field exists with a usable type."""
        kinds = {f.name: f.kind for f in grammar.fields}
        for role, allowed in (
            ("latitude", _NUMERIC),
            ("longitude", _NUMERIC),
            ("battery", _NUMERIC),
            ("alarm", _FLAG),
            ("cancel", _FLAG),
        ):
            name = getattr(self, role)
            if name is None:
                continue
            if name not in kinds:
                raise ConfigError(
                    f"grammar mapping {role} names field {name!r}, which the grammar does not"
                    f" define; fields: {', '.join(kinds)}"
                )
            if kinds[name] not in allowed:
                raise ConfigError(
                    f"grammar mapping {role} field {name!r} is {kinds[name]};"
                    f" expected {' or '.join(allowed)}"
                )

    def field_map(self) -> FieldMap:
        """This mapping in the templates' one language (:mod:`decoders.fieldmap`): a battery in
        millivolts or volts is ``battery_mv`` (volts scaled by 1000)."""
        rules: dict[str, Rule] = {}
        for role in ("latitude", "longitude"):
            name = getattr(self, role)
            if name is not None:
                scale, offset = getattr(self, f"{role}_scale"), getattr(self, f"{role}_offset")
                rules[role] = Rule(name, scale=scale, offset=offset)
        for role in ("alarm", "cancel"):
            if getattr(self, role) is not None:
                rules[role] = Rule(getattr(self, role))
        if self.battery is not None:
            factor = 1000.0 if self.battery_unit == "volts" else 1.0
            role = "battery" if self.battery_unit == "percent" else "battery_mv"
            rules[role] = Rule(
                self.battery, scale=self.battery_scale * factor, offset=self.battery_offset * factor
            )
        return FieldMap(**rules)


def model_from_grammar(
    grammar: str, *, name: str = "grammar", mapping: GrammarMapping | FieldMap | None = None
) -> Model:
    """A :class:`Model` decoding frames with ``grammar``; ``parse`` gives the grammar's fields,
    ``interpret`` the messages ``mapping`` defines (none without a mapping): a
    :class:`GrammarMapping`, or a template's ``fields`` in the one mapping language
    (:func:`decoders.fieldmap.parse_fields`). Raises :class:`~decoders.errors.GrammarError` for
    a bad grammar, :class:`ConfigError` for a mapping that does not fit it."""
    compiled = compile_grammar(grammar)
    if isinstance(mapping, GrammarMapping):
        mapping.check(compiled)
        rules = mapping.field_map()
    else:
        rules = mapping if mapping is not None else FieldMap()
        check_field_map(rules, compiled)

    def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
        return compiled.parse(frame)

    def interpret(values: Mapping[str, Any]) -> list[Message]:
        return list(rules.read(values).messages)

    return Model(
        id=name,
        title=f"Sigfox custom payload grammar: {grammar.strip()}",
        network="sigfox",
        source="Sigfox custom payload config (docs/grammar.md)",
        frames=Custom(parse, compiled.build),
        interpret=interpret,
    )


def check_field_map(rules: FieldMap, grammar: Grammar) -> None:
    """Raise :class:`ConfigError` unless every role names a grammar field of a usable type
    (a grammar's fields are flat: a path is one field name)."""
    kinds = {f.name: f.kind for f in grammar.fields}
    for role, rule in rules.rules().items():
        if rule.path not in kinds:
            raise ConfigError(
                f"grammar mapping {role} names field {rule.path!r}, which the grammar does not"
                f" define; fields: {', '.join(kinds)}"
            )
        kind = ROLE_KINDS[role]
        allowed: tuple[str, ...] = (
            _NUMERIC if kind == "number" else ("char",) if kind == "name" else _FLAG
        )
        if kind == "flag" and rule.choices:
            continue  # compared with the given values: any field kind can be named
        if kinds[rule.path] not in allowed:
            raise ConfigError(
                f"grammar mapping {role} field {rule.path!r} is {kinds[rule.path]};"
                f" expected {' or '.join(allowed)}"
            )


def interpret_fields(rules: GrammarMapping, values: Mapping[str, Any]) -> list[Message]:
    """The messages one frame's fields mean under ``rules`` (module docstring)."""
    return list(rules.field_map().read(values).messages)
