"""Throughput, derived from the records themselves, and its checks: decay, drop, stall.

Logged FPS is often a cumulative average since start: it hides a real decay and invents a fake
one (a run resumed from a checkpoint, or one that started fast, shows a "falling" fps while the
real rate is flat). So tbpeek never judges the logged value: it reads an env-step axis (or the
library's step-counter tag, when the x-axis counts updates) against the records' wall times,
samples it on a regular clock grid (30 s intervals, shorter for short runs, sized to the run's
own write cadence), and differentiates. The collection-only warm-up of off-policy learners
(before their first update) is left out.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tui.health.options import Thresholds
from tui.health.roles import RoleMap, series_for
from tui.health.stats import median, spearman
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot, Series
from tui.vocab.fmt import fmt_span as _dur  # one home for a verdict's spans of time
from tui.vocab.fmt import fmt_value as fmt
from tui.vocab.runstate import RunState, StallRule, liveness

MAX_INTERVALS = 4096  # the derived rate has at most this many intervals
EMPTY = Series(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))


def step_source(snap: RunSnapshot, roles: RoleMap) -> tuple[str, np.ndarray, np.ndarray, np.ndarray] | None:
    """(description, wall times, env-step counts, x-axis steps) throughput is derived from, or None.

    The step-counter tag's values when there is one; else the x-axis of the entropy tag, else
    of the longest tag that isn't an episode statistic (per-episode tags are indexed by episode
    count, whose rate falls as episodes get longer, which is learning, not slowness).
    """
    counter = roles.sources.get("step_counter")
    if counter is not None:
        s = series_for(snap, counter)
        if len(s) >= 2:
            return f"values of {counter.tags[0]}", s.wall_times, s.values, s.steps
    ent = roles.sources.get("entropy")
    if ent is not None and ent.tags[0] in snap.series and len(snap.series[ent.tags[0]]) >= 2:
        s = snap.series[ent.tags[0]]
        return f"steps of {ent.tags[0]}", s.wall_times, s.steps.astype(np.float64), s.steps
    episodic: set[str] = set()
    for role in ("reward", "episode_length"):
        src = roles.sources.get(role)
        if src is not None:
            episodic.update(src.tags)
    best = max((t for t in snap.series if t not in episodic), key=lambda t: len(snap.series[t]), default=None)
    if best is None or len(snap.series[best]) < 2:
        return None
    s = snap.series[best]
    return f"steps of {best}", s.wall_times, s.steps.astype(np.float64), s.steps


UPDATE_TAG = re.compile(r"(?i)(^|/)(loss|n_updates)$|_loss$|(^|/)losses/")
UPDATE_ROLES = ("entropy", "kl", "value_loss", "policy_loss", "grad_norm", "explained_variance")
TARGET_INTERVALS = 50  # a short run's intervals: its span / this (runs over 25 min keep 30 s)


def learning_start(snap: RunSnapshot, roles: RoleMap) -> float | None:
    """When the run's training updates began: the first record of its update-side tags (losses,
    entropy, KL…), or None when it has none. Before that, an off-policy learner only collects
    (DQN runs ~20x faster before `learning_starts`): that is a warm-up, not its throughput."""
    tags = {t for role in UPDATE_ROLES if role in roles.sources for t in roles.sources[role].tags}
    tags |= {t for t in snap.series if UPDATE_TAG.search(t)}
    firsts = [float(snap.series[t].wall_times[0]) for t in tags if t in snap.series and len(snap.series[t])]
    return min(firsts) if firsts else None


def interval_width(span: float, gap: float | None, min_window: float) -> float:
    """Seconds per derived-rate interval: `min_window` (30 s) for long runs, span / 50 for short
    ones (a 150 s run gets 3 s intervals, so a sudden drop after 27 s shows), never below
    the run's own write gap, never more than MAX_INTERVALS."""
    width = max(min(min_window, span / TARGET_INTERVALS), gap or 0.0)
    if width <= 0:
        width = min_window
    return max(width, span / MAX_INTERVALS)


