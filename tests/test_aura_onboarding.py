"""Onboarding against AURA as documented, over real HTTP to the simulator: a token
(``aura check``), a customer, a device link whose ``deviceId`` every event then carries, the
registry, a CSV import that is idempotent and names its bad rows, and AURA's answers kept on the
delivered events (docs/aura-api.md §1, §2, §3.2, §5)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from webhook_support import (
    ALERT,
    BATTERY,
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    T0,
    AppServer,
    aura_posts,
    post_callback,
    read_config,
    run_cli,
    settled,
    sigfox_body,
    wait_until,
    write_config,
)

from webhook.aura.session import new_session
from webhook.aura.token import TokenSource
from webhook.aurasim import DeviceType, SerialRule, SimState, run_simulator

IMEI = "356938035643809"  # the serial AURA knows; the network calls the device DEVICE
SUPPLIER = "AcmeSOS"
DEVICE_TYPE = 1  # the reference template's device_type_id (tests/webhook_support.py)


@pytest.fixture
def sim():
    state = SimState(
        CLIENT_ID,
        CLIENT_SECRET,
        require_links=True,  # an event for a device nobody linked is refused, as AURA may
        device_types={DEVICE_TYPE: DeviceType(SUPPLIER, SerialRule.last(6))},
    )
    with run_simulator("127.0.0.1", 0, state) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, sim) -> Path:
    return write_config(tmp_path / "service.toml", aura_url=sim.url)


def cli(*args: str, stdin: str | None = None) -> tuple[int, list, str]:
    """Run ``aura-uplink ARGS``; returns the exit status, the JSON lines it printed, stderr."""
    done = run_cli(*args, stdin=stdin)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def test_check_gets_a_token_and_sends_no_event(config: Path, sim) -> None:
    status, lines, _ = cli("aura", "check", "--config", str(config))
    assert status == 0
    assert lines[0]["url"] == sim.url
    assert 3500 <= lines[0]["token_expires_in_s"] <= 3600
    assert len(sim.state.token_requests()) == 1 and sim.state.requests() == []


def test_check_with_a_wrong_secret_says_what_aura_said_and_no_secret(tmp_path: Path, sim) -> None:
    config = write_config(tmp_path / "service.toml", aura_url=sim.url)
    text = config.read_text().replace(CLIENT_SECRET, "not-the-secret")
    config.write_text(text)
    status, _, stderr = cli("aura", "check", "--config", str(config))
    assert status == 1
    assert "HTTP 401" in stderr and "/panic-api/v2/oauth/token" in stderr
    assert "not-the-secret" not in stderr and "Traceback" not in stderr


def test_check_without_an_aura_url_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "service.toml", aura_url=None)
    status, _, stderr = cli("aura", "check", "--config", str(config))
    assert status == 2 and "url" in stderr


def test_the_whole_onboarding_then_a_press_carries_the_linked_device_id(config: Path, sim):
    # A customer...
    person = {"customer": {"name": "Thandi", "surname": "Mokoena", "mobile": "+27821234567"}}
    status, lines, stderr = cli("customers", "create", "--config", str(config), "--json", "-",
                                stdin=json.dumps(person))  # fmt: skip
    assert status == 0, stderr
    customer_id = lines[0]["customer"]["id"]
    # ... a device linked to them; the network knows it by its Sigfox id ...
    status, lines, stderr = cli(
        "devices", "link", "--config", str(config), "--customer-id", str(customer_id),
        "--serial", IMEI, "--supplier", SUPPLIER, "--device-type", str(DEVICE_TYPE),
        "--network-id", DEVICE.lower(),
    )  # fmt: skip
    assert status == 0, stderr
    device_id = lines[0]["deviceId"]
    assert device_id == IMEI[-6:] != DEVICE  # AURA's derivation, not the template's
    status, registry, _ = cli("devices", "list", "--config", str(config))
    assert [(r["serial"], r["networkId"], r["deviceId"]) for r in registry] == [
        (IMEI, DEVICE, device_id)
    ]
    # ... and a press through the webhook reaches AURA under AURA's deviceId.
    with AppServer(read_config(config)) as server:
        assert post_callback(server.url, sigfox_body(data=ALERT, seq=46)).status_code == 200
        posts = wait_until(lambda: aura_posts(sim, ok=True), what="the press at AURA")
        assert posts[0]["body"]["device_id"] == device_id
        assert posts[0]["body"]["message_type"] == 1
        assert sim.state.active_callout(device_id, DEVICE_TYPE) is not None
        wait_until(lambda: server.store.status()["events"]["delivered"] == 2, what="delivery")
        # Battery reports: a new level at once; the same level again only after the heartbeat
        # interval (3600 s, on the uplinks' own time), as AURA's "battery level or heartbeat".
        for seq, minutes in ((47, 1), (48, 2), (49, 62)):
            body = sigfox_body(data=BATTERY, seq=seq, time=T0 + 60 * minutes)
            assert post_callback(server.url, body).status_code == 200
        wait_until(lambda: settled(server.store), what="the battery events")
    levels = [
        (post["body"]["device_id"], post["body"]["body"]["batteryLevel"])
        for post in aura_posts(sim, message_type=4, ok=True)
    ]
    assert levels == [(device_id, 87), (device_id, 72), (device_id, 72)]
    assert sim.state.battery_level(device_id, DEVICE_TYPE) == 72
    # The delivered new-callout keeps AURA's answer: the callout id.
    status, events, _ = cli("store", "list", "--config", str(config), "--state", "delivered")
    callout = next(e["aura"] for e in events if json.loads(e["body"])["message_type"] == 1)
    assert callout == {
        "status": 200,
        "eventTypes": ["NEW_CALLOUT"],
        "calloutId": sim.state.active_callout(device_id, DEVICE_TYPE),
    }


def test_update_and_unlink_keep_the_registry_in_step(config: Path, sim) -> None:
    customer = sim.state.add_customer()
    base = ["--config", str(config), "--serial", IMEI]
    status, _, stderr = cli("devices", "link", *base, "--customer-id", str(customer["id"]),
                            "--supplier", SUPPLIER, "--device-type", str(DEVICE_TYPE))  # fmt: skip
    assert status == 0, stderr
    status, _, stderr = cli("devices", "update", *base, "--alias", "front desk")
    assert status == 0, stderr
    assert sim.state.devices()[0]["alias"] == "front desk"
    assert cli("devices", "list", "--config", str(config))[1][0]["alias"] == "front desk"
    status, _, stderr = cli("devices", "unlink", *base)
    assert status == 0, stderr
    assert sim.state.devices() == [] and cli("devices", "list", "--config", str(config))[1] == []
    status, _, stderr = cli("devices", "unlink", *base)
    assert status == 1 and "not linked here" in stderr


def test_a_link_aura_refuses_is_shown_with_aura_message(config: Path, sim) -> None:
    customer = sim.state.add_customer()
    status, _, stderr = cli(
        "devices", "link", "--config", str(config), "--customer-id", str(customer["id"]),
        "--serial", "12345", "--supplier", SUPPLIER, "--device-type", str(DEVICE_TYPE),
    )  # fmt: skip
    assert status == 1
    assert "POST /panic-api/v2/devices" in stderr and "HTTP 400" in stderr and "12345" in stderr
    assert cli("devices", "list", "--config", str(config))[1] == []


def test_csv_import_is_idempotent_and_names_bad_rows(tmp_path: Path, config: Path, sim) -> None:
    customer = sim.state.add_customer()["id"]
    first = tmp_path / "devices.csv"
    first.write_text(
        "customerId,deviceSerial,deviceSupplier,deviceType,alias,networkId\n"
        f"{customer},{IMEI},{SUPPLIER},{DEVICE_TYPE},lobby,{DEVICE}\n"
        f"{customer},356938035600001,{SUPPLIER},{DEVICE_TYPE},,\n"
        f"abc,356938035600002,{SUPPLIER},{DEVICE_TYPE},,\n"
        f"{customer},77,{SUPPLIER},{DEVICE_TYPE},,\n"
    )
    status, rows, _ = cli("devices", "import", "--config", str(config), str(first))
    assert status == 1
    assert [(r["row"], r["result"]) for r in rows] == [
        (2, "linked"), (3, "linked"), (4, "failed"), (5, "failed"),
    ]  # fmt: skip
    assert "row 4" in rows[2]["error"] and "column customerId" in rows[2]["error"]
    assert "HTTP 400" in rows[3]["error"] and "77" in rows[3]["error"]
    # Again, with one alias changed: nothing new at AURA but one update.
    before = len(sim.state.devices())
    first.write_text(first.read_text().replace("lobby", "reception"))
    status, rows, _ = cli("devices", "import", "--config", str(config), str(first))
    assert [r["result"] for r in rows] == ["updated", "unchanged", "failed", "failed"]
    assert len(sim.state.devices()) == before
    assert {d["alias"] for d in sim.state.devices()} >= {"reception"}


def test_csv_without_a_required_column_is_a_usage_error(tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "devices.csv"
    bad.write_text("customerId,deviceSerial\n1,2\n")
    status, _, stderr = cli("devices", "import", "--config", str(config), str(bad))
    assert status == 2 and "deviceSupplier" in stderr


def test_customers_get_update_delete(config: Path, sim) -> None:
    customer = sim.state.add_customer(name="Sipho", surname="Dlamini")
    ident = ["--config", str(config), "--customer-id", str(customer["id"])]
    status, lines, _ = cli("customers", "get", *ident)
    assert status == 0 and lines[0]["name"] == "Sipho"
    change = json.dumps({"customer": {"surname": "Nkosi"}})
    status, lines, _ = cli("customers", "update", *ident, "--json", "-", stdin=change)
    assert status == 0 and lines[0]["customer"]["surname"] == "Nkosi"
    status, lines, _ = cli("customers", "delete", *ident)
    assert status == 0 and lines[0] == {"message": "Request completed successfully."}
    status, _, stderr = cli("customers", "get", *ident)
    assert status == 1 and "HTTP 404" in stderr and f"customer {customer['id']}" in stderr


@pytest.mark.parametrize(
    ("spelling", "expiry"), [("camel", "seconds"), ("snake", "seconds"), ("camel", "epoch"),
                             ("snake", "omit")],
)  # fmt: skip
def test_the_token_expiry_is_read_in_every_documented_form(spelling: str, expiry: str) -> None:
    state = SimState(CLIENT_ID, CLIENT_SECRET, token_ttl=600, token_spelling=spelling,
                     token_expiry=expiry)  # fmt: skip
    with run_simulator("127.0.0.1", 0, state) as running:
        now = [time.time()]  # the simulator's clock is real time
        tokens = TokenSource(new_session(), running.token_url, CLIENT_ID, CLIENT_SECRET,
                             clock=lambda: now[0])  # fmt: skip
        token = tokens.current()
        # Seconds from now, an absolute epoch time, or the JWT's exp: the same 600 s.
        assert token.lifetime_s == pytest.approx(600, abs=5)
        assert tokens.current() is token  # cached
        now[0] = token.expires_at - 1  # inside the renewal margin: a fresh one
        assert tokens.current() is not token
        assert len(state.token_requests()) == 2
