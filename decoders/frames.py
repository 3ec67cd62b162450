"""How a model's frames choose their layout: by length, by fPort, by a selector in the frame, or
as a run of key-value records (:mod:`decoders.records`). A model declares one of these; the
engine (:mod:`decoders.decode`) only calls :meth:`Frames.quick`, :meth:`Frames.read` and
:meth:`Frames.build`.

Every reader returns a :class:`Read`: the fields, the warnings, and — when the frame did not fit
any layout (too short, bytes after the end) — the error it would have been. The engine keeps such
a frame only if what it could read raises an alarm (docs/design.md §14): the alarm bits of a cut
frame still call for help, its other values are not trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from decoders.errors import (
    DecodeError,
    ShortFrame,
    TrailingBytes,
    UnknownMessageType,
    UnknownPort,
)
from decoders.fastpath import FastParser, Unfit
from decoders.schema import Layout, decoder_warning
from decoders.types import UplinkWarning

# The longest frame the length tables cover: LoRaWAN's largest application payload is 242 bytes.
MAX_FRAME = 255


@dataclass(slots=True)
class Read:
    """One frame's fields and warnings; ``misfit`` is the length error of a frame no layout
    fits, read as far as its bytes go."""

    fields: dict[str, Any]
    warnings: list[UplinkWarning] = field(default_factory=list)
    misfit: DecodeError | None = None
    layout: str | None = None  # the name of the layout read
    # For a misfit: the frame read as each other variant of its message would read it. Where
    # the variants keep the alarm in different places, any that calls for help is taken.
    alternatives: list[Read] = field(default_factory=list)


class Frames(Protocol):
    """How one model reads and builds its frames."""

    def read(self, frame: bytes, port: int | None, model: str) -> Read: ...

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        """The fields of a frame that fits a layout whole and reads without a warning, by that
        layout's derived parser; None sends the caller to :meth:`read`. The hot path."""
        ...

    def build(self, fields: Mapping[str, Any]) -> bytes: ...

    def layouts(self) -> tuple[Layout, ...]: ...


class Sized:
    """One message whose variants are told apart by length (a firmware that added a field, an
    optional trailing value). ``sizes`` are the accepted lengths; a layout with a ``tail`` takes
    any length from its size on."""

    def __init__(self, *variants: Layout) -> None:
        self.variants = tuple(sorted(variants, key=lambda layout: layout.size))
        self.by_size = {layout.size: layout for layout in self.variants if layout.tail is None}
        self.sizes = tuple(layout.size for layout in self.variants)
        # Every length a variant reads whole, up to what any uplink can carry: one dict lookup
        # per frame instead of a search (tail layouts take any length from their size on).
        self.by_length: dict[int, Layout] = {}
        for length in range(MAX_FRAME + 1):
            tails = [v for v in self.variants if v.tail is not None and v.size <= length]
            found = self.by_size.get(length) or (tails[-1] if tails else None)
            if found is not None:
                self.by_length[length] = found

    def layouts(self) -> tuple[Layout, ...]:
        return self.variants

    def fits(self, length: int) -> Layout | None:
        layout = self.by_length.get(length)
        if layout is not None or length <= MAX_FRAME:
            return layout
        tails = [v for v in self.variants if v.tail is not None and v.size <= length]
        return tails[-1] if tails else None

    @cached_property
    def fast_by_length(self) -> dict[int, FastParser]:
        """Each whole length's derived parser (layouts construct must read are left out)."""
        return {n: layout.fast for n, layout in self.by_length.items() if layout.fast}

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        fast = self.fast_by_length.get(len(frame))
        if fast is None:
            return None
        try:
            return fast(frame)
        except Unfit:
            return None

    def read(self, frame: bytes, port: int | None, model: str) -> Read:
        layout = self.fits(len(frame))
        if layout is not None:
            reading = layout.read(frame, model)
            return Read(reading.fields, reading.warnings, layout=layout.name)
        return self._misfit(frame, model)

    def _misfit(self, frame: bytes, model: str) -> Read:
        """A frame no variant fits: the error to report, and the frame read as every variant
        would read it (the longest it holds whole first, then the cut ones, shortest first)."""
        length = len(frame)
        shorter = [v for v in self.variants if v.size < length]
        longer = [v for v in self.variants if v.size > length]
        readings = [_with_trailing(v, frame, model) for v in reversed(shorter)]
        readings += [_cut(v, frame, model) for v in longer]
        accepted = " or ".join(str(size) for size in self.sizes) + " bytes"
        first = readings[0]
        if not shorter:
            error: DecodeError = ShortFrame(
                f"{longer[0].name} frame is too short",
                model=model,
                field=first.warnings[-1]["field"],
                offset=length,
                expected=accepted,
                got=f"{length} bytes",
                frame=frame,
            )
        else:
            layout = shorter[-1]
            extra = _first_new_field(layout, longer[0]) if longer else None
            error = TrailingBytes(
                f"{layout.name} frame has bytes after its end"
                + (f" that do not complete {extra}" if extra else ""),
                model=model,
                field=extra,
                offset=layout.size,
                expected=accepted,
                got=f"{length} bytes",
                frame=frame,
            )
        first.misfit = error
        first.alternatives = readings[1:]
        for other in first.alternatives:
            other.misfit = error
        return first

    def build(self, fields: Mapping[str, Any]) -> bytes:
        """The frame of the variant whose fields these are (the longest that has them all)."""
        for layout in reversed(self.variants):
            # ByPort's tag is dropped, unless the layout has a field of that name of its own
            values = {k: v for k, v in fields.items() if k != "message_type" or k in layout.names}
            if set(layout.names) <= set(values) <= {*layout.names, layout.tail}:
                return layout.build(values)
        values = {k: v for k, v in fields.items() if k != "message_type"}
        raise DecodeError(
            "no layout of this message has exactly these fields",
            field=self.variants[0].name,
            expected=" or ".join(str(sorted(v.names)) for v in self.variants),
            got=sorted(values),
        )


