"""What the AURA simulator (:mod:`webhook.aurasim`) knows about one tenant: its tokens, customers,
device links and callouts, the record of every device-event request, and the queue of injected
faults. The rules live in one module each (tokens, customers, devices, callouts); this class owns
the configuration, the lock and the readback.

One re-entrant lock guards all of it, and every accessor returns deep copies, so tests can read the
state from their own thread while the server's request threads keep changing it.
"""

from __future__ import annotations

import copy
import hmac
import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webhook.aurasim.callouts import CalloutBook
from webhook.aurasim.customers import DONE, CustomerBook
from webhook.aurasim.devices import LAST_8, DeviceBook, DeviceType, SerialRule
from webhook.aurasim.faults import Fault
from webhook.aurasim.refusal import Refusal
from webhook.aurasim.tokens import TokenBook, TokenStyle

DeviceKey = tuple[int, str]
# Distinct id ranges (starting at the docs' example values) so a client that sends one kind of id
# where another belongs is caught instead of matching by accident.
FIRST_CUSTOMER_ID, FIRST_LINK_ID, FIRST_CALLOUT_ID = 178921, 501, 992011


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, strings, numbers, None), as
    ``copy.deepcopy`` makes it, at a fraction of its cost: every device event's record is
    copied once as it is stored and once more when it is read back, and deepcopy's generic
    machinery was a seventh of the simulator's CPU under load. Anything else goes to
    ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return value
    return copy.deepcopy(value)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SimState:
    """Thread-safe state of one simulated AURA tenant (one clientId / clientSecret pair).

    ``token_ttl``: token lifetime in seconds. ``token_spelling`` ``"camel"`` | ``"snake"`` and
    ``token_expiry`` ``"seconds"`` | ``"epoch"`` | ``"omit"``: the token answer's spelling
    (docs/aura-api.md §9, C1-C2). ``require_links``: refuse device events from devices that are
    not linked. ``device_types``: the types AURA provisioned, ``{device_type_id: DeviceType}``;
    any other type derives its device id with ``default_rule`` (``None``: refuse other types).
    ``honour_idempotency_keys``: replay the stored answer for a repeated ``Idempotency-Key``.
    ``customer_source_id``: the tenant's id, in tokens, customers and links. The attributes of
    the same names (``token_style`` for the answer's spelling) may be changed between requests.
    """

    def __init__(
        self,
        client_id: str = "aura-sim-client",
        client_secret: str = "aura-sim-secret",
        *,
        token_ttl: float = 3600.0,
        token_spelling: str = "camel",
        token_expiry: str = "seconds",
        honour_idempotency_keys: bool = False,
        require_links: bool = False,
        device_types: Mapping[int, DeviceType] | None = None,
        default_rule: SerialRule | None = LAST_8,
        customer_source_id: int = 1,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.token_style = TokenStyle(token_spelling, token_expiry)
        self.honour_idempotency_keys = honour_idempotency_keys
        self.require_links = require_links
        self.customer_source_id = customer_source_id
        self._device_types = dict(device_types or {})
        self._default_rule = default_rule
        #: Set when the server stops, so hung request threads return at once.
        self.wake = threading.Event()
        self._lock = threading.RLock()
        self._tokens = TokenBook()
        # Ids keep counting across reset(): an id from before a reset never names a new record.
        self._customer_ids = itertools.count(FIRST_CUSTOMER_ID)
        self._link_ids = itertools.count(FIRST_LINK_ID)
        self._callout_ids = itertools.count(FIRST_CALLOUT_ID)
        self._mobiles = itertools.count(1)
        self._token_requests: list[dict[str, Any]] = []
        self._clear()

    def _clear(self) -> None:
        self._requests: list[dict[str, Any]] = []
        self._customers = CustomerBook(self._customer_ids)
        self._devices = DeviceBook(self._link_ids, self._device_types, self._default_rule)
        self._callouts = CalloutBook(self._callout_ids)
        self._battery: dict[DeviceKey, int] = {}
        self._faults: deque[Fault] = deque()
        self._idempotent: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = {}

    def reset(self) -> None:
        """Forget customers, links, callouts, records, faults and idempotency keys. Issued tokens
        and the configuration (device types, options) stay."""
        with self._lock:
            self._clear()
            self._token_requests.clear()

    # -- server tokens (docs/aura-api.md §1) --------------------------------------------------

    def check_client(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok

    def issue_token(self) -> str:
        """A new valid token, without the token endpoint (and without a token_requests entry)."""
        return self._issue()[0]

    def token_answer(self) -> dict[str, Any]:
        """Issue a token; the token endpoint's body, spelled as ``token_style`` says."""
        token, exp = self._issue()
        return self.token_style.answer(token, self.token_ttl, exp)

    def _issue(self) -> tuple[str, int]:
        with self._lock:
            return self._tokens.issue(self.client_id, self.token_ttl, self.customer_source_id)

    def token_valid(self, token: str) -> bool:
        with self._lock:
            return self._tokens.valid(token)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.revoke(token)

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as if they had all expired."""
        with self._lock:
            self._tokens.expire_all()

    def record_token_request(self, client_id: str | None, status: int) -> None:
        with self._lock:
            entry = {"time": time.time(), "client_id": client_id, "status": status}
            self._token_requests.append(entry)

    def token_requests(self) -> list[dict[str, Any]]:
        """Every token request since the last reset: time, client_id, status."""
        with self._lock:
            return copy.deepcopy(self._token_requests)

    # -- fault injection -----------------------------------------------------------------------

    def add_faults(self, *faults: Fault, count: int = 1) -> None:
        """Queue ``faults`` (each ``count`` times, in order) for the next deviceEvent requests."""
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            for fault in faults:
                self._faults.extend([fault] * count)

    def fail_next(
        self,
        status: int = 500,
        *,
        count: int = 1,
        retry_after: float | str | None = None,
        http_date: bool = False,
        after_commit: bool = False,
    ) -> None:
        fault = Fault("status", status, retry_after, http_date, after_commit=after_commit)
        self.add_faults(fault, count=count)

    def hang_next(self, seconds: float, *, count: int = 1, after_commit: bool = False) -> None:
        self.add_faults(Fault("hang", seconds=seconds, after_commit=after_commit), count=count)

    def reset_connection_next(self, *, count: int = 1, after_commit: bool = False) -> None:
        self.add_faults(Fault("reset", after_commit=after_commit), count=count)

    def take_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- customers (§5) and device links (§2); each raises Refusal -----------------------------

    def create_customer(self, body: Any) -> dict[str, Any]:
        with self._lock:
            return self._customers.create(body, utc_now_iso()).view(self.customer_source_id)

    def get_customer(self, customer_id: int) -> dict[str, Any]:
        with self._lock:
            return self._customers.get(customer_id).view(self.customer_source_id)

    def update_customer(self, customer_id: int, body: Any) -> dict[str, Any]:
        with self._lock:
            customer = self._customers.update(customer_id, body, utc_now_iso())
            return customer.view(self.customer_source_id)

    def delete_customer(self, customer_id: int) -> str:
        """Soft delete; the customer's device links go with it (they would name a 404)."""
        with self._lock:
            self._customers.delete(customer_id, utc_now_iso())
            self._devices.unlink_customer(customer_id)
            return DONE

    def link(self, body: Any) -> dict[str, Any]:
        with self._lock:
            record = self._devices.link(body, self._customers, utc_now_iso())
            return record.view(self.customer_source_id)

    def update_link(self, body: Any) -> dict[str, Any]:
        with self._lock:
            record = self._devices.update(body, self._customers, utc_now_iso())
            return record.view(self.customer_source_id)

    def unlink(self, device_id: str) -> str:
        with self._lock:
            self._devices.unlink(device_id)
            return DONE

    def add_customer(
        self, name: str = "Sim", surname: str = "Customer", mobile: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Create a customer from Python (the same rules as the API); returns it, with ``id``.
        Without ``mobile`` a fresh unique one is made up."""
        with self._lock:
            if mobile is None:
                mobile = f"+2770{next(self._mobiles):07d}"
            profile = {"name": name, "surname": surname, "mobile": mobile, **fields}
            return self.create_customer({"customer": profile})

    def link_device(
        self,
        serial: str,
        device_type: int | None = None,
        *,
        customer_id: int | None = None,
        supplier: str | None = None,
        alias: str | None = None,
        firmware_version: str | None = None,
    ) -> dict[str, Any]:
        """Link ``serial`` from Python (the same rules as ``POST /devices``); returns the link,
        whose ``deviceId`` events must carry. Without ``customer_id`` a new customer is made;
        without ``supplier``, the configured supplier of ``device_type`` (or "Sim Supplier")."""
        with self._lock:
            if supplier is None:
                configured = self._device_types.get(device_type) if device_type else None
                supplier = configured.supplier if configured else "Sim Supplier"
            if customer_id is None:
                customer_id = self.add_customer()["id"]
            optional = {
                "deviceType": device_type,
                "deviceAlias": alias,
                "firmwareVersion": firmware_version,
            }
            body = {"customerId": customer_id, "deviceSerial": serial, "deviceSupplier": supplier}
            return self.link(body | {k: v for k, v in optional.items() if v is not None})

    # -- device events (§3) --------------------------------------------------------------------

    def commit(self, event: dict[str, Any], idempotency_key: str | None) -> tuple[int, Any, bool]:
        """Apply one valid event; return (status, response body, whether it was processed).
        Raises Refusal for an unlinked device (``require_links``) or a reused idempotency key."""
        with self._lock:
            key: DeviceKey = (event["device_type_id"], event["device_id"])
            replay = self._replay(event, idempotency_key)
            if replay is not None:
                return replay[0], replay[1], False
            link = self._devices.find(*key)
            if link is None and self.require_links:
                raise Refusal(
                    400,
                    f"device {key[1]} of device type {key[0]} is not linked to a customer",
                    field="device_id",
                )
            now = utc_now_iso()
            customer_id = None if link is None else link.customer_id
            status, answer = self._callouts.apply(event, customer_id, now)
            if event["message_type"] == 4:
                self._battery[key] = event["body"]["batteryLevel"]
                if link is not None:
                    link.battery_level = event["body"]["batteryLevel"]
                    link.battery_at = link.health_at = link.updated_at = now
            if self.honour_idempotency_keys and idempotency_key is not None:
                stored = (copy.deepcopy(event), status, copy.deepcopy(answer))
                self._idempotent[idempotency_key] = stored
            return status, answer, True

    def _replay(self, event: dict[str, Any], key: str | None) -> tuple[int, Any] | None:
        seen = self._idempotent.get(key) if self.honour_idempotency_keys and key else None
        if seen is not None and seen[0] != event:
            message = "Idempotency-Key was already used with a different body"
            raise Refusal(422, message, field="Idempotency-Key")
        return None if seen is None else (seen[1], copy.deepcopy(seen[2]))

    def record(self, entry: dict[str, Any]) -> None:
        """Append one request record; ``seq`` numbers them from 1 in arrival order."""
        entry = copy_json(entry)  # the caller's; copied outside the lock
        with self._lock:
            self._requests.append({"seq": len(self._requests) + 1, **entry})

    def close_callout(self, callout_id: int) -> dict[str, Any]:
        """Close a callout as AURA's controllers would; a later location update then gets 285."""
        with self._lock:
            return self._callouts.close(callout_id, utc_now_iso()).record()

    # -- read-back for tests ---------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Every deviceEvent request received, in arrival order (see the server's docstring)."""
        with self._lock:
            return copy_json(self._requests)

    def callouts(self) -> list[dict[str, Any]]:
        """Every callout opened, oldest first; ``status``: ``open``, ``cancelled``, ``closed``."""
        with self._lock:
            return [c.record() for c in self._callouts.callouts.values()]

    def customers(self) -> list[dict[str, Any]]:
        """Every customer, as the API shows it plus ``deleted`` and ``subscription``."""
        with self._lock:
            return [
                c.view(self.customer_source_id)
                | {"deleted": c.deleted, "subscription": copy.deepcopy(c.subscription)}
                for c in self._customers.all()
            ]

    def devices(self) -> list[dict[str, Any]]:
        """Every live device link, as the API shows it plus ``deviceSupplier``."""
        with self._lock:
            return [
                d.view(self.customer_source_id) | {"deviceSupplier": d.supplier}
                for d in self._devices.all()
            ]

    def created_per_device(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"device_type_id": k[0], "device_id": k[1], "created": n}
                for k, n in self._callouts.created.items()
            ]

    def new_callouts_created(self, device_id: str, device_type_id: int | None = None) -> int:
        """How many callouts AURA opened for this device (all device types unless one is given)."""
        with self._lock:
            return sum(
                n
                for (type_id, dev), n in self._callouts.created.items()
                if dev == device_id and device_type_id in (None, type_id)
            )

    def active_callout(self, device_id: str, device_type_id: int | None = None) -> int | None:
        """The id of the device's active callout, if any."""
        with self._lock:
            return self._first(self._callouts.active, device_id, device_type_id)

    def battery_level(self, device_id: str, device_type_id: int | None = None) -> int | None:
        """The last battery level a device reported, linked or not."""
        with self._lock:
            return self._first(self._battery, device_id, device_type_id)

    @staticmethod
    def _first(table: Mapping[DeviceKey, int], device_id: str, type_id: int | None) -> int | None:
        return next(
            (v for (t, d), v in table.items() if d == device_id and type_id in (None, t)), None
        )
