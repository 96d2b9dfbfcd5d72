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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

import numpy as np

from tui.health.options import Thresholds
from tui.health.roles import RoleMap, series_for
from tui.health.stats import Lazy, Row, as_rows, by_length, median, median_rows, spearman
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot, Series
from tui.vocab.fmt import fmt_span as _dur  # one home for a verdict's spans of time
from tui.vocab.fmt import fmt_value as fmt
from tui.vocab.runstate import RunState, StallRule, liveness

MAX_INTERVALS = 4096  # the derived rate has at most this many intervals
EMPTY = Series(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))


def step_source(snap: RunSnapshot, roles: RoleMap) -> tuple[str, np.ndarray, np.ndarray, np.ndarray] | None:
    """(description, wall times, env-step counts, x-axis steps) throughput is derived from, or None
    (the counts are the x-axis steps themselves, integers, when they are a tag's steps).

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
        return f"steps of {ent.tags[0]}", s.wall_times, s.steps, s.steps
    episodic: set[str] = set()
    for role in ("reward", "episode_length"):
        src = roles.sources.get(role)
        if src is not None:
            episodic.update(src.tags)
    best = max((t for t in snap.series if t not in episodic), key=lambda t: len(snap.series[t]), default=None)
    if best is None or len(snap.series[best]) < 2:
        return None
    s = snap.series[best]
    return f"steps of {best}", s.wall_times, s.steps, s.steps


UPDATE_TAG = re.compile(r"(?i)(^|/)(loss|n_updates)$|_loss$|(^|/)losses/")
UPDATE_ROLES = ("entropy", "kl", "value_loss", "policy_loss", "grad_norm", "explained_variance")
TARGET_INTERVALS = 50  # a short run's intervals: its span / this (runs over 25 min keep 30 s)


@lru_cache(maxsize=4096)
def _update_tag(tag: str) -> bool:
    """Whether a tag is an update-side one (by name; the runs of a sweep share their tags)."""
    return UPDATE_TAG.search(tag) is not None


def learning_start(snap: RunSnapshot, roles: RoleMap, tags: Sequence[str] | None = None) -> float | None:
    """When the run's training updates began: the first record of its update-side tags (losses,
    entropy, KL…), or None when it has none. Before that, an off-policy learner only collects
    (DQN runs ~20x faster before `learning_starts`): that is a warm-up, not its throughput.
    `tags`: `learning_tags` of the run, when the caller has them (they depend on its tag set only)."""
    ser = snap.series
    firsts = [s.wall_times.item(0) for t in (learning_tags(roles, ser) if tags is None else tags)
              if (s := ser.get(t)) is not None and s.steps.shape[0]]
    return min(firsts) if firsts else None


def learning_tags(roles: RoleMap, tags: Iterable[str]) -> tuple[str, ...]:
    """The update-side tags among a run's `tags` and its roles' (`learning_start` reads their first records)."""
    found = {t for role in UPDATE_ROLES if role in roles.sources for t in roles.sources[role].tags}
    found |= {t for t in tags if _update_tag(t)}
    return tuple(found)


def interval_width(span: float, gap: float | None, min_window: float) -> float:
    """Seconds per derived-rate interval: `min_window` (30 s) for long runs, span / 50 for short
    ones (a 150 s run gets 3 s intervals, so a sudden drop after 27 s shows), never below
    the run's own write gap, never more than MAX_INTERVALS (`interval_widths` of one run)."""
    return float(interval_widths(np.array([span], np.float64), np.array([gap or 0.0]), min_window)[0])


def interval_widths(span: np.ndarray, gap: np.ndarray, min_window: float) -> np.ndarray:
    """`interval_width` of many runs (`gap`: 0 where unknown). (fmin / fmax: a NaN loses, as in
    Python's min and max with the number first.)"""
    width = np.fmax(np.fmin(min_window, span / TARGET_INTERVALS), gap)
    width[width <= 0] = min_window
    out: np.ndarray = np.fmax(width, span / MAX_INTERVALS)
    return out