def _with_trailing(layout: Layout, frame: bytes, model: str) -> Read:
    reading = layout.read(frame, model)
    warning = decoder_warning(
        None, f"{len(frame) - layout.size} bytes after the {layout.name} frame ignored", layout.size
    )
    return Read(reading.fields, [*reading.warnings, warning], layout=layout.name)


def _cut(layout: Layout, frame: bytes, model: str) -> Read:
    reading = layout.read_cut(frame, model)
    return Read(reading.fields, reading.warnings, layout=layout.name)


def _first_new_field(short: Layout, long: Layout) -> str | None:
    extra = [name for name in long.names if name not in short.names]
    return extra[0] if extra else None


def _sized(choice: Sized | Layout) -> Sized:
    return choice if isinstance(choice, Sized) else Sized(choice)


class ByPort:
    """The LoRaWAN fPort chooses the message; its name goes into ``message_type``."""

    def __init__(self, table: Mapping[int, Sized | Layout], *, tag: str = "message_type") -> None:
        self.table = {port: _sized(choice) for port, choice in table.items()}
        self.tag = tag
        self.by_name = {
            layout.name: sized for sized in self.table.values() for layout in sized.variants
        }

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(self.table)

    def layouts(self) -> tuple[Layout, ...]:
        return tuple(layout for sized in self.table.values() for layout in sized.variants)

    @cached_property
    def fast(self) -> dict[tuple[int, int], tuple[FastParser, str]]:
        """(port, length) → the derived parser of the layout read whole, and its name."""
        return {
            (port, n): (layout.fast, layout.name)
            for port, sized in self.table.items()
            for n, layout in sized.by_length.items()
            if layout.fast
        }

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        found = self.fast.get((port, len(frame)))  # type: ignore[arg-type]
        if found is None:
            return None
        try:
            fields = found[0](frame)
        except Unfit:
            return None
        return {self.tag: found[1], **fields}

    def read(self, frame: bytes, port: int | None, model: str) -> Read:
        sized = self.table.get(port) if port is not None else None
        if sized is None:
            raise UnknownPort(
                "no layout for this port",
                model=model,
                field="port",
                expected="fPort " + " or ".join(str(p) for p in self.table),
                got=port,
                frame=frame,
            )
        read = sized.read(frame, port, model)
        for each in (read, *read.alternatives):
            each.fields = {self.tag: each.layout, **each.fields}
        return read

    def build(self, fields: Mapping[str, Any]) -> bytes:
        return self.by_name[fields[self.tag]].build(fields)


