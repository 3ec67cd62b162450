"""The AURA simulator over real HTTP on 127.0.0.1: the token flow, AURA's callout rule, strict
validation, every injected fault, and the record it keeps (webhook/aura_sim.py docstring)."""

from __future__ import annotations

import copy
import email.utils
import select
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from webhook.aurasim import Fault, RunningSimulator, SimState, run_simulator, validate_event

CLIENT_ID, CLIENT_SECRET = "it-client", "it-secret+/="
T = 5.0  # bound on every network call: a broken simulator fails a test, never hangs it
DEVICE = "A1B2C3D4"


@pytest.fixture
def sim() -> Any:
    with run_simulator(state=SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


@pytest.fixture
def http() -> Any:
    with requests.Session() as session:
        yield session


def get_token(sim: RunningSimulator, http: requests.Session) -> str:
    data = {"grant_type": "client_credentials"}
    response = http.post(sim.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=T)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def token(sim: RunningSimulator, http: requests.Session) -> str:
    return get_token(sim, http)


def alert(device: str = DEVICE, seq: str = "46", type_id: int = 1) -> dict[str, Any]:
    fix = {"latitude": -26.10911, "longitude": 28.053037, "sequenceNumber": seq}
    return {"device_type_id": type_id, "device_id": device, "message_type": 1, "location": fix}


def location(device: str = DEVICE) -> dict[str, Any]:
    fix = {"latitude": -26.2025, "longitude": 28.0468, "sequenceNumber": "47"}
    return {"device_type_id": 1, "device_id": device, "message_type": 2, "body": fix}


def cancel(device: str = DEVICE) -> dict[str, Any]:
    return {
        "device_type_id": 1,
        "device_id": device,
        "message_type": 3,
        "body": {"sequenceNumber": "48"},
    }


def battery(level: Any = 72) -> dict[str, Any]:
    return {
        "device_type_id": 1,
        "device_id": DEVICE,
        "message_type": 4,
        "body": {"batteryLevel": level},
    }


def send(
    sim: RunningSimulator, http: requests.Session, token: str, body: Any, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", T)
    if isinstance(body, (str, bytes)):
        return http.post(sim.event_url, data=body, headers=headers, **kwargs)
    return http.post(sim.event_url, json=body, headers=headers, **kwargs)


def callout_id(response: requests.Response) -> str | None:
    assert response.status_code == 200, response.text
    return response.json()["resolvedAuraEvent"]["eventResponse"]["calloutId"]


# -- OAuth2 client credentials -------------------------------------------------------------------


def test_token_with_basic_auth(sim: RunningSimulator, http: requests.Session) -> None:
    data = {"grant_type": "client_credentials"}
    response = http.post(sim.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=T)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) >= 32
    assert response.headers["Cache-Control"] == "no-store"


def test_token_with_form_credentials_and_tokens_are_random(
    sim: RunningSimulator, http: requests.Session
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    first = http.post(sim.token_url, data=form, timeout=T)
    second = http.post(sim.token_url, data=form, timeout=T)
    assert first.status_code == second.status_code == 200
    tokens = {first.json()["access_token"], second.json()["access_token"]}
    assert len(tokens) == 2
    for token in tokens:
        assert send(sim, http, token, alert()).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth": (CLIENT_ID, "wrong")},
        {"auth": ("someone-else", CLIENT_SECRET)},
        {"data": {"client_id": CLIENT_ID, "client_secret": "it-secret"}},
        {},
    ],
    ids=["basic-wrong-secret", "basic-wrong-id", "form-wrong-secret", "no-credentials"],
)
def test_token_wrong_client_is_401(
    sim: RunningSimulator, http: requests.Session, kwargs: dict[str, Any]
) -> None:
    data = {"grant_type": "client_credentials", **kwargs.pop("data", {})}
    response = http.post(sim.token_url, data=data, timeout=T, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert [r["status"] for r in sim.state.token_requests()] == [401]


@pytest.mark.parametrize(
    ("grant", "error"),
    [({"grant_type": "password"}, "unsupported_grant_type"), ({}, "invalid_request")],
)
def test_token_grant_errors(
    sim: RunningSimulator, http: requests.Session, grant: dict[str, str], error: str
) -> None:
    response = http.post(sim.token_url, data=grant, auth=(CLIENT_ID, CLIENT_SECRET), timeout=T)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_token_two_client_auth_methods_at_once_is_400(
    sim: RunningSimulator, http: requests.Session
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    response = http.post(sim.token_url, data=form, auth=(CLIENT_ID, CLIENT_SECRET), timeout=T)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_event_needs_a_valid_bearer_token(sim: RunningSimulator, http: requests.Session) -> None:
    missing = http.post(sim.event_url, json=alert(), timeout=T)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="aura"'
    bogus = send(sim, http, "not-a-token", alert())
    assert bogus.status_code == 401
    assert 'error="invalid_token"' in bogus.headers["WWW-Authenticate"]
    assert sim.state.callouts() == []
    assert [r["status"] for r in sim.state.requests()] == [401, 401]


def test_expire_tokens_from_python_and_over_http(
    sim: RunningSimulator, http: requests.Session
) -> None:
    token = get_token(sim, http)
    sim.state.expire_tokens()
    assert send(sim, http, token, alert()).status_code == 401
    token = get_token(sim, http)
    assert http.post(f"{sim.url}/_sim/expire-tokens", timeout=T).status_code == 200
    assert send(sim, http, token, alert()).status_code == 401
    assert send(sim, http, get_token(sim, http), alert()).status_code == 200


def test_token_expires_after_its_ttl(http: requests.Session) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, token_ttl=0.2)
    with run_simulator(state=state) as sim:
        token = get_token(sim, http)
        assert send(sim, http, token, battery()).status_code == 200
        time.sleep(0.3)
        assert send(sim, http, token, battery()).status_code == 401


# -- device events and AURA's callout rule --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        (alert(), "NEW_CALLOUT"),
        (location(), "CALLOUT_LOCATION_UPDATED"),
        (cancel(), "CALLOUT_CANCELLED"),
        (battery(), "DEVICE_BATTERY_INFO_RECEIVED"),
    ],
)
def test_each_message_type_is_accepted_and_echoed(
    sim: RunningSimulator, http: requests.Session, token: str, body: dict, event_type: str
) -> None:
    response = send(sim, http, token, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    resolved = answer.pop("resolvedAuraEvent")
    assert answer == body
    assert resolved["eventTypes"] == [event_type]
    assert "calloutId" in resolved["eventResponse"]


def test_new_callout_while_one_is_open_resolves_to_it(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    first = callout_id(send(sim, http, token, alert(seq="46")))
    again = callout_id(send(sim, http, token, alert(seq="49")))
    assert first is not None and again == first
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


def test_location_and_cancel_without_open_callout_are_200_with_no_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    for body, event_type in (
        (location(), "CALLOUT_LOCATION_UPDATED"),
        (cancel(), "CALLOUT_CANCELLED"),
    ):
        resolved = send(sim, http, token, body).json()["resolvedAuraEvent"]
        assert resolved["eventTypes"] == [event_type]
        assert resolved["eventResponse"] == {
            "calloutId": None,
            "message": "no active callout for this device",
        }
    assert sim.state.callouts() == []


def test_battery_is_recorded_and_names_the_open_callout(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    assert send(sim, http, token, battery(72)).json()["resolvedAuraEvent"]["eventResponse"] == {
        "calloutId": None,
        "batteryLevel": 72,
    }
    opened = callout_id(send(sim, http, token, alert()))
    assert callout_id(send(sim, http, token, battery(71))) == opened
    assert sim.state.battery_level(DEVICE) == 71


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


def test_concurrent_new_callouts_for_one_device_open_one_callout(
    sim: RunningSimulator, token: str
) -> None:
    barrier = threading.Barrier(8)
    results: list[str | None] = []

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
    for body in (alert(), location(), cancel(), battery()):
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
    (_with(location(), "body", {"latitude": 1.0, "sequenceNumber": "1"}), "body.longitude"),
    (_with(location(), "body", None), "body"),
    (_with(cancel(), "body.latitude", 1.0), "body.latitude"),
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
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]
    assert sim.state.callouts() == []
    [record] = sim.state.requests()
    assert (record["status"], record["committed"], record["body"]) == (400, False, body)


@pytest.mark.parametrize("raw", ["{not json", '{"device_type_id": NaN}', "\xff"])
def test_body_that_is_not_json_is_400(
    sim: RunningSimulator, http: requests.Session, token: str, raw: str
) -> None:
    headers = {"Content-Type": "application/json"}
    response = send(sim, http, token, raw.encode("latin-1"), headers=headers)
    assert (response.status_code, response.json()["field"]) == (400, None)


def test_wrong_content_type_is_415(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    headers = {"Content-Type": "text/plain"}
    response = send(sim, http, token, '{"device_type_id": 1}', headers=headers)
    assert response.status_code == 415


# -- fault injection ----------------------------------------------------------------------------


def test_500_twice_then_success_changes_nothing_until_success(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(500, count=2)
    assert [send(sim, http, token, alert()).status_code for _ in range(3)] == [500, 500, 200]
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
    response = send(sim, http, token, alert())
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert send(sim, http, token, alert()).status_code == 401  # no fault left: the token is dead
    assert sim.state.pending_faults() == []
    assert send(sim, http, get_token(sim, http), alert()).status_code == 200
    assert sim.state.new_callouts_created(DEVICE) == 1


def test_400_fault_is_permanent_looking_and_changes_nothing(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    sim.state.fail_next(400)
    response = send(sim, http, token, alert())
    assert response.status_code == 400 and "error" in response.json()
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


def test_faults_http_validation_and_clear(sim: RunningSimulator, http: requests.Session) -> None:
    url = f"{sim.url}/_sim/faults"
    for bad in (
        {"kind": "explode"},
        {"status": 400, "after_commit": True},
        {"oops": 1},
        [{"count": 0}],
    ):
        assert http.post(url, json=bad, timeout=T).status_code == 400, bad
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
    assert first["response"]["resolvedAuraEvent"]["eventTypes"] == ["NEW_CALLOUT"]
    assert before <= first["time"] <= second["time"] <= time.time()


def test_callouts_over_http_and_reset(
    sim: RunningSimulator, http: requests.Session, token: str
) -> None:
    for body in (alert(), cancel(), alert()):
        send(sim, http, token, body)
    listing = http.get(f"{sim.url}/_sim/callouts", timeout=T).json()
    assert [c["status"] for c in listing["callouts"]] == ["cancelled", "open"]
    assert listing["callouts"] == sim.state.callouts()
    assert listing["created"] == [{"device_type_id": 1, "device_id": DEVICE, "created": 2}]
    sim.state.fail_next(500)
    assert http.post(f"{sim.url}/_sim/reset", timeout=T).status_code == 200
    assert sim.state.requests() == [] and sim.state.callouts() == []
    assert sim.state.pending_faults() == []
    assert callout_id(send(sim, http, token, alert())) is not None  # tokens survive a reset


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
        assert (other.status_code, other.json()["field"]) == (422, "Idempotency-Key")


# -- the foreground server (aura-uplink simulate-aura) --------------------------------------------


@pytest.mark.slow
def test_serve_simulator_in_a_process() -> None:
    code = (
        "from webhook.aurasim import serve_simulator; "
        "serve_simulator('127.0.0.1', 0, client_id='cli', client_secret='sec')"
    )
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-c", code]
    with subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stderr is not None
            ready, _, _ = select.select([proc.stderr], [], [], 10)
            assert ready, "the simulator printed nothing"
            url = proc.stderr.readline().rsplit(" ", 1)[-1].strip()
            assert url.startswith("http://127.0.0.1:")
            data = {"grant_type": "client_credentials"}
            auth = ("cli", "sec")
            response = requests.post(f"{url}/oauth/token", data=data, auth=auth, timeout=T)
            assert response.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=T)
