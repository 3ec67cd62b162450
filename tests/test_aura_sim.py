"""The AURA simulator over real HTTP on 127.0.0.1: AURA's documented token exchange, customers,
device links and device events (docs/aura-api.md §1-§5), the simulator's choices where AURA is
silent (§9.1), every injected fault, and the record it keeps (webhook/aurasim/server.py)."""

from __future__ import annotations

import base64
import copy
import email.utils
import json
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from webhook.aurasim import (
    DeviceType,
    Fault,
    Refusal,
    RunningSimulator,
    SerialRule,
    SimState,
    run_simulator,
    validate_event,
)
from webhook.aurasim.wire import MAX_BODY
from webhook.cli.simulate import simulate_aura_command

CLIENT_ID, CLIENT_SECRET = "it-client", "it-secret+/="
CREDENTIALS = {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
T = 5.0  # bound on every network call: a broken simulator fails a test, never hangs it
DEVICE = "A1B2C3D4"
API = "/panic-api/v2"
DONE = {"message": "Request completed successfully."}
LINK_FIELDS = {
    "id",
    "customerId",
    "customerSourceId",
    "deviceId",
    "deviceSerial",
    "alias",
    "deviceTypeId",
    "firmwareVersion",
    "defaultLocation",
    "healthCheckLastReceivedDate",
    "batteryLevel",
    "batteryLevelLastReceivedDate",
    "createdAt",
    "updatedAt",
}


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    with run_simulator(state=SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get_token(sim: RunningSimulator, http: requests.Session) -> str:
    response = http.post(sim.token_url, json=CREDENTIALS, timeout=T)
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


@pytest.fixture
def token(sim: RunningSimulator, http: requests.Session) -> str:
    return get_token(sim, http)


def claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, read the way a client would (no signature check)."""
    header, payload, signature = jwt.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert signature
    return json.loads(base64.urlsafe_b64decode(payload + "=="))


def alert(device: str = DEVICE, seq: str = "46", type_id: int = 1) -> dict[str, Any]:
    fix = {"latitude": -26.10911, "longitude": 28.053037, "sequenceNumber": seq}
    return {"device_type_id": type_id, "device_id": device, "message_type": 1, "location": fix}


def location(device: str = DEVICE, type_id: int = 1) -> dict[str, Any]:
    fix = {"latitude": -26.2025, "longitude": 28.0468, "sequenceNumber": "47"}
    return {"device_type_id": type_id, "device_id": device, "message_type": 2, "body": fix}


def cancel(device: str = DEVICE) -> dict[str, Any]:
    body = {"sequenceNumber": "48"}
    return {"device_type_id": 1, "device_id": device, "message_type": 3, "body": body}


def battery(level: Any = 72, device: str = DEVICE, type_id: int = 1) -> dict[str, Any]:
    body = {"batteryLevel": level}
    return {"device_type_id": type_id, "device_id": device, "message_type": 4, "body": body}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def send(
    sim: RunningSimulator, http: requests.Session, token: str, body: Any, **kwargs: Any
) -> requests.Response:
    headers = {**auth(token), **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", T)
    if isinstance(body, (str, bytes)):
        return http.post(sim.event_url, data=body, headers=headers, **kwargs)
    return http.post(sim.event_url, json=body, headers=headers, **kwargs)


def call(
    sim: RunningSimulator, http: requests.Session, token: str, method: str, path: str, **kw: Any
) -> requests.Response:
    """An authenticated request to ``/panic-api/v2<path>``."""
    return http.request(method, f"{sim.url}{API}{path}", headers=auth(token), timeout=T, **kw)


def callout_id(response: requests.Response) -> int | None:
    assert response.status_code == 200, response.text
    return response.json()["resolvedAuraEvent"]["eventResponse"]["calloutId"]


def new_customer(
    sim: RunningSimulator, http: requests.Session, token: str, mobile: str = "+27821234567"
) -> int:
    profile = {"name": "Jane", "surname": "Doe", "mobile": mobile}
    response = call(sim, http, token, "POST", "/customers", json={"customer": profile})
    assert response.status_code == 201, response.text
    return response.json()["customer"]["id"]


def is_error(response: requests.Response, status: int, *words: str) -> bool:
    """AURA's error shape (§4.2): ``{"message"}``, maybe ``field``, and nothing else."""
    body = response.json()
    text = body.get("message", "")
    return (
        response.status_code == status
        and isinstance(text, str)
        and set(body) <= {"message", "field"}
        and all(word in text for word in words)
    )


# -- token exchange (§1) ------------------------------------------------------------------------


def test_token_json_exchange_answers_camel_case_and_a_jwt(
    sim: RunningSimulator, http: requests.Session
) -> None:
    before = time.time()
    first = http.post(sim.token_url, json=CREDENTIALS, timeout=T)
    second = http.post(sim.token_url, json=CREDENTIALS, timeout=T)
    assert sim.token_url == f"{sim.url}/panic-api/v2/oauth/token"
    assert first.status_code == second.status_code == 200
    body = first.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn"}
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 3600)
    payload = claims(body["accessToken"])
    assert payload["sub"] == CLIENT_ID
    assert before + 3600 <= payload["exp"] <= time.time() + 3601
    assert body["accessToken"] != second.json()["accessToken"]
    for token in (body["accessToken"], second.json()["accessToken"]):
        assert send(sim, http, token, alert()).status_code == 200
    assert [(r["client_id"], r["status"]) for r in sim.state.token_requests()] == [
        (CLIENT_ID, 200),
        (CLIENT_ID, 200),
    ]


def test_token_tolerates_the_old_client_credentials_key(
    sim: RunningSimulator, http: requests.Session
) -> None:
    body = {**CREDENTIALS, "client_credentials": "client_credentials"}
    assert http.post(sim.token_url, json=body, timeout=T).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}},
        {"data": {"grant_type": "client_credentials"}, "auth": (CLIENT_ID, CLIENT_SECRET)},
        {"json": CREDENTIALS, "auth": (CLIENT_ID, CLIENT_SECRET)},
        {"json": {**CREDENTIALS, "grant_type": "client_credentials"}},
        {"json": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}},
        {"json": {"clientId": CLIENT_ID}},
        {"json": {"clientId": 7, "clientSecret": CLIENT_SECRET}},
        {"json": {**CREDENTIALS, "clientID": CLIENT_ID}},
        {"json": [CREDENTIALS]},
        {"data": "{not json", "headers": {"Content-Type": "application/json"}},
    ],
    ids=[
        "form",
        "rfc6749-grant",
        "basic-auth",
        "grant_type",
        "snake-names",
        "no-secret",
        "id-not-string",
        "unknown-field",
        "not-an-object",
        "not-json",
    ],
)
def test_token_malformed_request_is_400(
    sim: RunningSimulator, http: requests.Session, kwargs: dict[str, Any]
) -> None:
    response = http.post(sim.token_url, timeout=T, **kwargs)
    assert is_error(response, 400), response.text
    assert [r["status"] for r in sim.state.token_requests()] == [400]


