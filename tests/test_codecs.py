"""Vendor JavaScript codecs in the sandbox (decoders/codecs, docs/codecs.md): each calling
convention, the limits and the retry rule, hostile codecs, threads, and the import promise.

Every codec here is a file in tests/codecs/, written for these tests. No timing is asserted: a
looping codec's call runs in a helper thread whose join has a generous deadline, so a sandbox
that failed to stop shows up as a failed test, never as a hung run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

import decoders
from decoders.codecs import Codec, CodecError, CodecResult, load_codec
from decoders.codecs.output import OutputLimits, depth_of, errors_text, warnings_from
from decoders.errors import ConfigError, DecodeError
from decoders.models import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
CODECS = ROOT / "tests" / "codecs"
T = TypeVar("T")

# panic-*.js frames: byte 0 event, byte 1 battery %, then latitude and longitude ×1e-7 (int32).
SOS = bytes.fromhex("0157F07010E410B88DC2")  # SOS, 87 %, -26.10911 / 28.053037
CANCEL = bytes.fromhex("0250")  # cancel, 80 %, no position
RECEIVED = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
HANG_GUARD_S = 60.0  # far above the worst case of any call here (six time limits plus a build)


def codec(name: str, **limits: int) -> Codec:
    return load_codec(CODECS / name, **limits)


def bounded(call: Callable[[], T]) -> T:
    """``call()`` in a helper thread; fails the test if it has not returned in HANG_GUARD_S.
    (The thread is also a second thread of the codec: it gets a context of its own.)"""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as error:  # handed to the test thread
            box["error"] = error

    helper = threading.Thread(target=run, daemon=True)
    helper.start()
    helper.join(HANG_GUARD_S)
    assert not helper.is_alive(), "the codec call did not return: the sandbox did not stop it"
    if "error" in box:
        raise box["error"]
    return box["value"]


def failure(loaded: Codec, frame: bytes, port: int | None = 10, *, guard: bool = True) -> str:
    """The CodecError message of decoding ``frame``; with ``guard``, in a helper thread."""
    with pytest.raises(CodecError) as caught:
        if guard:
            bounded(lambda: loaded.decode(frame, port, RECEIVED))
        else:
            loaded.decode(frame, port, RECEIVED)
    assert isinstance(caught.value, DecodeError)  # an undecodable uplink, kept raw
    return str(caught.value)


# -- the conventions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["panic-ttn.js", "panic-chirpstack-v4.js", "panic-chirpstack-v3.js"]
)
def test_each_convention_decodes_the_panic_button(name: str) -> None:
    result = codec(name).decode(SOS, 10, RECEIVED)
    assert isinstance(result, CodecResult)
    assert result.fields["event"] == "SOS"
    assert result.fields["battery"] == 87
    assert result.fields["gps"] == {"lat": -26.10911, "lng": 28.053037}
    assert result.warnings == ()
    assert codec(name).decode(CANCEL, 10, RECEIVED).fields["event"] == "CANCEL"


def test_the_conventions_are_detected_from_the_functions_defined() -> None:
    assert codec("panic-ttn.js").convention.name == "decodeUplink"
    assert codec("panic-chirpstack-v4.js").convention.name == "decodeUplink"  # const + arrow
    assert codec("panic-chirpstack-v3.js").convention.name == "Decode"
    both = codec("both.js")  # one file for ChirpStack v3 and v4: decodeUplink is called
    assert both.convention.name == "decodeUplink"
    assert both.decode(b"\x01", 1, None).fields == {"via": "decodeUplink"}


def test_decode_uplink_gets_bytes_fport_recvtime_and_variables() -> None:
    ttn = codec("panic-ttn.js")
    fields = ttn.decode(SOS, 10, RECEIVED).fields
    assert fields["received"] == "2026-01-01T12:30:00.000Z"  # recvTime is a JavaScript Date
    assert codec("panic-chirpstack-v4.js").decode(SOS, 10, RECEIVED).fields["variables"] == 0
    # No fPort (a Sigfox frame): the codec sees undefined and, here, refuses the frame.
    assert "unknown fPort undefined" in failure(ttn, SOS, None)


def test_decode_gets_fport_and_bytes_and_its_object_is_the_fields() -> None:
    v3 = codec("panic-chirpstack-v3.js")
    assert v3.decode(CANCEL, 10, None).fields == {"event": "CANCEL", "battery": 80, "port": 10}
    assert v3.decode(CANCEL, None, None).fields["port"] is None


def test_ttn_warnings_come_back_with_the_fields() -> None:
    result = codec("panic-ttn.js").decode(bytes([9, 50]), 10, RECEIVED)
    assert result.fields["event"] == "UNKNOWN"
    assert result.warnings == ("unknown event code 9",)


# -- codecs that fail ---------------------------------------------------------------------------


def test_returned_errors_are_a_codec_error_naming_them() -> None:
    message = failure(codec("panic-ttn.js"), b"\x01")
    assert message == "codec panic-ttn.js: decodeUplink returned errors: frame too short: 1 bytes"
    message = failure(codec("hostile-errors.js"), b"\x03")
    assert "returned errors: unsupported frame version 3" in message  # even with data
    assert "returned errors: frame too short" in failure(codec("panic-chirpstack-v4.js"), b"\x01")


def test_a_throw_is_a_codec_error_with_the_thrown_message() -> None:
    throwing = codec("hostile-throw.js")
    assert failure(throwing, b"\x01", guard=False).endswith(
        "decodeUplink threw RangeError: battery byte out of range"
    )
    message = failure(throwing, b"\x02", guard=False)
    assert "RangeError: Maximum call stack size exceeded" in message
    assert failure(throwing, b"\x03", guard=False).endswith("threw not an Error object")
    assert failure(codec("panic-chirpstack-v3.js"), b"\x01").endswith(
        "Decode threw Error: frame too short"
    )
    assert throwing.counts().contexts == 1  # a throw is not a limit kill: the context stays


@pytest.mark.parametrize(
    ("first_byte", "expected"),
    [
        (1, "Decode returned function, not an object"),
        (2, "Decode returned an object that is not JSON (TypeError: Converting circular"),
        (3, "Decode returned an object that is not JSON (TypeError: Do not know how to serialize"),
        (4, "Decode returned an array, not an object"),
        (5, "Decode returned string, not an object"),
        (6, "Decode returned undefined, not an object"),
        (7, "the codec's answer nests deeper than 16 levels"),
        (8, "the codec's answer is 200,0"),
        (9, "Decode returned an object that is not JSON (Error: no JSON for you)"),
    ],
)
def test_answers_that_are_not_a_bounded_json_object(first_byte: int, expected: str) -> None:
    message = failure(codec("hostile-not-json.js"), bytes([first_byte]))
    assert message.startswith("codec hostile-not-json.js: " + expected), message


def test_json_rules_apply_inside_an_object() -> None:
    # NaN becomes null; undefined and functions inside an object are left out (JSON.stringify).
    fields = codec("hostile-not-json.js").decode(b"\x00", None, None).fields
    assert fields == {"value": None}


def test_an_async_codec_is_refused_and_leftover_promise_jobs_are_stopped() -> None:
    assert "decodeUplink returned a Promise" in failure(codec("hostile-async.js"), b"\x01")
    leaving = codec("hostile-promise.js")
    message = failure(leaving, b"\x01")
    assert "left work running (a promise or an async function) past 500 ms" in message
    failure(leaving, b"\x01")  # and again, in a fresh context
    assert leaving.counts().contexts >= 2


def test_tampering_with_globals_changes_only_the_codecs_own_output() -> None:
    result = codec("hostile-globals.js").decode(b"\x01", 10, RECEIVED)
    assert result.fields == {"event": "SOS", "stringify": "function"}


# -- limits and the retry rule ------------------------------------------------------------------


def test_a_loop_is_stopped_after_the_limit_and_one_retry_at_five_times_it() -> None:
    looping = codec("hostile-loop.js", timeout_ms=50)
    message = failure(looping, SOS)
    assert message == (
        "codec hostile-loop.js: ran past its time limit of 50 ms, and of 250 ms on the retry"
    )
    counts = looping.counts()
    assert (counts.calls, counts.retries, counts.failures) == (1, 1, 1)


def test_the_retry_runs_in_the_same_context_and_its_answer_is_used() -> None:
    # Stuck on its first call only (a counter in the context): the retry answers.
    slow = codec("hostile-slow-first.js")
    result = bounded(lambda: slow.decode(b"\x01", 10, RECEIVED))
    assert result.fields == {"calls": 2, "event": "SOS"}
    counts = slow.counts()
    assert (counts.calls, counts.retries, counts.failures) == (1, 1, 0)
    # The loading thread's context, then the helper thread's: none rebuilt.
    assert counts.contexts == 2


def test_regular_expression_backtracking_is_stopped_too() -> None:
    message = failure(codec("hostile-regex.js", timeout_ms=20), b"\x01")
    assert "ran past its time limit of 20 ms, and of 100 ms on the retry" in message


def test_a_huge_allocation_is_stopped_at_the_memory_limit() -> None:
    hoarding = codec("hostile-alloc.js", memory_mb=16)
    assert failure(hoarding, b"\x01").endswith("went over its memory limit of 16 MiB")
    assert hoarding.counts().retries == 0  # only time-limit kills are retried


@pytest.mark.parametrize("killer", [b"\xff", b"\xfe"], ids=["time limit", "memory limit"])
def test_a_good_frame_decodes_after_a_kill_in_a_rebuilt_context(killer: bytes) -> None:
    panic = codec("panic-or-loop.js", timeout_ms=30, memory_mb=16)

    def kill_then_decode() -> tuple[str, CodecResult, int]:
        with pytest.raises(CodecError) as caught:
            panic.decode(killer, 10, None)
        before = panic.counts().contexts
        return str(caught.value), panic.decode(bytes([1, 64]), 10, None), before

    message, result, contexts_before = bounded(kill_then_decode)
    assert "limit" in message
    assert result.fields == {"event": "SOS", "battery": 64}
    assert panic.counts().contexts == contexts_before + 1  # rebuilt once, for the good frame


def test_threads_decode_concurrently_each_in_its_own_context() -> None:
    v3 = codec("panic-chirpstack-v3.js")
    frames = [bytes([1 + n % 3, n]) for n in range(60)]
    expected = [{"event": ["SOS", "CANCEL", "HEARTBEAT"][n % 3], "battery": n} for n in range(60)]

    def decode(frame: bytes) -> dict[str, Any]:
        fields = v3.decode(frame, 10, None).fields
        return {"event": fields["event"], "battery": fields["battery"]}

    with ThreadPoolExecutor(max_workers=3) as pool:
        got = bounded(lambda: list(pool.map(decode, frames)))
    assert got == expected
    counts = v3.counts()
    assert counts.calls == 60 and counts.failures == 0
    assert 2 <= counts.contexts <= 4  # the loading thread's and one per worker that ran


# -- no I/O -------------------------------------------------------------------------------------


def test_the_sandbox_offers_no_io_and_nothing_that_runs_later() -> None:
    probe = codec("hostile-io.js")
    seen = probe.decode(b"\x00", 10, None).fields
    absent = {name: kind for name, kind in seen.items() if name != "console"}
    assert set(absent.values()) == {"undefined"}, seen
    for attempt, expected in [
        (1, "ReferenceError: require is not defined"),
        (2, "ReferenceError: fetch is not defined"),
        (3, "ReferenceError: XMLHttpRequest is not defined"),
        (4, "ReferenceError: process is not defined"),
        (5, "TypeError: setTimeout is not a function"),
        (6, "ReferenceError: Worker is not defined"),
        (7, "ReferenceError: Atomics is not defined"),
        (8, "ReferenceError: WebAssembly is not defined"),
    ]:
        assert failure(probe, bytes([attempt])).endswith(expected), attempt
    # A dynamic import() finds no module loader: it only makes a rejected promise.
    assert probe.decode(b"\x09", 10, None).fields == {"imported": "asked"}


# -- loading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing.js", "cannot read codec {path}: No such file or directory"),
        (
            "not-javascript.js",
            "codec {path}: loading the file failed: it is not valid JavaScript:"
            " SyntaxError: Unexpected token ';' (line 2)",
        ),
        (
            "toplevel-throws.js",
            "codec {path}: loading the file failed: it threw"
            " ReferenceError: require is not defined (line 2)",
        ),
        (
            "no-function.js",
            "codec {path} defines neither decodeUplink(input) (The Things Stack, ChirpStack v4)"
            " nor Decode(fPort, bytes, variables) (ChirpStack v3)",
        ),
        (
            "hostile-toplevel-loop.js",
            "codec {path}: loading the file failed: it ran past its time limit of 2000 ms",
        ),
    ],
)
def test_a_codec_that_cannot_be_loaded_is_a_config_error(name: str, expected: str) -> None:
    path = CODECS / name
    with pytest.raises(ConfigError) as caught:
        bounded(lambda: load_codec(path))
    assert str(caught.value) == expected.format(path=path)


def test_files_that_are_not_codecs_at_all(tmp_path: Path) -> None:
    binary = tmp_path / "binary.js"
    binary.write_bytes(b"\xff\xfe\x00function")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_codec(binary)
    huge = tmp_path / "huge.js"
    huge.write_text("// " + "x" * (3 * 1024 * 1024) + "\nfunction Decode() { return {}; }\n")
    with pytest.raises(ConfigError, match="at most 2,097,152"):
        load_codec(huge)
    with pytest.raises(ConfigError, match="must be 1 or more"):
        load_codec(CODECS / "panic-ttn.js", timeout_ms=0)
    assert codec("panic-ttn.js").decode(SOS, 10, RECEIVED).fields["event"] == "SOS"


def test_decoders_import_without_the_engine() -> None:
    """decoders/ (and decoders.codecs) import with mini-racer missing; loading a codec then
    says how to install it."""
    script = """
