"""The Sigfox routes end to end (docs/design.md §8, docs/networks.md §1): real HTTP on 127.0.0.1 to
the app under waitress, a real SQLite file, the AURA simulator behind the delivery worker.

Every body shape a hand-written Sigfox template can produce is accepted: JSON, form-urlencoded,
text/plain ``key=value`` and GET query parameters; numbers quoted or not; optional variables
missing or null; hex in either case. BIDIR callbacks with ``ack=true`` get the template's
downlink; service callbacks are kept (raw) and answered 2xx.
"""

from __future__ import annotations

import pytest
import requests
from webhook_support import (
    ALERT,
    BATTERY,
    BATTERY_INFO,
    CANCEL,
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    HTTP_TIMEOUT,
    NEW_CALLOUT,
    OPERATOR_SECRET,
    SIGFOX_SECRET,
    T0,
    AppServer,
    aura_posts,
    post_callback,
    read_config,
    sigfox_body,
    wait_until,
    write_config,
)

from webhook.aurasim import SimState, run_simulator
from webhook.store import StoredUplink

ENCODINGS = ["json", "form", "text", "query"]


@pytest.fixture
def sim():
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


@pytest.fixture
def server(tmp_path, sim):
    config = read_config(write_config(tmp_path / "service.toml", aura_url=sim.url))
    with AppServer(config) as running:
        yield running


def uplinks(server: AppServer) -> list[StoredUplink]:
    """Every stored uplink, oldest first."""
    return list(reversed(server.store.list_uplinks(limit=1000)))


def event_actions(server: AppServer) -> list[int]:
    return [row.action for row in reversed(server.store.list_events(limit=1000))]


def only_uplink(server: AppServer) -> StoredUplink:
    rows = uplinks(server)
    assert len(rows) == 1, [row.as_json() for row in rows]
    return rows[0]


# -- body shapes ---------------------------------------------------------------------------------


def test_json_uplink_is_stored_then_delivered_to_aura_exactly_as_documented(server, sim):
    response = post_callback(server.url, sigfox_body(seq=46))

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "stored"
    stored = only_uplink(server)
    assert stored.id == answer["uplink_id"]
    assert (stored.status, stored.template) == ("decoded", "reference")
    assert stored.model == "aura-reference"
    assert stored.record.dedup_key == f"sigfox:{DEVICE}:46:{T0}"
    assert stored.record.payload == bytes.fromhex(ALERT)
    assert stored.record.raw == sigfox_body(seq=46)  # kept raw, for replay

    posts = wait_until(
        lambda: aura_posts(sim, ok=True) if len(aura_posts(sim, ok=True)) == 2 else None,
        what="the alert's two events at AURA",
    )
    assert [entry["body"] for entry in posts] == [
        {
            "device_type_id": 1,
            "device_id": DEVICE,
            "message_type": NEW_CALLOUT,
            "location": {
                "latitude": -26.10911,
                "longitude": 28.053037,
                "accuracy": 40,
                "sequenceNumber": "46",
            },
        },
        {
            "device_type_id": 1,
            "device_id": DEVICE,
            "message_type": BATTERY_INFO,
            "body": {"batteryLevel": 87},
        },
    ]
    assert len({entry["idempotency_key"] for entry in posts}) == 2


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_body_shape_is_accepted(server, encoding):
    body = sigfox_body(seq=7, snr="12.34", station="0A1B", deviceTypeId="5F2A0B1C")

    response = post_callback(server.url, body, encoding=encoding)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "stored"
    stored = only_uplink(server)
    assert stored.status == "decoded"
    assert stored.record.device == DEVICE
    assert stored.record.sequence == 7
    assert int(stored.record.received_at.timestamp()) == T0
    assert stored.record.payload == bytes.fromhex(ALERT)
    assert event_actions(server) == [NEW_CALLOUT, BATTERY_INFO]


