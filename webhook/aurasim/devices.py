"""Device links of the simulated tenant (docs/aura-api.md §2, newest revision): device types as
AURA provisions them at onboarding, the rule deriving ``deviceId`` from a serial, and the link
records that device events and battery reports are matched against.

Not thread-safe on its own: :class:`SimState` holds the lock around every call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import webhook.aurasim.bodies as bodies
from webhook.aurasim.customers import CustomerBook
from webhook.aurasim.refusal import Refusal

LINK_FIELDS = (
    "customerId",
    "deviceSerial",
    "deviceSupplier",
    "deviceAlias",
    "deviceType",
    "firmwareVersion",
)
UPDATE_FIELDS = ("deviceId", *LINK_FIELDS)


@dataclass(frozen=True, slots=True)
class SerialRule:
    """How a device type derives ``deviceId`` from the serial (set at onboarding, §2.1): the
    serial must match ``pattern`` in full; the id is its group 1 (or the whole serial when the
    pattern has no group), upper-cased when ``upper``. ``text`` ends the refusal of a serial
    that does not fit ("it ...").
    Build one with :meth:`last`, :meth:`substring` or :meth:`regex`."""

    pattern: str
    text: str
    upper: bool = True

    def __post_init__(self) -> None:
        try:  # a broken rule fails when configured, not at the first link
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"bad serial pattern {self.pattern!r}: {exc}") from exc

    @classmethod
    def last(cls, count: int, *, upper: bool = True) -> SerialRule:
        """The last ``count`` characters; a shorter serial does not fit."""
        if count < 1:
            raise ValueError("count must be >= 1")
        text = f"must have at least {count} characters (the device id is the last {count})"
        return cls(rf"(?s).*(.{{{count}}})", text, upper)

    @classmethod
    def substring(cls, start: int, length: int, *, upper: bool = True) -> SerialRule:
        """``length`` characters from 0-based ``start``; a shorter serial does not fit."""
        if start < 0 or length < 1:
            raise ValueError("start must be >= 0 and length >= 1")
        text = (
            f"must have at least {start + length} characters "
            f"(the device id is {length} from position {start})"
        )
        return cls(rf"(?s).{{{start}}}(.{{{length}}}).*", text, upper)

    @classmethod
    def regex(cls, pattern: str, *, upper: bool = True) -> SerialRule:
        """The serial must match ``pattern`` in full; the id is group 1, else the serial."""
        return cls(pattern, f"must match {pattern!r}", upper)

    def derive(self, serial: str) -> str | None:
        """The device id for ``serial``, or ``None`` when the serial does not fit."""
        match = re.fullmatch(self.pattern, serial)
        if match is None:
            return None
        value = match.group(1) if match.re.groups else match.group(0)
        value = value.upper() if self.upper else value
        return value or None


#: AURA's typical rule, and the simulator's default for types not configured (§2.1).
LAST_8 = SerialRule.last(8)


@dataclass(frozen=True, slots=True)
class DeviceType:
    """One device type AURA provisioned for the tenant: its supplier (brand) and serial rule."""

    supplier: str
    derive: SerialRule = LAST_8


@dataclass(slots=True)
class DeviceLink:
    """One link record; ``view`` is the §2.2 response."""

    id: int
    customer_id: int
    device_id: str
    serial: str
    supplier: str
    type_id: int
    alias: str | None
    firmware: str | None
    created_at: str
    updated_at: str
    battery_level: int | None = None
    battery_at: str | None = None
    health_at: str | None = None

    def view(self, customer_source_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "customerId": self.customer_id,
            "customerSourceId": customer_source_id,
            "deviceId": self.device_id,
            "deviceSerial": self.serial,
            "alias": self.alias,
            "deviceTypeId": self.type_id,
            "firmwareVersion": self.firmware,
            "defaultLocation": None,  # no documented request sets it
            "healthCheckLastReceivedDate": self.health_at,
            "batteryLevel": self.battery_level,
            "batteryLevelLastReceivedDate": self.battery_at,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


class DeviceBook:
    """The tenant's device types and live links (an unlinked device's record is gone)."""

    def __init__(
        self,
        ids: Iterator[int],
        types: Mapping[int, DeviceType],
        default_rule: SerialRule | None,
    ) -> None:
        self._ids = ids
        self.types = dict(types)
        self.default_rule = default_rule
        self._links: dict[int, DeviceLink] = {}

    def link(self, body: Any, customers: CustomerBook, now: str) -> DeviceLink:
        body = bodies.an_object(body, "$")
        bodies.only(body, LINK_FIELDS)
        customer_id = bodies.integer(body, "customerId", required=True)
        serial = bodies.text(body, "deviceSerial", required=True)
        supplier = bodies.text(body, "deviceSupplier", required=True)
        assert customer_id is not None and serial is not None and supplier is not None
        type_id = bodies.integer(body, "deviceType", required=False)
        alias = bodies.text(body, "deviceAlias", required=False)
        firmware = bodies.text(body, "firmwareVersion", required=False)
        customers.get(customer_id)
        type_id = self._resolve_type(type_id, supplier)
        device_id = self._derive(serial, type_id, None)
        record = DeviceLink(
            id=next(self._ids),
            customer_id=customer_id,
            device_id=device_id,
            serial=serial,
            supplier=supplier,
            type_id=type_id,
            alias=alias,
            firmware=firmware,
            created_at=now,
            updated_at=now,
        )
        self._links[record.id] = record
        return record

    def update(self, body: Any, customers: CustomerBook, now: str) -> DeviceLink:
        body = bodies.an_object(body, "$")
        bodies.only(body, UPDATE_FIELDS)
        device_id = bodies.text(body, "deviceId", required=True)
        customer_id = bodies.integer(body, "customerId", required=True)
        assert device_id is not None and customer_id is not None
        serial = bodies.text(body, "deviceSerial", required=False)
        supplier = bodies.text(body, "deviceSupplier", required=False)
        type_id = bodies.integer(body, "deviceType", required=False)
        alias = bodies.text(body, "deviceAlias", required=False)
        firmware = bodies.text(body, "firmwareVersion", required=False)
        customers.get(customer_id)
        record = self.by_device_id(device_id)
        if record is None or record.customer_id != customer_id:
            raise Refusal(404, f"device {device_id} is not linked to customer {customer_id}")
        # Absent fields keep their value; the id is derived again. Nothing changes on a refusal.
        serial = serial or record.serial
        supplier = supplier or record.supplier
        type_id = self._resolve_type(type_id or record.type_id, supplier)
        record.device_id = self._derive(serial, type_id, record.id)
        record.serial, record.supplier, record.type_id = serial, supplier, type_id
        record.alias = alias if alias is not None else record.alias
        record.firmware = firmware if firmware is not None else record.firmware
        record.updated_at = now
        return record

    def unlink(self, device_id: str) -> DeviceLink:
        record = self.by_device_id(device_id)
        if record is None:
            raise Refusal(404, f"device {device_id} is not linked")
        del self._links[record.id]
        return record

    def unlink_customer(self, customer_id: int) -> None:
        for record in [r for r in self._links.values() if r.customer_id == customer_id]:
            del self._links[record.id]

    def by_device_id(self, device_id: str) -> DeviceLink | None:
        return next((r for r in self._links.values() if r.device_id == device_id), None)

    def find(self, type_id: int, device_id: str) -> DeviceLink | None:
        """The link device events with this (device_type_id, device_id) are matched against."""
        record = self.by_device_id(device_id)
        return record if record is not None and record.type_id == type_id else None

    def all(self) -> list[DeviceLink]:
        return list(self._links.values())

    def _resolve_type(self, type_id: int | None, supplier: str) -> int:
        """The device type for a link; refused when it does not fit the supplier (§2.1)."""
        if type_id is None:
            matches = [t for t, kind in self.types.items() if _same(kind.supplier, supplier)]
            if len(matches) != 1:
                listed = ", ".join(map(str, matches))
                found = f"several device types ({listed})" if matches else "no device type"
                raise bodies.bad(
                    "deviceSupplier", f"{supplier!r} resolves to {found}; send deviceType"
                )
            return matches[0]
        configured = self.types.get(type_id)
        if configured is None and self.default_rule is None:
            raise bodies.bad("deviceType", f"{type_id} is not provisioned for this customer source")
        if configured is not None and not _same(configured.supplier, supplier):
            raise bodies.bad(
                "deviceSupplier",
                f"{supplier!r} does not supply device type {type_id} "
                f"(it is {configured.supplier!r})",
            )
        return type_id

    def _derive(self, serial: str, type_id: int, owner: int | None) -> str:
        configured = self.types.get(type_id)
        rule = configured.derive if configured is not None else self.default_rule
        assert rule is not None  # _resolve_type refused an unprovisioned type
        device_id = rule.derive(serial)
        if device_id is None:
            raise bodies.bad(
                "deviceSerial",
                f"{serial!r} does not fit device type {type_id}: it {rule.text}",
            )
        # Unlink names only the deviceId (§2.4), so one deviceId is one link, whatever its type.
        taken = self.by_device_id(device_id)
        if taken is not None and taken.id != owner:
            raise Refusal(
                409,
                f"device {device_id} (serial {serial!r}) is already linked to customer "
                f"{taken.customer_id} (link {taken.id})",
                field="deviceSerial",
            )
        return device_id


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()
