"""Which uplinks a template applies to: its ``[templates.X.match]`` table and the choice of a
template for an uplink (an explicit device list, then the network's grouping, then the one
catch-all of that network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from decoders.errors import ConfigError
from decoders.types import Uplink

if TYPE_CHECKING:
    from decoders.templates import Template

MATCH_KEYS = (
    "devices",
    "sigfox_device_types",
    "ttn_applications",
    "chirpstack_applications",
    "chirpstack_device_profiles",
    "chirpstack_application_names",
    "chirpstack_device_profile_names",
)
# Names are matched as a UI shows them, ignoring case; ids are hex or UUIDs, upper-cased; TTS
# application ids are matched exactly.
_NAME_KEYS = ("chirpstack_application_names", "chirpstack_device_profile_names")


@dataclass(frozen=True, slots=True)
class Match:
    """Which uplinks a template applies to; every list is upper-cased ids or exact names."""

    devices: frozenset[str] = frozenset()
    sigfox_device_types: frozenset[str] = frozenset()
    ttn_applications: frozenset[str] = frozenset()
    chirpstack_applications: frozenset[str] = frozenset()
    chirpstack_device_profiles: frozenset[str] = frozenset()
    chirpstack_application_names: frozenset[str] = frozenset()
    chirpstack_device_profile_names: frozenset[str] = frozenset()


def match_from_table(value: Any, where: str) -> Match:
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
        lists[key] = frozenset(_matched(key, i) for i in items)
    return Match(**lists)


def select_template(templates: Mapping[str, Template], uplink: Uplink) -> Template | None:
    """The template for an uplink: an explicit device list wins, then the network's grouping
    (Sigfox device type, TTS application, ChirpStack application or device profile), then the
    one template of that network with no match rules at all."""
    hints = uplink.hints
    candidates = [
        t
        for t in templates.values()
        if t.model.network in (uplink.network, "any") and t.network in (uplink.network, "any")
    ]
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
            or _named(match.chirpstack_application_names, hints.chirpstack_application_name)
            or _named(match.chirpstack_device_profile_names, hints.chirpstack_device_profile_name)
        ):
            return template
    catch_all = [t for t in candidates if t.match == type(t.match)()]
    return catch_all[0] if len(catch_all) == 1 else None


def _has(values: frozenset[str], value: str | None, upper: bool = True) -> bool:
    return value is not None and (value.upper() if upper else value) in values


def _named(values: frozenset[str], value: str | None) -> bool:
    return value is not None and value.casefold() in values


def _matched(key: str, item: str) -> str:
    """How a match list keeps an item: as the hints are compared (select_template)."""
    if key in _NAME_KEYS:
        return item.casefold()
    return item if key == "ttn_applications" else item.upper()
