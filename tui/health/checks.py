"""Checks of reward, KL and explained variance (DIAGNOSTICS.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from tui.health.options import Thresholds
from tui.health.shapes import RewardContext
from tui.health.stats import (
    MAD_TO_SD,
    Lazy,
    Row,
    block_medians_rows,
    by_length,
    median,
    median_rows,
    quantile_rows,
    window,
)
from tui.health.verdict import Severity, Verdict
from tui.store import Series
from tui.vocab.fmt import fmt_value as fmt


def _nonfinite(metric: str, s: Series, what: str) -> Verdict | None:
    finite = np.isfinite(s.values)
    if finite.all():
        return None
    bad = ~finite
    i = int(np.argmax(bad))
    return Verdict(metric, "nonfinite" if metric != "explained_variance" else "nan", Severity.ALARM,
                   f"{what} is {s.values[i]} at step {int(s.steps[i])} ({int(bad.sum())} of {len(s)} points)",
                   int(s.steps[i]), float(s.wall_times[i]), {"nonfinite": int(bad.sum())})


def rows_of(arrays: Sequence[np.ndarray], min_n: int,
            features: Callable[[np.ndarray], dict[str, Any]]) -> list[Row | None]:
    """Per array, its row of `features` (each computed once per group of equal length, for all
    the group's rows; a function among them only when a row asks: `Lazy`), or None when it has
    fewer than `min_n` points or a non-finite value (the checks' early answers). Every check of
    one run is this with one array."""
    if len(arrays) == 1:  # one run (the live app judges a changed run alone): no grouping
        a = arrays[0]
        if a.shape[0] < min_n or not np.isfinite(a).all():
            return [None]
        return [Lazy(features(a[None, :])).row(0)]
    out: list[Row | None] = [None] * len(arrays)
    for idx, V in by_length(arrays):
        if V.shape[1] < min_n:
            continue
        ok = np.isfinite(V).all(axis=1)
        if not ok.all():
            idx = [i for i, good in zip(idx, ok.tolist(), strict=True) if good]
            if not idx:
                continue
            V = V[ok]
        lazy = Lazy(features(V))
        for j, i in enumerate(idx):
            out[i] = Row(lazy, j)
    return out


def judge_reward(s: Series, th: Thresholds, final: bool = False,
                 learning_from: float | None = None) -> tuple[Verdict, RewardContext]:
    """improving / flat / collapsed / nonfinite, and a summary for the entropy check.

    The curve is summarised by medians of ~20 consecutive blocks (rewards are noisy, and raw
    per-episode rewards from many workers even more so). A real gain is a best block at least
    one within-block sd and 20 % of the reward's whole spread (max - min) above the first (both
    on a 3-block running mean); it has collapsed when the last block gave back at least half of
    it. Calibrated on Rahtz's runs: the pinned Pong run's reward went from -21 to -20 (1.2 sd
    but 1/8 of its spread: flat), the healthy one from -21 to +15.

    A real gain must also stand out of the block medians' own wander (3x the robust sd of
    their block-to-block steps): a random policy's 100-episode mean drifts by a few points.

    The start is the lowest of the first block's median, the first 3-block mean and the median of
    the first 2.5 % of the points (at least 3): a reward that rises fast (a short run, or SB3's
    100-episode mean, which moves fastest while it holds few episodes) must not hide its start.
    `final`: the run has ended; a flat reward then "never improved" (no "yet"), a warning.
    `learning_from`: when the run's first update happened (wall time). Rewards before it were
    earned by the initial policy (an off-policy learner's random warm-up): their median is the
    start, however they drifted; no gain is counted before learning began.
    """
    return judge_rewards([(s, final, learning_from)], th)[0]


RewardItem = tuple[Series, bool, float | None]  # (reward, final, learning_from) of one run


def judge_rewards(items: Sequence[RewardItem], th: Thresholds) -> list[tuple[Verdict, RewardContext]]:
    """`judge_reward` of many runs: the statistics of rewards of equal length computed once for
    all of them (`judge_reward` is this with one run)."""
    # How many points came before learning began (rewards of the initial policy), for all runs at once.
    early = [i for i, it in enumerate(items) if it[2] is not None]
    before: dict[int, int] = {}
    for idx, walls in by_length([items[i][0].wall_times for i in early]):
        start = np.array([items[early[k]][2] for k in idx], dtype=np.float64)
        before.update(zip((early[k] for k in idx), (walls < start[:, None]).sum(axis=1).tolist(), strict=True))
    out: list[tuple[Verdict, RewardContext]] = []
    for i, (it, f) in enumerate(zip(items, rows_of([it[0].values for it in items], 10, _reward_features), strict=True)):
        if f is not None:
            out.append(_reward_verdict(*it, th, f, before.get(i, 0)))
            continue
        bad = _nonfinite("reward", it[0], "the reward")
        n = len(it[0])
        out.append((bad, RewardContext()) if bad is not None else
                   (Verdict("reward", "flat", Severity.OK, f"too early to judge the reward ({n} points)",
                            evidence={"points": n}), RewardContext()))
    return out


def _reward_features(V: np.ndarray) -> dict[str, list[Any]]:
    """The statistics `judge_reward` decides on, for each row of V (finite, >= 10 points)."""
    rows, n = V.shape
    blocks = min(max(n // 5, 2), 20)
    med, within = block_medians_rows(V, blocks)
    kb = med.shape[1]
    if kb >= 6:  # a 3-block running mean (np.convolve(med, ones(3) / 3, "valid"), all rows at once)
        c = 1.0 / 3.0
        smooth = med[:, :-2] * c + med[:, 1:-1] * c + med[:, 2:] * c
    else:
        smooth = med
    head = median_rows(V[:, : max(3, n // 40)])
    d = np.diff(med, axis=1)
    if d.shape[1] >= 4:
        wander = MAD_TO_SD * median_rows(np.abs(d - median_rows(d)[:, None])) / np.sqrt(2.0)
    else:
        wander = np.zeros(rows)
    # One row's numbers in one tuple (a run's verdict reads them all).
    return {"all": list(zip(med, smooth, within.tolist(),
                            zip(smooth[:, 0].tolist(), med[:, 0].tolist(), head.tolist(), strict=True),
                            med[:, -1].tolist(), np.argmax(smooth, axis=1).tolist(),
                            (np.max(V, axis=1) - np.min(V, axis=1)).tolist(), wander.tolist(), strict=True)),
            "steps": [d.shape[1]] * rows}


_FLAT = RewardContext(improving=False, fell_back=False)
_IMPROVING = RewardContext(improving=True, fell_back=False)
_FELL_BACK = RewardContext(improving=True, fell_back=True)


def _reward_verdict(s: Series, final: bool, learning_from: float | None, th: Thresholds,
                    f: Row, n_before: int) -> tuple[Verdict, RewardContext]:
    """judge_reward's decision for one run, from its row of `_reward_features` (`n_before`:
    its points written before `learning_from`)."""
    v = s.values
    n = v.shape[0]
    med, smooth, within, starts, last, ibest, spread, wander = f["all"]
    size = n // med.shape[0]
    first = min(starts)
    if learning_from is not None and n_before >= 3:
        first = median(v[s.wall_times < learning_from])
        # Only blocks that end after learning began can hold a gain.
        off0 = n - med.shape[0] * size
        ends = s.wall_times[off0 + size * (np.arange(med.shape[0]) + 1) - 1]
        span = med.shape[0] - smooth.shape[0]  # 2 when smoothed over 3 blocks
        ranked = np.where(ends[span:] >= learning_from, smooth, -np.inf)
        if np.isfinite(ranked).any():
            ibest = int(np.argmax(ranked))
    best = smooth.item(ibest)
    gain = best - first
    ev = {"first": first, "best": best, "last": last, "gain": gain, "within_sd": within,
          "wander_sd": wander, "spread": spread, "points": n}
    real = (gain > 0 and gain >= th.reward_gain_sd * within and gain >= th.reward_gain_range * spread
            and gain >= th.reward_gain_wander * wander)
    ibest += med.shape[0] - smooth.shape[0]  # index of the best block's last block
    off = n - med.shape[0] * size  # points dropped from the front by block_medians
    if not real:
        if final:
            return (Verdict("reward", "flat", Severity.WARN,
                            f"reward never improved: flat around {fmt(last)} over {n} points "
                            f"(best block {fmt(best)}, start {fmt(first)})", s.steps.item(0),
                            s.wall_times.item(0), ev | {"final": True}),
                    _FLAT)
        return (Verdict("reward", "flat", Severity.INFO,
                        f"reward flat around {fmt(last)} (best block {fmt(best)}, start {fmt(first)}): "
                        "no real improvement yet", s.steps.item(0), s.wall_times.item(0), ev),
                _FLAT)
    kept = last - first
    # A collapse (an alarm) needs the wander measured (>= 5 blocks, about 25 points): on fewer,
    # a rise and fall may be the first few episodes' noise.
    if kept <= (1 - th.reward_collapse) * gain and ibest < med.shape[0] - 1 and f["steps"] >= 4:
        j = off + (ibest + 1) * size
        j = min(j, n - 1)
        return (Verdict("reward", "collapsed", Severity.ALARM if kept <= 0.2 * gain else Severity.WARN,
                        f"reward rose from {fmt(first)} to {fmt(best)}, then fell back to {fmt(last)} "
                        f"(gave back {1 - kept / gain:.0%} of the gain)", int(s.steps[j]), float(s.wall_times[j]), ev),
                _FELL_BACK)
    return (Verdict("reward", "improving", Severity.OK,
                    f"reward rose from {fmt(first)} to {fmt(last)}" + (f" (best {fmt(best)})" if best > last else ""),
                    None, None, ev),
            _IMPROVING)


def judge_kl(s: Series, th: Thresholds, nonnegative: bool = True, reference: bool = False,
             target: float | None = None, target_why: str = "") -> Verdict:
    """ok / negative / large / growing / zero.

    `target`: the KL target that fits the run (see `corroborate.kl_target`); default: the
    configured one, else 0.01.

    Args:
        nonnegative: the estimator can't be negative (approx_kl of SB3/CleanRL, k3); a negative
            value is then a bug.
        reference: KL to a frozen reference model (RLHF), which is expected to grow.
    """
    return judge_kls([KlItem(s, nonnegative, reference, target, target_why)], th)[0]


class KlItem(NamedTuple):
    """One run's KL and how to read it (see `judge_kl`)."""

    s: Series
    nonnegative: bool = True
    reference: bool = False
    target: float | None = None
    target_why: str = ""


