"""``aura-uplink decode``: a Unix filter from frames to one JSON object per frame
(docs/design.md §10)."""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any

import click

from decoders import decode, decode_uplink
from decoders.aura import DeviceState
from decoders.errors import AuraUplinkError, ConfigError, DecodeError
from decoders.mapping import events_for
from decoders.model import Model
from decoders.models import get_model
from decoders.templates import Template, load_templates, select_template
from decoders.types import Decoded, Location, UplinkWarning
from webhook.cli.captures import CapturedFrame, UnreadableLine, read_capture


@dataclass
class EventContext:
    """Turns decoded messages into AURA events across a run, remembering each device's state."""

    serial: str | None
    states: dict[str, DeviceState] = field(default_factory=dict)
    # Keys of uplinks already turned into events. Sigfox sends one message to the UPLINK and the
    # DATA_ADVANCED callbacks; a capture of both must not open two callouts. Bounded, so a long
    # capture keeps flat memory (repeats arrive within seconds of each other).
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    seen_limit: int = 10_000

    def events(
        self,
        template: Template,
        frame: CapturedFrame,
        messages: tuple[Any, ...],
        *,
        trusted: bool = True,
    ) -> list[dict[str, Any]]:
        serial = frame.serial or self.serial
        if serial is None:
            raise click.UsageError("events need a serial: give --serial or capture device ids")
        key = f"{template.device_type_id}:{template.device_id.derive(serial)}"
        if self._repeat(frame.dedup_key):
            messages = ()  # already acted on; only its network fix can add anything
        if frame.network_location is not None:
            messages = (*messages, Location(frame.network_location))
        events, self.states[key] = events_for(
            template,
            serial,
            messages,
            self.states.get(key, DeviceState()),
            now=frame.received_at or datetime.now(UTC),
            sequence=frame.sequence,
            trusted=trusted,
        )
        return [event.as_json() for event in events]

    def _repeat(self, key: str | None) -> bool:
        if key is None:
            return False
        if key in self.seen:
            return True
        self.seen[key] = None
        if len(self.seen) > self.seen_limit:
            self.seen.popitem(last=False)
        return False


@dataclass(frozen=True)
class Selection:
    """Which model (and template, for events) decodes a frame: fixed for the run, or — with a
    config and no --template — chosen per frame by the template's match rules."""

    model: Model | None = None
    template: Template | None = None
    templates: Mapping[str, Template] = field(default_factory=dict)

    def for_frame(self, frame: CapturedFrame) -> tuple[Model, Template | None]:
        if self.template is not None:
            return self.model or self.template.model, self.template
        if self.model is not None:
            return self.model, None
        template = select_template(self.templates, frame.uplink) if frame.uplink else None
        if template is None:
            raise NoTemplate(frame)
        return template.model, template


class NoTemplate(AuraUplinkError):
    """No template of the config matches this frame's device."""

    def __init__(self, frame: CapturedFrame) -> None:
        device = frame.serial or "(unknown device)"
        super().__init__(f"line {frame.line}: no template in the config matches {device}")


def choose_model(model_id: str | None, grammar: str | None) -> Model | None:
    if grammar is not None:
        if model_id is not None:
            raise click.UsageError("give --model or --grammar, not both")
        from decoders.grammar_model import model_from_grammar

        try:
            return model_from_grammar(grammar)
        except ConfigError as error:
            raise click.UsageError(str(error)) from None
    return None if model_id is None else _registered(model_id)


def _registered(model_id: str) -> Model:
    try:
        return get_model(model_id)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def choose_selection(
    model: Model | None,
    config: str | None,
    template_name: str | None,
    device_type_id: int | None,
) -> Selection:
    if config is None:
        if device_type_id is None:
            if model is None:
                raise click.UsageError("give --model, --grammar or --config")
            return Selection(model)
        if model is None:
            raise click.UsageError("--device-type-id needs --model or --grammar")
        return Selection(model, Template.for_model(model, device_type_id))
    try:
        templates = load_templates(config)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    if template_name is not None:
        if template_name not in templates:
            raise click.UsageError(f"no template {template_name!r} in {config}")
        return Selection(model, templates[template_name])
    if model is None:
        if len(templates) == 1:
            return Selection(template=next(iter(templates.values())))
        return Selection(templates=templates)  # per frame, by match rules
    candidates = [t for t in templates.values() if t.model.id == model.id]
    if len(candidates) != 1:
        raise click.UsageError(
            f"{config} has {len(candidates)} templates for this model; choose with --template"
        )
    return Selection(model, candidates[0])


def frames_from_args(hexes: Iterable[str], sequence: int | None) -> Iterator[CapturedFrame]:
    for index, text in enumerate(hexes):
        yield CapturedFrame(
            hex=text, line=index + 1, sequence=None if sequence is None else sequence + index
        )


def run_decode(
    frames: Iterable[CapturedFrame | UnreadableLine],
    selection: Selection,
    port: int | None,
    context: EventContext | None,
    out: IO[str],
) -> int:
    """Decode every frame, print one JSON line each; the number of frames that failed."""
    failures = 0
    for frame in frames:
        if isinstance(frame, UnreadableLine):
            failures += 1
            _print(out, {"hex": None, "line": frame.line, "error": frame.error})
            continue
        try:
            model, template = selection.for_frame(frame)
            decoded = _decode(model, template, frame, selection, port)
        except NoTemplate as error:
            failures += 1
            problem = {"type": "NoTemplate", "message": str(error), "field": None, "offset": None}
            _print(out, _warned({"hex": frame.hex, "error": problem}, frame))
            continue
        except DecodeError as error:
            failures += 1
            _print(out, _warned({"hex": frame.hex, "error": error.as_dict()}, frame))
            continue
        record: dict[str, Any] = {
            "model": decoded.model,
            "port": decoded.port,
            "hex": frame.hex,
            "fields": decoded.fields,
            "messages": [m.as_dict() for m in decoded.messages],
        }
        if context is not None and template is not None:
            record["events"] = context.events(
                template, frame, decoded.messages, trusted=decoded.trusted
            )
        _print(out, _warned(record, frame, decoded.warnings))
    return failures


