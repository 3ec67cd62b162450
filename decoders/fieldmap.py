"""The one field-mapping language of templates (docs/design.md §14 "Field roles").

A template says where each role's value is in a decoded object — the network's decoded payload,
a vendor codec's output, a grammar's fields — and this module reads it and makes the project's
messages. In TOML, under ``[templates.<name>.fields]``, each role is a dotted path, or a table::

    latitude = "gps.lat"                                   # a path into the object
    longitude = { path = "gps.lng", scale = 1e-7 }         # numbers: value * scale + offset
    alarm = { path = "event", equals = "SOS" }             # a state the device repeats
    press = { path = "event", in = ["SOS", "PANIC"] }      # an event: every such uplink
    cancel = { path = "event", in = ["CANCEL", "SAFE"] }
    battery = "battery"                                    # percent; battery_mv = millivolts

The Sigfox grammar templates' keys stay accepted: ``latitude_scale``, ``latitude_offset`` (and
for ``longitude``, ``battery``) and ``battery_unit`` ("percent", "millivolts", "volts") say what
the table form says (``battery`` in volts is ``battery_mv`` with a scale of 1000).

Reading: a path that is not in the object means "not in this uplink", never an error. A value of
the wrong type (text where a number belongs) is a decoder warning (docs/design.md §14 shape) and
reads as not there; the uplink is kept and decoded all the same. The safety asymmetry holds
because a warning makes the whole uplink untrusted: its alarm or press still opens a callout,
its cancel is dropped (``decoders.mapping.events_for(trusted=)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any, Literal

from decoders.envelopes.shown import shown
from decoders.errors import ConfigError
from decoders.position import no_fix_reason
from decoders.types import (
    Alert,
    Battery,
    Button,
    Cancel,
    Fix,
    Location,
    Message,
    Status,
    UplinkWarning,
)

Scalar = str | int | float | bool
RoleKind = Literal["number", "flag", "name"]

# What each role reads: a number (scale/offset allowed), a flag (equals/in allowed: a state or
# an event the device names), or a name (a button gesture).
ROLE_KINDS: dict[str, RoleKind] = {
    "latitude": "number",
    "longitude": "number",
    "accuracy": "number",
    "alarm": "flag",
    "press": "flag",
    "cancel": "flag",
    "button": "name",
    "battery": "number",
    "battery_mv": "number",
}
ROLES = tuple(ROLE_KINDS)
BATTERY_UNITS = ("volts", "millivolts", "percent")
# The grammar templates' keys (docs/grammar.md §4), still accepted.
LEGACY_KEYS = (
    *(
        f"{role}_{part}"
        for role in ("latitude", "longitude", "battery")
        for part in ("scale", "offset")
    ),
    "battery_unit",
)
_RULE_KEYS = ("path", "equals", "in", "scale", "offset")
MAX_PATH = 256
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Rule:
    """Where one role's value is, and how to read it. ``choices`` (from ``equals`` / ``in``)
    make a flag of a named state or event: the role holds when the value is one of them."""

    path: str
    choices: tuple[Scalar, ...] = ()
    scale: float = 1.0
    offset: float = 0.0

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


@dataclass(frozen=True, slots=True)
class Reading:
    """What one decoded object means under a field map."""

    messages: tuple[Message, ...]
    warnings: tuple[UplinkWarning, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldMap:
    """A rule per role, or None where the template maps nothing for it."""

    latitude: Rule | None = None
    longitude: Rule | None = None
    accuracy: Rule | None = None
    alarm: Rule | None = None
    press: Rule | None = None
    cancel: Rule | None = None
    button: Rule | None = None
    battery: Rule | None = None
    battery_mv: Rule | None = None

    def rules(self) -> dict[str, Rule]:
        """The mapped roles and their rules."""
        return {f.name: rule for f in fields(self) if (rule := getattr(self, f.name)) is not None}

    @property
    def maps_battery(self) -> bool:
        return self.battery is not None or self.battery_mv is not None

    def read(self, data: Mapping[str, Any]) -> Reading:
        """The messages ``data`` means, in a fixed order: the alert (or the location), why
        there is no fix, a gesture, the alarm clearing, a cancel, the battery."""
        reader = _Reader(data)
        fix, no_fix = self._fix(reader)
        alarm = reader.flag(self.alarm)
        press = reader.flag(self.press)
        out: list[Message] = []
        if alarm:
            out.append(Alert("alarm", fix, sustained=True))
        if press:
            # An event: an alert even while a mapped alarm state is still set (the mapping
            # turns a repeated state into location updates, never a press).
            out.append(Alert("press", fix))
        if fix is not None and not (alarm or press):
            out.append(Location(fix))
        if no_fix is not None:
            out.append(Status("no_fix", no_fix))
        gesture = reader.name(self.button)
        if gesture is not None:
            out.append(Button(gesture))
        if alarm is False:
            out.append(Status("alarm_clear"))
        if reader.flag(self.cancel):
            out.append(Cancel("user"))
        out.extend(self._battery(reader))
        return Reading(tuple(out), tuple(reader.warnings))

    def _fix(self, reader: _Reader) -> tuple[Fix | None, str | None]:
        """The fix, or why there is none (no reason when the uplink says nothing of position)."""
        if self.latitude is None or self.longitude is None:
            return None, None
        warned = len(reader.warnings)
        latitude = reader.number(self.latitude)
        longitude = reader.number(self.longitude)
        if len(reader.warnings) > warned:
            return None, "position unreadable"  # a coordinate of the wrong type: warned
        if latitude is _MISSING and longitude is _MISSING:
            return None, None  # not in this uplink
        if latitude in (None, _MISSING) or longitude in (None, _MISSING):
            return None, "position not in frame"
        reason = no_fix_reason(latitude, longitude)
        if reason == "zero":
            return None, "placeholder position 0,0"
        if reason is not None:
            return None, f"position out of range: {latitude}, {longitude}"
        accuracy = reader.number(self.accuracy)
        usable = accuracy not in (None, _MISSING) and accuracy >= 0
        return Fix(latitude, longitude, accuracy_m=accuracy if usable else None), None

    def _battery(self, reader: _Reader) -> list[Message]:
        percent = reader.number(self.battery)
        millivolts = reader.number(self.battery_mv)
        out: list[Message] = []
        level: int | None = None
        voltage: int | None = None
        if percent not in (None, _MISSING):
            if 0 <= percent <= 100:
                level = round(percent)
            else:
                out.append(Status("battery_out_of_range", f"{percent} %"))
        if millivolts not in (None, _MISSING):
            if millivolts >= 0:
                voltage = round(millivolts)
            else:
                out.append(Status("battery_out_of_range", f"{millivolts} mV"))
        if level is not None or voltage is not None:
            out.append(Battery(percent=level, voltage_mv=voltage))
        return out


class _Reader:
    """Reads rules from one object, collecting warnings for values of the wrong type."""

    __slots__ = ("data", "warnings")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.warnings: list[UplinkWarning] = []

    def value(self, rule: Rule) -> Any:
        """The value at the rule's path; ``_MISSING`` when the object does not have it. A step
        of digits also indexes a list (``fixes.0.lat``)."""
        value: Any = self.data
        for step in rule.steps:
            if isinstance(value, Mapping):
                if step not in value:
                    return _MISSING
                value = value[step]
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                return _MISSING
        return value

    def warn(self, rule: Rule, message: str) -> None:
        self.warnings.append({"source": "decoder", "field": rule.path, "message": message})

    def number(self, rule: Rule | None) -> Any:
        """A finite number (scaled), None for null, ``_MISSING`` when absent or unusable."""
        if rule is None:
            return _MISSING
        raw = self.value(rule)
        if raw is None or raw is _MISSING:
            return raw
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            self.warn(rule, f"expected a number, got {_shown(raw)}")
            return _MISSING
        try:
            value = scaled(raw, rule.scale, rule.offset)
        except OverflowError:  # an integer too large for a float: no coordinate or level
            value = math.inf
        if not math.isfinite(value):
            self.warn(rule, f"expected a finite number, got {_shown(raw)}")
            return _MISSING
        return value

    def flag(self, rule: Rule | None) -> bool | None:
        """Whether a state or event holds; None when the uplink does not say."""
        if rule is None:
            return None
        raw = self.value(rule)
        if raw is None or raw is _MISSING:
            return None
        if rule.choices:
            if isinstance(raw, Mapping | list):
                self.warn(rule, f"expected a value to compare, got {_shown(raw)}")
                return None
            return any(_same(raw, choice) for choice in rule.choices)
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) or (isinstance(raw, float) and not math.isnan(raw)):
            return raw != 0
        self.warn(
            rule, f"expected true/false or a number, got {_shown(raw)} (use equals or in for names)"
        )
        return None

    def name(self, rule: Rule | None) -> str | None:
        if rule is None:
            return None
        raw = self.value(rule)
        if raw is None or raw is _MISSING:
            return None
        if isinstance(raw, str) and raw:
            return raw
        self.warn(rule, f"expected a gesture name, got {_shown(raw)}")
        return None


def _same(value: Any, choice: Scalar) -> bool:
    """Equal and of the same kind: ``1`` is not ``true``, ``"1"`` is not ``1``."""
    if isinstance(value, bool) or isinstance(choice, bool):
        return isinstance(value, bool) and isinstance(choice, bool) and value == choice
    if isinstance(value, str) or isinstance(choice, str):
        return isinstance(value, str) and isinstance(choice, str) and value == choice
    return bool(value == choice)


def _shown(value: Any) -> str:
    # Escaped and clipped, and safe for integers past Python's digit limit.
    return shown(value)


def scaled(raw: float, scale: float, offset: float) -> float:
    """``raw * scale + offset``. An integer raw value has exactly the resolution of its scale,
    so float noise is dropped (123456789 * 1e-7 = 12.345678900000001 becomes 12.3456789)."""
    value = raw * scale + offset
    if isinstance(raw, int) and math.isfinite(value):
        return round(value, max(_decimals(scale), _decimals(offset)))
    return value


def _decimals(number: float) -> int:
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


# -- the TOML table ------------------------------------------------------------------------------


def parse_fields(table: Any, where: str) -> FieldMap:
    """A field map from a template's ``fields`` table; every mistake is a
    :class:`ConfigError` naming the key path (``templates.x.fields.alarm.equals``)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of role = path, got {_shown(table)}")
    known = (*ROLES, *LEGACY_KEYS)
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}; known: {', '.join(known)}")
    rules = {role: _rule(role, table[role], f"{where}.{role}") for role in ROLES if role in table}
    rules = _legacy(rules, table, where)
    if ("latitude" in rules) != ("longitude" in rules):
        raise ConfigError(f"{where}: needs both latitude and longitude, or neither")
    return FieldMap(**rules)