@pytest.mark.parametrize(
    "body",
    [{**CREDENTIALS, "clientSecret": "wrong"}, {**CREDENTIALS, "clientId": "someone-else"}],
    ids=["wrong-secret", "wrong-id"],
)
def test_token_wrong_credentials_is_401(
    sim: RunningSimulator, http: requests.Session, body: dict[str, str]
) -> None:
    response = http.post(sim.token_url, json=body, timeout=T)
    assert is_error(response, 401)
    assert [r["status"] for r in sim.state.token_requests()] == [401]


SPELLINGS = {
    "camel": ("accessToken", "tokenType", "expiresIn"),
    "snake": ("access_token", "token_type", "expires_in"),
}


@pytest.mark.parametrize(
    ("spelling", "expiry", "expected_keys"),
    [
        ("snake", "seconds", {"access_token", "token_type", "expires_in"}),
        ("camel", "epoch", {"accessToken", "tokenType", "expiresIn"}),
        ("camel", "omit", {"accessToken", "tokenType"}),
        ("snake", "omit", {"access_token", "token_type"}),
    ],
)
def test_token_answer_options(
    http: requests.Session, spelling: str, expiry: str, expected_keys: set[str]
) -> None:
    state = SimState(
        CLIENT_ID, CLIENT_SECRET, token_ttl=120, token_spelling=spelling, token_expiry=expiry
    )
    with run_simulator(state=state) as sim:
        before = time.time()
        body = http.post(sim.token_url, json=CREDENTIALS, timeout=T).json()
        assert set(body) == expected_keys
        token_key, type_key, expiry_key = SPELLINGS[spelling]
        assert body[type_key] == "Bearer"
        exp = claims(body[token_key])["exp"]
        assert before + 120 <= exp <= time.time() + 121
        assert body.get(expiry_key) == {"seconds": 120, "epoch": exp, "omit": None}[expiry]
        assert send(sim, http, body[token_key], battery()).status_code == 200


def test_token_style_is_checked() -> None:
    with pytest.raises(ValueError, match="spelling"):
        SimState(token_spelling="kebab")
    with pytest.raises(ValueError, match="expiry"):
        SimState(token_expiry="never")