import sys
sys.modules["py_mini_racer"] = None  # as if the codecs extra were not installed
import decoders, decoders.codecs, decoders.templates
from decoders.codecs import load_codec
from decoders.errors import ConfigError
assert decoders.decode("aura-reference", "0300").fields["reason"] == "user"
try:
    load_codec(sys.argv[1])
except ConfigError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(CODECS / "panic-ttn.js")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "codecs need the JavaScript engine (py_mini_racer is not installed):"
        " pip install 'aura-uplink[codecs]'"
    )


# -- the benchmark's codec ----------------------------------------------------------------------


def test_the_aura_reference_codec_gives_the_native_models_fields() -> None:
    """bench/codec_speed.py compares this codec with the native model: same work, same output."""
    reference = codec("aura-reference.js")
    frames = json.loads(EXAMPLES["aura-reference"].read_text(encoding="utf-8"))["frames"]
    compared = 0
    for frame in frames:
        native = decoders.decode("aura-reference", frame["hex"])
        if native.warnings:
            continue  # out-of-range values: the native model warns, this codec is simpler
        assert reference.decode(bytes.fromhex(frame["hex"]), None, None).fields == native.fields
        compared += 1
    assert compared >= 4


# -- the output bounds --------------------------------------------------------------------------


def test_depth_is_counted_on_the_text_outside_strings() -> None:
    assert depth_of('{"a": [1, {"b": 2}]}') == 3
    assert depth_of('{"a": "[[[[{{{{", "b": "\\"[["}') == 1
    assert depth_of("[" * 5000 + "]" * 5000) == 5000  # no recursion to overflow


def test_warnings_and_errors_are_kept_short() -> None:
    limits = OutputLimits(warnings=2, warning_chars=10)
    assert warnings_from(["a", {"b": 1}, "c"], limits) == (
        "a",
        '{"b": 1}',
        "... and 1 more warnings",
    )
    assert warnings_from("x" * 50, limits) == ("x" * 9 + "…",)
    assert warnings_from(None) == ()
    assert errors_text([]) is None and errors_text(None) is None and errors_text("") is None
    assert errors_text(["a", 2]) == "a; 2"


def test_the_receive_time_is_the_callers_and_none_is_undefined() -> None:
    probe = codec("recv-time-probe.js")
    assert probe.decode(b"\x00", 1, RECEIVED).fields == {"recvTime": "2026-01-01T12:30:00.000Z"}
    assert probe.decode(b"\x00", 1, None).fields == {"recvTime": "undefined"}
