"""`aura-uplink store status | list | replay --all-dead` on a real store, as a real process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.webhook_support import (
    ALERT,
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
from webhook.aurasim import run_simulator


def test_a_dead_lettered_panic_is_listed_and_replayed_once(tmp_path: Path) -> None:
    with run_simulator() as sim:
        path = write_config(tmp_path / "c.toml", aura_url=sim.url)
        with AppServer(read_config(path)) as app:
            sim.state.fail_next(400, count=2)  # AURA rejects both events of the press for good
            post_callback(app.url, sigfox_body())
            wait_until(lambda: settled(app.store), what="dead-lettering")

            status = run_cli("store", "status", "--config", str(path))
            assert status.returncode == 0, status.stderr
            assert json.loads(status.stdout)["events"]["dead"] == 2

            listed = run_cli("store", "list", "--state", "dead", "--config", str(path))
            rows = [json.loads(line) for line in listed.stdout.splitlines()]
            assert sorted(row["action"] for row in rows) == [1, 4]
            assert all("HTTP 400" in row["last_error"] for row in rows)

            replay = run_cli("store", "replay", "--all-dead", "--config", str(path))
            assert replay.stdout.strip() == "2 dead event(s) queued again"
            wait_until(lambda: len(aura_posts(sim, ok=True)) == 2, what="the replayed events")
            wait_until(lambda: settled(app.store), what="delivery")
            assert app.store.status()["events"] == {
                "pending": 0,
                "in_flight": 0,
                "delivered": 2,
                "dead": 0,
            }
    assert len(sim.state.callouts()) == 1
    uplinks = run_cli("store", "list", "--uplinks", "--config", str(path))
    assert json.loads(uplinks.stdout)["payload"] == ALERT.lower()


def test_store_commands_refuse_a_missing_store(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", aura_url=None)
    result = run_cli("store", "status", "--config", str(path))
    assert result.returncode == 2
    assert "no store at" in result.stderr
