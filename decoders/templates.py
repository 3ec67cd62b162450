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
    network = "sigfox"               # only this network's uplinks (a model for "any" network)
    [templates.panic-button.message_types]         # AURA's typical template: 1-4
    new_callout = 1
    [templates.panic-button.match]                 # which uplinks use this template
    sigfox_device_types = ["5F2A0B1C"]
    devices = ["1A2B3C4D"]

Instead of ``model``, a template may decode with a Sigfox ``grammar``, with the network's own
decoding (``decoded = "network"``: TTS ``decoded_payload``, ChirpStack ``object``), or with a
vendor JavaScript ``codec`` (a path relative to the configuration file; ``codec_timeout_ms``,
``codec_memory_mb``). The last three say what the decoded object means in a ``fields`` table,
the one mapping language of :mod:`decoders.fieldmap`::

    [templates.any-tracker]
    device_type_id = 9
    decoded = "network"
    [templates.any-tracker.fields]
    latitude = "gps.lat"
    longitude = "gps.lng"
    alarm = { path = "event", equals = "SOS" }

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
from decoders.config_values import get_value
from decoders.errors import ConfigError
from decoders.fieldmap import FieldMap
from decoders.model import Model
from decoders.template_decoding import Source, decoding_from_table
from decoders.template_match import Match, match_from_table

# Where callers have always found it; the choice itself lives with the match rules.
from decoders.template_match import select_template as select_template

LocationPolicy = Literal["always", "open_callout"]

ACTION_KEYS = {
    "new_callout": aura.NEW_CALLOUT,
    "location_updated": aura.CALLOUT_LOCATION_UPDATED,
    "cancelled": aura.CALLOUT_CANCELLED,
    "battery": aura.DEVICE_BATTERY_INFO_RECEIVED,
}


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
    match: Match = field(default_factory=Match)
    # Narrows a model that decodes any network's frames (aura-reference) to one network's
    # uplinks, so a Sigfox catch-all does not also catch every LoRaWAN frame.
    network: Literal["sigfox", "lorawan", "any"] = "any"
    # "network" and "codec" templates read a decoded object with ``fields`` (decoders/fieldmap.py);
    # their ``model`` stands for them where a model is asked for (its id is what the store and
    # the CLI show).
    source: Source = "model"
    fields: FieldMap | None = None
    codec: Any = field(default=None, compare=False)  # decoders.codecs' codec, when source="codec"

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
    """Read the ``[templates.*]`` tables of a TOML config file (codec paths are relative to
    its directory)."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return templates_from_config(data, models={}, base_dir=Path(path).parent)


def templates_from_config(
    data: Mapping[str, Any], models: Mapping[str, Model], base_dir: Path | None = None
) -> dict[str, Template]:
    """Templates from parsed TOML. ``models`` adds models that are not in the registry
    (e.g. compiled from a grammar) by name; ``base_dir`` is the configuration file's directory,
    which codec paths are relative to (None: the working directory)."""
    tables = data.get("templates", {})
    if not isinstance(tables, Mapping):
        raise ConfigError("'templates' must be a table of [templates.<name>] tables")
    return {
        name: template_from_table(name, table, models, base_dir=base_dir)
        for name, table in tables.items()
    }


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
    "network",
    "decoded",
    "codec",
    "codec_timeout_ms",
    "codec_memory_mb",
}


def template_from_table(
    name: str,
    table: Mapping[str, Any],
    models: Mapping[str, Model] | None = None,
    *,
    base_dir: Path | None = None,
) -> Template:
    where = f"templates.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - _TEMPLATE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {sorted(_TEMPLATE_KEYS)}")
    device_type_id = get_value(table, "device_type_id", int, where, required=True)
    decoding = decoding_from_table(name, table, where, models or {}, base_dir)
    model = decoding.model
    alert = _strings(table, "alert_gestures", where, default=model.alert_gestures)
    cancel = _strings(table, "cancel_gestures", where, default=model.cancel_gestures)
    if alert & cancel:
        raise ConfigError(
            f"{where}: gesture {sorted(alert & cancel)[0]!r} is both alert and cancel"
        )
    policy = get_value(table, "location_updates", str, where, default="open_callout")
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
        match=match_from_table(table.get("match", {}), f"{where}.match"),
        network=_network(table, model, where),
        source=decoding.source,
        fields=decoding.fields,
        codec=decoding.codec,
    )


def _network(table: Mapping[str, Any], model: Model, where: str) -> Any:
    network = get_value(table, "network", str, where, default="any")
    if network not in ("sigfox", "lorawan", "any"):
        raise ConfigError(
            f"{where}.network: expected 'sigfox', 'lorawan' or 'any', got {network!r}"
        )
    if network != "any" and model.network not in (network, "any"):
        raise ConfigError(
            f"{where}.network: model {model.id!r} decodes {model.network} frames only"
        )
    return network


def _seconds(table: Mapping[str, Any], key: str, where: str, *, default: float) -> float:
    """A duration in seconds: a number >= 0 (TOML ``inf`` is allowed: no limit)."""
    value = get_value(table, key, (int, float), where, default=default)
    if not value >= 0:  # written so that NaN fails too
        raise ConfigError(f"{where}.{key}: expected a number of seconds >= 0, got {value!r}")
    return float(value)


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