ENDPOINTS = [
    ("POST", "/deviceEvent"),
    ("POST", "/customers"),
    ("GET", "/customers/178921"),
    ("PUT", "/customers/178921"),
    ("POST", "/customers/178921/delete"),
    ("POST", "/devices"),
    ("PUT", "/devices"),
    ("DELETE", "/devices/A1B2C3D4"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_a_valid_bearer_token(
    sim: RunningSimulator, http: requests.Session, method: str, path: str
) -> None:
    url = f"{sim.url}{API}{path}"
    missing = http.request(method, url, json={}, timeout=T)
    assert is_error(missing, 401, "bearer token"), missing.text
    bogus = http.request(method, url, json={}, headers=auth("not-a-token"), timeout=T)
    assert is_error(bogus, 401, "invalid or expired")
    basic = http.request(method, url, json={}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=T)
    assert basic.status_code == 401
    assert sim.state.callouts() == [] and sim.state.customers() == []


def test_expire_tokens_from_python_and_over_http(
    sim: RunningSimulator, http: requests.Session
) -> None:
    token = get_token(sim, http)
    sim.state.expire_tokens()
    assert send(sim, http, token, alert()).status_code == 401
    token = get_token(sim, http)
    assert http.post(f"{sim.url}/_sim/expire-tokens", timeout=T).status_code == 200
    assert call(sim, http, token, "GET", "/customers/1").status_code == 401
    assert send(sim, http, get_token(sim, http), alert()).status_code == 200


def test_token_expires_after_its_ttl(http: requests.Session) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, token_ttl=0.2)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        assert send(sim, http, token, battery()).status_code == 200
        time.sleep(0.3)
        assert is_error(send(sim, http, token, battery()), 401, "expired")
        profile = {"name": "A", "surname": "B", "mobile": "+1"}
        response = call(sim, http, token, "POST", "/customers", json={"customer": profile})
        assert response.status_code == 401


# -- customers (§5) -----------------------------------------------------------------------------


def test_customer_lifecycle(sim: RunningSimulator, http: requests.Session, token: str) -> None:
    profile = {
        "name": "Jane",
        "surname": "Doe",
        "mobile": "+27821234567",
        "email": "jane@example.com",
        "externalReferenceId": "partner-user-123",
        "vehicle": {"make": "VW", "colour": "white"},
    }
    created = call(sim, http, token, "POST", "/customers", json={"customer": profile})
    assert created.status_code == 201
    assert created.json()["message"]
    customer = created.json()["customer"]
    assert isinstance(customer["id"], int) and customer["customerSourceId"] == 1
    assert {k: customer[k] for k in profile} == profile
    path = f"/customers/{customer['id']}"
    assert call(sim, http, token, "GET", path).json() == customer
    changed = call(sim, http, token, "PUT", path, json={"customer": {"email": "j@example.org"}})
    assert changed.status_code == 200 and changed.json()["message"]
    assert changed.json()["customer"]["email"] == "j@example.org"
    assert changed.json()["customer"]["mobile"] == profile["mobile"]
    assert call(sim, http, token, "GET", path).json() == changed.json()["customer"]
    deleted = call(sim, http, token, "POST", f"{path}/delete")
    assert (deleted.status_code, deleted.json()) == (200, DONE)
    assert is_error(call(sim, http, token, "GET", path), 404, str(customer["id"]))
    assert call(sim, http, token, "POST", f"{path}/delete").status_code == 404
    [record] = sim.state.customers()
    assert record["deleted"] is True and record["email"] == "j@example.org"
    assert http.get(f"{sim.url}/_sim/customers", timeout=T).json() == {"customers": [record]}


def test_customer_with_a_subscription_or_a_subscription_id(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    subscription = {
        "subscriptionTypeId": 4,
        "validFrom": "2026-06-10T00:00:00Z",
        "validTo": "2027-06-10T00:00:00Z",
    }
    first = {
        "customer": {"name": "A", "surname": "B", "mobile": "+1"},
        "subscription": subscription,
    }
    second = {"customer": {"name": "C", "surname": "D", "mobile": "+2"}, "subscriptionId": 77}
    for body in (first, second):
        assert call(sim, http, token, "POST", "/customers", json=body).status_code == 201
    records = sim.state.customers()
    assert [r["subscription"] for r in records] == [
        {**subscription, "status": "active"},
        {"id": 77, "status": "active"},
    ]
    both = {**first, "subscriptionId": 77, "customer": {**first["customer"], "mobile": "+3"}}
    response = call(sim, http, token, "POST", "/customers", json=both)
    assert is_error(response, 400, "mutually exclusive")


PROFILE = {"name": "Jane", "surname": "Doe", "mobile": "+27821234567"}
BAD_CUSTOMERS = [
    ({}, "customer"),
    ({"customer": "Jane"}, "customer"),
    ({"customer": {k: v for k, v in PROFILE.items() if k != "mobile"}}, "customer.mobile"),
    ({"customer": {**PROFILE, "mobile": "  "}}, "customer.mobile"),
    ({"customer": {**PROFILE, "name": 7}}, "customer.name"),
    ({"customer": {**PROFILE, "id": 5}}, "customer.id"),
    ({"customer": PROFILE, "firstName": "Jane"}, "firstName"),
    ({"customer": PROFILE, "subscription": {"validFrom": "2026-01-01"}}, "subscription"),
    ({"customer": PROFILE, "subscriptionId": "77"}, "subscriptionId"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CUSTOMERS)
def test_customer_create_refusals_are_400_naming_the_field(
    sim: RunningSimulator, http: requests.Session, token: str, body: Any, field: str
) -> None:
    response = call(sim, http, token, "POST", "/customers", json=body)
    assert is_error(response, 400, field), response.text
    assert response.json()["field"].startswith(field)
    assert sim.state.customers() == []


def test_customer_body_must_be_json(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    response = call(sim, http, token, "POST", "/customers", data=PROFILE)
    assert is_error(response, 400, "JSON")


def test_duplicate_mobile_is_409_until_the_customer_is_deleted(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    first = new_customer(sim, http, token, "+27821234567")
    other = new_customer(sim, http, token, "+27820000000")
    again = call(sim, http, token, "POST", "/customers", json={"customer": PROFILE})
    assert is_error(again, 409, "+27821234567")
    moved = {"customer": {"mobile": "+27821234567"}}
    assert call(sim, http, token, "PUT", f"/customers/{other}", json=moved).status_code == 409
    assert call(sim, http, token, "POST", f"/customers/{first}/delete").status_code == 200
    assert call(sim, http, token, "POST", "/customers", json={"customer": PROFILE}).ok


def test_unknown_customer_ids_are_404(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    body = {"customer": {"name": "X"}}
    for method, path, kwargs in (
        ("GET", "/customers/999", {}),
        ("PUT", "/customers/999", {"json": body}),
        ("POST", "/customers/999/delete", {}),
    ):
        assert is_error(call(sim, http, token, method, path, **kwargs), 404, "999")


def test_customer_helper_from_python(sim: RunningSimulator) -> None:
    one = sim.state.add_customer()
    two = sim.state.add_customer("Thandi", "Mokoena", externalReferenceId="p-1")
    assert one["id"] != two["id"] and one["mobile"] != two["mobile"]
    assert two["externalReferenceId"] == "p-1"
    with pytest.raises(Refusal) as refused:
        sim.state.add_customer(mobile=one["mobile"])
    assert refused.value.status == 409


# -- device links (§2) --------------------------------------------------------------------------


def link_body(customer: int, serial: str = "sp-00a1b2c3d4", **extra: Any) -> dict[str, Any]:
    body = {"customerId": customer, "deviceSerial": serial, "deviceSupplier": "Acme"}
    return {**body, "deviceType": 1, **extra}


def test_link_answers_the_documented_fields(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    customer = new_customer(sim, http, token)
    body = link_body(customer, deviceType=1, deviceAlias="front door", firmwareVersion="1.2")
    response = call(sim, http, token, "POST", "/devices", json=body)
    assert response.status_code == 200, response.text
    link = response.json()
    assert set(link) == LINK_FIELDS
    assert link["deviceId"] == DEVICE  # default rule: last 8 characters, upper case
    assert (link["customerId"], link["deviceTypeId"], link["alias"]) == (customer, 1, "front door")
    assert (link["deviceSerial"], link["firmwareVersion"]) == ("sp-00a1b2c3d4", "1.2")
    assert isinstance(link["id"], int) and link["customerSourceId"] == 1
    assert link["batteryLevel"] is link["defaultLocation"] is None
    [record] = http.get(f"{sim.url}/_sim/devices", timeout=T).json()["devices"]
    assert record == sim.state.devices()[0] == {**link, "deviceSupplier": "Acme"}


CONFIGURED = {
    7: DeviceType("SimpleHW", SerialRule.regex(r"SP-([0-9A-F]{8})")),
    9: DeviceType("Browan", SerialRule.substring(2, 6)),
}


@pytest.mark.parametrize(
    ("fields", "device_type", "device_id"),
    [
        ({"deviceSupplier": "simplehw", "deviceSerial": "SP-00C0FFEE"}, 7, "00C0FFEE"),
        ({"deviceSupplier": "Browan", "deviceSerial": "xxabcdefyy"}, 9, "ABCDEF"),
        ({"deviceSupplier": "Browan", "deviceSerial": "xxabcdefyy", "deviceType": 9}, 9, "ABCDEF"),
        ({"deviceSupplier": "Other", "deviceSerial": "1234567890", "deviceType": 3}, 3, "34567890"),
    ],
    ids=["regex-by-supplier", "substring-by-supplier", "explicit-type", "unconfigured-type"],
)
def test_link_derives_the_device_id_per_device_type(
    http: requests.Session, fields: dict[str, Any], device_type: int, device_id: str
) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, device_types=CONFIGURED)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        body = {"customerId": new_customer(sim, http, token), **fields}
        link = call(sim, http, token, "POST", "/devices", json=body).json()
        assert (link["deviceTypeId"], link["deviceId"]) == (device_type, device_id)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"deviceSupplier": "SimpleHW", "deviceSerial": "SP-00c0ffee"}, ["SP-00c0ffee", "7"]),
        ({"deviceSupplier": "Browan", "deviceSerial": "xxabc"}, ["xxabc", "9", "at least 8"]),
        ({"deviceSupplier": "Other", "deviceSerial": "1234567", "deviceType": 3}, ["1234567", "3"]),
        ({"deviceSupplier": "Nobody", "deviceSerial": "SP-00C0FFEE"}, ["Nobody", "deviceType"]),
        ({"deviceSupplier": "Browan", "deviceSerial": "SP-00C0FFEE", "deviceType": 7}, ["7"]),
    ],
    ids=["regex-mismatch", "too-short", "unconfigured-too-short", "no-type-for-supplier", "other"],
)
def test_link_refuses_a_serial_or_supplier_that_does_not_fit(
    http: requests.Session, fields: dict[str, Any], words: list[str]
) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, device_types=CONFIGURED)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        body = {"customerId": new_customer(sim, http, token), **fields}
        response = call(sim, http, token, "POST", "/devices", json=body)
        assert is_error(response, 400, *words), response.text
        assert state.devices() == []


def test_unconfigured_types_can_be_refused(http: requests.Session) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, device_types=CONFIGURED, default_rule=None)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        body = link_body(new_customer(sim, http, token), deviceType=3)
        response = call(sim, http, token, "POST", "/devices", json=body)
        assert is_error(response, 400, "3", "not provisioned")


