"""Text sparklines and the downsampling behind them (pure: the live app and the review
draw with these)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def downsample(values: np.ndarray, width: int) -> np.ndarray:
    """At most `width` values: the mean of each of `width` equal chunks (NaN-aware)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size <= width:
        return v
    starts = np.linspace(0, v.size, width + 1).astype(int)[:-1]
    finite = np.isfinite(v)
    sums = np.add.reduceat(np.where(finite, v, 0.0), starts)
    counts = np.add.reduceat(finite.astype(np.int64), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


SPARK_MIN_SPAN = 0.02  # a sparkline's scale covers at least 2 % of the values' magnitude


def sparkline(values: Sequence[float], width: int, bounds: tuple[float, float] | None = None) -> str:
    """A text sparkline of exactly `width` cells (blank-padded on the left when short).

    Non-finite values show as ``×`` so a NaN is never hidden; a flat series sits mid-height.
    The scale spans at least `SPARK_MIN_SPAN` of the values' magnitude, so jitter of a few
    parts in a thousand (entropy pinned at its maximum) draws as the flat line it is, not as
    full-height noise. `bounds` fixes the scale instead (entropy on 0..its maximum, so a
    pinned run draws along the top and a collapse falls to the bottom); values outside clip.
    """
    if width <= 0:
        return ""
    v = downsample(np.asarray(values, dtype=np.float64), width)
    if v.size == 0:
        return " " * width
    finite = v[np.isfinite(v)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    floor = SPARK_MIN_SPAN * max(abs(lo), abs(hi))
    if bounds is not None and bounds[1] > bounds[0]:
        lo, hi = bounds
    elif 1e-12 * max(1.0, abs(hi)) < hi - lo < floor:
        mid = (lo + hi) / 2
        lo, hi = mid - floor / 2, mid + floor / 2
    cells = []
    top = len(SPARK_BLOCKS) - 1
    for x in v:
        if not math.isfinite(x):
            cells.append("×")
        elif hi - lo <= 1e-12 * max(1.0, abs(hi)):
            cells.append(SPARK_BLOCKS[top // 2])
        else:
            cells.append(SPARK_BLOCKS[min(top, max(0, round((x - lo) / (hi - lo) * top)))])
    return " " * (width - len(cells)) + "".join(cells)
