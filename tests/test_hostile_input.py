"""Hostile input over real HTTP (issue #11, parts 1 and 6; docs/design.md §8, §14).

The app runs under waitress on 127.0.0.1 with a real SQLite store (tests/webhook_support.py),
without a delivery worker: what matters here is what is answered, stored and logged.

* A hypothesis fuzz of every route with the right secret — wrong types, nulls, huge numbers, lone
  surrogates, deep nesting, odd content types, huge query strings — gets 2xx or 4xx, never a 5xx
  and never a dropped connection, and a valid callback is still stored afterwards.
* Each attack of the issue, replayed: a required field that is invalid is a 400 naming it; an
  optional part that is invalid is dropped with a warning stored on the uplink, and the press is
  kept and decoded.
* Refused requests are logged (escaped, rate-limited, never with the secret); the bearer scheme
  is case-insensitive; query strings are capped like bodies.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webhook_support import (
    ALERT,
    DEVICE,
    HTTP_TIMEOUT,
    NEW_CALLOUT,
    SIGFOX_SECRET,
    T0,
    TEMPLATES,
    TTN_SECRET,
    AppServer,
    read_config,
    run_cli,
    sigfox_body,
    write_config,
)

from decoders.envelopes.lorawan import parse_chirpstack, parse_ttn
from decoders.envelopes.sigfox import parse_sigfox
from decoders.testing import callback_bodies
from decoders.types import Uplink
from webhook.http.refusals import MAX_CLIENTS, RefusalLog
from webhook.ingest import replan_stored
from webhook.store import StoredUplink

CHIRPSTACK_SECRET = "chirpstack-test-secret"
HOSTILE_TEMPLATES = f"""
[sources.chirpstack]
secret = "{CHIRPSTACK_SECRET}"
{TEMPLATES}
"""
MAX_BODY = 16384  # the default [service] max_body_bytes: a 10,000-deep body fits under it
AUTH = {
    "sigfox": {"Authorization": f"Bearer {SIGFOX_SECRET}"},
    "ttn": {"Authorization": f"Bearer {TTN_SECRET}"},
    "chirpstack": {"Authorization": f"Bearer {CHIRPSTACK_SECRET}"},
}
TTN_EXAMPLE = next(
    entry["body"]
    for entry in json.loads(
        (Path(__file__).resolve().parent.parent / "fixtures/bodies/lorawan.json").read_text()
    )
    if entry["network"] == "ttn-v3"
)
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_unique = itertools.count(1)


def start(tmp_path: Path, templates: str = HOSTILE_TEMPLATES) -> tuple[AppServer, Path]:
    path = write_config(
        tmp_path / "service.toml", aura_url=None, templates=templates, max_body_bytes=MAX_BODY
    )
    return AppServer(read_config(path), deliver=False), path


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[tuple[AppServer, Path]]:
    """One server for the fuzz and the attacks (its refusal log fills up: not for log tests)."""
    server, path = start(tmp_path_factory.mktemp("hostile"))
    with server:
        yield server, path


@pytest.fixture
def server(shared) -> AppServer:
    return shared[0]


@pytest.fixture
def fresh(tmp_path) -> Iterator[AppServer]:
    """A server of its own: an empty refusal log, an empty store."""
    server, _ = start(tmp_path)
    with server:
        yield server


def send(
    server: AppServer,
    path: str,
    *,
    source: str,
    method: str = "POST",
    data: bytes | None = None,
    content_type: str | None = "application/json",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """One request; a dropped connection fails the test with what was sent."""
    sent = dict(AUTH[source] if headers is None else headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    url = server.url + path + (f"?{query}" if query else "")
    try:
        return requests.request(method, url, data=data, headers=sent, timeout=HTTP_TIMEOUT)
    except requests.ConnectionError as error:  # pragma: no cover - the failure being tested
        raise AssertionError(f"connection dropped: {method} {path} {data!r:.200}") from error


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()  # lone surrogates go as \\ud800 escapes, as attackers send


def answered(response: requests.Response) -> requests.Response:
    """Never a 5xx: only a store that cannot commit may answer one."""
    assert 200 <= response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code == 413 and not response.headers["Content-Type"].startswith(
        "application/json"
    ):
        # waitress itself refuses a body past max_request_body_size, in plain text, before the
        # app sees it (webhook/server_options.py).
        assert "Request Entity Too Large" in response.text
    elif response.status_code >= 400:
        assert "error" in response.json(), response.text[:500]
    return response


def refused(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.json()["field"] == field, response.text[:300]


def stored(server: AppServer, response: requests.Response) -> StoredUplink:
    assert response.status_code == 200, response.text[:300]
    uplink_id = response.json()["uplink_id"]
    found = [u for u in server.store.list_uplinks(limit=10_000) if u.id == uplink_id]
    assert len(found) == 1, uplink_id
    return found[0]


def warned_fields(uplink: StoredUplink) -> list[str]:
    assert all(w["source"] == "envelope" and w["message"] for w in uplink.record.warnings)
    return [w["field"] for w in uplink.record.warnings]


def new_callouts(server: AppServer, uplink: StoredUplink) -> list[Any]:
    return [
        e
        for e in server.store.list_events(limit=10_000)
        if e.uplink_id == uplink.id and e.action == NEW_CALLOUT
    ]


def fresh_sigfox(**extra: Any) -> dict[str, Any]:
    """A valid Sigfox alert that is new to the store (its own seqNumber and time)."""
    n = next(_unique)
    return sigfox_body(seq=n % 4096, time=T0 + n, **extra)


def fresh_ttn(**message: Any) -> dict[str, Any]:
    body = copy.deepcopy(TTN_EXAMPLE)
    frame = base64.b64encode(bytes.fromhex(ALERT)).decode()
    body["uplink_message"].update({"frm_payload": frame, "f_port": 1, "f_cnt": next(_unique)})
    body["uplink_message"].update(message)
    return body


def assert_still_works(server: AppServer) -> None:
    body = fresh_sigfox()
    uplink = stored(server, send(server, "/sigfox/uplink", source="sigfox", data=as_json(body)))
    assert (uplink.status, uplink.record.device) == ("decoded", DEVICE)


# -- what the fuzz sends -------------------------------------------------------------------------

ODD_TEXT = [
    "", " ", "²", "٤٢", "1e400", "-1", "NaN", "Infinity", "\ud800", "a\nb\r\nc", "\x00", "9" * 400,
    "0x10", "1_000", "true", "null", "[]", "{}", "é", "\u2028", "1.5", "+3",
]  # fmt: skip
HUGE = [2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400]
NASTY = st.sampled_from([*HUGE, *ODD_TEXT, None, True, False, [], {}, 1.5, -1, 0, 95, -200.5])
LEAVES = st.one_of(
    NASTY,
    NASTY,  # twice: most draws are the values that broke the service before
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and infinities too: not JSON, so the whole body is refused
    st.text(st.characters(exclude_categories=()), max_size=30),  # lone surrogates included
    st.text(st.characters(categories=["Cs", "Cc", "Nd", "No", "Zl"]), max_size=5),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/xml",
    None,
]
# The fields each parser reads (most mutations hit one of these), beside any field of the valid
# body being mutated.
READ_PATHS = {
    "sigfox": [
        ("device",), ("time",), ("seqNumber",), ("data",), ("deviceTypeId",), ("ack",),
        ("rssi",), ("snr",), ("station",), ("computedLocation",), ("computedLocation", "lat"),
        ("computedLocation", "lng"), ("computedLocation", "radius"),
        ("computedLocation", "status"),
    ],
    "ttn": [
        ("end_device_ids",), ("end_device_ids", "device_id"), ("end_device_ids", "dev_eui"),
        ("end_device_ids", "application_ids"),
        ("end_device_ids", "application_ids", "application_id"), ("received_at",),
        ("uplink_message",), ("uplink_message", "f_cnt"), ("uplink_message", "f_port"),
        ("uplink_message", "session_key_id"), ("uplink_message", "frm_payload"),
        ("uplink_message", "locations"), ("uplink_message", "locations", "solver"),
        ("uplink_message", "locations", "solver", "latitude"),
        ("uplink_message", "locations", "solver", "longitude"),
        ("uplink_message", "locations", "solver", "accuracy"), ("location_solved",),
        ("location_solved", "location"), ("location_solved", "location", "latitude"),
    ],
    "chirpstack": [
        ("deduplicationId",), ("time",), ("deviceInfo",), ("deviceInfo", "devEui"),
        ("deviceInfo", "applicationId"), ("deviceInfo", "deviceProfileId"), ("devEUI",),
        ("applicationID",), ("fCnt",), ("fPort",), ("data",), ("batteryLevel",),
        ("batteryLevelUnavailable",), ("location",), ("location", "latitude"),
        ("location", "longitude"), ("location", "accuracy"),
    ],
}  # fmt: skip


def key_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from key_paths(inner, (*prefix, key))


def put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    holder = body
    for key in path[:-1]:
        if not isinstance(holder.get(key), dict):
            holder[key] = {}
        holder = holder[key]
    holder[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn, network: str) -> dict[str, Any]:
    """A valid callback body of ``network`` with one to three fields replaced by hostile
    values (or removed, or added where the parser looks)."""
    body = copy.deepcopy(draw(callback_bodies(network)))
    anywhere = st.sampled_from(sorted(set(key_paths(body)) | set(READ_PATHS[network])))
    paths = st.one_of(st.sampled_from(READ_PATHS[network]), anywhere)
    # Mostly one field at a time: an early 400 for one must not hide what another would do.
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        path = draw(paths)
        if len(path) == 1 and draw(st.integers(0, 5)) == 0:
            body.pop(path[0], None)
        else:
            put(body, path, draw(st.one_of(NASTY, VALUES)))
    return body


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def as_pairs(body: dict[str, Any]) -> str:
    # Lone surrogates become bytes that are not UTF-8, as a raw socket could send them.
    return urlencode({k: _text(v) for k, v in body.items()}, errors="surrogatepass")


def sigfox_request(body: dict[str, Any], shape: str) -> dict[str, Any]:
    """``send`` arguments for a Sigfox body in one of a template's shapes."""
    if shape == "query":
        return {"method": "GET", "data": None, "content_type": None, "query": as_pairs(body)}
    if shape == "form":
        return {
            "data": as_pairs(body).encode(),
            "content_type": "application/x-www-form-urlencoded",
        }
    if shape == "text":
        lines = "\n".join(f"{k}={_text(v)}" for k, v in body.items())
        return {"data": lines.encode("utf-8", "surrogatepass"), "content_type": "text/plain"}
    return {"data": as_json(body)}


