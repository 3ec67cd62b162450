"""Deployment (issue 15 point 4; docs/deploy.md): the systemd unit and the container file say
what the docs promise (parsed here, and checked by ``systemd-analyze verify`` where it exists;
the image is not built: no registry is reachable in CI), and ``[service] trusted_proxies``
decides, over real HTTP, whether X-Forwarded-For names the client in the refusal log."""

from __future__ import annotations

import logging
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from webhook_support import HTTP_TIMEOUT, REPO, AppServer, read_config, sigfox_body, write_config

UNIT = REPO / "deploy" / "aura-uplink.service"
CONTAINERFILE = REPO / "deploy" / "Containerfile"
CONFIG_PATH = "/etc/aura-uplink/config.toml"


def unit_entries(text: str) -> dict[str, dict[str, list[str]]]:
    """``{section: {key: [values...]}}``: systemd allows a key more than once (configparser
    does not), and each line counts."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header.group(1), {})
            continue
        assert current is not None, f"key outside a section: {line}"
        key, equals, value = line.partition("=")
        assert equals, f"not key=value: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_runs_serve_as_its_own_user_with_state_and_hardening() -> None:
    unit = unit_entries(UNIT.read_text())
    service = {key: values[-1] for key, values in unit["Service"].items()}

    assert shlex.split(service["ExecStart"])[1:] == ["serve", "--config", CONFIG_PATH]
    assert service["User"] == "aura-uplink" and service.get("DynamicUser", "no") == "no"
    assert service["StateDirectory"] == "aura-uplink"
    # The store lives in the state directory whatever the config's data_dir says.
    assert "AURA_UPLINK_DATA_DIR=%S/aura-uplink" in unit["Service"]["Environment"]
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"].lstrip("-") == "/etc/aura-uplink/secrets.env"
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "UMask": "0077",
    }
    assert {key: service.get(key) for key in hardening} == hardening
    # serve raises its open-file limit (setrlimit): the filter must keep @system-service, and
    # must not take @resources away.
    assert "@system-service" in unit["Service"]["SystemCallFilter"]
    assert not any("@resources" in f for f in unit["Service"]["SystemCallFilter"])
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_unit_without_a_complaint(tmp_path: Path) -> None:
    """``verify`` wants ExecStart's program to exist: the copy points at this environment's
    ``aura-uplink``. It exits 0 on unknown keys and bad values too, so stderr must be empty."""
    command = Path(sys.executable).parent / "aura-uplink"
    assert command.exists()
    unit = tmp_path / "aura-uplink.service"
    unit.write_text(UNIT.read_text().replace("/opt/aura-uplink/bin/aura-uplink", str(command)))

    done = subprocess.run(["systemd-analyze", "verify", str(unit)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip

    assert done.returncode == 0 and done.stderr == "", done.stderr


def containerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_the_container_file_builds_from_the_package_sources_and_runs_unprivileged() -> None:
    steps = containerfile_instructions()
    words = [word for word, _ in steps]
    arguments = {word: rest for word, rest in steps}  # the last of each

    assert steps[0] == ("FROM", "python:3.11-slim")
    # Exactly what the wheel is built from (tests/test_wheel.py SOURCES), all in the repository.
    copied = [part for word, rest in steps if word == "COPY" for part in rest.split()[:-1]]
    assert sorted(copied) == sorted(
        ["setup.cfg", "pyproject.toml", "README.md", "LICENSE", "decoders", "webhook"]
    )
    assert all((REPO / path).exists() for path in copied)
    assert any(word == "RUN" and 'pip install ".[postgresql]"' in rest for word, rest in steps)
    # A non-root user from before the command runs, owning the data volume the store uses.
    user = arguments["USER"].split(":")[0]
    assert user not in ("root", "0") and words.index("USER") < words.index("ENTRYPOINT")
    assert arguments["VOLUME"] == '["/var/lib/aura-uplink"]'
    assert "AURA_UPLINK_DATA_DIR=/var/lib/aura-uplink" in arguments["ENV"]
    assert arguments["ENTRYPOINT"] == '["aura-uplink"]'
    assert arguments["CMD"].startswith(f'["serve", "--config", "{CONFIG_PATH}"')


# -- trusted_proxies: X-Forwarded-For over real HTTP ---------------------------------------------


def refused_from(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, trusted: int, forwarded: str
) -> list[str]:
    """The addresses the refusal log names for one wrongly authenticated Sigfox callback sent
    with ``X-Forwarded-For: forwarded`` to a service with ``trusted_proxies = trusted``."""
    config = read_config(write_config(tmp_path / "c.toml", aura_url=None,
                                      service_extra=f"trusted_proxies = {trusted}"))  # fmt: skip
    caplog.set_level(logging.WARNING, logger="aura_uplink.refused")
    with AppServer(config, deliver=False) as app:
        answer = requests.post(
            app.url + "/sigfox/uplink",
            json=sigfox_body(),
            headers={"Authorization": "Bearer wrong", "X-Forwarded-For": forwarded},
            timeout=HTTP_TIMEOUT,
        )
    assert answer.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "aura_uplink.refused"]
    return [m.group(1) for line in lines if (m := re.search(r" from (\S+): 401", line))]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert refused_from(tmp_path, caplog, 0, "203.0.113.7") == ["127.0.0.1"]


def test_one_trusted_proxy_names_the_client_it_forwarded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert refused_from(tmp_path, caplog, 1, "203.0.113.7") == ["203.0.113.7"]


def test_one_trusted_proxy_believes_only_the_entry_it_appended(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that sends its own X-Forwarded-For gets the proxy's entry appended after it:
    only the rightmost (the proxy's) is believed."""
    assert refused_from(tmp_path, caplog, 1, "198.51.100.9, 203.0.113.7") == ["203.0.113.7"]


def test_a_negative_proxy_count_is_refused_in_one_line(tmp_path: Path) -> None:
    from webhook_support import run_cli

    config = write_config(tmp_path / "c.toml", aura_url=None, service_extra="trusted_proxies = -1")
    done = run_cli("check-config", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "aura-uplink check-config: service.trusted_proxies: expected 0 or more, got -1"
    ]
