"""A device model made from a Sigfox custom payload grammar, for hardware with no Python module.

:func:`model_from_grammar` compiles the grammar (:mod:`decoders.grammar`) and, with a
:class:`GrammarMapping` saying which fields are the position, the battery, an alarm and a cancel,
turns each frame's fields into the project's messages. A template author writes both in TOML
(the ``fields`` table goes straight to :meth:`GrammarMapping.from_dict`)::

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
from decimal import Decimal
from typing import Any, Literal

from decoders.errors import ConfigError
from decoders.frames import Custom
from decoders.grammar import Grammar, compile_grammar
from decoders.model import Model
from decoders.position import no_fix_reason
from decoders.types import Alert, Battery, Cancel, Fix, Location, Message, Status

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


def model_from_grammar(
    grammar: str, *, name: str = "grammar", mapping: GrammarMapping | None = None
) -> Model:
    """A :class:`Model` decoding frames with ``grammar``; ``parse`` gives the grammar's fields,
    ``interpret`` the messages ``mapping`` defines (none without a mapping). Raises
    :class:`~decoders.errors.GrammarError` for a bad grammar, :class:`ConfigError` for a mapping
    that does not fit it."""
    compiled = compile_grammar(grammar)
    rules = mapping if mapping is not None else GrammarMapping()
    rules.check(compiled)

    def parse(frame: bytes, port: int | None = None) -> dict[str, Any]:
        return compiled.parse(frame)

    def interpret(values: Mapping[str, Any]) -> list[Message]:
        return interpret_fields(rules, values)

    return Model(
        id=name,
        title=f"Sigfox custom payload grammar: {grammar.strip()}",
        network="sigfox",
        source="Sigfox custom payload config (docs/grammar.md)",
        frames=Custom(parse, compiled.build),
        interpret=interpret,
    )


def interpret_fields(rules: GrammarMapping, values: Mapping[str, Any]) -> list[Message]:
    """The messages one frame's fields mean under ``rules`` (module docstring)."""
    fix, no_fix = _fix(rules, values)
    head: list[Message] = []
    alarm = _flag(values, rules.alarm)
    if alarm:
        head.append(Alert("alarm", fix, sustained=True))
    elif fix is not None:
        head.append(Location(fix))
    if no_fix is not None:
        head.append(Status("no_fix", no_fix))
    if alarm is False:
        head.append(Status("alarm_clear"))
    if _flag(values, rules.cancel):
        head.append(Cancel("user"))
    return head + _battery(rules, values)


def _fix(rules: GrammarMapping, values: Mapping[str, Any]) -> tuple[Fix | None, str | None]:
    """The fix, or why there is none (``None`` reason when no position is mapped)."""
    if rules.latitude is None or rules.longitude is None:
        return None, None
    raw_lat, raw_lng = values.get(rules.latitude), values.get(rules.longitude)
    if raw_lat is None or raw_lng is None:
        return None, "position not in frame"
    lat = _scaled(raw_lat, rules.latitude_scale, rules.latitude_offset)
    lng = _scaled(raw_lng, rules.longitude_scale, rules.longitude_offset)
    reason = no_fix_reason(lat, lng)
    if reason == "zero":
        return None, "placeholder position 0,0"
    if reason is not None:
        return None, f"position out of range: {lat}, {lng}"
    return Fix(latitude=lat, longitude=lng, source="gps"), None


def _battery(rules: GrammarMapping, values: Mapping[str, Any]) -> list[Message]:
    raw = None if rules.battery is None else values.get(rules.battery)
    if raw is None:
        return []
    value = _scaled(raw, rules.battery_scale, rules.battery_offset)
    if rules.battery_unit == "percent":
        if not 0 <= value <= 100:
            return [Status("battery_out_of_range", f"{value} %")]
        return [Battery(percent=round(value))]
    millivolts = value * 1000 if rules.battery_unit == "volts" else value
    if millivolts < 0:
        return [Status("battery_out_of_range", f"{millivolts} mV")]
    return [Battery(voltage_mv=round(millivolts))]


def _flag(values: Mapping[str, Any], name: str | None) -> bool | None:
    """A mapped bool or number as a truth value; ``None`` when unmapped or not in the frame."""
    if name is None or values.get(name) is None:
        return None
    return bool(values[name])


def _scaled(raw: float, scale: float, offset: float) -> float:
    value = raw * scale + offset
    if isinstance(raw, int):
        # An integer on the wire has exactly the resolution of its scale: drop float noise
        # (123456789 * 1e-7 = 12.345678900000001 becomes 12.3456789).
        return round(value, max(_decimals(scale), _decimals(offset)))
    return value


def _decimals(number: float) -> int:
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    return max(0, -int(exponent))