# -- the fuzz ------------------------------------------------------------------------------------


def test_fuzz_sigfox_data_callbacks(server) -> None:
    @FUZZ
    @given(
        body=mutated("sigfox"),
        route=st.sampled_from(["/sigfox/uplink", "/sigfox/advanced"]),
        shape=st.sampled_from(["json", "form", "text", "query"]),
        content_type=st.sampled_from(CONTENT_TYPES),
        odd_type=st.booleans(),
    )
    def fuzz(body, route, shape, content_type, odd_type) -> None:
        if shape == "query":
            route = "/sigfox/uplink"  # the only GET route
        request = sigfox_request(body, shape)
        if odd_type and shape != "query":
            request["content_type"] = content_type
        answered(send(server, route, source="sigfox", **request))

    fuzz()
    assert_still_works(server)


def test_fuzz_sigfox_service_callbacks(server) -> None:
    @FUZZ
    @given(
        body=mutated("sigfox"),
        route=st.sampled_from(["/sigfox/status", "/sigfox/ack", "/sigfox/error"]),
        shape=st.sampled_from(["json", "form", "text"]),
    )
    def fuzz(body, route, shape) -> None:
        answered(send(server, route, source="sigfox", **sigfox_request(body, shape)))

    fuzz()
    assert_still_works(server)


