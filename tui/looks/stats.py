"""Statistics of the look log, per local day: how often, why, and how often for nothing."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise

from tui.looks.log import Look


@dataclass(frozen=True)
class DayStats:
    """One local day of looks.

    Attributes:
        day: the local calendar day.
        looks: every look that started that day (all triggers).
        scheduled: looks that were due.
        overrides: looks opened early, with a reason.
        alarms: alarm breakthroughs.
        budget_off: sessions run with ``--no-budget``.
        median_gap: median seconds between the starts of consecutive looks that day (None with
            fewer than two looks).
        nothing_new: share (0..1) of the day's looks that found nothing new, among those where
            it is known (None if none is known) — the number that shows a habit.
        looked_seconds: total time charts were open (looks that have ended).
        by_hour: looks started in each local hour, 24 counts.
    """

    day: date
    looks: int
    scheduled: int
    overrides: int
    alarms: int
    budget_off: int
    median_gap: float | None
    nothing_new: float | None
    looked_seconds: float
    by_hour: tuple[int, ...]


def daily_stats(looks: Iterable[Look], days: int, now: float, tz: tzinfo | None = None) -> list[DayStats]:
    """Stats of the last `days` local days up to and including today, oldest first.

    Args:
        looks: looks in any order (merged, as `read_looks` returns them).
        days: how many days (at least 1).
        now: the current time (epoch seconds); "today" is its local day.
        tz: the time zone of days and hours; None: the local zone.

    Raises:
        ValueError: `days` is below 1.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    today = datetime.fromtimestamp(now, tz).date()
    first = today - timedelta(days=days - 1)
    by_day: dict[date, list[tuple[datetime, Look]]] = {first + timedelta(i): [] for i in range(days)}
    for look in looks:
        dt = datetime.fromtimestamp(look.start, tz)
        if dt.date() in by_day:
            by_day[dt.date()].append((dt, look))
    out = []
    for day, items in by_day.items():
        items.sort(key=lambda x: x[1].start)
        starts = [k.start for _, k in items]
        gaps = [b - a for a, b in pairwise(starts)]
        known = [k.found_new for _, k in items if k.found_new is not None]
        hours = [0] * 24
        for dt, _ in items:
            hours[dt.hour] += 1
        triggers = Counter(k.trigger for _, k in items)
        out.append(DayStats(
            day=day,
            looks=len(items),
            scheduled=triggers["scheduled"],
            overrides=triggers["override"],
            alarms=triggers["alarm"],
            budget_off=triggers["budget_off"],
            median_gap=statistics.median(gaps) if gaps else None,
            nothing_new=(sum(1 for f in known if not f) / len(known)) if known else None,
            looked_seconds=sum(k.duration or 0.0 for _, k in items),
            by_hour=tuple(hours),
        ))
    return out
