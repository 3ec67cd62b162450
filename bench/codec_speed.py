"""Vendor codecs (issue 14, docs/codecs.md): what decoding through a sandboxed JavaScript codec
costs against the native model of the same frame.

* Decode: ``tests/codecs/aura-reference.js`` (the AURA reference frame written as a TTN codec,
  whose fields tests/test_codecs.py checks equal the native model's) against
  ``decoders.decode("aura-reference", ...)``, on the 12-byte alert; and the whole template
  decoding (``decode_uplink``: the codec, then the field mapping to messages) against a native
  template. Timed as bench/decode_speed.py times (interleaved batches, best of a few, median of
  independent runs).
* Ingest: ``aura-uplink serve`` with a codec template against the same service with the native
  template, under the same load as bench/ingest_load.py (Sigfox callbacks of aura-reference
  frames from a second process, closed loop then open loop), AURA not configured.

No target: the ratio says what a codec costs, to weigh against not having a native model.
"""

from __future__ import annotations

import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench.decode_speed import Call, per_second
from bench.ingest_load import (
    CLIENT_THREADS,
    MAX_BODY_BYTES,
    OPEN_THREADS,
    OPERATOR_SECRET,
    RATE,
    SERVER_THREADS,
    load_plan,
)
from bench.ingest_load import _drive as drive
from bench.ingest_load import _load as load
from bench.procs import REPO, Server, write_test_config
from bench.report import INFO, Row

DECODE_SECTION = "codec decode: sandboxed JavaScript codec vs the native model, same frame"
INGEST_SECTION = "codec ingest: codec template vs native template (127.0.0.1, waitress)"
CODEC = REPO / "tests" / "codecs" / "aura-reference.js"
ALERT = bytes.fromhex("01F07010E410B88DC20A5700")  # -26.10911 / 28.053037, 40 m, 87 %
RUNS = 3
# A second open-loop rate, half of ingest_load's: on a busy 2-core machine 200 req/s is near
# what either service sustains, and a queue then dominates the percentiles.
LOW_RATE = RATE / 2

# The codec's output has the native model's field names: the template maps them to the roles.
CODEC_FIELDS = """
latitude = "latitude"
longitude = "longitude"
accuracy = "accuracy_m"
press = { path = "message_type", equals = "alert" }
battery = "battery_percent"
"""
NATIVE_TEMPLATES = """
[templates.reference]
device_type_id = 1
model = "aura-reference"
"""
CODEC_TEMPLATES = f"""
[templates.reference]
device_type_id = 1
codec = {str(CODEC)!r}
[templates.reference.fields]
{CODEC_FIELDS}
"""


def _templates(text: str, tmp: Path) -> Any:
    from decoders.templates import load_templates

    path = tmp / "templates.toml"
    path.write_text(text, encoding="utf-8")
    return load_templates(path)["reference"]


def _uplink() -> Any:
    from decoders.types import Uplink

    when = datetime(2026, 1, 1, tzinfo=UTC)
    return Uplink("sigfox", "1A2B3C4D", ALERT, when, "sigfox:1A2B3C4D:1")


def _gist(decoded: Any) -> list[tuple[Any, ...]]:
    """What the two templates must agree on: the kinds of message, the place, the battery (the
    alert's trigger name and the accuracy's type may differ: a press read through a field map
    is a "press", and a mapped number is a float)."""
    gist: list[tuple[Any, ...]] = []
    for message in decoded.messages:
        fix = getattr(message, "fix", None)
        place = None if fix is None else (fix.latitude, fix.longitude, float(fix.accuracy_m))
        gist.append((type(message).__name__, place, getattr(message, "percent", None)))
    return gist


def decode_rows(quick: bool) -> list[Row]:
    import decoders
    from decoders.codecs import load_codec
    from decoders.decode import decode_uplink

    min_time, repeats = (0.05, 3) if quick else (0.2, 5)
    runs = 1 if quick else RUNS
    codec = load_codec(CODEC)
    expected = decoders.decode("aura-reference", ALERT).fields
    if codec.decode(ALERT, None, None).fields != expected:
        raise AssertionError("aura-reference.js and the native model disagree: no baseline")
    with tempfile.TemporaryDirectory(prefix="bench-codec-") as name:
        tmp = Path(name)
        native_template = _templates(NATIVE_TEMPLATES, tmp)
        codec_template = _templates(CODEC_TEMPLATES, tmp)
    uplink = _uplink()
    if _gist(decode_uplink(codec_template, uplink)) != _gist(
        decode_uplink(native_template, uplink)
    ):
        raise AssertionError("the codec template and the native template disagree")
    calls: list[Call] = [
        (decoders.decode, ("aura-reference", ALERT, None)),
        (codec.decode, (ALERT, None, None)),
        (decode_uplink, (native_template, uplink)),
        (decode_uplink, (codec_template, uplink)),
    ]
    timed = [per_second(calls, min_time, repeats) for _ in range(runs)]
    native, through_codec, native_t, codec_t = (
        statistics.median(side) for side in zip(*timed, strict=True)
    )
    extra = {
        "frame": ALERT.hex().upper(),
        "codec": str(CODEC.relative_to(REPO)),
        "ratios": [[round(run[1] / run[0], 4), round(run[3] / run[2], 4)] for run in timed],
        "codec_counts": str(codec.counts()),
    }
    target = "n/a (what a codec costs)"
    return [
        Row(
            DECODE_SECTION,
            "aura-reference alert: codec.decode (aura-reference.js)",
            through_codec,
            "frames/s",
            native,
            "decoders.decode",
            statistics.median(run[1] / run[0] for run in timed),
            target,
            INFO,
            extra,
        ),
        Row(
            DECODE_SECTION,
            "aura-reference alert: decode_uplink, codec template",
            codec_t,
            "frames/s",
            native_t,
            "native template",
            statistics.median(run[3] / run[2] for run in timed),
            target,
            INFO,
        ),
        Row(
            DECODE_SECTION,
            "one codec call (mean time)",
            1000 / through_codec,
            "ms",
            1000 / native,
            "native decode",
            None,
            target,
            INFO,
        ),
    ]