def derive_rate(walls: np.ndarray, counts: np.ndarray, min_window: float = 30.0,
                xsteps: np.ndarray | None = None, gap: float | None = None) -> Series:
    """Steps per second over a regular clock grid (see `interval_width`).

    The counter is interpolated linearly at each grid time, so every interval has the same
    length however irregular the writes; intervals where the counter went back (a restart)
    are dropped. The result's steps are the run's x-axis step (`xsteps`, default the counter)
    at each interval's end, so the series plots beside the run's other curves.
    (`derive_rates` with one run.)
    """
    return derive_rates([(walls, counts, xsteps, gap)], min_window)[0]


RateInput = tuple[np.ndarray, np.ndarray, np.ndarray | None, float | None]  # walls, counts, xsteps, gap


def derive_rates(items: Sequence[RateInput], min_window: float = 30.0) -> list[Series]:
    """`derive_rate` of many runs: runs with the same number of records and intervals are
    interpolated together (`interp_rows`)."""
    out: list[Series] = [EMPTY] * len(items)
    for idx, W, C, X, width, k in _grids(items, min_window):
        chunk = max(1, INTERP_BUDGET // (W.shape[1] * (k + 1)))
        for c0 in range(0, len(idx), chunk):
            part = slice(c0, c0 + chunk)
            Wp, Cp, wd = W[part], C[part], width[part]
            grid = Wp[:, :1] + wd[:, None] * np.arange(k + 1)
            at = interp_rows(grid, Wp, Cp)
            rate = np.diff(at, axis=1) / wd[:, None]
            xs = at[:, 1:]
            if X is not None and not np.array_equal(X[part], Cp):  # the x-axis is the counter itself (SB3): the same numbers
                xs = interp_rows(grid[:, 1:], Wp, X[part])
            steps = np.round(xs).astype(np.int64)
            keep = rate >= 0
            whole = cast(list[bool], keep.all(axis=1).tolist())
            for j, i in enumerate(idx[part]):
                if whole[j]:
                    out[i] = Series(steps[j], grid[j, 1:], rate[j])
                else:
                    out[i] = Series(steps[j][keep[j]], grid[j, 1:][keep[j]], rate[j][keep[j]])
    return out


INTERP_BUDGET = 4_000_000  # grid points x records per group handled at once (bounds the memory)
_Grid = tuple[np.ndarray, np.ndarray, np.ndarray | None, float, int]  # walls, counts, xsteps, width, intervals
# Runs whose grids are made together: (their indices, walls, counts and x-axis steps as
# rows, interval widths, intervals).
_Grids = tuple[list[int], np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, int]


def _grids(items: Sequence[RateInput], min_window: float) -> list[_Grids]:
    """The runs' records, ready for the grid (finite, in time order), with their interval widths
    and counts, in groups of runs with as many records and intervals (runs without a rate: in
    none). Runs of equal length whose records need no cleaning are checked and sized together;
    the others are cleaned one by one (`_prepare`)."""
    out: list[_Grids] = []
    lengths: dict[int, list[int]] = {}
    alone: list[int] = []
    for i, (walls, counts, xsteps, gap) in enumerate(items):
        if gap is not None and walls.shape[0] >= 2 and counts.shape == walls.shape and \
                (xsteps is None or xsteps.shape == walls.shape):
            lengths.setdefault(walls.shape[0], []).append(i)
        else:
            alone.append(i)
    for idx in lengths.values():
        if len(idx) == 1:  # alone: cleaned on its own
            alone.append(idx[0])
            continue
        W = as_rows([items[i][0] for i in idx])
        C = as_rows([items[i][1] for i in idx])
        clean = np.isfinite(W).all(axis=1) & np.isfinite(C).all(axis=1) & (W[:, 1:] >= W[:, :-1]).all(axis=1)
        with np.errstate(all="ignore"):  # (rows not clean are cleaned alone)
            span = W[:, -1] - W[:, 0]
            width = interval_widths(span, np.array([items[i][3] for i in idx], np.float64), min_window)
            k = span // width
            ks = np.where(clean & (span > 0) & (k >= 1), k, 0).astype(np.int64).tolist()  # 0: no grid, or cleaned alone
        same: dict[tuple[int, bool], list[int]] = {}
        for j, (i, kj, ok) in enumerate(zip(idx, ks, clean.tolist(), strict=True)):
            if kj:
                same.setdefault((kj, items[i][2] is not None), []).append(j)
            elif not ok:
                alone.append(i)
        for (kj, has_x), js in same.items():
            rows = np.asarray(js) if len(js) < len(idx) else slice(None)
            X = as_rows([x for j in js if (x := items[idx[j]][2]) is not None]) if has_x else None
            out.append(([idx[j] for j in js], W[rows], C[rows], X, width[rows], kj))
    for i in alone:
        prep = _prepare(*items[i], min_window)
        if prep is not None:
            walls, counts, xs, w, kj = prep
            out.append(([i], walls[None, :], counts[None, :], None if xs is None else xs[None, :],
                        np.array([w]), kj))
    return out


def _prepare(walls: np.ndarray, counts: np.ndarray, xsteps: np.ndarray | None, gap: float | None,
             min_window: float) -> _Grid | None:
    """One run's records cleaned for the grid: non-finite ones dropped, put in time order."""
    xs = None if xsteps is None else xsteps.astype(np.float64)
    ok = np.isfinite(walls) & np.isfinite(counts)
    if not ok.all():
        walls, counts = walls[ok], counts[ok]
        xs = None if xs is None else xs[ok]
    if walls.shape[0] < 2:
        return None
    if np.any(walls[1:] < walls[:-1]):
        order = np.argsort(walls, kind="stable")
        walls, counts = walls[order], counts[order]
        xs = None if xs is None else xs[order]
    if gap is None:
        gap = usual_gap(walls)
    span = walls[-1] - walls[0]
    if span <= 0:
        return None
    width = interval_width(span, gap, min_window)
    k = int(span // width)
    if k < 1:
        return None
    return walls, counts, xs, width, k


def interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(x[i], xp[i], fp[i])`` for every row (np.interp row by row: measured, its
    binary search beats any all-rows formulation at a sweep's sizes)."""
    if x.shape[0] == 1:
        one: np.ndarray = np.interp(x[0], xp[0], fp[0])
        return one[None, :]
    return as_rows([np.interp(a, b, c) for a, b, c in zip(x, xp, fp, strict=True)])


def usual_gap(walls: np.ndarray) -> float | None:
    """The run's usual seconds between writes: the median positive gap of its recent records."""
    return usual_gaps([walls])[0]


def usual_gaps(walls: Sequence[np.ndarray]) -> list[float | None]:
    """`usual_gap` of many runs (runs of equal length whose records are in order: at once)."""
    if len(walls) == 1:
        return [_gap(walls[0][-257:]) if walls[0].shape[0] >= 2 else None]
    out: list[float | None] = [None] * len(walls)
    for idx, W in by_length([w[-257:] for w in walls]):  # the recent cadence (what "usual" should mean now)
        if W.shape[1] < 2:
            continue
        D = np.diff(W, axis=1)
        simple = cast(list[bool], (D > 0).all(axis=1).tolist())
        med: list[float] | None = median_rows(D).tolist() if any(simple) else None
        for j, i in enumerate(idx):
            out[i] = med[j] if med is not None and simple[j] else _gap(W[j])
    return out


def _gap(recent: np.ndarray) -> float | None:
    d = np.diff(recent)
    if (d < 0).any():
        d = np.diff(np.sort(recent))
    d = d[d > 0]
    return float(median(d)) if d.size else None


def judge_rate(rate: Series, th: Thresholds, source: str = "") -> Verdict:
    """steady / slow_decay / sudden_drop from a derived rate series (`judge_rates` with one)."""
    return judge_rates([(rate, source)], th)[0]


def judge_rates(items: Sequence[tuple[Series, str]], th: Thresholds) -> list[Verdict]:
    """`judge_rate` of many runs: each statistic once for all rates of equal length."""
    out: list[Verdict | None] = [None] * len(items)
    for idx, R in by_length([rate.values for rate, _ in items]):
        skip = max(2, int(0.05 * R.shape[1]))  # start-up is slow: not a decay
        lazy = Lazy(_rate_features(R[:, skip:], th))
        for j, i in enumerate(idx):
            out[i] = _rate_verdict(*items[i], skip, th, lazy.row(j))
    return [v for v in out if v is not None]


def _rate_features(R: np.ndarray, th: Thresholds) -> dict[str, list[Any]]:
    """What `judge_rate` decides on, for each row (rates after the start-up)."""
    rows, m = R.shape
    none: list[Any] = [None] * rows
    if m < 5:
        return {"now": none, "cand": none, "early": none, "late": none}
    now = median_rows(R[:, -5:])
    cand = none
    if m >= 10:
        # Candidates from rolling means (cumulative sums: O(m)), confirmed with medians, so an
        # outlier can neither make nor hide a drop.
        c = np.concatenate((np.zeros((rows, 1)), np.cumsum(R, axis=1)), axis=1)
        ks = np.arange(5, m - 4)
        lens = np.minimum(ks, 20)
        before_mean = (c[:, ks] - c[:, ks - lens]) / lens
        after_mean = (c[:, ks + 5] - c[:, ks]) / 5
        hit = (after_mean <= th.drop_ratio * 1.15 * before_mean) & (now[:, None] <= th.drop_ratio * before_mean * 1.15)
        cand = [ks[h][:64].tolist() if any_hit else [] for h, any_hit in zip(hit, hit.any(axis=1).tolist(), strict=True)]
    early = late = none
    if m >= th.decay_intervals:
        third = max(1, m // 3)
        early, late = median_rows(R[:, :third]).tolist(), median_rows(R[:, -third:]).tolist()
    return {"now": now.tolist(), "cand": cand, "early": early, "late": late}


def _rate_verdict(rate: Series, source: str, skip: int, th: Thresholds, f: Row) -> Verdict:
    """judge_rate's decision for one run, from its row of `_rate_features`."""
    r = rate.values[skip:]  # (the times and steps after the start-up: sliced where they are read)
    m = r.shape[0]
    ev: dict[str, Any] = {"source": source, "intervals": int(m)}
    if m < 5:
        return Verdict("throughput", "steady", Severity.OK,
                       f"too early to judge throughput ({m} intervals of the run so far)", evidence=ev)
    now = f["now"]
    ev["steps_per_s"] = now
    # Sudden, lasting drop: the first interval whose next 5 have a median <= 0.7x the median of
    # the 20 before, and the run has stayed down since (to now).
    # Before: the (up to) 20 intervals before the candidate, at least 5, so a short run's early
    # drop counts too.
    for k in f["cand"] or ():
        before = median(r[max(0, k - 20):k])
        after = median(r[k:k + 5])
        if after <= th.drop_ratio * before and now <= th.drop_ratio * before and median(r[k:]) <= th.drop_ratio * before:
            ratio = now / before if before > 0 else 0.0
            sev = Severity.ALARM if ratio <= th.drop_alarm_ratio else Severity.WARN
            ev.update(before=float(before), after=now, ratio=float(ratio))
            t, st = rate.wall_times[skip:], rate.steps[skip:]
            return Verdict("throughput", "sudden_drop", sev,
                           f"throughput dropped from {fmt(before)} to {fmt(now)} steps/s "
                           f"({ratio:.0%}) and has stayed down", int(st[k]),
                           float(t[k] - (t[1] - t[0])), ev)
    if f["early"] is not None:
        early, late = f["early"], f["late"]
        ev.update(early=early, late=late)
        # The rank correlation only when the level fell (it is the costlier test).
        rho = spearman(rate.wall_times[skip:], r) if early > 0 and late <= th.decay_ratio * early else float("nan")
        if rho <= th.decay_rho:
            ev["rho"] = rho
            return Verdict("throughput", "slow_decay", Severity.WARN,
                           f"throughput decays slowly: {fmt(early)} -> {fmt(late)} steps/s "
                           f"({late / early - 1:+.0%}, Spearman {rho:.2f}) - a leak or a threading bug?",
                           rate.steps.item(skip), rate.wall_times.item(skip), ev)
    return Verdict("throughput", "steady", Severity.OK, f"throughput steady at {fmt(now)} steps/s",
                   rate.steps.item(skip), rate.wall_times.item(skip), ev)


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
