"""A panic always gets through, end to end (docs/design.md §14): over real HTTP on 127.0.0.1,
real SQLite, the AURA simulator as AURA. A press in a frame with records the model does not know
opens the callout; a cut frame whose alarm bit is readable opens it; the decoder's warnings are
stored beside the uplink; and a stand-down is only trusted from a frame without warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_webhook_lorawan import (
    PROFILE,
    chirpstack_body,
    post_chirpstack,
    post_ttn,
    ttn_uplink,
)
from tests.webhook_support import (
    CANCELLED,
    NEW_CALLOUT,
    AppServer,
    aura_posts,
    read_config,
    settled,
    wait_until,
    write_config,
)
from webhook.aurasim import run_simulator

TEMPLATES = f"""
[sources.chirpstack]
secret = "chirpstack-test-secret"
header = "X-Chirpstack-Secret"

[templates.button]
device_type_id = 21
model = "milesight-ws101"
alert_gestures = ["short"]
cancel_gestures = ["double"]
[templates.button.match]
ttn_applications = ["app1"]

[templates.tracker]
device_type_id = 22
model = "dragino-lgt92"
[templates.tracker.match]
chirpstack_device_profiles = ["{PROFILE}"]
"""
SHORT = bytes.fromhex("FF2E01")
DOUBLE = bytes.fromhex("FF2E03")
UNKNOWN_RECORD = bytes.fromhex("FE77AABBCC")  # a channel/type pair the WS101 table lacks
# Dragino LGT-92, cut after the alarm + battery word: alarm bit set (byte 8 0x4D)
LGT92_CUT_SOS = bytes.fromhex("015A785406CF33D84D20")


@pytest.fixture
def stack(tmp_path: Path):
    with run_simulator() as sim:
        config = read_config(
            write_config(tmp_path / "c.toml", aura_url=sim.url, templates=TEMPLATES)
        )
        with AppServer(config) as app:
            yield sim, app


def _stored(app: AppServer, uplink_id: int):
    return next(u for u in app.store.list_uplinks(limit=100) if u.id == uplink_id)


def _types(sim) -> list[int]:
    return [p["body"]["message_type"] for p in aura_posts(sim, ok=True)]


def test_press_before_an_unknown_record_opens_the_callout(stack) -> None:
    sim, app = stack
    answer = post_ttn(app, ttn_uplink(SHORT + UNKNOWN_RECORD, f_cnt=1))
    assert answer.status_code == 200
    wait_until(lambda: settled(app.store), what="delivery")
    assert _types(sim) == [NEW_CALLOUT]
    uplink = _stored(app, answer.json()["uplink_id"])
    assert uplink.status == "decoded"
    [warning] = uplink.record.warnings
    assert warning["source"] == "decoder"
    assert warning["field"] == "records[1].record"
    assert warning["offset"] == 3


def test_a_garbled_cancel_never_stands_a_callout_down(stack) -> None:
    sim, app = stack
    post_ttn(app, ttn_uplink(SHORT, f_cnt=1))
    garbled = post_ttn(app, ttn_uplink(DOUBLE + UNKNOWN_RECORD, f_cnt=2))
    wait_until(lambda: settled(app.store), what="delivery")
    assert _types(sim) == [NEW_CALLOUT]  # the double press in a garbled frame: no cancel
    assert _stored(app, garbled.json()["uplink_id"]).record.warnings
    post_ttn(app, ttn_uplink(DOUBLE, f_cnt=3))
    wait_until(lambda: settled(app.store), what="delivery")
    assert _types(sim) == [NEW_CALLOUT, CANCELLED]  # a clean one does


def test_a_cut_frame_with_the_alarm_set_opens_the_callout(stack) -> None:
    sim, app = stack
    answer = post_chirpstack(app, "up", chirpstack_body(LGT92_CUT_SOS))
    assert answer.status_code == 200, answer.text
    wait_until(lambda: settled(app.store), what="delivery")
    assert _types(sim) == [NEW_CALLOUT]
    uplink = _stored(app, answer.json()["uplink_id"])
    assert uplink.status == "decoded"
    assert [w["offset"] for w in uplink.record.warnings] == [10]


def test_a_cut_frame_without_the_alarm_is_kept_undecodable(stack) -> None:
    sim, app = stack
    clear = bytearray(LGT92_CUT_SOS)
    clear[8] &= ~0x40
    answer = post_chirpstack(app, "up", chirpstack_body(bytes(clear)))
    assert answer.status_code == 200, answer.text
    uplink = _stored(app, answer.json()["uplink_id"])
    assert uplink.status == "undecodable"
    assert "too short" in (uplink.error or "")
    assert _types(sim) == []
