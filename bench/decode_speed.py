"""Decode speed per model (docs/design.md §11): ``decoders.decode()`` against a hand-written
``struct.unpack_from`` decoder of the same layout (:mod:`bench.handwritten`) returning the same
``Decoded`` (fields by struct, messages by the model's own ``interpret``); ``model.parse`` (fields
only) against the bare hand-written decoder; and construct's interpreter
(``layout.schema.parse``) against its compiled parser and the derived ``layout.fast``.

Before any timing, every hand-written decoder must give exactly the fields ``decode()`` gives
(types included: ``90.0`` is not ``90``) on every fixture frame of its model, and must reject
every fixture frame ``decode()`` rejects: the baseline does the same work, or the run stops.

Timing is timeit's: the number of calls is raised until one batch takes at least ``min_time``
(0.2 s), then the best of ``repeats`` (5) batches is kept, for each of the two sides.
"""

from __future__ import annotations

import json
import random
import statistics
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import decoders
from bench import handwritten
from bench.handwritten import Reject, Unsupported
from bench.report import INFO, Row, verdict
from decoders.decode import interpret_fields
from decoders.models import EXAMPLES

SECTION = "decode speed: decode() vs a hand-written struct decoder returning the same Decoded"
PARSE_SECTION = "parse speed: model.parse (fields only) vs a hand-written struct decoder"
TARGET_RATIO = 0.5
RUNS = 3  # independent timings per case; the verdict is on their median ratio
VARIABLE = "variable layout — target n/a"


@dataclass(frozen=True)
class Case:
    """One message type of one model: the frame timed, its hand-written decoder (None: not
    written), and the construct layout that parses it (None for variable layouts)."""

    model: str
    label: str
    hex: str
    port: int | None
    hand: Callable[..., dict[str, Any]] | None
    layout: Callable[[], Any] | None = None
    fixed: bool = True
    selector: int = 1  # leading bytes kept from the frame in half the random frames checked

    @property
    def frame(self) -> bytes:
        return bytes.fromhex(self.hex)

    @property
    def name(self) -> str:
        return f"{self.model} {self.label}"


def _layout(module: str, attribute: str, key: Any = None) -> Callable[[], Any]:
    """The model's Layout object, looked up when timed (the models may change underneath)."""

    def get() -> Any:
        import importlib

        found = getattr(importlib.import_module(f"decoders.models.{module}"), attribute)
        return found if key is None else found[key]

    return get


CASES = (
    Case(
        "aura-reference",
        "alert",
        "01F07010E410B88DC20A5700",
        None,
        handwritten.aura_reference,
        _layout("aura.reference", "LAYOUTS", 1),
    ),
    Case(
        "aura-reference",
        "cancel",
        "0300",
        None,
        handwritten.aura_reference,
        _layout("aura.reference", "LAYOUTS", 3),
    ),
    Case(
        "aura-reference",
        "battery",
        "04480E80",
        None,
        handwritten.aura_reference,
        _layout("aura.reference", "LAYOUTS", 4),
    ),
    Case(
        "oyster-sigfox",
        "position",
        "10B67DCC0006EFDA3D9816C2",
        None,
        handwritten.oyster_sigfox,
        _layout("digitalmatter.oyster_sigfox", "LAYOUTS", 0),
    ),
    Case(
        "sensit-v3",
        "temperature",
        "F609744F",
        None,
        handwritten.sensit_v3,
        _layout("sigfox.sensit_v3", "LAYOUTS", 1),
        selector=2,
    ),
    Case(
        "simplepack",
        "short press",
        "0130",
        None,
        handwritten.simplepack,
        _layout("simplehw.simplepack", "LAYOUTS", 0x30),
        selector=2,
    ),
    Case(
        "dragino-lgt92",
        "16 bytes",
        "015A785406CF33D80D2060004B019000",
        2,
        handwritten.dragino_lgt92,
        _layout("dragino.lgt92", "SHORT"),
    ),
    Case(
        "dragino-lgt92",
        "15 bytes (v1.5)",
        "0120E43AFFE983A74D345AF0C5F28D",
        2,
        handwritten.dragino_lgt92,
        _layout("dragino.lgt92", "NO_HDOP"),
    ),
    Case(
        "dragino-trackerd",
        "port 2",
        "015A706606CF3CF80FA23001AE00DA",
        2,
        handwritten.dragino_trackerd,
        _layout("dragino.trackerd", "POSITION_SENSORS"),
    ),
    Case(
        "browan-tbpb100",
        "8 bytes",
        "01FE370000040000",
        147,
        handwritten.browan_tbpb100,
        _layout("browan.tbpb100", "V13"),
    ),
    Case(
        "oyster-lorawan",
        "port 1 position",
        "4877F4EC08080F45412AA4",
        1,
        handwritten.oyster_lorawan,
        _layout("digitalmatter.oyster_lorawan", "LAYOUTS", 1),
    ),
    Case(
        "milesight-ws101",
        "TLV: 2 records",
        "017510FF2E01",
        85,
        None,  # records before an unknown one are kept now: handwritten's strict reader disagrees
        fixed=False,
    ),
    Case(
        "milesight-at101",
        "TLV: 4 records",
        "01756403671B01050000048836BF7701F000090722",
        85,
        None,
        fixed=False,
    ),
    Case(
        "sensecap-t1000",
        "2 frames",
        "0564010001090000C00365F5E13C008255FE02D2E9F73F",
        5,
        None,
        fixed=False,
    ),
)

