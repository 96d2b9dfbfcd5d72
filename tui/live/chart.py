"""Line charts as ANSI text, with plotext (pure: no Textual).

Each call builds its own plotext figure (`tui.live.plotext_figure.new_figure`, the one place
that uses plotext's private figure API), so charts never share state and the module-global
``plotext.figure`` is never touched.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import plotext

from tui.groups import Band
from tui.live.model import ema
from tui.live.plotext_figure import new_figure
from tui.spark import downsample

X_MODES = ("step", "relative", "wall")
MAX_POINTS = 2000  # per line: a terminal chart can't show more than ~2 points per cell


RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Line:
    """One line. `marker` is plotext's: "braille" (thin, the default) or "hd" (half blocks:
    a heavier line, e.g. a seed group's median over its faint min and max)."""

    label: str
    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray
    color: RGB
    marker: str = "braille"


@dataclass(frozen=True)
class ChartSpec:
    """What to draw. `markers` are (step, colour) vertical lines, e.g. a verdict's since_step."""

    title: str
    lines: tuple[Line, ...]
    width: int
    height: int
    smoothing: float = 0.0
    x_mode: str = "step"
    log_y: bool = False
    markers: tuple[tuple[int, RGB], ...] = ()
    foreground: RGB = (200, 200, 200)
    start_wall: float | None = None  # the x origin of "relative" (default: first point)
    legend: bool = False
    notes: list[str] = field(default_factory=list)


def _x(line: Line, mode: str, origin: float) -> np.ndarray:
    if mode == "step":
        return line.steps.astype(np.float64)
    if mode == "relative":
        return (line.wall_times - origin) / 3600.0
    return line.wall_times.astype(np.float64)


def _thin(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= n:
        return x, y
    return downsample(x, n), downsample(y, n)


def render(spec: ChartSpec) -> str:
    """The chart as ANSI text of `spec.width` × `spec.height` cells."""
    fig = new_figure(max(20, spec.width), max(5, spec.height))
    fig.theme("colorless")
    fig.canvas("default")
    fg = plotext.pixel(foreground=spec.foreground)
    fig.axes(pixel=fg)
    fig.ruler([0, 1]).pixel(fg)
    fig.title(spec.title)
    origin = spec.start_wall
    if origin is None:
        starts = [float(ln.wall_times[0]) for ln in spec.lines if len(ln.wall_times)]
        origin = min(starts) if starts else 0.0
    drawn = 0
    x_all: list[np.ndarray] = []
    y_all: list[np.ndarray] = []
    for ln in spec.lines:
        if len(ln.values) == 0:
            continue
        y = ema(ln.values, spec.smoothing) if spec.smoothing > 0 else ln.values.astype(np.float64)
        x = _x(ln, spec.x_mode, origin)
        ok = np.isfinite(y) & np.isfinite(x)
        if spec.log_y:
            ok &= y > 0
        x, y = x[ok], y[ok]
        if x.size == 0:
            continue
        x, y = _thin(x, y, MAX_POINTS)
        marker = plotext.marker(ln.marker, plotext.pixel(foreground=ln.color))
        sig = fig.signal(x.tolist(), y.tolist(), marker=marker)
        sig.lines(True)  # connect sparse points (a derived rate has one per 30 s)
        if spec.legend:
            sig.label(ln.label)
        fig.draw(sig)
        x_all.append(x)
        y_all.append(y)
        drawn += 1
    if drawn == 0:
        why = "no positive values for a log scale" if spec.log_y else "no finite values"
        return f"{spec.title}\n  ({why})"
    if spec.log_y:
        fig.ruler(1).scale("log")
    ys = np.concatenate(y_all)
    lo_y, hi_y = float(ys.min()), float(ys.max())
    xs_all = np.concatenate(x_all)
    for step, color in spec.markers:
        pos = _marker_x(spec, step, origin)
        if pos is None or not xs_all.min() <= pos <= xs_all.max():
            continue
        # A vertical segment drawn as a signal (plotext's own vertical lines don't always show).
        mark = fig.signal([pos, pos], [lo_y, hi_y], marker=plotext.marker("braille", plotext.pixel(foreground=color)))
        mark.lines(True)
        fig.draw(mark)
    lo, hi = float(xs_all.min()), float(xs_all.max())
    if spec.x_mode == "wall":
        if hi > lo:
            walls = [float(p) for p in np.linspace(lo, hi, 4)]
            fmt = "%H:%M" if hi - lo < 86400 else "%m-%d %H:%M"
            fig.ruler(0).ticks(walls, [time.strftime(fmt, time.localtime(p)) for p in walls])
    elif hi > lo:  # round ticks: "250k", "1.5M" steps; "0.5h" since the start
        ticks = nice_ticks(lo, hi, max(2, spec.width // 16))
        unit = "h" if spec.x_mode == "relative" else ""
        fig.ruler(0).ticks(ticks, [si(p) + unit for p in ticks])
    if spec.legend:
        fig.legend()
    return str(fig.build().string())


def _marker_x(spec: ChartSpec, step: int, origin: float) -> float | None:
    if spec.x_mode == "step":
        return float(step)
    for ln in spec.lines:  # map the step to a wall time through the first line that has it
        if len(ln.steps) and ln.steps[0] <= step <= ln.steps[-1]:
            i = int(np.searchsorted(ln.steps, step))
            wall = float(ln.wall_times[min(i, len(ln.wall_times) - 1)])
            return (wall - origin) / 3600.0 if spec.x_mode == "relative" else wall
    return None


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """At most about `n` round positions (1, 2 or 5 times a power of ten apart) in [lo, hi]."""
    raw = (hi - lo) / max(1, n)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def si(x: float) -> str:
    """A tick label: 0, 750, 12.5k, 3M, 1.25G; small fractions as they are (0.25)."""
    a = abs(x)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:.4g}{suffix}"
    return f"{x:.4g}"


def nice(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def band_lines(band: Band, color: RGB, faint: RGB, x_mode: str = "step") -> tuple[Line, ...]:
    """A seed group's band as lines: min and max thin and faint, the median heavy, drawn last
    (plotext has no fill between lines).

    Args:
        band: a `tui.groups.Band` (its x is steps, or seconds since each run's start).
        color: the median's colour.
        faint: the min and max lines' colour.
        x_mode: "step" (band.x are steps) or "relative" (band.x are seconds since start).
    """
    if band.x.size == 0:
        return ()
    x = np.asarray(band.x, dtype=np.float64)
    # In "relative" mode the chart reads wall_times (seconds since start; origin 0).
    steps, walls = (x, x) if x_mode == "step" else (np.zeros_like(x), x)
    return (Line("min", steps, walls, band.lo, faint),
            Line("max", steps, walls, band.hi, faint),
            Line("median", steps, walls, band.median, color, marker="hd"))