def test_link_refusals(sim: RunningSimulator, http: requests.Session, token: str) -> None:
    customer = new_customer(sim, http, token)
    assert is_error(call(sim, http, token, "POST", "/devices", json=link_body(999)), 404, "999")
    for bad, field in (
        ({k: v for k, v in link_body(customer).items() if k != "deviceSupplier"}, "deviceSupplier"),
        (link_body(customer, deviceType="1"), "deviceType"),
        ({**link_body(customer), "customerId": "178921"}, "customerId"),
        (link_body(customer, deviceId="1A2B3C4D"), "deviceId"),
    ):
        response = call(sim, http, token, "POST", "/devices", json=bad)
        assert is_error(response, 400, field) and response.json()["field"] == field
    assert call(sim, http, token, "POST", "/devices", json=link_body(customer)).ok
    for duplicate in (link_body(customer), link_body(customer, serial="zz-99A1B2C3D4")):
        assert is_error(call(sim, http, token, "POST", "/devices", json=duplicate), 409, DEVICE)
    assert len(sim.state.devices()) == 1


def test_update_link(sim: RunningSimulator, http: requests.Session, token: str) -> None:
    customer = new_customer(sim, http, token)
    link = call(sim, http, token, "POST", "/devices", json=link_body(customer)).json()
    change = {"deviceId": DEVICE, "customerId": customer, "deviceAlias": "gate"}
    changed = call(sim, http, token, "PUT", "/devices", json=change)
    assert changed.status_code == 200
    assert changed.json() == {**link, "alias": "gate", "updatedAt": changed.json()["updatedAt"]}
    reserial = {**change, "deviceSerial": "sp-00ffee0011", "firmwareVersion": "2.0"}
    moved = call(sim, http, token, "PUT", "/devices", json=reserial).json()
    assert (moved["deviceId"], moved["firmwareVersion"], moved["alias"]) == (
        "FFEE0011",
        "2.0",
        "gate",
    )
    assert moved["id"] == link["id"]
    other = new_customer(sim, http, token, "+27820000000")
    for body, status in (
        ({"deviceId": "NOPE", "customerId": customer}, 404),
        ({"deviceId": "FFEE0011", "customerId": other}, 404),
        ({"deviceId": "FFEE0011", "customerId": 999}, 404),
        ({"customerId": customer}, 400),
        ({"deviceId": "FFEE0011", "customerId": customer, "deviceSerial": "short"}, 400),
    ):
        assert is_error(call(sim, http, token, "PUT", "/devices", json=body), status), body
    assert sim.state.devices()[0]["deviceSerial"] == "sp-00ffee0011"  # a refusal changes nothing


def test_unlink(sim: RunningSimulator, http: requests.Session, token: str) -> None:
    call(sim, http, token, "POST", "/devices", json=link_body(new_customer(sim, http, token)))
    response = call(sim, http, token, "DELETE", f"/devices/{DEVICE}")
    assert (response.status_code, response.json()) == (200, DONE)
    assert sim.state.devices() == []
    assert is_error(call(sim, http, token, "DELETE", f"/devices/{DEVICE}"), 404, DEVICE)


