"""``/status``, the operator's page (webhook/http/status_page.py, docs/design.md §14).

* The store's queries behind it, on SQLite and PostgreSQL: the devices the uplinks name (with
  their state and AURA ``deviceId``), device states by key, AURA's refusals, one uplink by id.
* Over real HTTP, no browser: the operator secret's rules (404 without one, 401 with
  ``WWW-Authenticate`` otherwise), the CSRF token every button needs (403 without it), and a
  hostile device id shown as text, never markup.
* In a real headless Chromium (Debian's ``chromium``, driven by Playwright; no browser
  download): ``serve`` as a child process with the AURA simulator behind it; a press shows up on
  the page, a dead letter is replayed by clicking and reaches AURA, an undecodable uplink is
  re-decoded by clicking after a template fix. Screenshots go to ``AURA_UPLINK_TEST_ARTIFACTS``
  (default ``tests/artifacts/``, git-ignored). Without chromium or Playwright the browser tests
  skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from pg_support import StoreFactory
from webhook_support import (
    ALERT,
    BATTERY,
    CLIENT_ID,
    CLIENT_SECRET,
    HTTP_TIMEOUT,
    OPERATOR_SECRET,
    SIGFOX_SECRET,
    AppServer,
    ServeProcess,
    aura_posts,
    open_store,
    post_callback,
    read_config,
    sigfox_body,
    wait_until,
    write_config,
)

from decoders.aura import DEVICE_BATTERY_INFO_RECEIVED as BATTERY_INFO
from decoders.aura import NEW_CALLOUT, DeviceEvent, DeviceState
from webhook.aurasim import SimState, run_simulator
from webhook.aurasim.faults import Fault
from webhook.http.status_page import csrf_token
from webhook.http.status_view import refusal
from webhook.store import DeviceLink, Plan, Store, UplinkRecord

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-background-networking",  # no internet: nothing may phone home and hang
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
BASIC = {"Authorization": "Basic " + base64.b64encode(f"ops:{OPERATOR_SECRET}".encode()).decode()}
OTHER = "5E6F7A8B"  # a device the first configuration of the browser test has no template for
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def stored_record(key: str, device: str, payload: bytes = b"\x01") -> UplinkRecord:
    received = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    return UplinkRecord("sigfox", key, device, received, payload, {"device": device})


def alert_event(device_id: str, seq: int) -> DeviceEvent:
    payload = {"latitude": -26.1, "longitude": 28.05, "sequenceNumber": str(seq)}
    return DeviceEvent(1, device_id, NEW_CALLOUT, NEW_CALLOUT, "location", payload)


def ingest(
    store: Store, key: str, device: str, *, events: int = 0, state: DeviceState | None = None
) -> tuple[int, ...]:
    """Store one uplink of ``device`` with ``events`` events under the state key ``1:<device>``
    (what the default device_id rule makes of an 8-digit id)."""
    state_key = f"1:{device}"
    plan = Plan(
        "decoded",
        model="aura-reference",
        template="reference",
        events=[(state_key, alert_event(device, n)) for n in range(events)],
        states={} if state is None else {state_key: state},
    )
    return store.ingest(stored_record(key, device), lambda _reader: plan).event_ids


# -- the store's queries, on both stores ---------------------------------------------------------


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_seen_devices_lists_each_device_once_last_heard_first_with_link_and_count(
    store_factory: StoreFactory,
) -> None:
    clock = Clock()
    store = store_factory(clock)
    ingest(store, "k1", "AAAA0001")
    clock.t += 10
    ingest(store, "k2", "BBBB0002")
    clock.t += 10
    ingest(store, "k3", "AAAA0001")
    undecodable = Plan("undecodable", error="bad frame")
    clock.t += 10
    store.ingest(stored_record("k4", "CCCC0003"), lambda _reader: undecodable)
    store.save_link(DeviceLink("BBBB0002", "IMEI-2", "aura-device-2", 7, "acme"))

    seen = store.seen_devices(limit=2)

    assert seen.total == 3
    assert [(d.device, d.uplinks, d.last_status) for d in seen.rows] == [
        ("CCCC0003", 1, "undecodable"),
        ("AAAA0001", 2, "decoded"),
    ]
    assert seen.rows[0].template is None  # never matched a template
    assert seen.rows[1].template == "reference"
    assert seen.rows[1].last_seen == clock.t - 10
    everything = store.seen_devices(limit=50).rows
    assert {d.device: d.aura_device_id for d in everything} == {
        "CCCC0003": None,
        "AAAA0001": None,
        "BBBB0002": "aura-device-2",
    }
    assert store_factory(clock).seen_devices().total == 3  # another handle sees the same


def test_seen_devices_of_an_empty_store_is_empty(store_factory: StoreFactory) -> None:
    seen = store_factory().seen_devices()
    assert (seen.total, seen.rows) == (0, ())


def test_device_states_reads_the_states_asked_for(store_factory: StoreFactory) -> None:
    store = store_factory()
    ingest(store, "k1", "AAAA0001", state=DeviceState(callout_open=True, battery_percent=81))
    ingest(store, "k2", "BBBB0002", state=DeviceState(battery_percent=12))

    states = store.device_states(["1:AAAA0001", "1:NOPE"])

    assert states == {"1:AAAA0001": DeviceState(callout_open=True, battery_percent=81)}
    assert store.device_states([]) == {}


def test_refusals_are_the_undelivered_events_aura_answered_4xx_newest_first(
    store_factory: StoreFactory,
) -> None:
    clock = Clock()
    store = store_factory(clock)
    ids = ingest(store, "k1", "AAAA0001", events=1)
    ids += ingest(store, "k2", "BBBB0002", events=1)
    ids += ingest(store, "k3", "CCCC0003", events=1)
    ids += ingest(store, "k4", "DDDD0004", events=1)
    ids += ingest(store, "k5", "EEEE0005", events=1)
    claimed = {row.id: row.claim for row in store.claim(clock.t, 30.0, 10)}
    assert set(claimed) == set(ids)
    conflict = 'HTTP 409: {"message": "device is not linked"}'
    store.mark_dead(ids[0], conflict, claim=claimed[ids[0]])
    store.mark_retry(ids[1], "HTTP 429: slow down", clock.t + 5, claim=claimed[ids[1]])
    store.mark_retry(ids[2], "HTTP 503: busy", clock.t + 5, claim=claimed[ids[2]])
    store.mark_retry(ids[3], "unauthorized", clock.t + 5, claim=claimed[ids[3]])
    store.mark_delivered(ids[4], '{"status": 200}', clock.t, claim=claimed[ids[4]])

    found = store.refusals(limit=2)

    assert found.total == 3  # not the 503, nor the delivered event
    assert [row.id for row in found.rows] == [ids[3], ids[1]]
    everything = store.refusals()
    assert [(row.id, row.state, row.last_error) for row in everything.rows][-1] == (
        ids[0],
        "dead",
        conflict,
    )


def test_get_uplink_reads_one_uplink_or_none(store_factory: StoreFactory) -> None:
    store = store_factory()
    ingest(store, "k1", "AAAA0001")
    (only,) = store.list_uplinks()
    assert store.get_uplink(only.id) == only
    assert store.get_uplink(only.id + 1) is None


@pytest.mark.parametrize(
    ("last_error", "read"),
    [
        ('HTTP 409: {"message": "an active callout exists"}', (409, "an active callout exists")),
        ("HTTP 400: not json", (400, "not json")),
        ('HTTP 422: {"message": "cut short', (422, '{"message": "cut short')),  # the excerpt
        ('HTTP 404: ["no message"]', (404, '["no message"]')),
        ("HTTP 503: busy", None),
        ("timeout: read timed out", None),
        (None, None),
    ],
)
def test_a_refusal_is_read_from_the_error_the_worker_recorded(
    last_error: str | None, read: tuple[int, str] | None
) -> None:
    assert refusal(last_error) == read


def test_a_401_that_a_fresh_token_did_not_cure_points_at_the_credentials() -> None:
    status, message = refusal("unauthorized") or (0, "")
    assert status == 401 and "client_secret" in message


# -- over HTTP, without a browser ----------------------------------------------------------------


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """The app under waitress on a real SQLite file, no delivery worker: the tests set each
    event's fate through the store themselves."""
    config = read_config(write_config(tmp_path / "service.toml", aura_url=None))
    with AppServer(config, deliver=False) as running:
        yield running