def test_fuzz_the_things_stack(server) -> None:
    @FUZZ
    @given(body=mutated("ttn"), content_type=st.sampled_from(CONTENT_TYPES))
    def fuzz(body, content_type) -> None:
        answered(send(server, "/ttn/uplink", source="ttn", data=as_json(body)))
        answered(
            send(server, "/ttn/uplink", source="ttn", data=as_json(body), content_type=content_type)
        )

    fuzz()
    uplink = stored(server, send(server, "/ttn/uplink", source="ttn", data=as_json(fresh_ttn())))
    assert uplink.status == "decoded"
    assert_still_works(server)


def test_fuzz_chirpstack(server) -> None:
    events = ["up", "status", "location", "join", "log", "", "bogus", "up\n", "\ud800"]

    @FUZZ
    @given(body=mutated("chirpstack"), event=st.sampled_from(events))
    def fuzz(body, event) -> None:
        query = urlencode({"event": event}, errors="surrogatepass")
        answered(send(server, "/chirpstack", source="chirpstack", data=as_json(body), query=query))

    fuzz()
    body = {
        "deduplicationId": f"dedup-{next(_unique)}",
        "deviceInfo": {"devEui": "0101010101010101", "applicationId": "app"},
        "fPort": 1,
        "fCnt": 5,
        "data": base64.b64encode(bytes.fromhex(ALERT)).decode(),
    }
    response = send(
        server, "/chirpstack", source="chirpstack", data=as_json(body), query="event=up"
    )
    assert stored(server, response).status == "decoded"
    assert_still_works(server)


