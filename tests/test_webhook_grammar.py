"""A device type onboarded with configuration alone (a Sigfox custom payload grammar) is served
by the webhook like any built-in model, end to end over real HTTP."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.webhook_support import (
    LOCATION_UPDATED,
    NEW_CALLOUT,
    T0,
    AppServer,
    aura_posts,
    post_callback,
    read_config,
    settled,
    sigfox_body,
    wait_until,
    write_config,
)
from webhook.aurasim import run_simulator

# MRKFOX1200-style frame: two little-endian floats, a flags byte whose MSB is the alarm, then the
# battery. A bool does not move the grammar's cursor (docs/grammar.md), hence `batt:9`.
TEMPLATES = """
[templates.mrkfox]
device_type_id = 40
grammar = "lat::float:32:little-endian lng::float:32:little-endian alarm::bool:7 batt:9:uint:8"
location_updates = "always"
[templates.mrkfox.fields]
latitude = "lat"
longitude = "lng"
alarm = "alarm"
battery = "batt"
battery_unit = "percent"
[templates.mrkfox.match]
sigfox_device_types = ["7E57AB1E"]
"""


def frame(latitude: float, longitude: float, alarm: bool, battery: int) -> str:
    return (struct.pack("<ff", latitude, longitude) + bytes([0x80 if alarm else 0, battery])).hex()


def test_grammar_template_drives_the_webhook(tmp_path: Path) -> None:
    with run_simulator() as sim:
        config = read_config(
            write_config(tmp_path / "c.toml", aura_url=sim.url, templates=TEMPLATES)
        )
        with AppServer(config) as app:
            frames = [
                frame(-26.25, 28.0, True, 90),
                frame(-26.5, 28.25, True, 90),
                frame(-26.5, 28.25, False, 89),
            ]
            for seq, data in enumerate(frames, start=1):
                body = sigfox_body(device="00C0FFEE", data=data, seq=seq, time=T0 + seq)
                body["deviceTypeId"] = "7e57ab1e"
                assert post_callback(app.url, body).json()["status"] == "stored"
            wait_until(lambda: settled(app.store), what="delivery")
            posts = [p["body"] for p in aura_posts(sim, ok=True)]
    assert posts[0] == {
        "device_type_id": 40,
        "device_id": "00C0FFEE",
        "message_type": NEW_CALLOUT,
        "location": {"latitude": -26.25, "longitude": 28.0, "sequenceNumber": "1"},
    }
    kinds = [p["message_type"] for p in posts]
    # One callout on the alarm's rising edge; its fixes then update it; battery when it changes
    # (the frames are seconds apart: no heartbeat falls due in between).
    assert kinds.count(NEW_CALLOUT) == 1
    assert kinds.count(LOCATION_UPDATED) == 2
    assert [p["body"]["batteryLevel"] for p in posts if p["message_type"] == 4] == [90, 89]