def ingest_rows(quick: bool) -> list[Row]:
    plan = load_plan(quick)
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-codec-ingest-") as name:
        tmp = Path(name)
        for label, templates in (("native", NATIVE_TEMPLATES), ("codec", CODEC_TEMPLATES)):
            config = write_test_config(
                tmp / f"{label}.toml",
                data_dir=tmp / f"{label}-data",
                aura_url=None,
                threads=SERVER_THREADS,
                max_body_bytes=MAX_BODY_BYTES,
                operator_secret=OPERATOR_SECRET,
                templates=templates,
            )
            args = ["-m", "webhook", "serve", "--config", str(config), "--port", "0"]
            with Server(args, tmp / f"{label}.log") as server:
                runs[label] = drive(server, plan)
                runs[label]["open_low"] = load(
                    server.url, "--mode", "open", "--rate", str(LOW_RATE),
                    "--duration", str(plan["duration"]), "--threads", str(OPEN_THREADS),
                    "--offset", "3000000", deadline=plan["duration"] + 10,
                )  # fmt: skip
                runs[label]["status"] = _status(server.url)  # counted after every phase
    return _ingest_rows(runs, plan)


def _status(url: str) -> dict[str, Any]:
    answer = requests.get(
        url + "/status.json",
        headers={"Authorization": f"Bearer {OPERATOR_SECRET}"},
        timeout=5,
    )
    return dict(answer.json()) if answer.status_code == 200 else {}


def _stored(run: dict[str, Any]) -> dict[str, int]:
    return dict(run["status"].get("store", {}).get("uplinks", {}))


def _ingest_rows(runs: dict[str, dict[str, Any]], plan: dict[str, Any]) -> list[Row]:
    codec, native = runs["codec"], runs["native"]
    closed_c, closed_n = codec["closed"]["ok_per_s"], native["closed"]["ok_per_s"]
    p99_c = codec["open"]["latency_ms"]["p99"]
    p99_n = native["open"]["latency_ms"]["p99"]
    low_c = codec["open_low"]["latency_ms"]["p99"]
    low_n = native["open_low"]["latency_ms"]["p99"]
    sent = sum(codec[phase]["ok"] for phase in ("warmup", "closed", "open", "open_low"))
    stored = _stored(codec)
    return [
        Row(
            INGEST_SECTION,
            f"closed loop, {CLIENT_THREADS} clients, {plan['count']} req: codec template",
            closed_c,
            "req/s",
            closed_n,
            "native template",
            closed_c / closed_n if closed_n else None,
            "n/a (what a codec costs)",
            INFO,
            {"codec": codec["closed"], "native": native["closed"]},
        ),
        Row(
            INGEST_SECTION,
            f"open loop {RATE:.0f} req/s x {plan['duration']:g} s: codec template p99",
            p99_c,
            "ms",
            p99_n,
            "native template",
            p99_c / p99_n if p99_c is not None and p99_n else None,
            "n/a",
            INFO,
            {"codec": codec["open"], "native": native["open"]},
        ),
        Row(
            INGEST_SECTION,
            f"open loop {LOW_RATE:.0f} req/s x {plan['duration']:g} s: codec template p99",
            low_c,
            "ms",
            low_n,
            "native template",
            low_c / low_n if low_c is not None and low_n else None,
            "n/a",
            INFO,
            {"codec": codec["open_low"], "native": native["open_low"]},
        ),
        Row(
            INGEST_SECTION,
            "codec template: answered 200, stored decoded",
            float(stored.get("decoded", 0)),
            "uplinks",
            float(sent),
            "200 answers",
            None,
            "every uplink decoded",
            "PASS" if stored.get("decoded") == sent == sum(stored.values()) else "FAIL",
            {"stored": stored, "native_stored": _stored(native)},
        ),
    ]


def measure(*, quick: bool = False) -> list[Row]:
    return decode_rows(quick) + ingest_rows(quick)