ROUTES = [
    ("POST", "/sigfox/uplink", "sigfox"),
    ("GET", "/sigfox/uplink", "sigfox"),
    ("POST", "/sigfox/advanced", "sigfox"),
    ("POST", "/sigfox/status", "sigfox"),
    ("POST", "/sigfox/ack", "sigfox"),
    ("POST", "/sigfox/error", "sigfox"),
    ("POST", "/ttn/uplink", "ttn"),
    ("POST", "/chirpstack", "chirpstack"),
]
RAW_BODIES = st.one_of(
    st.binary(max_size=2000),
    st.integers(1, 12_000).map(lambda n: b"[" * n),  # nesting past the limit, up to 10,000+
    st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(1, 4000).map(lambda n: b'{"device": "' + b"\\" * n),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"", b"{", b"null", b"[]", b'"x"', b"1" * 5000, b'{"device": NaN}', b"\xef\xbb\xbf{}"]
    ),
)


def test_fuzz_raw_bodies_and_query_strings_on_every_route(server) -> None:
    @FUZZ
    @given(
        route=st.sampled_from(ROUTES),
        data=RAW_BODIES,
        content_type=st.sampled_from(CONTENT_TYPES),
        query=st.one_of(
            st.just(""),
            st.text(max_size=200).map(lambda t: urlencode({"event": "up", "x": t})),
            st.integers(MAX_BODY - 8, 3 * MAX_BODY).map(lambda n: "event=up&device=" + "A" * n),
        ),
    )
    def fuzz(route, data, content_type, query) -> None:
        method, path, source = route
        body = None if method == "GET" else data
        answered(
            send(server, path, source=source, method=method, data=body,
                 content_type=content_type, query=query)
        )  # fmt: skip

    fuzz()
    assert_still_works(server)


# -- the attacks of the issue, one by one --------------------------------------------------------