def judge_kls(items: Sequence[KlItem], th: Thresholds) -> list[Verdict]:
    """`judge_kl` of many runs (statistics once per group of equal length)."""
    def features(V: np.ndarray) -> dict[str, Any]:
        n = V.shape[1]
        W = window(n)
        recent = V[:, -W:]
        return {"level": median_rows(recent).tolist(), "zero": np.all(np.abs(recent) <= th.kl_zero, axis=1).tolist(),
                "q25": lambda: quantile_rows(recent, 0.25).tolist(),
                "early": (lambda: median_rows(V[:, W:2 * W]).tolist()) if n >= 4 * W else [None] * V.shape[0]}

    return [_kl_verdict(it, th, f) for it, f in zip(items, rows_of([it.s.values for it in items], 5, features),
                                                    strict=True)]


def _kl_verdict(it: KlItem, th: Thresholds, f: Row | None) -> Verdict:
    s, reference, target_why = it.s, it.reference, it.target_why
    if f is None:
        bad = _nonfinite("kl", s, "KL")
        if bad is not None:
            return bad
    n = s.steps.shape[0]
    target = it.target if it.target is not None else th.kl_target if th.kl_target is not None else 0.01
    ev: dict[str, Any] = {"points": n, "target": target}
    if target_why:
        ev["target_from"] = target_why
    if f is None:
        return Verdict("kl", "ok", Severity.OK, f"too early to judge KL ({n} points)", evidence=ev)
    W = window(n)
    level = f["level"]
    ev["level"], ev["window"] = level, W
    if it.nonnegative and level < -1e-6:
        return Verdict("kl", "negative", Severity.ALARM,
                       f"KL is negative ({fmt(level)}) with a non-negative estimator: a bug in the loss or logging",
                       s.steps.item(-W), s.wall_times.item(-W), ev)
    if f["zero"]:
        return Verdict("kl", "zero", Severity.WARN,
                       f"KL has been 0 for the last {W} points: the policy is not being updated",
                       s.steps.item(-W), s.wall_times.item(-W), ev)
    if not reference and level > 2 * target and f["q25"] > 2 * target:
        whose = f" ({target_why})" if target_why else ""
        return Verdict("kl", "large", Severity.WARN,
                       f"KL {fmt(level)} is above 2x the target {fmt(target)}{whose} for {W} points: "
                       "steps too large?", s.steps.item(-W), s.wall_times.item(-W), ev)
    if not reference and n >= 4 * W:
        early = f["early"]
        ev["early"] = early
        if early > 0 and level > 3 * early and level > target:
            return Verdict("kl", "growing", Severity.WARN,
                           f"update KL grew from {fmt(early)} to {fmt(level)}: stale experience?",
                           None, None, ev)
    return Verdict("kl", "ok", Severity.OK, f"KL {fmt(level)}" + (" (to the reference model)" if reference else ""),
                   None, None, ev)