def _decode(
    model: Model,
    template: Template | None,
    frame: CapturedFrame,
    selection: Selection,
    port: int | None,
) -> Decoded:
    """A frame as serve would decode it: a template that reads the network's decoded payload or
    runs a codec decodes the whole callback body (``--input`` of bodies); a model, the frame."""
    chosen_port = frame.port if frame.port is not None else port
    if (
        template is not None
        and template.source != "model"
        and selection.model is None
        and frame.uplink is not None
    ):
        return decode_uplink(template, replace(frame.uplink, port=chosen_port))
    return decode(model, frame.hex, chosen_port)


def _warned(
    record: dict[str, Any], frame: CapturedFrame, decoded: tuple[UplinkWarning, ...] = ()
) -> dict[str, Any]:
    """``record`` with ``"warnings"`` (docs/design.md §14) when the frame's callback body had
    optional parts that were invalid and dropped, or the decoder read values it did not trust;
    unchanged when there are none."""
    found = [*(frame.uplink.warnings if frame.uplink is not None else ()), *decoded]
    if found:
        record["warnings"] = [dict(w) for w in found]
    return record


def _print(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")


@click.command("decode")
@click.argument("hexes", nargs=-1)
@click.option("--model", "model_id", help="Model id (see `aura-uplink models`).")
@click.option("--grammar", help="A Sigfox custom payload config to decode with instead.")
@click.option("--port", type=int, help="LoRaWAN fPort of the frames.")
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, allow_dash=True, exists=True),
    help="Capture file (hex per line, CSV with a data column, JSON lines of callback bodies); "
    "- reads stdin.",
)
@click.option("--config", type=click.Path(dir_okay=False, exists=True), help="TOML templates.")
@click.option("--template", "template_name", help="Template name in --config.")
@click.option("--device-type-id", type=int, help="AURA device_type_id: adds events.")
@click.option("--serial", help="Device serial the AURA device_id is derived from.")
@click.option("--sequence", type=int, help="Sequence number of the first frame.")
@click.option(
    "--codec",
    "codec_path",
    type=click.Path(dir_okay=False, exists=True),
    help="A vendor JavaScript codec (decodeUplink or Decode) to decode with instead of a model;"
    " its output is printed as fields (docs/codecs.md).",
)
@click.option(
    "--codec-timeout-ms", type=click.IntRange(min=1), default=100, show_default=True,
    help="The codec's time limit per call (retried once at five times it).",
)  # fmt: skip
@click.option(
    "--codec-memory-mb", type=click.IntRange(min=1), default=32, show_default=True,
    help="The codec's memory limit.",
)  # fmt: skip
def decode_command(
    hexes: tuple[str, ...],
    model_id: str | None,
    grammar: str | None,
    port: int | None,
    input_path: str | None,
    config: str | None,
    template_name: str | None,
    device_type_id: int | None,
    serial: str | None,
    sequence: int | None,
    codec_path: str | None,
    codec_timeout_ms: int,
    codec_memory_mb: int,
) -> None:
    """Decode frames given as HEX arguments or read with --input; one JSON object per frame.

    Exit status 1 if any frame failed to decode (its error object is printed, the rest go on)."""
    if bool(hexes) == bool(input_path):
        raise click.UsageError("give HEX arguments or --input, not both and not neither")
    if codec_path is not None:
        from webhook.cli import codec

        if model_id or grammar or config or template_name or device_type_id is not None:
            raise click.UsageError(
                f"--codec decodes on its own: give none of {', '.join(codec.MODEL_OPTIONS)}"
            )
        loaded = codec.load(codec_path, codec_timeout_ms, codec_memory_mb)
        with _frames(hexes, input_path, sequence) as frames:
            failures = codec.run(frames, loaded, port, sys.stdout)
        sys.exit(1 if failures else 0)
    selection = choose_selection(
        choose_model(model_id, grammar), config, template_name, device_type_id
    )
    wants_events = selection.template is not None or bool(selection.templates)
    context = EventContext(serial.upper() if serial else None) if wants_events else None
    with _frames(hexes, input_path, sequence) as frames:
        failures = run_decode(frames, selection, port, context, sys.stdout)
    sys.exit(1 if failures else 0)


@contextmanager
def _frames(
    hexes: tuple[str, ...], input_path: str | None, sequence: int | None
) -> Iterator[Iterable[CapturedFrame | UnreadableLine]]:
    """The frames of the HEX arguments, or of the capture file (open while they are read)."""
    if input_path is None:
        yield frames_from_args(hexes, sequence)
        return
    with click.open_file(input_path, "r", encoding="utf-8") as handle:
        yield _with_progress(handle, input_path)


def _with_progress(handle: IO[str], path: str) -> Iterator[CapturedFrame | UnreadableLine]:
    """Frames, with a progress bar on stderr for long files when a person is watching."""
    size = os.path.getsize(path) if path != "-" else 0
    now = datetime.now(UTC)  # the received time of saved bodies that carry none
    if not (size > 1_000_000 and sys.stderr.isatty()):
        yield from read_capture(handle, now=now)
        return
    with click.progressbar(length=size, label="decoding", file=sys.stderr) as bar:

        def lines() -> Iterator[str]:
            for line in handle:
                bar.update(len(line))
                yield line

        yield from read_capture(lines(), now=now)
