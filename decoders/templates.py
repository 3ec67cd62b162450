"""Device templates: how one AURA ``device_type_id`` maps a hardware model's messages to AURA.

A template lives in TOML (stdlib ``tomllib``) so that onboarding a device type is a config change::

    [templates.panic-button]
    device_type_id = 7               # assigned by AURA at onboarding
    model = "simplepack"             # a model id (``aura-uplink models``)
    device_id = { last = 8 }         # or { start = 0, length = 8 }; default: last 8, upper case
    alert_gestures = ["short", "double", "long"]   # default: the model's documented ones
    cancel_gestures = []
    location_updates = "open_callout"              # or "always"
    max_fix_age_s = 900              # a remembered fix older than this is not sent with an alert
    heartbeat_interval_s = 3600      # a battery/health report sends message 4 at least this often
    battery_curve = [[3000, 0], [3600, 50], [4200, 100]]   # mV -> %, linear between points
    downlink = "0100000000000000"    # 8 bytes a Sigfox BIDIR ack=true press is answered with
    [templates.panic-button.message_types]         # AURA's typical template: 1-4
    new_callout = 1
    [templates.panic-button.match]                 # which uplinks use this template
    sigfox_device_types = ["5F2A0B1C"]
    devices = ["1A2B3C4D"]

Every mistake is a :class:`~decoders.errors.ConfigError` naming the key path.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import decoders.aura as aura  # the module, not the package: no import cycle via __init__
from decoders.errors import ConfigError, UnknownModel
from decoders.model import Model
from decoders.models import get_model
from decoders.types import Uplink

LocationPolicy = Literal["always", "open_callout"]

ACTION_KEYS = {
    "new_callout": aura.NEW_CALLOUT,
    "location_updated": aura.CALLOUT_LOCATION_UPDATED,
    "cancelled": aura.CALLOUT_CANCELLED,
    "battery": aura.DEVICE_BATTERY_INFO_RECEIVED,
}
MATCH_KEYS = (
    "devices",
    "sigfox_device_types",
    "ttn_applications",
    "chirpstack_applications",
    "chirpstack_device_profiles",
)


@dataclass(frozen=True, slots=True)
class DeviceIdRule:
    """AURA's ``device_id`` is a substring of the serial (AURA onboarding fixes which one)."""

    start: int | None = None
    length: int | None = None
    last: int | None = 8
    upper: bool = True

    def derive(self, serial: str) -> str:
        serial = serial.strip()
        if self.last is not None:
            value = serial[-self.last :]
        else:
            start = self.start or 0
            value = serial[start : None if self.length is None else start + self.length]
        return value.upper() if self.upper else value


@dataclass(frozen=True, slots=True)
class Match:
    """Which uplinks a template applies to; every list is upper-cased ids or exact names."""

    devices: frozenset[str] = frozenset()
    sigfox_device_types: frozenset[str] = frozenset()
    ttn_applications: frozenset[str] = frozenset()
    chirpstack_applications: frozenset[str] = frozenset()
    chirpstack_device_profiles: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    device_type_id: int
    model: Model
    device_id: DeviceIdRule = DeviceIdRule()
    alert_gestures: frozenset[str] = frozenset()
    cancel_gestures: frozenset[str] = frozenset()
    location_updates: LocationPolicy = "open_callout"
    max_fix_age_s: float = 900.0
    # Message 4 doubles as AURA's heartbeat: an uplink with battery or health information sends
    # one when the level changed and at least this often (0: every such uplink), measured on the
    # uplinks' network time (decoders/mapping.py).
    heartbeat_interval_s: float = 3600.0
    battery_curve: tuple[tuple[float, float], ...] = ()
    message_types: Mapping[int, int] = field(
        default_factory=lambda: {action: action for action in aura.ACTION_NAMES}
    )
    downlink: str | None = None
    match: Match = Match()

    @classmethod
    def for_model(cls, model: Model, device_type_id: int, name: str = "default") -> Template:
        """The template a model gets when nothing is configured (the CLI's
        ``--device-type-id``): vendor-documented gestures, default device_id rule."""
        return cls(
            name=name,
            device_type_id=device_type_id,
            model=model,
            alert_gestures=frozenset(model.alert_gestures),
            cancel_gestures=frozenset(model.cancel_gestures),
        )

    def battery_percent(self, voltage_mv: float) -> int | None:
        """Percent from the configured curve, linear between points, clamped at the ends."""
        curve = self.battery_curve
        if not curve:
            return None
        if voltage_mv <= curve[0][0]:
            return round(curve[0][1])
        for (v0, p0), (v1, p1) in pairwise(curve):
            if voltage_mv <= v1:
                return round(p0 + (p1 - p0) * (voltage_mv - v0) / (v1 - v0))
        return round(curve[-1][1])


