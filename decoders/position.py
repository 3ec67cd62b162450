"""The one position policy (docs/design.md §14), for every model and every envelope.

A device or a network that has no position still sends coordinates: zeros, a vendor's sentinel,
whatever its GPS chip wrote. Taking such a value for a place would send responders to the Gulf
of Guinea. No fix, then, when:

- both coordinates are exactly zero (one zero alone is a real place: the equator, Greenwich);
- a coordinate is the vendor's documented sentinel (its scaled value, e.g. 0x0FFFFFFF × 1e-6);
- a coordinate is beyond ±90° / ±180° or not a finite number;
- the device flags the position as failed.

A position the device flags as *cached* (old, uploaded later) is kept as a ``"cached"`` fix: it
is shown and remembered as history, never sent to AURA as where the wearer is now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from decoders.types import Fix, FixSource

NoFix = Literal["zero", "sentinel", "out_of_range", "failed"]


def no_fix_reason(
    latitude: float | None,
    longitude: float | None,
    *,
    sentinels: Iterable[float] = (),
    failed: bool = False,
) -> NoFix | None:
    """Why these coordinates are not a position, or None when they are one."""
    if failed:
        return "failed"
    if latitude is None or longitude is None:
        return "sentinel"  # a datasheet's "unknown" raw value parses as None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return "out_of_range"
    if latitude == 0 and longitude == 0:
        return "zero"
    sentinel_values = tuple(sentinels)
    if latitude in sentinel_values or longitude in sentinel_values:
        return "sentinel"
    if abs(latitude) > 90 or abs(longitude) > 180:
        return "out_of_range"
    return None


def position(
    latitude: float | None,
    longitude: float | None,
    *,
    source: FixSource = "gps",
    accuracy_m: float | None = None,
    fixed_at: datetime | None = None,
    sentinels: Iterable[float] = (),
    failed: bool = False,
    cached: bool = False,
) -> Fix | None:
    """A :class:`Fix`, or None when the policy above says these coordinates are no position."""
    if no_fix_reason(latitude, longitude, sentinels=sentinels, failed=failed) is not None:
        return None
    assert latitude is not None and longitude is not None  # no_fix_reason checked
    return Fix(
        latitude,
        longitude,
        accuracy_m=accuracy_m,
        source="cached" if cached else source,
        fixed_at=fixed_at,
    )