def judge_explained_variance(s: Series, th: Thresholds) -> Verdict:
    """ok / nan / zero / negative."""
    return judge_explained_variances([s], th)[0]


def judge_explained_variances(series: Sequence[Series], th: Thresholds) -> list[Verdict]:
    """`judge_explained_variance` of many runs (statistics once per group of equal length)."""
    k = th.ev_zero_points

    def features(V: np.ndarray) -> dict[str, Any]:
        n = V.shape[1]
        W = window(n)
        return {"zero": (np.all(V[:, -k:] == 0.0, axis=1) if n >= k else np.zeros(V.shape[0], bool)).tolist(),
                "level": median_rows(V[:, -W:]).tolist(), "q90": lambda: quantile_rows(V[:, -2 * W:], 0.9).tolist()}

    return [_ev_verdict(s, th, f) for s, f in zip(series, rows_of([s.values for s in series], 5, features), strict=True)]


def _ev_verdict(s: Series, th: Thresholds, f: Row | None) -> Verdict:
    n = s.steps.shape[0]
    if f is None:
        bad = _nonfinite("explained_variance", s, "explained variance")
        if bad is not None:
            return Verdict(bad.metric, "nan", bad.severity, bad.reason + ": no reward signal reaches the value head?",
                           bad.since_step, bad.since_wall_time, bad.evidence)
    ev: dict[str, Any] = {"points": n}
    if f is None:
        return Verdict("explained_variance", "ok", Severity.OK, f"too early ({n} points)", evidence=ev)
    k = th.ev_zero_points
    if f["zero"]:
        return Verdict("explained_variance", "zero", Severity.WARN,
                       f"explained variance exactly 0 for the last {k} points: a dead value head?",
                       s.steps.item(-k), s.wall_times.item(-k), ev)
    W = window(n)
    level = f["level"]
    ev["level"], ev["window"] = level, W
    # Early and noisy values are often negative in healthy runs: only a sustained stretch counts.
    if n >= 30 and level < 0 and f["q90"] < 0:
        return Verdict("explained_variance", "negative", Severity.WARN,
                       f"explained variance {fmt(level)} (negative for the last {2 * W} points): the value "
                       "function predicts worse than a constant", s.steps.item(-2 * W), s.wall_times.item(-2 * W), ev)
    return Verdict("explained_variance", "ok", Severity.OK, f"explained variance {fmt(level)}", None, None, ev)