FIXED_MODELS = sorted({case.model for case in CASES if case.fixed})


# -- the equality check --------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, recursively (dict equality alone says ``90 == 90.0``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _fixture_frames(model: str) -> tuple[list[tuple[bytes, int | None]], list[tuple[bytes, Any]]]:
    data = json.loads(EXAMPLES[model].read_text(encoding="utf-8"))
    good = [(bytes.fromhex(f["hex"]), f.get("port")) for f in data["frames"]]
    bad = []
    for entry in data.get("errors", []):
        try:
            bad.append((bytes.fromhex(entry["hex"]), entry.get("port")))
        except ValueError:  # InvalidHex cases: about hex text, not the layout
            continue
    return good, bad


def check_agreement(case: Case, random_frames: int = 0) -> dict[str, int]:
    """Raise AssertionError unless the hand-written decoder agrees with decode() on the timed
    frame, on every fixture frame of the model it covers and on ``random_frames`` random frames
    of the timed frame's length (half of them keep its selector bytes, so they mostly reach the
    timed layout): same fields, and a rejection exactly where decode() raises DecodeError."""
    assert case.hand is not None
    expected = decoders.decode(case.model, case.frame, case.port).fields
    got = case.hand(case.frame, case.port)
    if not same(got, expected):
        raise AssertionError(f"{case.name}: hand-written {got!r} != decode() {expected!r}")
    good, bad = _fixture_frames(case.model)
    rng = random.Random(f"{case.model}/{case.label}")
    size, keep = len(case.frame), case.frame[: case.selector]
    for n in range(random_frames):
        frame = rng.randbytes(size)
        if n % 2 == 0:
            frame = keep + frame[len(keep) :]
        try:
            expected = decoders.decode(case.model, frame, case.port).fields
        except decoders.DecodeError:
            bad.append((frame, case.port))
        else:
            good.append((frame, case.port))
    agreed = rejected = 0
    for frame, port in good:
        try:
            got = case.hand(frame, port)
        except Unsupported:
            continue
        expected = decoders.decode(case.model, frame, port).fields
        if not same(got, expected):
            raise AssertionError(
                f"{case.model} {frame.hex()}: hand-written {got!r} != decode() {expected!r}"
            )
        agreed += 1
    for frame, port in bad:
        try:
            decoders.decode(case.model, frame, port)
        except decoders.DecodeError:
            pass
        else:  # pragma: no cover - the fixture says it fails
            continue
        try:
            got = case.hand(frame, port)
        except (Reject, Unsupported):
            rejected += 1
            continue
        raise AssertionError(
            f"{case.model} {frame.hex()} port {port}: decode() rejects it, hand-written gave {got}"
        )
    return {"frames_equal": agreed, "errors_rejected": rejected}


# -- timing --------------------------------------------------------------------------------------


Call = tuple[Callable[..., Any], tuple[Any, ...]]


def _timer(call: Call) -> timeit.Timer:
    function, args = call
    names = [f"a{i}" for i in range(len(args))]
    scope = {"function": function, **dict(zip(names, args, strict=True))}
    return timeit.Timer(f"function({', '.join(names)})", globals=scope)


