"""``aura-uplink check-config`` as a child process (issue 15 point 4): a valid file prints what
it sets up and exits 0 without starting, creating or connecting to anything; any error is a
line on stderr naming the key, and exit status 2 (docs/design.md §14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from webhook_support import REPO, child_env

DEMO_SUMMARY = """\
service: listens on 127.0.0.1:8080, operator secret not set (/status.json answers 404), trusted proxies 0
templates:
  reference     model aura-reference  device type 1  sigfox uplinks  catch-all (no match keys)
  panic-button  model simplepack      device type 2  sigfox uplinks  match sigfox_device_types = 5F2A0B1C
sources:
  sigfox      open  Authorization: Bearer <secret>
  ttn         open  Authorization: Bearer <secret>
  chirpstack  open  Authorization: Bearer <secret>
aura: http://127.0.0.1:8081 (oauth2, client_id aura-sim-client)
store: SQLite data/aura-uplink.db (created by the first serve)
"""  # noqa: E501

GOOD = """
[service]
data_dir = "state"

[aura]
url = "https://aura.example.net"
client_id = "id"
client_secret = "secret"

[sources.sigfox]
secret = "s"

[templates.button]
device_type_id = 7
model = "simplepack"
"""


def check(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``aura-uplink check-config ARGS`` in ``cwd`` (relative paths resolve there)."""
    return subprocess.run(
        [sys.executable, "-m", "webhook", "check-config", *args],
        cwd=cwd, env=child_env(**env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_demo_is_valid_and_its_summary_names_everything(tmp_path: Path) -> None:
    done = check(tmp_path, "--config", str(REPO / "webhook" / "demo.toml"))

    assert (done.returncode, done.stderr) == (0, "")
    header, _, rest = done.stdout.partition("\n")
    assert header == f"config {REPO / 'webhook' / 'demo.toml'}: valid"
    assert rest == DEMO_SUMMARY


def test_the_packaged_demo_is_the_same_file(tmp_path: Path) -> None:
    done = check(tmp_path, "--demo")
    assert done.returncode == 0
    assert done.stdout == "config (demo): valid\n" + DEMO_SUMMARY


def test_nothing_is_started_or_created(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(GOOD)

    done = check(tmp_path, "--config", "c.toml")

    assert done.returncode == 0, done.stderr
    assert "store: SQLite state/aura-uplink.db (created by the first serve)" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no data directory made


def test_warnings_leave_the_exit_status_alone(tmp_path: Path) -> None:
    """Closed sources, two catch-all templates for one network (select_template then uses
    neither), and no AURA url: the service starts, so exit 0, but each is said."""
    (tmp_path / "c.toml").write_text(
        '[templates.a]\ndevice_type_id = 1\nmodel = "simplepack"\n'
        '[templates.b]\ndevice_type_id = 2\nmodel = "aura-reference"\n'
    )

    done = check(tmp_path, "--config", "c.toml")

    assert done.returncode == 0
    assert [line for line in done.stdout.splitlines() if line.startswith("warning:")] == [
        "warning: no secret configured for sigfox, ttn, chirpstack: every request is refused",
        "warning: templates a, b all catch every sigfox uplink, so none is used for it: give"
        " all but one a [match] or a network",
        "warning: no [aura] url (or AURA_URL): events are stored but not delivered",
    ]
    assert "  sigfox      closed  no secret: every request is refused (401)" in done.stdout


def test_secrets_from_the_environment_count(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(GOOD)
    done = check(tmp_path, "--config", "c.toml", AURA_UPLINK_TTN_SECRET="from-env")
    assert "  ttn         open    Authorization: Bearer <secret>" in done.stdout


BROKEN = {
    "misplaced table": (
        "[service.templates.x]\ndevice_type_id = 1\n",
        "[service.templates]: misplaced table; [templates] is a top-level section, not part of"
        " [service]",
    ),
    "unknown model": (
        '[templates.x]\ndevice_type_id = 1\nmodel = "nokia-3310"\n',
        "templates.x.model: unknown model 'nokia-3310'",
    ),
    "template network its model cannot decode": (
        '[templates.x]\ndevice_type_id = 1\nmodel = "simplepack"\nnetwork = "lorawan"\n',
        "templates.x.network: model 'simplepack' decodes sigfox frames only",
    ),
    "unknown source": ("[sources.helium]\nsecret = 's'\n", "sources.helium: unknown source"),
    "AURA url without a scheme": (
        '[aura]\nurl = "aura.example.net"\nclient_id = "i"\nclient_secret = "s"\n',
        "aura.url: expected an http:// or https:// URL, got 'aura.example.net'",
    ),
    "OAuth2 without a client id": (
        '[aura]\nurl = "https://aura.example.net"\nclient_secret = "s"\n',
        "aura.client_id: required with auth = 'oauth2' (or AURA_CLIENT_ID)",
    ),
    "a port out of range": ("[service]\nport = 80800\n", "service.port: expected 0 to 65535"),
    "a lease of 0 s": ("[delivery]\nlease_s = 0\n", "delivery.lease_s: expected more than 0"),
    "no delivery worker": ("[delivery]\nworkers = 0\n", "delivery.workers: expected at least 1"),
    "store url not PostgreSQL": (
        '[store]\nurl = "mysql://db/x"\n',
        "store.url: expected a postgresql://user@host:port/db URL",
    ),
    "data_dir is a file": ('[service]\ndata_dir = "c.toml"\n', "service.data_dir: c.toml is not"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_error_is_one_line_naming_the_key_and_exit_2(tmp_path: Path, case: str) -> None:
    text, message = BROKEN[case]
    (tmp_path / "c.toml").write_text(text)

    done = check(tmp_path, "--config", "c.toml")

    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"aura-uplink check-config: {message}"), line


def test_several_problems_get_a_line_each(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        '[aura]\nurl = "ftp://aura"\n[delivery]\nworkers = 0\nmax_attempts = 0\n'
    )
    done = check(tmp_path, "--config", "c.toml")
    assert done.returncode == 2
    prefix = "aura-uplink check-config: "
    assert all(line.startswith(prefix) for line in done.stderr.splitlines())
    assert [line.removeprefix(prefix) for line in done.stderr.splitlines()] == [
        "aura.url: expected an http:// or https:// URL, got 'ftp://aura'",
        "aura.client_id: required with auth = 'oauth2' (or AURA_CLIENT_ID)",
        "aura.client_secret: required (or AURA_CLIENT_SECRET)",
        "delivery.workers: expected at least 1, got 0",
        "delivery.max_attempts: expected at least 1, got 0",
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ([], "aura-uplink check-config: give --config FILE or --demo"),
        (["--config", "nope.toml"], "aura-uplink check-config: cannot read config nope.toml:"
                                    " No such file or directory"),
    ],
)  # fmt: skip
def test_usage_and_a_missing_file_are_exit_2(tmp_path: Path, args: list[str], line: str) -> None:
    done = check(tmp_path, *args)
    assert (done.returncode, done.stderr.splitlines()) == (2, [line])