def derive_rate(walls: np.ndarray, counts: np.ndarray, min_window: float = 30.0,
                xsteps: np.ndarray | None = None, gap: float | None = None) -> Series:
    """Steps per second over a regular clock grid (see `interval_width`).

    The counter is interpolated linearly at each grid time, so every interval has the same
    length however irregular the writes; intervals where the counter went back (a restart)
    are dropped. The result's steps are the run's x-axis step (`xsteps`, default the counter)
    at each interval's end, so the series plots beside the run's other curves.
    """
    xsteps = counts if xsteps is None else xsteps.astype(np.float64)
    ok = np.isfinite(walls) & np.isfinite(counts)
    if not ok.all():
        walls, counts, xsteps = walls[ok], counts[ok], xsteps[ok]
    if walls.shape[0] < 2:
        return EMPTY
    if np.any(walls[1:] < walls[:-1]):
        order = np.argsort(walls, kind="stable")
        walls, counts, xsteps = walls[order], counts[order], xsteps[order]
    if gap is None:
        gap = usual_gap(walls)
    span = walls[-1] - walls[0]
    if span <= 0:
        return EMPTY
    width = interval_width(span, gap, min_window)
    k = int(span // width)
    if k < 1:
        return EMPTY
    grid = walls[0] + width * np.arange(k + 1)
    at = np.interp(grid, walls, counts)
    rate = np.diff(at) / width
    keep = rate >= 0
    xs = np.interp(grid[1:], walls, xsteps) if xsteps is not counts else at[1:]
    return Series(np.round(xs[keep]).astype(np.int64), grid[1:][keep], rate[keep])


def usual_gap(walls: np.ndarray) -> float | None:
    if walls.shape[0] < 2:
        return None
    d = np.diff(walls[-257:])  # the recent cadence (cheaper, and what "usual" should mean now)
    if (d < 0).any():
        d = np.diff(np.sort(walls[-257:]))
    d = d[d > 0]
    return float(median(d)) if d.size else None


def judge_rate(rate: Series, th: Thresholds, source: str = "") -> Verdict:
    """steady / slow_decay / sudden_drop from a derived rate series."""
    r, t, st = rate.values, rate.wall_times, rate.steps
    skip = max(2, int(0.05 * r.shape[0]))  # start-up is slow: not a decay
    r, t, st = r[skip:], t[skip:], st[skip:]
    m = r.shape[0]
    ev: dict[str, Any] = {"source": source, "intervals": int(m)}
    if m < 5:
        return Verdict("throughput", "steady", Severity.OK,
                       f"too early to judge throughput ({m} intervals of the run so far)", evidence=ev)
    now = float(median(r[-5:]))
    ev["steps_per_s"] = now
    # Sudden, lasting drop: the first interval whose next 5 have a median <= 0.7x the median of
    # the 20 before, and the run has stayed down since (to now).
    # Before: the (up to) 20 intervals before the candidate, at least 5, so a short run's early
    # drop counts too.
    if m >= 10:
        # Candidates from rolling means (cumulative sums: O(m)), confirmed with medians, so an
        # outlier can neither make nor hide a drop.
        c = np.concatenate(([0.0], np.cumsum(r)))
        ks = np.arange(5, m - 4)
        lens = np.minimum(ks, 20)
        before_mean = (c[ks] - c[ks - lens]) / lens
        after_mean = (c[ks + 5] - c[ks]) / 5
        cand = ks[(after_mean <= th.drop_ratio * 1.15 * before_mean) & (now <= th.drop_ratio * before_mean * 1.15)][:64]
        for k in cand.tolist():
            before = median(r[max(0, k - 20):k])
            after = median(r[k:k + 5])
            if after <= th.drop_ratio * before and now <= th.drop_ratio * before and median(r[k:]) <= th.drop_ratio * before:
                ratio = now / before if before > 0 else 0.0
                sev = Severity.ALARM if ratio <= th.drop_alarm_ratio else Severity.WARN
                ev.update(before=float(before), after=now, ratio=float(ratio))
                return Verdict("throughput", "sudden_drop", sev,
                               f"throughput dropped from {fmt(before)} to {fmt(now)} steps/s "
                               f"({ratio:.0%}) and has stayed down", int(st[k]),
                               float(t[k] - (t[1] - t[0])), ev)
    if m >= th.decay_intervals:
        third = max(1, m // 3)
        early, late = float(median(r[:third])), float(median(r[-third:]))
        ev.update(early=early, late=late)
        # The rank correlation only when the level fell (it is the costlier test).
        rho = spearman(t, r) if early > 0 and late <= th.decay_ratio * early else float("nan")
        if rho <= th.decay_rho:
            ev["rho"] = rho
            return Verdict("throughput", "slow_decay", Severity.WARN,
                           f"throughput decays slowly: {fmt(early)} -> {fmt(late)} steps/s "
                           f"({late / early - 1:+.0%}, Spearman {rho:.2f}) - a leak or a threading bug?",
                           int(st[0]), float(t[0]), ev)
    return Verdict("throughput", "steady", Severity.OK, f"throughput steady at {fmt(now)} steps/s",
                   int(st[0]), float(t[0]), ev)


def judge_liveness(last_wall: float | None, gap: float | None, now: float, th: Thresholds,
                   mode: str) -> Verdict | None:
    """stalled / ended (by `tui.vocab.liveness`, the one run-state rule), or None while the
    run writes at its usual pace."""
    if last_wall is None:
        return None
    lv = liveness(last_wall, now, gap, mode=mode,
                  rule=StallRule(th.stall_floor, th.stall_warn, th.stall_alarm, th.ended_after))
    if lv.state is RunState.LIVE:
        return None
    silent = lv.silent or 0.0
    g = gap or 0.0
    ev = {"silent_s": silent, "usual_gap_s": g, "last_write": last_wall}
    if lv.state is RunState.ENDED:
        return Verdict("throughput", "ended", Severity.INFO,
                       f"no writes for {_dur(silent)}: the run has ended", None, last_wall, ev)
    sev = Severity.ALARM if lv.alarm else Severity.WARN
    return Verdict("throughput", "stalled", sev,
                   f"no writes for {_dur(silent)} ({silent / g:.0f}x the usual {_dur(g)} gap)" if g
                   else f"no writes for {_dur(silent)}", None, last_wall, ev)
