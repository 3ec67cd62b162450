"""Customers of the simulated tenant (docs/aura-api.md §5, newest revision): the nested create
body, the mobile number as the unique identifier, updates, and the legacy soft delete.

Not thread-safe on its own: :class:`SimState` holds the lock around every call.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import webhook.aurasim.bodies as bodies
from webhook.aurasim.refusal import Refusal

CREATED = "Customer created successfully."
UPDATED = "Customer updated successfully."
DONE = "Request completed successfully."  # the soft delete's documented answer (§5.5)

REQUIRED = ("name", "surname", "mobile")
#: Set by AURA, never by the integrator: refused in a body so a client cannot think it set them.
SERVER_MANAGED = frozenset({"id", "customerSourceId", "createdAt", "updatedAt"})
CREATE_FIELDS = ("customer", "subscription", "subscriptionId")
SUBSCRIPTION_FIELDS = ("subscriptionTypeId", "validFrom", "validTo")


@dataclass(slots=True)
class Customer:
    """One customer record; ``profile`` holds every integrator-supplied field as sent."""

    id: int
    profile: dict[str, Any]
    created_at: str
    updated_at: str
    subscription: dict[str, Any] | None = None
    deleted: bool = False

    def view(self, customer_source_id: int) -> dict[str, Any]:
        """The customer as AURA answers it: the profile plus the server-managed fields."""
        return {
            "id": self.id,
            "customerSourceId": customer_source_id,
            **copy.deepcopy(self.profile),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def check_profile(profile: dict[str, Any], *, partial: bool) -> None:
    """Name, surname and mobile are non-blank strings (required unless ``partial``); other
    fields pass through untouched (AURA's optional groups, §5.1, were never fully captured)."""
    for name in sorted(set(profile) & SERVER_MANAGED):
        raise bodies.bad(f"customer.{name}", "is set by AURA, not by the request")
    for name in REQUIRED:
        bodies.text(profile, name, "customer", required=not partial)


def check_subscription(body: dict[str, Any]) -> dict[str, Any] | None:
    """The optional subscription to activate: a new one or an existing ``subscriptionId``."""
    if "subscription" in body and "subscriptionId" in body:
        raise Refusal(
            400, "subscription and subscriptionId are mutually exclusive", field="subscriptionId"
        )
    if "subscriptionId" in body:
        return {"id": bodies.integer(body, "subscriptionId", required=True), "status": "active"}
    if "subscription" not in body:
        return None
    spec = bodies.an_object(body["subscription"], "subscription")
    bodies.only(spec, SUBSCRIPTION_FIELDS, "subscription")
    bodies.integer(spec, "subscriptionTypeId", "subscription", required=True)
    for name in ("validFrom", "validTo"):
        bodies.text(spec, name, "subscription", required=False)
    return {**copy.deepcopy(spec), "status": "active"}


class CustomerBook:
    """Every customer ever created, soft-deleted ones included (they answer 404)."""

    def __init__(self, ids: Iterator[int]) -> None:
        self._ids = ids
        self._customers: dict[int, Customer] = {}

    def create(self, body: Any, now: str) -> Customer:
        body = bodies.an_object(body, "$")
        bodies.only(body, CREATE_FIELDS)
        if "customer" not in body:
            raise bodies.bad("customer", "is required")
        profile = bodies.an_object(body["customer"], "customer")
        check_profile(profile, partial=False)
        subscription = check_subscription(body)
        self._refuse_taken_mobile(profile["mobile"], None)
        customer = Customer(next(self._ids), copy.deepcopy(profile), now, now, subscription)
        self._customers[customer.id] = customer
        return customer

    def get(self, customer_id: int) -> Customer:
        """The live customer, or 404 (unknown and soft-deleted alike, §4.1: "not found")."""
        customer = self._customers.get(customer_id)
        if customer is None or customer.deleted:
            raise Refusal(404, f"customer {customer_id} not found")
        return customer

    def update(self, customer_id: int, body: Any, now: str) -> Customer:
        customer = self.get(customer_id)
        body = bodies.an_object(body, "$")
        bodies.only(body, ("customer",))
        if "customer" not in body:
            raise bodies.bad("customer", "is required")
        changes = bodies.an_object(body["customer"], "customer")
        check_profile(changes, partial=True)
        if "mobile" in changes:
            self._refuse_taken_mobile(changes["mobile"], customer_id)
        customer.profile.update(copy.deepcopy(changes))
        customer.updated_at = now
        return customer

    def delete(self, customer_id: int, now: str) -> Customer:
        customer = self.get(customer_id)
        customer.deleted = True
        customer.updated_at = now
        return customer

    def all(self) -> list[Customer]:
        return list(self._customers.values())

    def _refuse_taken_mobile(self, mobile: str, owner: int | None) -> None:
        # The mobile number identifies a customer (§5.1); a soft-deleted customer frees it.
        for other in self._customers.values():
            if not other.deleted and other.id != owner and other.profile.get("mobile") == mobile:
                raise Refusal(
                    409,
                    f"a customer with mobile {mobile} already exists (id {other.id})",
                    field="customer.mobile",
                )