def test_deleting_a_customer_removes_its_links(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    customer = new_customer(sim, http, token)
    call(sim, http, token, "POST", "/devices", json=link_body(customer))
    call(sim, http, token, "POST", f"/customers/{customer}/delete")
    assert sim.state.devices() == []


def test_link_device_helper_from_python() -> None:
    state = SimState(device_types=CONFIGURED)
    link = state.link_device("SP-00C0FFEE", 7)
    assert (link["deviceId"], link["deviceTypeId"]) == ("00C0FFEE", 7)
    assert state.devices()[0]["deviceSupplier"] == "SimpleHW"
    assert [c["id"] for c in state.customers()] == [link["customerId"]]
    customer = state.add_customer()["id"]
    linked = state.link_device("ab12345678", 3, customer_id=customer, supplier="X", alias="a")
    assert (linked["deviceId"], linked["customerId"], linked["alias"]) == (
        "12345678",
        customer,
        "a",
    )
    with pytest.raises(Refusal, match="'X' resolves to no device type"):
        state.link_device("zz87654321", supplier="X")
    with pytest.raises(Refusal) as refused:
        state.link_device("short", 1)
    assert (refused.value.status, refused.value.extra) == (400, {"field": "deviceSerial"})


# -- device events and AURA's callout rule (§3) ---------------------------------------------------


def test_each_message_type_answers_the_documented_shape(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    opened: int | None = None
    for body, event_type in (
        (alert(), "NEW_CALLOUT"),
        (location(), "CALLOUT_LOCATION_UPDATED"),
        (battery(), "DEVICE_BATTERY_INFO_RECEIVED"),
        (cancel(), "CALLOUT_CANCELLED"),
    ):
        response = send(sim, http, token, body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["message"] == "Event successfully processed..."
        assert answer["input"] == body
        resolved = answer["resolvedAuraEvent"]
        assert resolved["eventTypes"] == event_type
        event_response = resolved["eventResponse"]
        assert event_response["deviceId"] == DEVICE
        assert type(event_response["calloutId"]) is int
        opened = opened or event_response["calloutId"]
        assert event_response["calloutId"] == opened
    assert sim.state.active_callout(DEVICE) is None


def test_new_callout_while_one_is_open_resolves_to_it(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    first = callout_id(send(sim, http, token, alert(seq="46")))
    again = callout_id(send(sim, http, token, alert(seq="49")))
    assert first is not None and again == first == sim.state.active_callout(DEVICE)
    assert sim.state.new_callouts_created(DEVICE) == 1
    assert callout_id(send(sim, http, token, location())) == first
    assert callout_id(send(sim, http, token, cancel())) == first
    reopened = callout_id(send(sim, http, token, alert(seq="50")))
    assert reopened not in (None, first)
    assert sim.state.new_callouts_created(DEVICE) == 2
    assert [(c["calloutId"], c["status"]) for c in sim.state.callouts()] == [
        (first, "cancelled"),
        (reopened, "open"),
    ]
    sequences = [fix["sequenceNumber"] for fix in sim.state.callouts()[0]["locations"]]
    assert sequences == ["46", "49", "47"]


def test_accuracy_is_kept_with_the_fix(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    body = alert()
    body["location"]["accuracy"] = 70
    send(sim, http, token, body)
    moved = location()
    moved["body"]["accuracy"] = 12.5
    send(sim, http, token, moved)
    assert [fix["accuracy"] for fix in sim.state.callouts()[0]["locations"]] == [70, 12.5]


def test_location_update_without_an_active_callout_is_285(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    never = send(sim, http, token, location())
    assert never.status_code == 285
    assert never.json()["resolvedAuraEvent"] == {
        "eventTypes": "CALLOUT_LOCATION_UPDATED",
        "eventResponse": {"calloutId": None, "deviceId": DEVICE, "callout": None},
    }
    cancelled = callout_id(send(sim, http, token, alert()))
    send(sim, http, token, cancel())
    after_cancel = send(sim, http, token, location()).json()["resolvedAuraEvent"]
    assert after_cancel["eventResponse"]["calloutId"] == cancelled
    assert after_cancel["eventResponse"]["callout"]["status"] == "Cancelled"
    closed = callout_id(send(sim, http, token, alert()))
    over_http = http.post(f"{sim.url}/_sim/callouts/{closed}/close", timeout=T)
    assert over_http.json()["callout"]["status"] == "closed"
    response = send(sim, http, token, location())
    assert response.status_code == 285
    state = response.json()["resolvedAuraEvent"]["eventResponse"]["callout"]
    assert (state["id"], state["status"]) == (closed, "Closed")
    assert (state["latitude"], state["longitude"]) == (-26.10911, 28.053037)  # not moved
    assert [len(c["locations"]) for c in sim.state.callouts()] == [1, 1]
    assert [r["status"] for r in sim.state.requests()][-1] == 285
    assert http.post(f"{sim.url}/_sim/callouts/1/close", timeout=T).status_code == 404


def test_cancel_without_an_active_callout_is_200_with_no_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    resolved = send(sim, http, token, cancel()).json()["resolvedAuraEvent"]
    assert resolved["eventTypes"] == "CALLOUT_CANCELLED"
    assert resolved["eventResponse"] == {
        "calloutId": None,
        "deviceId": DEVICE,
        "message": "no active callout for this device",
    }
    assert sim.state.callouts() == []


def test_battery_is_recorded_and_names_the_open_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    assert send(sim, http, token, battery(72)).json()["resolvedAuraEvent"]["eventResponse"] == {
        "calloutId": None,
        "deviceId": DEVICE,
        "batteryLevel": 72,
    }
    opened = callout_id(send(sim, http, token, alert()))
    assert callout_id(send(sim, http, token, battery(71))) == opened
    assert sim.state.battery_level(DEVICE) == 71


def test_battery_and_heartbeat_are_recorded_on_the_link(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    link = sim.state.link_device("sp-00a1b2c3d4", 1)
    assert link["batteryLevel"] is link["healthCheckLastReceivedDate"] is None
    send(sim, http, token, battery(64))
    [record] = sim.state.devices()
    assert record["batteryLevel"] == 64
    assert record["batteryLevelLastReceivedDate"] == record["healthCheckLastReceivedDate"]
    assert record["healthCheckLastReceivedDate"] is not None
    send(sim, http, token, battery(63, type_id=2))  # another device type: not this link
    assert sim.state.devices()[0]["batteryLevel"] == 64


def test_require_links_refuses_events_from_unlinked_devices(http: requests.Session) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, require_links=True)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        refused = send(sim, http, token, alert())
        assert is_error(refused, 400, DEVICE, "not linked")
        assert refused.json()["field"] == "device_id"
        link = state.link_device("sp-00a1b2c3d4", 1)
        assert send(sim, http, token, alert(type_id=2)).status_code == 400  # type must match too
        opened = send(sim, http, token, alert())
        assert callout_id(opened) is not None
        assert state.callouts()[0]["customerId"] == link["customerId"]
        assert call(sim, http, token, "DELETE", f"/devices/{DEVICE}").ok
        assert send(sim, http, token, cancel()).status_code == 400
        assert [(r["status"], r["committed"]) for r in state.requests()] == [
            (400, False),
            (400, False),
            (200, True),
            (400, False),
        ]
        assert state.new_callouts_created(DEVICE) == 1


def test_callouts_are_per_device_type_and_device(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    ids = {
        callout_id(send(sim, http, token, alert())),
        callout_id(send(sim, http, token, alert(type_id=2))),
        callout_id(send(sim, http, token, alert(device="FFFF0001"))),
    }
    assert len(ids) == 3
    assert sim.state.new_callouts_created(DEVICE) == 2
    assert sim.state.new_callouts_created(DEVICE, device_type_id=2) == 1
    assert sim.state.active_callout(DEVICE, 2) in ids


def test_concurrent_new_callouts_for_one_device_open_one_callout(
    sim: RunningSimulator, token: str
) -> None:
    barrier = threading.Barrier(8)
    results: list[int | None] = []

    def press() -> None:
        with requests.Session() as session:
            barrier.wait(timeout=T)
            results.append(callout_id(send(sim, session, token, alert())))

    threads = [threading.Thread(target=press) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=T)
    assert len(results) == 8 and len(set(results)) == 1
    assert sim.state.new_callouts_created(DEVICE) == 1


def test_design_examples_are_valid() -> None:
    with_accuracy = alert()
    with_accuracy["location"]["accuracy"] = 70
    for body in (alert(), location(), cancel(), battery(), with_accuracy):
        assert validate_event(body) is None


# -- validation ---------------------------------------------------------------------------------


def _without(body: dict, key: str) -> dict:
    body = copy.deepcopy(body)
    del body[key]
    return body


def _with(body: dict, path: str, value: Any) -> dict:
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = body
    for parent in parents:
        target = target[parent]
    target[leaf] = value
    return body


INVALID = [
    ([alert()], "$"),
    (_without(alert(), "device_type_id"), "device_type_id"),
    (_with(alert(), "device_type_id", "1"), "device_type_id"),
    (_with(alert(), "device_type_id", True), "device_type_id"),
    (_with(alert(), "device_id", ""), "device_id"),
    (_with(alert(), "device_id", 12345678), "device_id"),
    (_with(alert(), "message_type", 5), "message_type"),
    (_with(alert(), "message_type", "1"), "message_type"),
    (_without(alert(), "location"), "location"),
    ({**_without(alert(), "location"), "body": alert()["location"]}, "body"),
    (_with(alert(), "location", [1, 2]), "location"),
    (_with(alert(), "location.latitude", "-26.1"), "location.latitude"),
    (_with(alert(), "location.latitude", 91.0), "location.latitude"),
    (_with(alert(), "location.longitude", -180.5), "location.longitude"),
    (_with(alert(), "location", {"latitude": 1.0}), "location.longitude"),
    (_with(alert(), "location.sequenceNumber", 46), "location.sequenceNumber"),
    (_with(alert(), "location.lat", 1.0), "location.lat"),
    (_with(alert(), "location.accuracy", -1), "location.accuracy"),
    (_with(alert(), "location.accuracy", "70"), "location.accuracy"),
    (_with(alert(), "location", {"accuracy": 70}), "location.accuracy"),
    (_with(location(), "body.accuracy", True), "body.accuracy"),
    (_with(location(), "body", {"latitude": 1.0, "sequenceNumber": "1"}), "body.longitude"),
    (_with(location(), "body", None), "body"),
    (_with(cancel(), "body.latitude", 1.0), "body.latitude"),
    (_with(cancel(), "body.accuracy", 5), "body.accuracy"),
    (_with(battery(), "body.batteryLevel", 101), "body.batteryLevel"),
    (_with(battery(), "body.batteryLevel", 72.5), "body.batteryLevel"),
    (_with(battery(), "body", {}), "body.batteryLevel"),
    (_with(battery(), "extra", 1), "extra"),
]


@pytest.mark.parametrize(("body", "field"), INVALID)
def test_invalid_event_is_400_naming_the_field(
    sim: RunningSimulator, http: requests.Session, token: str, body: Any, field: str
) -> None:
    response = send(sim, http, token, body)
    assert is_error(response, 400, field)
    assert response.json()["field"] == field
    assert sim.state.callouts() == []
    [record] = sim.state.requests()
    assert (record["status"], record["committed"], record["body"]) == (400, False, body)


def test_each_request_record_says_when_it_arrived_and_when_it_was_applied(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    """bench/crash.py times AURA's part of a send from these two stamps."""
    before = time.time()
    response = send(sim, http, token, alert())
    after = time.time()
    assert response.status_code == 200, response.text
    [record] = sim.state.requests()
    assert before <= record["arrived"] <= record["time"] <= after
    assert record["committed"] is True


@pytest.mark.parametrize("raw", ["{not json", '{"device_type_id": NaN}', "\xff"])
def test_body_that_is_not_json_is_400(
    sim: RunningSimulator, http: requests.Session, token: str, raw: str
) -> None:
    headers = {"Content-Type": "application/json"}
    response = send(sim, http, token, raw.encode("latin-1"), headers=headers)
    assert is_error(response, 400, "JSON") and response.json()["field"] is None


def test_wrong_content_type_is_400(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    headers = {"Content-Type": "text/plain"}
    response = send(sim, http, token, json.dumps(alert()), headers=headers)
    assert is_error(response, 400, "application/json")
    assert sim.state.callouts() == []


# -- fault injection ----------------------------------------------------------------------------


def test_500_twice_then_success_changes_nothing_until_success(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(500, count=2)
    responses = [send(sim, http, token, alert()) for _ in range(3)]
    assert [r.status_code for r in responses] == [500, 500, 200]
    assert is_error(responses[0], 500, "Internal Server Error")
    assert sim.state.new_callouts_created(DEVICE) == 1
    records = sim.state.requests()
    assert [(r["status"], r["fault"], r["committed"]) for r in records] == [
        (500, "status 500", False),
        (500, "status 500", False),
        (200, None, True),
    ]


def test_429_with_retry_after_seconds(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(429, retry_after=30)
    response = send(sim, http, token, alert())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert sim.state.callouts() == []


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_as_http_date(
    sim: RunningSimulator, http: requests.Session, token: str, status: int
) -> None:
    sim.state.fail_next(status, retry_after=30, http_date=True)
    before = datetime.now(UTC)
    response = send(sim, http, token, alert())
    assert response.status_code == status
    header = response.headers["Retry-After"]
    assert header.endswith(" GMT")
    delay = (email.utils.parsedate_to_datetime(header) - before).total_seconds()
    assert 29 <= delay <= 32


def test_retry_after_verbatim_string(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(503, retry_after="soon-ish")
    assert send(sim, http, token, alert()).headers["Retry-After"] == "soon-ish"


def test_hang_times_the_client_out_without_blocking_others(
    sim: RunningSimulator, token: str
) -> None:
    sim.state.hang_next(2.0)
    outcome: list[BaseException] = []

    def hung_call() -> None:
        with requests.Session() as session:
            try:
                send(sim, session, token, alert(), timeout=0.5)
            except requests.RequestException as exc:
                outcome.append(exc)

    caller = threading.Thread(target=hung_call)
    caller.start()
    deadline = time.monotonic() + T
    while not sim.state.requests() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    with requests.Session() as session:
        assert send(sim, session, token, battery()).status_code == 200
    assert time.monotonic() - started < 1.0
    caller.join(timeout=T)
    assert len(outcome) == 1 and isinstance(outcome[0], requests.Timeout)
    assert sim.state.callouts() == []
    assert sim.state.requests()[0]["fault"] == "hang 2s"
    assert sim.state.requests()[0]["status"] == 504


def test_hang_after_commit_opens_the_callout_and_a_retry_resolves_to_it(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.hang_next(1.0, after_commit=True)
    with pytest.raises(requests.Timeout):
        send(sim, http, token, alert(), timeout=0.3)
    [opened] = sim.state.callouts()
    assert callout_id(send(sim, http, token, alert())) == opened["calloutId"]
    assert sim.state.new_callouts_created(DEVICE) == 1


def test_reset_drops_the_connection(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.reset_connection_next()
    with pytest.raises(requests.ConnectionError):
        send(sim, http, token, alert())
    assert sim.state.callouts() == []
    [record] = sim.state.requests()
    assert (record["status"], record["fault"], record["committed"]) == (None, "reset", False)
    assert send(sim, http, token, alert()).status_code == 200


def test_reset_after_commit_opens_the_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.reset_connection_next(after_commit=True)
    with pytest.raises(requests.ConnectionError):
        send(sim, http, token, alert())
    assert sim.state.new_callouts_created(DEVICE) == 1
    assert sim.state.requests()[0]["committed"] is True


def test_500_after_commit_then_retry_gives_one_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(500, after_commit=True)
    assert send(sim, http, token, alert()).status_code == 500
    [opened] = sim.state.callouts()
    assert callout_id(send(sim, http, token, alert())) == opened["calloutId"]
    assert sim.state.new_callouts_created(DEVICE) == 1
    assert [(r["status"], r["committed"]) for r in sim.state.requests()] == [
        (500, True),
        (200, True),
    ]


def test_401_fault_expires_the_token_sent(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(401)
    assert is_error(send(sim, http, token, alert()), 401)
    assert send(sim, http, token, alert()).status_code == 401  # no fault left: the token is dead
    assert sim.state.pending_faults() == []
    assert send(sim, http, get_token(sim, http), alert()).status_code == 200
    assert sim.state.new_callouts_created(DEVICE) == 1


def test_400_fault_is_permanent_looking_and_changes_nothing(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(400)
    assert is_error(send(sim, http, token, alert()), 400)
    assert sim.state.callouts() == []
    assert send(sim, http, token, alert()).status_code == 200


def test_faults_queue_in_order_over_http(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    specs = [
        {"kind": "status", "status": 503, "retry_after": 5, "count": 2},
        {"kind": "reset"},
        {"status": 400},
    ]
    response = http.post(f"{sim.url}/_sim/faults", json={"faults": specs}, timeout=T)
    assert response.status_code == 200
    pending = response.json()["pending"]
    assert [f.get("status", f["kind"]) for f in pending] == [503, 503, "reset", 400]
    assert pending[2] == {"kind": "reset", "after_commit": False}
    assert [Fault.from_json(f) for f in pending] == sim.state.pending_faults()
    seen: list[int | str] = []
    for _ in range(5):
        try:
            seen.append(send(sim, http, token, alert()).status_code)
        except requests.ConnectionError:
            seen.append("reset")
    assert seen == [503, 503, "reset", 400, 200]
    assert http.get(f"{sim.url}/_sim/faults", timeout=T).json() == {"pending": []}


def test_faults_apply_to_device_events_only(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(503)
    assert http.post(sim.token_url, json=CREDENTIALS, timeout=T).status_code == 200
    assert new_customer(sim, http, token)
    assert send(sim, http, token, alert()).status_code == 503


def test_faults_http_validation_and_clear(sim: RunningSimulator, http: requests.Session) -> None:
    url = f"{sim.url}/_sim/faults"
    for bad in (
        {"kind": "explode"},
        {"status": 400, "after_commit": True},
        {"oops": 1},
        [{"count": 0}],
    ):
        response = http.post(url, json=bad, timeout=T)
        assert is_error(response, 400), bad
    assert http.post(url, data="{", timeout=T).status_code == 400
    assert http.post(url, json={"kind": "hang", "seconds": 0.1}, timeout=T).status_code == 200
    assert len(sim.state.pending_faults()) == 1
    assert http.delete(url, timeout=T).json() == {"pending": []}


def test_fault_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="after_commit"):
        Fault("status", 429, after_commit=True)
    with pytest.raises(ValueError, match="kind"):
        Fault("explode")
    with pytest.raises(ValueError, match="status"):
        Fault(status=200)
    with pytest.raises(ValueError, match="unknown"):
        Fault.from_json({"kind": "reset", "bogus": 1})


def test_stop_wakes_hung_requests(http: requests.Session) -> None:
    sim = run_simulator(state=SimState(CLIENT_ID, CLIENT_SECRET))
    token = get_token(sim, http)
    sim.state.hang_next(30.0)
    with pytest.raises(requests.Timeout):
        send(sim, http, token, alert(), timeout=0.2)
    started = time.monotonic()
    sim.stop()
    sim.stop()  # idempotent
    assert time.monotonic() - started < 3.0


# -- the record ---------------------------------------------------------------------------------


def test_requests_are_recorded_and_readable_over_http(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    before = time.time()
    send(sim, http, token, alert(), headers={"Idempotency-Key": "sigfox:A1B2C3D4:46"})
    send(sim, http, token, battery())
    over_http = http.get(f"{sim.url}/_sim/requests", timeout=T).json()["requests"]
    assert over_http == sim.state.requests()
    first, second = over_http
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["headers"]["Idempotency-Key"] == "sigfox:A1B2C3D4:46"
    assert first["idempotency_key"] == "sigfox:A1B2C3D4:46"
    assert second["idempotency_key"] is None
    assert first["headers"]["Authorization"] == f"Bearer {token}"
    assert first["body"] == alert() and first["method"] == "POST"
    assert first["path"] == "/panic-api/v2/deviceEvent"
    assert (first["status"], first["fault"], first["committed"]) == (200, None, True)
    assert first["response"]["resolvedAuraEvent"]["eventTypes"] == "NEW_CALLOUT"
    assert before <= first["time"] <= second["time"] <= time.time()


def test_callouts_over_http_and_reset(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    for body in (alert(), cancel(), alert()):
        send(sim, http, token, body)
    sim.state.link_device("sp-00a1b2c3d4", 1)
    listing = http.get(f"{sim.url}/_sim/callouts", timeout=T).json()
    assert [c["status"] for c in listing["callouts"]] == ["cancelled", "open"]
    assert listing["callouts"] == sim.state.callouts()
    assert listing["created"] == [{"device_type_id": 1, "device_id": DEVICE, "created": 2}]
    sim.state.fail_next(500)
    assert http.post(f"{sim.url}/_sim/reset", timeout=T).status_code == 200
    assert sim.state.requests() == [] and sim.state.callouts() == []
    assert sim.state.customers() == [] and sim.state.devices() == []
    assert sim.state.pending_faults() == []
    reopened = callout_id(send(sim, http, token, alert()))  # tokens survive a reset
    assert reopened is not None and reopened not in [c["calloutId"] for c in listing["callouts"]]


# -- Idempotency-Key: ignored as AURA documents none; honoured on request ------------------------


def test_idempotency_key_is_ignored_by_default(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    key = {"Idempotency-Key": "k-cancel"}
    opened = callout_id(send(sim, http, token, alert()))
    assert callout_id(send(sim, http, token, cancel(), headers=key)) == opened
    assert callout_id(send(sim, http, token, cancel(), headers=key)) is None


def test_idempotency_key_honoured_when_asked(http: requests.Session) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, honour_idempotency_keys=True)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        opened = callout_id(send(sim, http, token, alert()))
        key = {"Idempotency-Key": "k-cancel"}
        first = send(sim, http, token, cancel(), headers=key)
        replay = send(sim, http, token, cancel(), headers=key)
        assert replay.json() == first.json() and callout_id(replay) == opened
        assert [r["committed"] for r in state.requests()] == [True, True, False]
        other = send(sim, http, token, battery(), headers=key)
        assert is_error(other, 422) and other.json()["field"] == "Idempotency-Key"


# -- the command (aura-uplink simulate-aura) -----------------------------------------------------


def test_simulate_aura_refuses_a_bad_device_type() -> None:
    for spec in ("seven=Acme", "7=Acme,last:x", "7=Acme,regex:(", "7=Acme,middle:3", "7="):
        result = CliRunner().invoke(simulate_aura_command, ["--device-type", spec])
        assert result.exit_code == 2, (spec, result.output)
        assert "--device-type" in result.output


@pytest.mark.slow
def test_simulate_aura_command_in_a_process() -> None:
    command = [
        sys.executable,
        "-m",
        "webhook",
        "simulate-aura",
        "--port",
        "0",
        "--client-id",
        "cli",
        "--client-secret",
        "sec",
        "--token-ttl",
        "90",
        "--require-links",
        "--device-type",
        "7=SimpleHW,last:6",
    ]
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], 10)
            assert ready, "the simulator printed nothing"
            url = proc.stderr.readline().rsplit(" ", 1)[-1].strip()
            assert url.startswith("http://127.0.0.1:")
            credentials = {"clientId": "cli", "clientSecret": "sec"}
            answer = requests.post(f"{url}{API}/oauth/token", json=credentials, timeout=T).json()
            assert answer["expiresIn"] == 90
            headers = auth(answer["accessToken"])
            event = alert(device="C0FFEE", type_id=7)
            assert (
                requests.post(f"{url}{API}/deviceEvent", json=event, headers=headers).status_code
                == 400
            )
            profile = {"customer": {"name": "A", "surname": "B", "mobile": "+1"}}
            customer = requests.post(f"{url}{API}/customers", json=profile, headers=headers)
            link = {
                "customerId": customer.json()["customer"]["id"],
                "deviceSerial": "sp-00c0ffee",
                "deviceSupplier": "SimpleHW",
            }
            linked = requests.post(f"{url}{API}/devices", json=link, headers=headers, timeout=T)
            assert (linked.json()["deviceTypeId"], linked.json()["deviceId"]) == (7, "C0FFEE")
            assert requests.post(f"{url}{API}/deviceEvent", json=event, headers=headers).ok
        finally:
            proc.terminate()
            proc.wait(timeout=T)


# -- connections ---------------------------------------------------------------------------------


def test_connections_are_kept_alive_and_closed_when_the_simulator_stops() -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET)
    with run_simulator(state=state) as running, requests.Session() as http:
        token = get_token(running, http)
        answers = [send(running, http, token, alert(seq=str(n))) for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert all("close" not in a.headers.get("Connection", "") for a in answers)
        assert len(running._server.kept_connections) == 1, "one connection for all four"
        # A body the simulator refuses unread (too large): answered, then closed.
        big = http.post(running.event_url, data=b"x" * (MAX_BODY + 1), timeout=T)
        assert big.status_code == 413
    assert running._server.kept_connections == set()
    with pytest.raises(requests.ConnectionError):  # a stopped AURA answers nothing
        requests.post(running.event_url, json=alert(), timeout=T)
