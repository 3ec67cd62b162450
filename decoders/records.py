"""Frames that are a run of key-value records (Milesight channels, SenseCAP multi-record uplinks):
the :class:`~decoders.frames.Frames` reader for them. Each record is the fixed layout its key
selects, so its size says where the next one begins, and nothing after an unknown key can be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders.errors import AuraUplinkError, DecodeError, ShortFrame, UnknownMessageType
from decoders.frames import Read
from decoders.schema import Layout, Reading, decoder_warning
from decoders.types import UplinkWarning


class Records:
    """A frame that is a run of records (Milesight channels, SenseCAP multi-record uplinks):
    each is the fixed layout its first ``key_size`` bytes (big-endian) select, key included.

    Records before one the model does not know (or one cut short) are kept, with a warning at
    the byte where reading stopped: record sizes come only from the table, so nothing after an
    unknown key can be read. A frame whose first record cannot be read is an error."""

    def __init__(
        self,
        table: Mapping[int, Layout],
        *,
        key_size: int,
        name: str = "records",
        key_field: str = "record",
    ) -> None:
        self.table = dict(table)
        self.key_size = key_size
        self.name = name
        self.key_field = key_field
        self.by_name = {layout.name: layout for layout in self.table.values()}

    def layouts(self) -> tuple[Layout, ...]:
        return tuple(self.table.values())

    def quick(self, frame: bytes, port: int | None) -> dict[str, Any] | None:
        return None  # records: each one's size decides where the next begins

    def read(self, frame: bytes, port: int | None, model: str) -> Read:
        out: list[dict[str, Any]] = []
        warnings: list[UplinkWarning] = []
        start = 0
        while start < len(frame) or not out:
            try:
                fields, found, size = self._record(frame, start, len(out), model)
            except DecodeError as error:
                if not out:
                    raise
                got = f" ({error.got})" if error.got else ""
                warnings.append(
                    decoder_warning(
                        error.field,
                        f"{error.reason}{got}: {len(frame) - start} bytes from byte {start}"
                        " not read",
                        start,
                    )
                )
                break
            except _CutRecord as cut:
                if out:  # records before it were read whole: the cut one is only a warning
                    warnings.append(
                        decoder_warning(
                            cut.error.field,
                            f"{cut.error.reason}: {len(frame) - start} bytes from byte {start}"
                            f" not read (expected {cut.error.expected}, got {cut.error.got})",
                            start,
                        )
                    )
                    break
                # The frame's only record, cut short: what it holds whole is read (its alarm
                # bit may be there), trusted only if it calls for help.
                partial = cut.reading
                return Read({self.name: [partial.fields]}, partial.warnings, cut.error)
            out.append(fields)
            warnings.extend(found)
            start += size
        return Read({self.name: out}, warnings)

    def _record(
        self, frame: bytes, start: int, index: int, model: str
    ) -> tuple[dict[str, Any], list[UplinkWarning], int]:
        """One record's fields, warnings and size; :class:`_CutRecord` for a record the frame
        ends inside of, :class:`DecodeError` for a key the model does not know."""
        prefix = f"{self.name}[{index}]."
        size = self.key_size
        if len(frame) < start + size:
            raise ShortFrame(
                "frame is too short",
                model=model,
                field=prefix + self.key_field,
                offset=len(frame),
                expected=f"at least {start + size} bytes",
                got=f"{len(frame)} bytes",
                frame=frame,
            )
        key = _key(frame, start, size)
        layout = self.table.get(key)
        if layout is None:
            raise UnknownMessageType(
                f"unknown {self.key_field}",
                model=model,
                field=prefix + self.key_field,
                offset=start,
                expected="one of " + ", ".join(f"0x{k:0{2 * size}X}" for k in sorted(self.table)),
                got=f"0x{key:0{2 * size}X}",
                frame=frame,
            )
        end = start + layout.size
        if len(frame) < end:
            error = ShortFrame(
                f"{layout.name} record is too short",
                model=model,
                field=prefix + (layout.field_at(len(frame) - start) or self.key_field),
                offset=len(frame),
                expected=f"{layout.size} bytes from byte {start}",
                got=f"{len(frame) - start} bytes",
                frame=frame,
            )
            raise _CutRecord(error, _shifted(layout.read_cut(frame[start:], model), prefix, start))
        return (*_shifted(layout.read(frame[start:end], model), prefix, start), layout.size)

    def build(self, fields: Mapping[str, Any]) -> bytes:
        return b"".join(
            self.by_name[record[self.key_field]].build(record) for record in fields[self.name]
        )


class _CutRecord(AuraUplinkError):
    """A record the frame ends inside of: control flow inside Records.read, never raised out."""

    def __init__(self, error: ShortFrame, reading: tuple[dict[str, Any], list[UplinkWarning]]):
        super().__init__(error.reason)
        self.error = error
        self.reading = Read(*reading)


def _shifted(
    reading: Reading, prefix: str, start: int
) -> tuple[dict[str, Any], list[UplinkWarning]]:
    """A record's reading, its warnings renamed and moved to where it sits in the frame."""
    warnings = [
        {
            **w,
            "field": prefix + str(w["field"]),
            **({"offset": start + w["offset"]} if w.get("offset") is not None else {}),
        }
        for w in reading.warnings
    ]
    return reading.fields, warnings


def _key(frame: bytes, start: int, size: int) -> int:
    return int.from_bytes(frame[start : start + size], "big")