@pytest.mark.parametrize(
    "seq", ["²", "٤٢", " 4 2", "1e3", "0x10", 4096, -1, 2**63, 2**64, 1.5, True, [1], {"n": 1}]
)
def test_a_sequence_number_that_is_not_one_is_a_400_naming_it(server, seq) -> None:
    before = len(server.store.list_uplinks(limit=10_000))
    response = send(server, "/sigfox/uplink", source="sigfox", data=as_json(fresh_sigfox()))
    assert response.status_code == 200
    refused(
        send(server, "/sigfox/uplink", source="sigfox", data=as_json(sigfox_body(seq=seq))),
        "seqNumber",
    )
    assert len(server.store.list_uplinks(limit=10_000)) == before + 1  # nothing more stored


def test_integers_beyond_64_bits_are_400s_naming_the_field(server) -> None:
    # Each would have overflowed SQLite's INTEGER (signed 64-bit) at the write: a 500.
    for value in (2**63, 2**64, 2**70):
        refused(
            send(server, "/sigfox/uplink", source="sigfox", data=as_json(sigfox_body(seq=value))),
            "seqNumber",
        )
        for field in ("f_cnt", "f_port"):
            body = fresh_ttn(**{field: value})
            refused(
                send(server, "/ttn/uplink", source="ttn", data=as_json(body)),
                f"uplink_message.{field}",
            )
        for field in ("fCnt", "fPort"):
            body = {"deduplicationId": "d", "deviceInfo": {"devEui": "0101010101010101"}}
            body[field] = value
            response = send(
                server, "/chirpstack", source="chirpstack", data=as_json(body), query="event=up"
            )
            refused(response, field)
    # The real ranges: fPort is one byte, fCnt 32 bits.
    refused(send(server, "/ttn/uplink", source="ttn", data=as_json(fresh_ttn(f_port=256))),
            "uplink_message.f_port")  # fmt: skip
    refused(send(server, "/ttn/uplink", source="ttn", data=as_json(fresh_ttn(f_cnt=2**32))),
            "uplink_message.f_cnt")  # fmt: skip
    ok = send(server, "/ttn/uplink", source="ttn", data=as_json(fresh_ttn(f_cnt=2**32 - 1)))
    assert stored(server, ok).record.sequence == 2**32 - 1


def test_a_lone_surrogate_device_type_is_dropped_with_a_warning_and_the_press_decoded(
    server,
) -> None:
    body = fresh_sigfox(deviceTypeId="\ud800")
    uplink = stored(server, send(server, "/sigfox/uplink", source="sigfox", data=as_json(body)))
    assert uplink.status == "decoded"
    assert warned_fields(uplink) == ["deviceTypeId"]
    assert "\\ud800" in uplink.record.warnings[0]["message"]  # escaped, never raw
    assert uplink.record.raw["deviceTypeId"] == "\ud800"  # the raw body is kept as it came
    assert len(new_callouts(server, uplink)) == 1


def test_a_lone_surrogate_in_a_required_field_is_a_400(server) -> None:
    refused(
        send(server, "/sigfox/uplink", source="sigfox", data=as_json(sigfox_body(device="\ud800"))),
        "device",
    )
    body = fresh_ttn()
    body["end_device_ids"]["device_id"] = "dev\udfff"
    refused(
        send(server, "/ttn/uplink", source="ttn", data=as_json(body)), "end_device_ids.device_id"
    )


def test_a_time_of_400_digits_is_a_400_naming_it(server) -> None:
    for time in (int("9" * 400), "9" * 400, 1e300, "1e400", -1):
        body = sigfox_body(time=T0)
        body["time"] = time
        refused(send(server, "/sigfox/uplink", source="sigfox", data=as_json(body)), "time")
    late = {**fresh_ttn(), "received_at": "9" * 400}  # optional here: dropped, warned
    uplink = stored(server, send(server, "/ttn/uplink", source="ttn", data=as_json(late)))
    assert warned_fields(uplink) == ["received_at"]