def load_templates(path: str | Path) -> dict[str, Template]:
    """Read the ``[templates.*]`` tables of a TOML config file."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return templates_from_config(data, models={})


def templates_from_config(
    data: Mapping[str, Any], models: Mapping[str, Model]
) -> dict[str, Template]:
    """Templates from parsed TOML. ``models`` adds models that are not in the registry
    (e.g. compiled from a grammar) by name."""
    tables = data.get("templates", {})
    if not isinstance(tables, Mapping):
        raise ConfigError("'templates' must be a table of [templates.<name>] tables")
    return {name: template_from_table(name, table, models) for name, table in tables.items()}


_TEMPLATE_KEYS = {
    "device_type_id",
    "model",
    "device_id",
    "alert_gestures",
    "cancel_gestures",
    "location_updates",
    "max_fix_age_s",
    "heartbeat_interval_s",
    "battery_curve",
    "message_types",
    "downlink",
    "match",
    "grammar",
    "fields",
}


def template_from_table(
    name: str, table: Mapping[str, Any], models: Mapping[str, Model] | None = None
) -> Template:
    where = f"templates.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _TEMPLATE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {sorted(_TEMPLATE_KEYS)}")
    device_type_id = _get(table, "device_type_id", int, where, required=True)
    model = _model(name, table, where, models or {})
    alert = _strings(table, "alert_gestures", where, default=model.alert_gestures)
    cancel = _strings(table, "cancel_gestures", where, default=model.cancel_gestures)
    if alert & cancel:
        raise ConfigError(
            f"{where}: gesture {sorted(alert & cancel)[0]!r} is both alert and cancel"
        )
    policy = _get(table, "location_updates", str, where, default="open_callout")
    if policy not in ("always", "open_callout"):
        raise ConfigError(
            f"{where}.location_updates: expected 'always' or 'open_callout', got {policy!r}"
        )
    return Template(
        name=name,
        device_type_id=device_type_id,
        model=model,
        device_id=_device_id_rule(table.get("device_id"), f"{where}.device_id"),
        alert_gestures=alert,
        cancel_gestures=cancel,
        location_updates=policy,
        max_fix_age_s=_seconds(table, "max_fix_age_s", where, default=900),
        heartbeat_interval_s=_seconds(table, "heartbeat_interval_s", where, default=3600),
        battery_curve=_curve(table.get("battery_curve"), f"{where}.battery_curve"),
        message_types=_message_types(table.get("message_types", {}), f"{where}.message_types"),
        downlink=_downlink(table.get("downlink"), f"{where}.downlink"),
        match=_match(table.get("match", {}), f"{where}.match"),
    )


def _get(
    table: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    where: str,
    *,
    default: Any = None,
    required: bool = False,
) -> Any:
    if key not in table:
        if required:
            raise ConfigError(f"{where}: missing required key {key!r}")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key}: expected {names}, got {value!r}")
    return value


def _seconds(table: Mapping[str, Any], key: str, where: str, *, default: float) -> float:
    """A duration in seconds: a number >= 0 (TOML ``inf`` is allowed: no limit)."""
    value = _get(table, key, (int, float), where, default=default)
    if not value >= 0:  # written so that NaN fails too
        raise ConfigError(f"{where}.{key}: expected a number of seconds >= 0, got {value!r}")
    return float(value)


def _model(name: str, table: Mapping[str, Any], where: str, models: Mapping[str, Model]) -> Model:
    if "grammar" in table:
        # A device defined by configuration alone (Sigfox custom payload grammar).
        from decoders.grammar_model import GrammarMapping, model_from_grammar

        grammar = _get(table, "grammar", str, where)
        mapping = GrammarMapping.from_dict(table.get("fields", {}))
        return model_from_grammar(grammar, name=f"grammar:{name}", mapping=mapping)
    model_id = _get(table, "model", str, where, required=True)
    if model_id in models:
        return models[model_id]
    try:
        return get_model(model_id)
    except UnknownModel as error:
        raise ConfigError(f"{where}.model: {error}") from None


def _strings(
    table: Mapping[str, Any], key: str, where: str, *, default: tuple[str, ...]
) -> frozenset[str]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return frozenset(value)


def _device_id_rule(value: Any, where: str) -> DeviceIdRule:
    if value is None or value == {}:
        return DeviceIdRule()
    if not isinstance(value, Mapping) or set(value) - {"last", "start", "length", "upper"}:
        raise ConfigError(
            f"{where}: expected {{ last = N }} or {{ start = N, length = N }}, got {value!r}"
        )
    for key in ("last", "start", "length"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], int)):
            raise ConfigError(f"{where}.{key}: expected an integer, got {value[key]!r}")
    if "last" in value and ("start" in value or "length" in value):
        raise ConfigError(f"{where}: 'last' cannot be combined with 'start'/'length'")
    if "last" in value:
        return DeviceIdRule(last=value["last"], upper=bool(value.get("upper", True)))
    return DeviceIdRule(
        start=value.get("start", 0),
        length=value.get("length"),
        last=None,
        upper=bool(value.get("upper", True)),
    )


def _curve(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    if value is None:
        return ()
    points = []
    for point in value if isinstance(value, list) else [value]:
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in point)
        ):
            raise ConfigError(
                f"{where}: expected a list of [millivolts, percent] pairs, got {value!r}"
            )
        points.append((float(point[0]), float(point[1])))
    if len(points) < 2 or any(b[0] <= a[0] for a, b in pairwise(points)):
        raise ConfigError(f"{where}: needs at least two points with rising millivolts")
    return tuple(points)


def _message_types(value: Any, where: str) -> dict[int, int]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    numbers = {action: action for action in aura.ACTION_NAMES}
    for key, number in value.items():
        if key not in ACTION_KEYS:
            raise ConfigError(f"{where}: unknown action {key!r}; known: {sorted(ACTION_KEYS)}")
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(f"{where}.{key}: expected an integer, got {number!r}")
        numbers[ACTION_KEYS[key]] = number
    return numbers


def _downlink(value: Any, where: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    try:
        data = bytes.fromhex(text)
    except ValueError:
        data = b""
    if len(data) != 8 or len(text) != 16:
        raise ConfigError(
            f"{where}: expected 16 hex digits (8 bytes, Sigfox downlink), got {value!r}"
        )
    return text.upper()


def _match(value: Any, where: str) -> Match:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(value) - set(MATCH_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {list(MATCH_KEYS)}")
    lists = {}
    for key in MATCH_KEYS:
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}.{key}: expected a list of strings, got {items!r}")
        lists[key] = frozenset(i.upper() if key != "ttn_applications" else i for i in items)
    return Match(**lists)


def select_template(templates: Mapping[str, Template], uplink: Uplink) -> Template | None:
    """The template for an uplink: an explicit device list wins, then the network's grouping
    (Sigfox device type, TTS application, ChirpStack application or device profile), then the
    one template of that network with no match rules at all."""
    hints = uplink.hints
    candidates = [t for t in templates.values() if t.model.network in (uplink.network, "any")]
    for template in candidates:
        if uplink.device.upper() in template.match.devices:
            return template
    for template in candidates:
        match = template.match
        if (
            _has(match.sigfox_device_types, hints.sigfox_device_type)
            or _has(match.ttn_applications, hints.ttn_application, upper=False)
            or _has(match.chirpstack_applications, hints.chirpstack_application)
            or _has(match.chirpstack_device_profiles, hints.chirpstack_device_profile)
        ):
            return template
    catch_all = [t for t in candidates if t.match == type(t.match)()]
    return catch_all[0] if len(catch_all) == 1 else None


def _has(values: frozenset[str], value: str | None, upper: bool = True) -> bool:
    return value is not None and (value.upper() if upper else value) in values