def _rule(role: str, value: Any, where: str) -> Rule:
    kind = ROLE_KINDS[role]
    if isinstance(value, str):
        return Rule(_path(value, where))
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: expected a path or a table {{ path, equals | in, scale, offset }},"
            f" got {_shown(value)}"
        )
    unknown = [key for key in value if key not in _RULE_KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(_RULE_KEYS)}")
    if "path" not in value or not isinstance(value["path"], str):
        raise ConfigError(f'{where}.path: expected a path such as "gps.lat"')
    path = _path(value["path"], f"{where}.path")
    if kind != "flag" and ("equals" in value or "in" in value):
        raise ConfigError(f"{where}: equals/in compare states and events; {role} is a {kind}")
    if kind != "number" and ("scale" in value or "offset" in value):
        raise ConfigError(f"{where}: scale/offset apply to numbers; {role} is a {kind}")
    if "equals" in value and "in" in value:
        raise ConfigError(f"{where}: give equals or in, not both")
    choices: tuple[Scalar, ...] = ()
    if "equals" in value:
        choices = (_scalar(value["equals"], f"{where}.equals"),)
    elif "in" in value:
        items = value["in"]
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.in: expected a non-empty list, got {_shown(items)}")
        choices = tuple(_scalar(item, f"{where}.in") for item in items)
    return Rule(
        path,
        choices,
        scale=_factor(value, "scale", where, default=1.0),
        offset=_factor(value, "offset", where, default=0.0),
    )