def test_json_nested_10000_deep_is_a_400(server) -> None:
    for raw in (b"[" * 10_000, b'{"device": ' + b"[" * 10_000, b"[" * 5000 + b"]" * 5000):
        assert len(raw) <= MAX_BODY  # refused for its depth, not its size
        for path, source in (("/sigfox/uplink", "sigfox"), ("/ttn/uplink", "ttn")):
            response = send(server, path, source=source, data=raw)
            refused(response, "body")
            assert "levels deep" in response.json()["error"]


def test_a_5000_digit_integer_is_a_400_in_a_key_field_and_harmless_elsewhere(server) -> None:
    digits = "9" * 5000
    raw = json.dumps(sigfox_body(time=T0)).replace(f'"time": {T0}', f'"time": {digits}').encode()
    refused(send(server, "/sigfox/uplink", source="sigfox", data=raw), "time")
    padded = json.dumps(fresh_sigfox(padding=0)).replace('"padding": 0', f'"padding": {digits}')
    uplink = stored(server, send(server, "/sigfox/uplink", source="sigfox", data=padded.encode()))
    assert uplink.status == "decoded" and uplink.record.raw["padding"] == digits


def test_a_tts_location_out_of_range_keeps_the_press_with_a_warning(server) -> None:
    body = fresh_ttn(locations={"frequency-solver": {"latitude": 95, "longitude": 28.05}})
    response = send(server, "/ttn/uplink", source="ttn", data=as_json(body))
    uplink = stored(server, response)
    assert (uplink.status, response.json()["kind"]) == ("decoded", "uplink")
    assert warned_fields(uplink) == ["uplink_message.locations.frequency-solver.latitude"]
    assert len(new_callouts(server, uplink)) == 1  # the press opens its callout


def test_a_sigfox_computed_location_out_of_range_keeps_the_press_with_a_warning(server) -> None:
    for location, field in (
        ({"lat": -26.1, "lng": 190, "radius": 900, "status": 1}, "computedLocation.lng"),
        ({"lat": "north", "lng": 28.0}, "computedLocation.lat"),
        ("somewhere", "computedLocation"),
    ):
        body = fresh_sigfox(computedLocation=location)
        response = send(server, "/sigfox/advanced", source="sigfox", data=as_json(body))
        uplink = stored(server, response)
        assert uplink.status == "decoded" and uplink.record.dedup_key.endswith(":advanced")
        assert warned_fields(uplink) == [field]
        assert len(new_callouts(server, uplink)) == 1


def test_a_chirpstack_status_with_a_bad_battery_level_is_kept_with_a_warning(server) -> None:
    body = {
        "deduplicationId": f"status-{next(_unique)}",
        "deviceInfo": {"devEui": "0101010101010101"},
        "batteryLevel": 1e9,
    }
    response = send(
        server, "/chirpstack", source="chirpstack", data=as_json(body), query="event=status"
    )
    assert response.json()["kind"] == "status"
    assert warned_fields(stored(server, response)) == ["batteryLevel"]


def test_store_list_shows_the_warnings(shared) -> None:
    server, config_path = shared
    body = fresh_sigfox(deviceTypeId="not hex", rssi="loud")
    stored(server, send(server, "/sigfox/uplink", source="sigfox", data=as_json(body)))
    done = run_cli("store", "list", "--config", str(config_path), "--uplinks", "--limit", "1")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout.splitlines()[0])
    assert [w["field"] for w in listed["warnings"]] == ["deviceTypeId", "rssi"]
    assert listed["warnings"][0]["source"] == "envelope"


