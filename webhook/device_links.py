"""Linking devices to AURA customers and keeping the local registry in step
(docs/aura-api.md §2): AURA answers a link with the ``deviceId`` it derived from the serial,
and that is the ``device_id`` of every event of the device from then on.

The registry is keyed by the id the network names the device with (Sigfox id, DevEUI; upper
case): by default the serial itself, or ``network_id`` for a device whose AURA serial (an IMEI,
say) is not its network id.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from decoders.errors import AuraUplinkError
from webhook.aura.api import AuraApi, AuraRefused
from webhook.store import DeviceLink, Store


class LinkError(AuraUplinkError):
    """A link request that cannot be made as asked (not linked here, an answer without a
    deviceId, a bad CSV row)."""


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """What the user asks to link: the documented request fields plus the network id."""

    customer_id: int
    serial: str
    supplier: str
    device_type: int | None = None
    alias: str | None = None
    firmware: str | None = None
    network_id: str | None = None

    @property
    def key(self) -> str:
        return (self.network_id or self.serial).upper()

    def body(self) -> dict[str, Any]:
        """The POST body (docs/aura-api.md §2.2, newest revision); unset options left out."""
        body: dict[str, Any] = {
            "customerId": self.customer_id,
            "deviceSerial": self.serial,
            "deviceSupplier": self.supplier,
        }
        optional = {"deviceType": self.device_type, "deviceAlias": self.alias,
                    "firmwareVersion": self.firmware}  # fmt: skip
        return body | {k: v for k, v in optional.items() if v is not None}


def _device_id(answer: Any, request: str) -> str:
    device_id = answer.get("deviceId") if isinstance(answer, Mapping) else None
    if device_id is None or isinstance(device_id, bool) or str(device_id) == "":
        raise LinkError(f"AURA's answer to {request} has no deviceId: {answer!r}"[:300])
    return str(device_id)


def link(api: AuraApi, store: Store, request: LinkRequest) -> Any:
    """Link a device (POST) and record AURA's ``deviceId``; returns AURA's answer."""
    answer = api.link_device(request.body())
    device_id = _device_id(answer, f"linking serial {request.serial}")
    store.save_link(_record(request, device_id, answer))
    return answer


def update(
    api: AuraApi,
    store: Store,
    serial: str,
    *,
    customer_id: int | None = None,
    device_type: int | None = None,
    alias: str | None = None,
    firmware: str | None = None,
) -> Any:
    """Change a linked device (PUT, the id in the body); unspecified fields keep their value."""
    known = store.link_for_serial(serial)
    if known is None:
        raise LinkError(f"serial {serial} is not linked here: link it first (devices link)")
    wanted = LinkRequest(
        customer_id=known.customer_id if customer_id is None else customer_id,
        serial=serial,
        supplier=known.supplier,
        device_type=known.device_type if device_type is None else device_type,
        alias=known.alias if alias is None else alias,
        firmware=known.firmware if firmware is None else firmware,
        network_id=known.network_id,
    )
    return _put(api, store, wanted, known)


def _put(api: AuraApi, store: Store, wanted: LinkRequest, known: DeviceLink) -> Any:
    answer = api.update_device({"deviceId": known.device_id, **wanted.body()})
    # The update page's answer is {id, customerId, deviceId} in one revision: keep the deviceId
    # we had when it does not say.
    has_id = isinstance(answer, Mapping) and answer.get("deviceId") not in (None, "")
    device_id = (
        _device_id(answer, f"updating serial {wanted.serial}") if has_id else known.device_id
    )
    store.save_link(_record(wanted, device_id, answer if isinstance(answer, Mapping) else {}))
    return answer


def unlink(api: AuraApi, store: Store, serial: str) -> Any:
    """Unlink at AURA (DELETE by deviceId) and forget the device here."""
    known = store.link_for_serial(serial)
    if known is None:
        raise LinkError(f"serial {serial} is not linked here")
    answer = api.unlink_device(known.device_id)
    store.remove_link(serial)
    return answer


def _record(request: LinkRequest, device_id: str, answer: Any) -> DeviceLink:
    return DeviceLink(
        network_id=request.key,
        serial=request.serial,
        device_id=device_id,
        customer_id=request.customer_id,
        supplier=request.supplier,
        device_type=request.device_type,
        alias=request.alias,
        firmware=request.firmware,
        answer=answer if isinstance(answer, Mapping) else {},
    )


# -- CSV import ------------------------------------------------------------------------------

REQUIRED_COLUMNS = ("customerId", "deviceSerial", "deviceSupplier")
OPTIONAL_COLUMNS = ("deviceType", "alias", "firmwareVersion", "networkId")


@dataclass(frozen=True, slots=True)
class RowResult:
    """One CSV row's outcome: ``linked``, ``updated``, ``unchanged`` or ``failed``."""

    row: int
    serial: str | None
    result: str
    device_id: str | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "serial": self.serial, "result": self.result}
        if self.device_id is not None:
            out["deviceId"] = self.device_id
        if self.error is not None:
            out["error"] = self.error
        return out


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, LinkRequest | LinkError]]:
    """``(row number, request or what is wrong with the row)``; row 1 is the header."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise LinkError(f"devices CSV: missing column(s) {', '.join(missing)} in the header")
    reader.fieldnames = header
    for number, row in enumerate(reader, start=2):
        try:
            yield number, _request(row)
        except LinkError as error:
            yield number, LinkError(f"row {number}: {error}")


def _request(row: Mapping[str, str | None]) -> LinkRequest:
    def text(column: str, required: bool = False) -> str | None:
        value = (row.get(column) or "").strip()
        if required and not value:
            raise LinkError(f"column {column}: a value is required")
        return value or None

    def integer(column: str, required: bool = False) -> int | None:
        value = text(column, required)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise LinkError(f"column {column}: expected an integer, got {value!r}") from None

    customer_id = integer("customerId", required=True)
    assert customer_id is not None
    return LinkRequest(
        customer_id=customer_id,
        serial=text("deviceSerial", required=True) or "",
        supplier=text("deviceSupplier", required=True) or "",
        device_type=integer("deviceType"),
        alias=text("alias"),
        firmware=text("firmwareVersion"),
        network_id=text("networkId"),
    )


def import_rows(
    api: AuraApi, store: Store, rows: Iterable[tuple[int, LinkRequest | LinkError]]
) -> Iterator[RowResult]:
    """Link each row's device, idempotently: a serial already linked to the same customer,
    type, alias and firmware is ``unchanged``; one that differs is updated (PUT); a row AURA
    refuses is ``failed`` with AURA's message, and the rest go on."""
    for number, request in rows:
        if isinstance(request, LinkError):
            yield RowResult(number, None, "failed", error=str(request))
            continue
        try:
            yield _import_one(api, store, number, request)
        except (AuraRefused, LinkError) as error:
            yield RowResult(number, request.serial, "failed", error=str(error))


def _import_one(api: AuraApi, store: Store, number: int, request: LinkRequest) -> RowResult:
    known = store.link_for_serial(request.serial)
    if known is None:
        answer = link(api, store, request)
        return RowResult(number, request.serial, "linked", _device_id(answer, "link"))
    if _same_link(known, request):
        if known.network_id != request.key:  # only our own bookkeeping changed
            store.save_link(replace(known, network_id=request.key))
            return RowResult(number, request.serial, "updated", known.device_id)
        return RowResult(number, request.serial, "unchanged", known.device_id)
    _put(api, store, request, known)
    updated = store.link_for_serial(request.serial)
    return RowResult(number, request.serial, "updated", updated.device_id if updated else None)


def _same_link(known: DeviceLink, request: LinkRequest) -> bool:
    return (known.customer_id, known.device_type, known.alias, known.firmware) == (
        request.customer_id, request.device_type, request.alias, request.firmware,
    )  # fmt: skip