class BySelector:
    """A value in the frame chooses the message: bits ``(frame[offset] >> shift) & mask``.
    ``field`` names the selector for errors. ``max_size`` caps the frame (12 on Sigfox)."""

    def __init__(
        self,
        table: Mapping[int, Sized | Layout],
        *,
        field: str,
        offset: int = 0,
        shift: int = 0,
        mask: int = 0xFF,
        max_size: int | None = None,
    ) -> None:
        self.table = {key: _sized(choice) for key, choice in table.items()}
        self.field = field
        self.offset = offset
        self.shift = shift
        self.mask = mask
        self.max_size = max_size

    def layouts(self) -> tuple[Layout, ...]:
        return tuple(layout for sized in self.table.values() for layout in sized.variants)

    def key(self, frame: bytes, model: str) -> int:
        if len(frame) <= self.offset:
            raise ShortFrame(
                "frame is too short",
                model=model,
                field=self.field,
                offset=len(frame),
                expected=f"at least {self.offset + 1} bytes",
                got=f"{len(frame)} bytes",
                frame=frame,
            )
        return (frame[self.offset] >> self.shift) & self.mask

    @cached_property
    def fast(self) -> dict[tuple[int, int], FastParser]:
        """(selector value, length) → the derived parser of the layout read whole."""
        limit = self.max_size if self.max_size is not None else MAX_FRAME
        return {
            (code, n): layout.fast
            for code, sized in self.table.items()
            for n, layout in sized.by_length.items()
            if layout.fast and self.offset < n <= limit
        }

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        if len(frame) <= self.offset:
            return None
        fast = self.fast.get(((frame[self.offset] >> self.shift) & self.mask, len(frame)))
        if fast is None:
            return None
        try:
            return fast(frame)
        except Unfit:
            return None

    def read(self, frame: bytes, port: int | None, model: str) -> Read:
        key = self.key(frame, model)
        sized = self.table.get(key)
        if sized is None:
            width = max(2, (self.mask.bit_length() + 3) // 4)
            raise UnknownMessageType(
                f"unknown {self.field}",
                model=model,
                field=self.field,
                offset=self.offset,
                expected="one of " + ", ".join(f"0x{k:0{width}X}" for k in sorted(self.table)),
                got=f"0x{key:0{width}X}",
                frame=frame,
            )
        if self.max_size is not None and len(frame) > self.max_size:
            raise TrailingBytes(
                "frame is longer than a Sigfox uplink",
                model=model,
                offset=self.max_size,
                expected=f"at most {self.max_size} bytes",
                got=f"{len(frame)} bytes",
                frame=frame,
            )
        return sized.read(frame, port, model)

    def build(self, fields: Mapping[str, Any]) -> bytes:
        failures: list[str] = []
        for sized in self.table.values():
            try:
                frame = sized.build(fields)
            except Exception as error:  # construct's and ours: try the next message
                failures.append(str(error))
                continue
            if self.table.get((frame[self.offset] >> self.shift) & self.mask) is sized:
                return frame
        raise DecodeError("no message of this model builds these fields", got=failures[:3])


class Custom:
    """Frames read by a function the model supplies (a grammar template compiled at run time).
    ``parse`` raises only :class:`DecodeError`."""

    def __init__(self, parse: Any, build: Any = None) -> None:
        self._parse = parse
        self._build = build

    def layouts(self) -> tuple[Layout, ...]:
        return ()

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        return None

    def read(self, frame: bytes, port: int | None, model: str) -> Read:
        return Read(self._parse(frame, port))

    def build(self, fields: Mapping[str, Any]) -> bytes:
        if self._build is None:
            raise DecodeError("this model cannot build frames")
        return bytes(self._build(fields))
