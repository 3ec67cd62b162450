"""A vendor codec file, loaded once and callable from any thread (docs/codecs.md).

Each thread that decodes gets its own V8 context of the codec, built on its first call (a
context is used by one thread at a time, and codecs keep globals between calls). A context
stopped by a limit is thrown away and the thread's next call builds a new one.

The retry rule: a call that runs past ``timeout_ms`` is run once more, in the same context, with
five times the limit. Two busy cores can stretch a 5 ms decode past 100 ms; they must not turn
a panic press into an undecodable uplink. A codec that is really stuck costs at most six times
its limit per uplink, then the uplink is kept raw (replayable) with the reason.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from decoders.codecs.conventions import BY_NAME, CONVENTIONS, Convention
from decoders.codecs.output import LIMITS, clip, read_json
from decoders.errors import CodecError, ConfigError

RETRY_FACTOR = 5
MAX_SOURCE_BYTES = 2 * 1024 * 1024  # the largest TTN Device Repository codecs are ~100 KB
# Building a context (the engine, the prelude, the file's top-level code) gets this many times
# the call limit, and at least LOAD_MIN_S: it happens once per thread, not per uplink.
LOAD_FACTOR = 10
LOAD_MIN_S = 2.0

_ANSWER = "the codec's answer"


@dataclass(frozen=True, slots=True)
class CodecResult:
    """What a codec decoded: its output object and the warnings it returned with it."""

    fields: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class CodecCounts:
    """What happened to a codec's calls since it was loaded (for tests, logs and metrics)."""

    calls: int = 0
    retries: int = 0  # calls run a second time after hitting the time limit
    failures: int = 0  # calls that raised CodecError
    contexts: int = 0  # contexts built (one per thread, plus one per rebuild)


def _engine() -> Any:
    """The engine module, imported on first use: decoders/ is importable without mini-racer."""
    try:
        from decoders.codecs import engine
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"codecs need the JavaScript engine ({error.name} is not installed):"
            " pip install 'aura-uplink[codecs]'"
        ) from None
    return engine


@dataclass(eq=False)
class Codec:
    """One codec file. Use :func:`load_codec` to make one."""

    path: Path
    source: str = field(repr=False)
    convention: Convention
    timeout_ms: int
    memory_mb: int
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _counts: CodecCounts = field(default_factory=CodecCounts, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def counts(self) -> CodecCounts:
        with self._lock:
            return replace(self._counts)

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self._counts, what, getattr(self._counts, what) + 1)

    def decode(self, payload: bytes, port: int | None, received_at: datetime | None) -> CodecResult:
        """Run the codec on one frame. ``port`` is the LoRaWAN fPort (None for Sigfox: the
        codec sees ``undefined``); ``received_at`` is ``recvTime`` (None: undefined). Raises
        :class:`CodecError` saying what failed."""
        self._count("calls")
        try:
            return self._decode(payload, port, received_at)
        except CodecError as error:
            self._count("failures")
            raise CodecError(f"codec {self.name}: {error.reason}") from None

    def _decode(
        self, payload: bytes, port: int | None, received_at: datetime | None
    ) -> CodecResult:
        # No clock here (decoders/ is pure): the caller says when the uplink was received;
        # without a time the codec sees recvTime undefined, as it sees fPort for Sigfox.
        script = "__aura_codec__.run({}, {}, {}, {})".format(
            json.dumps(self.convention.name),
            json.dumps(list(payload)),
            "undefined" if port is None else int(port),
            "undefined" if received_at is None else int(received_at.timestamp() * 1000),
        )
        answer = self._call(script)
        if not isinstance(answer, str):
            raise CodecError(f"the sandbox answered {type(answer).__name__}, not JSON text")
        # The prelude's [tag, value] wraps the answer: one level more than the codec's own.
        tag, value = _tagged(read_json(answer, _ANSWER))
        name = self.convention.name
        if tag == "threw":
            raise CodecError(f"{name} threw {clip(str(value), LIMITS.message_chars)}")
        if tag == "type":
            raise CodecError(f"{name} returned {value}, not an object")
        if tag == "json":
            raise CodecError(f"{name} returned an object that is not JSON ({value})")
        if tag != "ok" or not isinstance(value, dict):
            raise CodecError(f"the sandbox answered {tag!r}")
        fields, warnings = self.convention.read(value)
        return CodecResult(fields, warnings)

    def _call(self, script: str) -> Any:
        engine = _engine()
        sandbox = self._sandbox()
        limit_s = self.timeout_ms / 1000
        settle_s = limit_s * RETRY_FACTOR
        try:
            try:
                return sandbox.call(script, limit_s, settle_s)
            except engine.CodecTimeLimit:
                self._count("retries")
                sandbox = self._sandbox()  # the same one, unless the engine had to abandon it
                return sandbox.call(script, limit_s * RETRY_FACTOR, settle_s)
        except engine.CodecTimeLimit:
            sandbox.close()
            raise CodecError(
                f"ran past its time limit of {self.timeout_ms} ms, and of"
                f" {self.timeout_ms * RETRY_FACTOR} ms on the retry"
            ) from None
        except CodecError:
            if sandbox.dead:
                self._local.sandbox = None
            raise

    def _sandbox(self) -> Any:
        sandbox = getattr(self._local, "sandbox", None)
        if sandbox is None or sandbox.dead:
            sandbox = self._build()
            self._local.sandbox = sandbox
        return sandbox

    def _build(self) -> Any:
        from decoders.codecs.prelude import PRELUDE

        engine = _engine()
        load_s = max(LOAD_MIN_S, self.timeout_ms * LOAD_FACTOR / 1000)
        self._count("contexts")
        try:
            return engine.Sandbox(
                PRELUDE, self.source, memory_mb=self.memory_mb, load_timeout_s=load_s
            )
        except CodecError as error:
            raise CodecError(f"loading the file failed: it {error.reason}") from None

    def defined(self) -> tuple[str, ...]:
        """The conventions whose functions the file defines, in this thread's context."""
        text = self._sandbox().evaluate("__aura_codec__.defined()", LOAD_MIN_S)
        return tuple(name for name in str(text).split(",") if name)


def _tagged(value: Any) -> tuple[str, Any]:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return value[0], value[1]
    raise CodecError("the sandbox's answer is not [tag, value]")


def load_codec(path: str | Path, *, timeout_ms: int = 100, memory_mb: int = 32) -> Codec:
    """Read, compile and check a codec file; :class:`ConfigError` naming the file if it cannot
    be read, is not valid JavaScript, its top-level code fails, or it defines neither
    ``decodeUplink`` nor ``Decode``."""
    path = Path(path)
    if timeout_ms < 1 or memory_mb < 1:
        raise ConfigError(f"codec {path}: the time and memory limits must be 1 or more")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read codec {path}: {error.strerror or error}") from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise ConfigError(f"codec {path} is {len(raw):,} bytes; at most {MAX_SOURCE_BYTES:,}")
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"codec {path} is not UTF-8 text: {error.reason}") from None
    codec = Codec(path, source, CONVENTIONS[0], timeout_ms, memory_mb)
    try:
        found = codec.defined()
    except CodecError as error:
        raise ConfigError(f"codec {path}: {error.reason}") from None
    conventions = [c for c in CONVENTIONS if c.name in found]
    if not conventions:
        raise ConfigError(
            f"codec {path} defines neither decodeUplink(input) (The Things Stack, ChirpStack v4)"
            " nor Decode(fPort, bytes, variables) (ChirpStack v3)"
        )
    codec.convention = BY_NAME[conventions[0].name]
    return codec