def test_a_dropped_device_type_leaves_the_uplink_undecodable_and_replayable(tmp_path) -> None:
    strict = f"""
[sources.chirpstack]
secret = "{CHIRPSTACK_SECRET}"

[templates.reference]
device_type_id = 1
model = "aura-reference"
[templates.reference.match]
sigfox_device_types = ["AAAA0001"]
"""
    server, _ = start(tmp_path, strict)
    with server:
        body = fresh_sigfox(deviceTypeId="AAAA\udc00")  # was AAAA0001, garbled
        uplink = stored(server, send(server, "/sigfox/uplink", source="sigfox", data=as_json(body)))
        assert (uplink.status, warned_fields(uplink)) == ("undecodable", ["deviceTypeId"])
        assert [u.id for u in server.store.undecodable_uplinks()] == [uplink.id]
        # The operator lists the device by id (or fixes the template), then replays it.
        fixed = read_config(
            write_config(
                tmp_path / "fixed.toml",
                aura_url=None,
                templates=strict + f'devices = ["{DEVICE}"]\n',
            )
        ).templates
        result = server.store.replace_uplink_outcome(uplink.id, replan_stored(uplink, fixed).plan)
        assert not result.duplicate and len(result.event_ids) >= 1


def test_a_query_string_longer_than_the_body_cap_is_a_414_with_a_json_error(server) -> None:
    before = len(server.store.list_uplinks(limit=10_000))
    query = urlencode({**fresh_sigfox(), "padding": "x" * 225_000})
    response = send(server, "/sigfox/uplink", source="sigfox", method="GET", query=query)
    assert response.status_code == 414
    assert "query string longer than" in response.json()["error"]
    assert len(server.store.list_uplinks(limit=10_000)) == before
    short = urlencode({k: _text(v) for k, v in fresh_sigfox().items()})
    assert stored(
        server, send(server, "/sigfox/uplink", source="sigfox", method="GET", query=short)
    )


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(server, scheme) -> None:
    headers = {"Authorization": f"{scheme} {SIGFOX_SECRET}"}
    response = send(
        server, "/sigfox/uplink", source="sigfox", data=as_json(fresh_sigfox()), headers=headers
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value",
    [f"Basic {SIGFOX_SECRET}", f"Bearer{SIGFOX_SECRET}", SIGFOX_SECRET, f"bearer {TTN_SECRET}"],
)
def test_other_schemes_and_secrets_are_still_refused(server, value) -> None:
    response = send(
        server,
        "/sigfox/uplink",
        source="sigfox",
        data=as_json(fresh_sigfox()),
        headers={"Authorization": value},
    )
    assert response.status_code == 401


def test_decode_prints_the_warnings_of_callback_bodies() -> None:
    lines = [
        fresh_sigfox(computedLocation={"lat": 95, "lng": 28.0}),
        fresh_sigfox(deviceTypeId="AAAA0001"),  # nothing wrong: no "warnings" key
    ]
    done = run_cli(
        "decode", "--model", "aura-reference", "--input", "-",
        stdin="".join(json.dumps(line) + "\n" for line in lines),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert [w["field"] for w in first["warnings"]] == ["computedLocation.lat"]
    assert first["messages"][0]["kind"] == "alert" and "warnings" not in second


# -- logging -------------------------------------------------------------------------------------


def refusal_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aura_uplink.refused"]


def test_refused_requests_are_logged_with_the_reason_and_never_the_secret(fresh, caplog) -> None:
    caplog.set_level(logging.WARNING)
    wrong = {"Authorization": "Bearer guess-" + SIGFOX_SECRET}
    assert send(fresh, "/sigfox/uplink", source="sigfox", headers=wrong).status_code == 401
    assert send(fresh, "/ttn/uplink", source="ttn", headers={}).status_code == 401
    refused(
        send(fresh, "/sigfox/uplink", source="sigfox", data=as_json(sigfox_body(seq="²"))),
        "seqNumber",
    )
    long = send(fresh, "/sigfox/uplink", source="sigfox", method="GET", query="x=" + "A" * MAX_BODY)
    assert long.status_code == 414
    lines = refusal_lines(caplog)
    assert len(lines) == 4, lines
    assert lines[0] == (
        "refused POST /sigfox/uplink from 127.0.0.1: 401 wrong sigfox secret in Authorization"
    )
    assert lines[1] == "refused POST /ttn/uplink from 127.0.0.1: 401 no Authorization header"
    assert lines[2].startswith("refused POST /sigfox/uplink from 127.0.0.1: 400 field 'seqNumber'")
    assert lines[3].startswith("refused GET /sigfox/uplink from 127.0.0.1: 414 query string")
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name.endswith("refused"))
    assert not any(SIGFOX_SECRET in r.getMessage() for r in caplog.records)
    assert "A" * 100 not in "".join(lines)  # the query string itself is never logged


