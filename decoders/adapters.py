"""The project's construct adapters: wire integers and bytes to the values datasheets name.

Each also emits its conversion as inline source (``_emit_decode``) for the fast path
(:mod:`decoders.fastpath`), so the two parsers share one definition of every conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import construct as cs


class Invalid:
    """A parsed value its field's datasheet rules out (``expected`` says what it allows).
    Internal to a parse: :func:`decoders.schema.plain` replaces it by the value and a warning."""

    __slots__ = ("expected", "value")

    def __init__(self, value: Any, expected: str) -> None:
        self.value = value
        self.expected = expected

    def __repr__(self) -> str:
        return f"Invalid({self.value!r}, expected {self.expected})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Invalid) and (self.value, self.expected) == (
            other.value,
            other.expected,
        )

    __hash__ = None  # type: ignore[assignment]


class Scaled(cs.Adapter):  # type: ignore[misc]
    """An integer on the wire, a scaled number in Python: ``value = raw * scale + offset``.

    ``unknown`` is the raw sentinel a datasheet uses for "no value" (parsed as ``None``);
    ``valid`` is the closed range a real value must lie in. Building refuses a value outside it;
    parsing gives an :class:`Invalid` holding the value, which the layout turns into a warning:
    one impossible reading must not cost the rest of the frame (its alarm bit above all).
    """

    def __init__(
        self,
        subcon: cs.Construct,
        scale: float = 1,
        *,
        offset: float = 0,
        digits: int | None = None,
        unknown: int | None = None,
        valid: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(subcon)
        self.scale = scale
        self.offset = offset
        self.digits = digits if digits is not None else _digits_for(scale)
        self.unknown = unknown
        self.valid = valid

    def _decode(self, obj: int, context: Any, path: str) -> float | int | Invalid | None:
        if obj == self.unknown:
            return None
        value = obj * self.scale + self.offset
        value = round(value, self.digits) if self.digits else round(value)
        if self.valid is not None and not self.valid[0] <= value <= self.valid[1]:
            return Invalid(value, f"{self.valid[0]}..{self.valid[1]}")
        return value

    def _emit_decode(self, var: str, constant: Callable[[Any], str]) -> list[str]:
        """The same conversion as :meth:`_decode`, as inline source for the fast path."""
        rounding = f"round({var}, {self.digits})" if self.digits else f"round({var})"
        body = [f"{var} = {var} * {self.scale!r} + {self.offset!r}", f"{var} = {rounding}"]
        if self.valid is not None:
            low, high = self.valid
            body.append(f"if not ({low!r} <= {var} <= {high!r}): raise Unfit")
        if self.unknown is None:
            return body
        return [f"if {var} == {self.unknown!r}: {var} = None", "else:", *("    " + b for b in body)]

    def _encode(self, obj: float | None, context: Any, path: str) -> int:
        if obj is None:
            if self.unknown is None:
                raise cs.ValidationError("this field has no 'unknown' value", path=path)
            return self.unknown
        self._check(obj, path)
        return round((obj - self.offset) / self.scale)

    def _check(self, value: float, path: str) -> None:
        if self.valid is not None and not self.valid[0] <= value <= self.valid[1]:
            raise cs.ValidationError(
                f"expected {self.valid[0]}..{self.valid[1]}, got {value}", path=path
            )


class Named(cs.Adapter):  # type: ignore[misc]
    """An integer code on the wire, its datasheet name in Python. An undefined code parses as an
    :class:`Invalid` holding the code and naming the codes the datasheet does define."""

    def __init__(self, subcon: cs.Construct, names: Mapping[int, str]) -> None:
        super().__init__(subcon)
        self.names = dict(names)
        self.codes = {name: code for code, name in self.names.items()}

    def _decode(self, obj: int, context: Any, path: str) -> str | Invalid:
        try:
            return self.names[obj]
        except KeyError:
            return Invalid(obj, f"one of {sorted(self.names)}")

    def _emit_decode(self, var: str, constant: Callable[[Any], str]) -> list[str]:
        names = constant(self.names)
        return [f"{var} = {names}.get({var}, MISSING)", f"if {var} is MISSING: raise Unfit"]

    def _encode(self, obj: str, context: Any, path: str) -> int:
        try:
            return self.codes[obj]
        except KeyError:
            raise cs.ValidationError(
                f"expected one of {sorted(self.codes)}, got {obj!r}", path=path
            ) from None


def _digits_for(scale: float) -> int:
    """Decimal places that keep every step of ``scale`` and nothing more (1e-7 → 7, 0.025 → 3)."""
    exponent = Decimal(repr(scale)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


class HexBytes(cs.Adapter):  # type: ignore[misc]
    """Raw bytes on the wire (a MAC address, a serial number), upper-case hex text in Python, so
    the field stays JSON-safe and builds back."""

    def __init__(self, length: int) -> None:
        super().__init__(cs.Bytes(length))

    def _decode(self, obj: bytes, context: Any, path: str) -> str:
        return bytes(obj).hex().upper()

    def _emit_decode(self, var: str, constant: Callable[[Any], str]) -> list[str]:
        return [f"{var} = {var}.hex().upper()"]

    def _encode(self, obj: str, context: Any, path: str) -> bytes:
        return bytes.fromhex(obj)