def dead_letter(store: Store, device: str = "AAAA0001") -> int:
    """One event of ``device``, refused for good by AURA."""
    (event_id,) = ingest(store, f"dead-{device}", device, events=1)
    (row,) = [row for row in store.claim(4e9, 30.0, 10) if row.id == event_id]
    assert store.mark_dead(event_id, 'HTTP 409: {"message": "no"}', claim=row.claim)
    return event_id


def form_token(page: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` on the page."""
    found = re.search(
        rf'action="{re.escape(action)}[^"]*">\s*<input type="hidden" name="csrf_token"'
        r' value="([0-9a-f]+)"',
        page,
    )
    assert found, f"no form for {action}"
    return found.group(1)


def token_for(server: AppServer, action: str) -> str:
    """The token the server's page would put in a form for ``action`` (one it does not show)."""
    with server.app.test_request_context():
        return csrf_token(action)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/status"),
        ("post", "/status/events/1/replay"),
        ("post", "/status/uplinks/1/redecode"),
    ],
)
def test_without_an_operator_secret_the_page_does_not_exist(
    tmp_path: Path, method: str, path: str
) -> None:
    config = read_config(write_config(tmp_path / "s.toml", aura_url=None, operator_secret=None))
    with AppServer(config, deliver=False) as server:
        for headers in ({}, BASIC):
            answer = requests.request(method, server.url + path, headers=headers, timeout=5)
            assert answer.status_code == 404
            assert "WWW-Authenticate" not in answer.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"ops:wrong").decode()},
        {"Authorization": f"Bearer {SIGFOX_SECRET}"},  # a network's secret never opens it
        {"Authorization": "Basic " + base64.b64encode(f"ops:{SIGFOX_SECRET}".encode()).decode()},
    ],
)
def test_without_the_operator_secret_the_browser_is_asked_for_it(
    app_server: AppServer, headers: dict[str, str]
) -> None:
    answer = requests.get(app_server.url + "/status", headers=headers, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    post = requests.post(app_server.url + "/status/events/1/replay", headers=headers, timeout=5)
    assert post.status_code == 401


def test_the_page_opens_with_basic_or_bearer_and_is_not_cached_or_framed(
    app_server: AppServer,
) -> None:
    for headers in (BASIC, {"Authorization": f"Bearer {OPERATOR_SECRET}"}):
        answer = requests.get(app_server.url + "/status", headers=headers, timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "<script" not in answer.text


def test_replay_needs_the_forms_csrf_token(app_server: AppServer) -> None:
    store = app_server.store
    first, second = dead_letter(store, "AAAA0001"), dead_letter(store, "BBBB0002")
    page = requests.get(app_server.url + "/status", headers=BASIC, timeout=HTTP_TIMEOUT).text
    token = form_token(page, f"/status/events/{first}/replay")
    url = app_server.url + f"/status/events/{first}/replay"

    someone_elses = form_token(page, f"/status/events/{second}/replay")
    for form in ({}, {"csrf_token": "0" * 64}, {"csrf_token": someone_elses}):
        refused = requests.post(url, data=form, headers=BASIC, timeout=5, allow_redirects=False)
        assert refused.status_code == 403, form
        assert "CSRF" in refused.json()["error"]
    assert store.get_event(first).state == "dead"  # type: ignore[union-attr]

    done = requests.post(
        url, data={"csrf_token": token}, headers=BASIC, timeout=5, allow_redirects=False
    )
    assert done.status_code == 303
    assert store.get_event(first).state == "pending"  # type: ignore[union-attr]
    assert store.get_event(second).state == "dead"  # type: ignore[union-attr]
    shown = requests.get(app_server.url + done.headers["Location"], headers=BASIC, timeout=5)
    assert f"Dead letter {first} is queued again" in shown.text

    again = requests.post(url, data={"csrf_token": token}, headers=BASIC, timeout=5)
    assert again.status_code == 200 and f"Event {first} is not a dead letter" in again.text


def test_re_decode_with_the_same_templates_keeps_it_undecodable_and_says_so(
    app_server: AppServer,
) -> None:
    bad = post_callback(app_server.url, sigfox_body(data="FF", seq=1)).json()["uplink_id"]
    good = post_callback(app_server.url, sigfox_body(data=ALERT, seq=2)).json()["uplink_id"]
    page = requests.get(app_server.url + "/status", headers=BASIC, timeout=HTTP_TIMEOUT).text
    url = app_server.url + f"/status/uplinks/{bad}/redecode"
    token = form_token(page, f"/status/uplinks/{bad}/redecode")
    assert f"/status/uplinks/{good}/redecode" not in page  # only undecodable ones have a button

    # A replay button's token does not work for re-decoding the uplink of the same number.
    replay_token = token_for(app_server, f"replay:{bad}")
    refused = requests.post(url, data={"csrf_token": replay_token}, headers=BASIC, timeout=5)
    assert refused.status_code == 403

    done = requests.post(url, data={"csrf_token": token}, headers=BASIC, timeout=5)
    assert done.status_code == 200 and done.url.endswith(f"done=still-undecodable&id={bad}")
    assert f"Uplink {bad} is still undecodable" in done.text
    assert app_server.store.get_uplink(bad).status == "undecodable"  # type: ignore[union-attr]

    other = token_for(app_server, f"redecode:{good}")
    again = app_server.url + f"/status/uplinks/{good}/redecode"
    answer = requests.post(again, data={"csrf_token": other}, headers=BASIC, timeout=5)
    assert f"Uplink {good} is not undecodable" in answer.text
    missing = app_server.url + "/status/uplinks/999/redecode"
    token = token_for(app_server, "redecode:999")
    answer = requests.post(missing, data={"csrf_token": token}, headers=BASIC, timeout=5)
    assert answer.status_code == 404


def test_a_token_from_another_process_is_refused(tmp_path: Path, app_server: AppServer) -> None:
    event_id = dead_letter(app_server.store)
    page = requests.get(app_server.url + "/status", headers=BASIC, timeout=HTTP_TIMEOUT).text
    token = form_token(page, f"/status/events/{event_id}/replay")
    # A second app on the same store: its key was drawn at random too, so the token is foreign.
    with AppServer(app_server.config, deliver=False) as other:
        url = other.url + f"/status/events/{event_id}/replay"
        answer = requests.post(url, data={"csrf_token": token}, headers=BASIC, timeout=5)
        assert answer.status_code == 403


def test_hostile_text_from_the_store_is_shown_as_text(app_server: AppServer) -> None:
    store = app_server.store
    undecodable = Plan("undecodable", error=f"frame from {HOSTILE} too short")
    store.ingest(stored_record("hostile-1", HOSTILE), lambda _reader: undecodable)
    (event_id,) = ingest(store, "hostile-2", HOSTILE, events=1)
    (row,) = store.claim(4e9, 30.0, 10)
    store.mark_dead(event_id, "HTTP 400: " + json.dumps({"message": HOSTILE}), claim=row.claim)
    store.save_link(DeviceLink(HOSTILE, "serial", f"aura-{HOSTILE}", 1, "acme"))

    page = requests.get(app_server.url + "/status", headers=BASIC, timeout=HTTP_TIMEOUT).text

    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    escaped = (
        "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    )
    # As the device, its AURA deviceId, the event's device_id, the error and AURA's message.
    assert page.count(escaped) >= 5


def test_bad_query_values_fall_back_and_lists_are_bounded(app_server: AppServer) -> None:
    for n in range(3):
        ingest(app_server.store, f"k{n}", f"AAAA000{n}")
    url = app_server.url + "/status?limit=2&refresh=x&id=y&done=<b>"
    page = requests.get(url, headers=BASIC, timeout=HTTP_TIMEOUT).text
    assert "(2 shown of 3)" in page
    assert 'http-equiv="refresh"' not in page and "<b>" not in page


# -- in a real browser ---------------------------------------------------------------------------


def artifacts_dir() -> Path:
    """Where screenshots go: AURA_UPLINK_TEST_ARTIFACTS, else tests/artifacts (git-ignored)."""
    path = Path(os.environ.get("AURA_UPLINK_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: the browser test needs it: {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def sim() -> Iterator[Any]:
    with run_simulator("127.0.0.1", 0, SimState(CLIENT_ID, CLIENT_SECRET)) as running:
        yield running


def templates_for(*devices: str) -> str:
    """The reference template, for these Sigfox devices only."""
    listed = ", ".join(json.dumps(d) for d in devices)
    return f"""
[templates.reference]
device_type_id = 1
model = "aura-reference"
[templates.reference.match]
devices = [{listed}]
"""


def open_page(browser: Any, url: str) -> Any:
    context = browser.new_context(
        http_credentials={"username": "operator", "password": OPERATOR_SECRET},
        viewport={"width": 1400, "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(url + "/status")
    return page


def event_state(store: Store, event_id: int) -> str:
    row = store.get_event(event_id)
    assert row is not None
    return row.state


def test_a_press_shows_and_a_dead_letter_is_replayed_by_clicking(
    browser: Any, sim: Any, tmp_path: Path
) -> None:
    config_path = write_config(
        tmp_path / "service.toml", aura_url=sim.url, templates=templates_for("1A2B3C4D")
    )
    shots = artifacts_dir()
    with ServeProcess(config_path, tmp_path / "serve.log") as serve:
        store = open_store(read_config(config_path))  # the file serve made: what AURA was sent
        assert post_callback(serve.url, sigfox_body(data=ALERT, seq=1)).status_code == 200
        wait_until(lambda: aura_posts(sim, ok=True), 15, what="the press to reach AURA")

        page = open_page(browser, serve.url)
        device_row = page.locator("#devices tr", has_text="1A2B3C4D")
        assert "not linked" in device_row.inner_text()
        assert device_row.locator("td.callout").inner_text() == "open"  # the press opened it
        assert device_row.locator("td.battery").inner_text() == "87 %"
        assert page.locator("#delivered tr", has_text="NEW_CALLOUT").count() == 1

        # AURA refuses the next event for good: it is dead-lettered, with AURA's message.
        sim.state.add_faults(Fault(status=409))
        assert post_callback(serve.url, sigfox_body(data=BATTERY, seq=2)).status_code == 200
        dead = wait_until(lambda: store.list_events("dead"), 15, what="a dead letter")[0]
        page.reload()
        assert "Conflict" in page.locator(f"#refusal-{dead.id}").inner_text()
        assert "409" in page.locator(f"#refusal-{dead.id}").inner_text()
        page.screenshot(path=str(shots / "status-page-dead-letter.png"), full_page=True)

        page.locator(f"#dead-{dead.id} button").click()

        page.wait_for_url(re.compile(r"/status\?done=replayed"))
        assert f"Dead letter {dead.id} is queued again" in page.locator("#notice").inner_text()
        wait_until(lambda: event_state(store, dead.id) == "delivered", 15, what="the replay")
        page.reload()
        assert page.locator(f"#delivered-{dead.id}").count() == 1
        assert page.locator(f"#dead-{dead.id}").count() == 0
        assert page.locator("#refusals").inner_text().count("409") == 0
        page.screenshot(path=str(shots / "status-page-replayed.png"), full_page=True)
    store.close()
    # The refused event (battery 72 %), delivered once replayed; the press's own 87 % before it.
    levels = [p["body"]["body"]["batteryLevel"] for p in aura_posts(sim, message_type=4, ok=True)]
    assert levels == [87, 72]


def test_an_undecodable_uplink_is_re_decoded_by_clicking_after_a_template_fix(
    browser: Any, sim: Any, tmp_path: Path
) -> None:
    config_path = tmp_path / "service.toml"
    write_config(config_path, aura_url=sim.url, templates=templates_for("1A2B3C4D"))
    shots = artifacts_dir()
    with ServeProcess(config_path, tmp_path / "serve-1.log") as serve:
        answer = post_callback(serve.url, sigfox_body(device=OTHER, data=ALERT, seq=9))
        assert answer.status_code == 200
        uplink_id = answer.json()["uplink_id"]
        page = open_page(browser, serve.url)
        row = page.locator(f"#undecodable-{uplink_id}")
        assert f"no template matches sigfox device {OTHER}" in row.inner_text()
        page.screenshot(path=str(shots / "status-page-undecodable.png"), full_page=True)
        page.context.close()

    # The fix: the template now covers the device. serve reads its configuration at start-up.
    write_config(config_path, aura_url=sim.url, templates=templates_for("1A2B3C4D", OTHER))
    with ServeProcess(config_path, tmp_path / "serve-2.log") as serve:
        page = open_page(browser, serve.url)
        page.locator(f"#undecodable-{uplink_id} button").click()

        page.wait_for_url(re.compile(r"/status\?done=decoded"))
        assert f"Uplink {uplink_id} was decoded" in page.locator("#notice").inner_text()
        assert page.locator(f"#undecodable-{uplink_id}").count() == 0
        # The press and its battery level (87 %), as if the uplink had been decodable at once.
        wait_until(
            lambda: len(aura_posts(sim, device_id=OTHER, ok=True)) == 2, 15, what="the events"
        )
        sent = [p["body"]["message_type"] for p in aura_posts(sim, device_id=OTHER)]
        assert sent == [NEW_CALLOUT, BATTERY_INFO]
        page.reload()
        delivered = page.locator("#delivered tr", has_text=OTHER)
        assert delivered.filter(has_text="NEW_CALLOUT").count() == 1
        page.screenshot(path=str(shots / "status-page-redecoded.png"), full_page=True)