def test_a_tts_device_id_with_a_newline_forges_no_log_line(fresh, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = fresh_ttn()
    body["end_device_ids"].pop("dev_eui")  # an ABP device: its id names it
    body["end_device_ids"]["device_id"] = "dev1\nCRITICAL aura_uplink: all devices deleted"
    refused(
        send(fresh, "/ttn/uplink", source="ttn", data=as_json(body)), "end_device_ids.device_id"
    )
    # And through a path that is accepted: an uplink stored with warnings is logged too.
    body = fresh_sigfox(deviceTypeId="x\r\nCRITICAL forged", computedLocation="a\u2028b")
    assert send(fresh, "/sigfox/uplink", source="sigfox", data=as_json(body)).status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("dev1\\nCRITICAL" in m for m in messages), messages
    assert any("x\\r\\nCRITICAL forged" in m for m in messages), messages
    for message in messages:
        assert "\n" not in message and "\r" not in message and "\u2028" not in message, message
        assert len(message) < 1500, message[:200]


def test_refusals_are_rate_limited_per_address(fresh, caplog) -> None:
    caplog.set_level(logging.WARNING)
    wrong = {"Authorization": "Bearer wrong"}
    for _ in range(12):
        assert send(fresh, "/sigfox/uplink", source="sigfox", headers=wrong).status_code == 401
    assert len(refusal_lines(caplog)) == 5  # PER_WINDOW in WINDOW_S: the rest only counted
    assert send(fresh, "/sigfox/uplink", source="sigfox", data=as_json(fresh_sigfox())).ok


def test_the_refusal_log_counts_what_it_suppressed() -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.refusals")
    logger.propagate = False
    logger.addHandler(Collect())
    now = [0.0]
    refusals = RefusalLog(per_window=2, window_s=10.0, clock=lambda: now[0], logger=logger)
    for _ in range(5):
        refusals.refused("10.0.0.1", 401, "POST /sigfox/uplink", "wrong secret")
    refusals.refused("10.0.0.2", 400, "POST /ttn/uplink", "bad")
    assert len(lines) == 3
    now[0] = 11.0  # the window closes; the next refusal (from anyone) says what was held back
    refusals.refused("10.0.0.2", 400, "POST /ttn/uplink", "bad")
    assert lines[3:] == [
        "3 more refused requests from 10.0.0.1 in 10 s were not logged",
        "refused POST /ttn/uplink from 10.0.0.2: 400 bad",
    ]
    # A flood from many addresses: bounded memory, and they share one window past MAX_CLIENTS.
    many = RefusalLog(per_window=1, window_s=10.0, clock=lambda: now[0], logger=logger)
    for n in range(MAX_CLIENTS + 50):
        many.refused(f"10.1.{n // 256}.{n % 256}", 401, "POST /sigfox/uplink", "wrong secret")
    assert len(many._windows) == MAX_CLIENTS + 1
    assert lines[-1].startswith("refused POST /sigfox/uplink from (other addresses): 401")


# -- the parsers' own promise, without HTTP -------------------------------------------------------


NOW = datetime(2024, 5, 6, tzinfo=UTC)
PARSERS: dict[str, Callable[[dict[str, Any]], Uplink]] = {
    "sigfox": lambda body: parse_sigfox(body),
    "ttn": lambda body: parse_ttn(body, now=NOW),
    "chirpstack": lambda body: parse_chirpstack(body, "up", now=NOW),
}


@settings(max_examples=100, deadline=None)
@given(network=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_valid_bodies_give_no_warnings(network: str, data: st.DataObject) -> None:
    assert PARSERS[network](data.draw(callback_bodies(network))).warnings == ()