def _path(value: str, where: str) -> str:
    """A dotted path: non-empty steps, no control characters, bounded."""
    steps = value.split(".")
    if (
        not value
        or len(value) > MAX_PATH
        or any(not step for step in steps)
        or any(ord(char) < 32 or ord(char) == 127 for char in value)
    ):
        raise ConfigError(
            f"{where}: {_shown(value)} is not a dotted path (names separated by '.', such as"
            ' "gps.lat")'
        )
    return value


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, str | int | bool) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ConfigError(f"{where}: expected text, a number or true/false, got {_shown(value)}")


def _factor(table: Mapping[str, Any], key: str, where: str, *, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key}: expected a number, got {_shown(value)}")
    if not math.isfinite(value) or (key == "scale" and value == 0):
        raise ConfigError(f"{where}.{key}: cannot be {value!r}")
    return float(value)


def _legacy(rules: dict[str, Rule], table: Mapping[str, Any], where: str) -> dict[str, Rule]:
    """The grammar templates' ``*_scale``, ``*_offset`` and ``battery_unit`` keys folded into
    the rules they describe."""
    for role in ("latitude", "longitude", "battery"):
        parts = {p: f"{role}_{p}" for p in ("scale", "offset") if f"{role}_{p}" in table}
        if not parts:
            continue
        rule = rules.get(role)
        if rule is None:
            raise ConfigError(f"{where}.{next(iter(parts.values()))}: {role} is not mapped")
        if rule.scale != 1.0 or rule.offset != 0.0:
            raise ConfigError(f"{where}.{role}: give its scale and offset in one place")
        scale = _factor(table, parts["scale"], where, default=1.0) if "scale" in parts else 1.0
        offset = _factor(table, parts["offset"], where, default=0.0) if "offset" in parts else 0.0
        rules[role] = replace(rule, scale=scale, offset=offset)
    if "battery_unit" in table:
        unit = table["battery_unit"]
        if unit not in BATTERY_UNITS:
            raise ConfigError(
                f"{where}.battery_unit: expected one of {', '.join(BATTERY_UNITS)}, got {unit!r}"
            )
        rule = rules.get("battery")
        if rule is None:
            raise ConfigError(f"{where}.battery_unit: battery is not mapped")
        if unit != "percent":
            if "battery_mv" in rules:
                raise ConfigError(f"{where}.battery_unit: battery_mv is mapped already")
            del rules["battery"]
            factor = 1000.0 if unit == "volts" else 1.0
            rules["battery_mv"] = replace(
                rule, scale=rule.scale * factor, offset=rule.offset * factor
            )
    return rules