@pytest.mark.parametrize(
    "text",
    [
        f"device={DEVICE}\r\ndata={BATTERY}\r\ntime={T0}\r\nseqNumber=9\r\n",
        f"device={DEVICE}&data={BATTERY}&time={T0}&seqNumber=9",
    ],
    ids=["crlf-lines", "ampersands"],
)
def test_text_plain_key_value_lines_or_ampersands(server, text):
    response = requests.post(
        server.url + "/sigfox/uplink",
        data=text.encode(),
        headers={"Authorization": f"Bearer {SIGFOX_SECRET}", "Content-Type": "text/plain"},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 200, response.text
    stored = only_uplink(server)
    assert (stored.record.device, stored.record.sequence) == (DEVICE, 9)
    assert stored.record.payload == bytes.fromhex(BATTERY)
    assert event_actions(server) == [BATTERY_INFO]


def test_quoted_numbers_are_read_as_numbers(server, sim):
    body = {
        "device": DEVICE,
        "time": str(T0),
        "data": ALERT,
        "seqNumber": "46",
        "snr": "12.34",
        "rssi": "-120.50",
        "avgSnr": "N/A",
        "lat": "-26",
        "lng": "28",
        "duplicate": "false",
    }

    response = post_callback(server.url, body)

    assert response.status_code == 200, response.text
    stored = only_uplink(server)
    assert stored.record.sequence == 46
    assert int(stored.record.received_at.timestamp()) == T0
    callout = wait_until(
        lambda: aura_posts(sim, message_type=NEW_CALLOUT, ok=True), what="the callout"
    )
    assert callout[0]["body"]["location"]["sequenceNumber"] == "46"


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_missing_and_null_optional_fields(server, sim, encoding):
    # No seqNumber at all ("if available"); network metadata null or absent; no deviceTypeId.
    body = sigfox_body(seq=None, snr=None, rssi=None, station=None, deviceTypeId=None)

    response = post_callback(server.url, body, encoding=encoding)

    assert response.status_code == 200, response.text
    stored = only_uplink(server)
    assert stored.status == "decoded"
    assert stored.record.sequence is None
    assert stored.record.dedup_key == f"sigfox:{DEVICE}::{T0}"
    callout = wait_until(
        lambda: aura_posts(sim, message_type=NEW_CALLOUT, ok=True), what="the callout"
    )
    assert callout[0]["body"]["location"] == {
        "latitude": -26.10911, "longitude": 28.053037, "accuracy": 40
    }  # fmt: skip
    # The same callback again is still recognised as the same message.
    again = post_callback(server.url, body, encoding=encoding)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")


def test_hex_in_either_case_is_the_same_message(server, sim):
    lower = post_callback(server.url, sigfox_body(device=DEVICE.lower(), data=ALERT.lower()))
    upper = post_callback(server.url, sigfox_body(device=DEVICE, data=ALERT))

    assert (lower.status_code, lower.json()["status"]) == (200, "stored")
    assert (upper.status_code, upper.json()["status"]) == (200, "duplicate")
    stored = only_uplink(server)
    assert stored.record.device == DEVICE
    assert stored.record.payload == bytes.fromhex(ALERT)
    callout = wait_until(
        lambda: aura_posts(sim, message_type=NEW_CALLOUT, ok=True), what="the callout"
    )
    assert callout[0]["body"]["device_id"] == DEVICE


def test_malformed_envelopes_get_400_with_a_json_error_and_nothing_is_stored(server):
    cases = [
        ({"time": T0, "data": ALERT}, "device"),
        (sigfox_body(device="not-hex"), "device"),
        (sigfox_body(time="yesterday"), "time"),
        (sigfox_body(seq="forty"), "seqNumber"),
        (sigfox_body(ack="maybe"), "ack"),  # BIDIR: checked before anything is stored
    ]
    for body, field in cases:
        response = post_callback(server.url, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["field"] == field
    for raw in (b"{not json", b"[1, 2]", b""):
        headers = {"Authorization": f"Bearer {SIGFOX_SECRET}", "Content-Type": "application/json"}
        url = server.url + "/sigfox/uplink"
        response = requests.post(url, data=raw, headers=headers, timeout=HTTP_TIMEOUT)
        assert response.status_code == 400, (raw, response.text)
        assert "error" in response.json()
    assert uplinks(server) == []


# -- BIDIR ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "form", "query"])
def test_bidir_ack_true_gets_the_templates_downlink(server, encoding):
    body = sigfox_body(seq=12, ack=True, longPolling=False)

    response = post_callback(server.url, body, encoding=encoding)

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {DEVICE: {"downlinkData": "0100000000000000"}}
    assert len(response.json()[DEVICE]["downlinkData"]) == 16
    assert only_uplink(server).status == "decoded"  # stored before answering
    # Sigfox retrying the callback gets the same downlink, and nothing new is stored.
    again = post_callback(server.url, body, encoding=encoding)
    assert again.json() == {DEVICE: {"downlinkData": "0100000000000000"}}
    assert len(uplinks(server)) == 1


def test_bidir_ack_true_without_a_template_downlink_gets_204(server):
    body = sigfox_body(seq=13, ack="true", deviceTypeId="AAAA0002")  # template "quiet"

    response = post_callback(server.url, body)

    assert response.status_code == 204
    assert response.content == b""
    stored = only_uplink(server)
    assert (stored.status, stored.template) == ("decoded", "quiet")


def test_bidir_ack_false_is_an_ordinary_uplink(server):
    response = post_callback(server.url, sigfox_body(seq=14, ack=False))

    assert response.status_code == 200
    assert response.json()["status"] == "stored"


# -- service callbacks ---------------------------------------------------------------------------

SERVICE_BODIES = {
    "/sigfox/status": {"device": DEVICE, "time": T0, "temp": "215", "batt": "3.2", "seqNumber": 5},
    "/sigfox/ack": {
        "device": DEVICE,
        "time": T0,
        "infoCode": 0,
        "infoMessage": "Acked",
        "downlinkAck": True,
        "downlinkOverusage": False,
    },
    "/sigfox/error": {
        "device": DEVICE,
        "time": T0,
        "severity": "ERROR",
        "info": "No message received since 2026-01-01 00:00:00",
    },
}


@pytest.mark.parametrize("path", sorted(SERVICE_BODIES))
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_service_callbacks_are_answered_and_kept_as_ignored(server, sim, path, encoding):
    body = SERVICE_BODIES[path]

    response = post_callback(server.url, body, path=path, encoding=encoding)

    assert 200 <= response.status_code < 300, response.text
    stored = only_uplink(server)
    assert stored.status == "ignored"
    assert stored.record.device == DEVICE
    assert stored.record.raw["callback"] == path.rsplit("/", 1)[1]
    assert server.store.list_events() == []
    # A retried service callback is recognised too.
    again = post_callback(server.url, body, path=path, encoding=encoding)
    assert again.json()["status"] == "duplicate"
    assert len(uplinks(server)) == 1
    assert aura_posts(sim) == []


def test_healthz_is_liveness_and_the_store_counts_need_the_operator_secret(server):
    # Changed in issue #11: /healthz used to show store counts to anyone; it is now an alias
    # of /livez, and the counts are at /status.json behind the operator secret.
    post_callback(server.url, sigfox_body(data=CANCEL))

    response = requests.get(server.url + "/healthz", timeout=HTTP_TIMEOUT)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    status = requests.get(
        server.url + "/status.json",
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
        timeout=HTTP_TIMEOUT,
    )
    assert status.status_code == 200
    answer = status.json()
    assert answer["store"]["uplinks"]["decoded"] == 1
    assert sum(answer["store"]["events"].values()) == 1
