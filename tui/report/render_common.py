"""Formatting shared by the review renderers (text, Markdown, HTML) and the review screen.

Steps, numbers and durations are `tui.vocab`'s (one format each, also in the app)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from tui import spark
from tui.vocab import Severity, fmt_num, fmt_step

SEVERITY_MARK = {Severity.OK: "●", Severity.INFO: "●", Severity.WARN: "▲", Severity.ALARM: "■"}
STATE_MARK = {"live": "▶", "stalled": "‖", "ended": "■"}


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


def at(clock: str, step: int | None) -> str:
    """``13:05 · step 120k`` (the step left out when unknown)."""
    return clock if step is None else f"{clock} · step {fmt_step(step)}"
