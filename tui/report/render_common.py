"""Formatting shared by the review renderers (text, Markdown, HTML) and the review screen."""

from __future__ import annotations

import math
import time
from typing import Sequence

from tui import spark
from tui.health.verdict import Severity

BLOCKS = "▁▂▃▄▅▆▇█"
SEVERITY_MARK = {Severity.OK: "●", Severity.INFO: "●", Severity.WARN: "▲", Severity.ALARM: "■"}
STATE_MARK = {"running": "▶", "stalled": "‖", "ended": "■"}


def fmt_clock(wall: float | None, ref: float | None = None) -> str:
    """Local clock time: ``13:05``, with the date when it isn't `ref`'s day (``2018-03-20 13:05``)."""
    if wall is None or not math.isfinite(wall):
        return "--:--"
    t = time.localtime(wall)
    if ref is not None and time.localtime(ref)[:3] == t[:3]:
        return time.strftime("%H:%M", t)
    return time.strftime("%Y-%m-%d %H:%M", t)


def fmt_date(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(wall))


def fmt_step(step: int | float | None) -> str:
    """120000 -> '120k', 1_500_000 -> '1.5M', 950 -> '950'."""
    if step is None:
        return "?"
    a = abs(step)
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            q = step / div
            txt = f"{q:.1f}" if abs(q) < 10 and q != int(q) else f"{q:.0f}"
            return f"{txt}{unit}"
    return f"{int(step)}"


def fmt_duration(seconds: float | None) -> str:
    """'2h 05m', '45m', '30s', '3d 4h'."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(max(0.0, seconds)))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m"
    return f"{s}s"


def fmt_num(x: float | None) -> str:
    """A compact number: 4 significant digits, 'nan' for non-finite, '—' for None."""
    if x is None:
        return "—"
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5 or a < 1e-3:
        return f"{x:.3g}"
    return f"{x:.4g}"


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """The app's sparkline (`tui.spark.sparkline`), `width` cells wide (default: one per value)."""
    return spark.sparkline(values, width or len(values))


def best_text(best: float | None, direction: str | None) -> str:
    if best is None or direction is None:
        return "—"
    return ("↑" if direction == "max" else "↓") + fmt_num(best)


def share(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def timeline_clocks(walls: Sequence[float | None], now: float) -> list[str]:
    """Clock times of a timeline: the date only where the day differs from the line above
    (or, for the first line, from today)."""
    out, ref = [], now
    for w in walls:
        out.append(fmt_clock(w, ref))
        if w is not None:
            ref = w
    return out


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 override', '2 overrides'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def at(clock: str, step: int | None) -> str:
    """``13:05 · step 120k`` (the step left out when unknown)."""
    return clock if step is None else f"{clock} · step {fmt_step(step)}"