def _batch_size(timer: timeit.Timer, min_time: float) -> int:
    """As ``Timer.autorange``: calls per batch so that one batch takes at least ``min_time``."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time or number >= 10_000_000:
            return number
        number = max(number * 2, int(number * min_time / max(elapsed, 1e-9) * 1.1))


def per_second(calls: list[Call], min_time: float, repeats: int) -> list[float]:
    """Calls per second of each call: batches of at least ``min_time``, best of ``repeats``.
    The calls' batches are interleaved (A B C, A B C, ...), so a burst of other work on the
    machine hits every side of a ratio alike instead of one side only."""
    timers = [_timer(call) for call in calls]
    numbers = [_batch_size(timer, min_time) for timer in timers]
    best = [float("inf")] * len(timers)
    for _ in range(repeats):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer.timeit(numbers[index]))
    return [number / elapsed for number, elapsed in zip(numbers, best, strict=True)]


def full_decoder(case: Case) -> Callable[..., Any]:
    """The hand-written decoder made to return what ``decode()`` returns: its struct fields, the
    model's meaning (its ``interpret`` or its roles: shared code, not what is compared) and a
    ``Decoded``. This is the like-for-like baseline for ``decode()``; the bare struct decoder is
    the baseline for ``model.parse``, which returns fields only."""
    model = decoders.get_model(case.model)
    hand, model_id = case.hand, model.id
    assert hand is not None

    def decode_by_hand(frame: bytes, port: int | None) -> decoders.Decoded:
        fields = hand(frame, port)
        return decoders.Decoded(model_id, fields, tuple(interpret_fields(model, fields)), port)

    return decode_by_hand


def measure(*, quick: bool = False, only: str | None = None) -> list[Row]:
    """One row per case and side. Ratios on these machines move by ±0.2 between runs, so each
    pair is timed in ``runs`` independent runs (3; 1 with ``quick``) and judged on the median
    ratio; the row shows the median rates and every run's ratio."""
    min_time, repeats = (0.05, 3) if quick else (0.2, 5)
    runs = 1 if quick else RUNS
    rows: list[Row] = []
    construct_rows: list[Row] = []
    parse_rows: list[Row] = []
    for case in CASES:
        if only and only not in case.model:
            continue
        frame, port = case.frame, case.port
        model = decoders.get_model(case.model)
        calls: list[Call] = [
            (decoders.decode, (case.model, frame, port)),
            (model.parse, (frame, port)),
        ]
        extra: dict[str, Any] = {"frame": case.hex, "port": port}
        if case.hand is not None:
            extra.update(check_agreement(case, 300 if quick else 3000))
            full = full_decoder(case)
            assert full(frame, port) == decoders.decode(case.model, frame, port)
            calls += [(case.hand, (frame, port)), (full, (frame, port))]
        timed = [per_second(calls, min_time, repeats) for _ in range(runs)]
        decode_rate, parse_rate, *hand = (
            statistics.median(side) for side in zip(*timed, strict=True)
        )
        hand_rate, full_rate = (hand[0], hand[1]) if hand else (None, None)
        for label, rate, baseline, baseline_name, section, mine, base in (
            ("decode()", decode_rate, full_rate, "struct+meaning", SECTION, 0, 3),
            ("model.parse", parse_rate, hand_rate, "struct", PARSE_SECTION, 1, 2),
        ):
            ratios = [run[mine] / run[base] for run in timed] if baseline is not None else []
            ratio = statistics.median(ratios) if ratios else None
            if len(ratios) > 1:
                extra = {**extra, f"{label} ratios": [round(r, 2) for r in ratios]}
            if case.fixed:
                target = f">= {TARGET_RATIO}x {baseline_name}"
                result = verdict(ratio is not None and ratio >= TARGET_RATIO)
            else:
                target, result = VARIABLE, INFO
            row = Row(
                section,
                f"{case.name}: {label}",
                rate,
                "frames/s",
                baseline,
                baseline_name,
                ratio,
                target,
                result,
                extra,
            )
            (rows if section == SECTION else parse_rows).append(row)
        if case.layout is not None:
            construct_rows.extend(_construct_rows(case, min_time, repeats))
    return rows + parse_rows + construct_rows


def _construct_rows(case: Case, min_time: float, repeats: int) -> list[Row]:
    layout = case.layout()  # type: ignore[misc]
    data = case.frame[: layout.size]
    fast = getattr(layout, "fast", None)  # the struct reader derived from the schema, if any
    calls: list[Call] = [(layout.schema.parse, (data,)), (layout.compiled.parse, (data,))]
    if fast is not None:
        calls.append((fast, (data,)))
    interpreted, compiled, *derived = per_second(calls, min_time, repeats)
    rows = [
        Row(
            "construct: compiled vs interpreted (calls/s, same layout, no target)",
            f"{case.name}: compiled.parse",
            compiled,
            "calls/s",
            interpreted,
            "schema.parse",
            compiled / interpreted,
        )
    ]
    if derived:
        rate = derived[0]
        rows.append(
            Row(
                "construct: compiled vs interpreted (calls/s, same layout, no target)",
                f"{case.name}: layout.fast",
                rate,
                "calls/s",
                compiled,
                "compiled",
                rate / compiled,
            )
        )
    return rows
