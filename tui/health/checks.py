"""Checks of reward, KL and explained variance (DIAGNOSTICS.md §4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tui.health.options import Thresholds
from tui.health.shapes import RewardContext
from tui.health.stats import MAD_TO_SD, block_medians, median, quantiles, window
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
    bad = _nonfinite("reward", s, "the reward")
    if bad is not None:
        return bad, RewardContext()
    v = s.values
    n = v.shape[0]
    if n < 10:
        return (Verdict("reward", "flat", Severity.OK, f"too early to judge the reward ({n} points)",
                        evidence={"points": n}), RewardContext())
    blocks = min(max(n // 5, 2), 20)
    med, within = block_medians(v, blocks)
    size = n // med.shape[0]
    smooth = np.convolve(med, np.ones(3) / 3, "valid") if med.shape[0] >= 6 else med
    head = v[: max(3, n // 40)]
    first, last = min(float(smooth[0]), float(med[0]), median(head)), float(med[-1])
    ranked = smooth
    if learning_from is not None:
        before = v[s.wall_times < learning_from]
        if before.shape[0] >= 3:
            first = median(before)
            # Only blocks that end after learning began can hold a gain.
            off0 = n - med.shape[0] * size
            ends = s.wall_times[off0 + size * (np.arange(med.shape[0]) + 1) - 1]
            span = med.shape[0] - smooth.shape[0]  # 2 when smoothed over 3 blocks
            ranked = np.where(ends[span:] >= learning_from, smooth, -np.inf)
            if not np.isfinite(ranked).any():
                ranked = smooth
    ibest = int(np.argmax(ranked))
    best = float(smooth[ibest])
    gain = best - first
    spread = float(np.max(v) - np.min(v))
    # How much block medians wander from one block to the next (robust sd of their steps, per
    # block): running means (SB3's 100-episode mean) are autocorrelated, so the sd within a
    # block understates their noise; a trend moves in steady steps and keeps this small.
    d = np.diff(med)
    wander = float(MAD_TO_SD * median(np.abs(d - median(d))) / np.sqrt(2.0)) if d.size >= 4 else 0.0
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
                            f"(best block {fmt(best)}, start {fmt(first)})", int(s.steps[0]),
                            float(s.wall_times[0]), ev | {"final": True}),
                    RewardContext(improving=False, fell_back=False))
        return (Verdict("reward", "flat", Severity.INFO,
                        f"reward flat around {fmt(last)} (best block {fmt(best)}, start {fmt(first)}): "
                        "no real improvement yet", int(s.steps[0]), float(s.wall_times[0]), ev),
                RewardContext(improving=False, fell_back=False))
    kept = last - first
    # A collapse (an alarm) needs the wander measured (>= 5 blocks, about 25 points): on fewer,
    # a rise and fall may be the first few episodes' noise.
    if kept <= (1 - th.reward_collapse) * gain and ibest < med.shape[0] - 1 and d.size >= 4:
        j = off + (ibest + 1) * size
        j = min(j, n - 1)
        return (Verdict("reward", "collapsed", Severity.ALARM if kept <= 0.2 * gain else Severity.WARN,
                        f"reward rose from {fmt(first)} to {fmt(best)}, then fell back to {fmt(last)} "
                        f"(gave back {1 - kept / gain:.0%} of the gain)", int(s.steps[j]), float(s.wall_times[j]), ev),
                RewardContext(improving=True, fell_back=True))
    return (Verdict("reward", "improving", Severity.OK,
                    f"reward rose from {fmt(first)} to {fmt(last)}" + (f" (best {fmt(best)})" if best > last else ""),
                    None, None, ev),
            RewardContext(improving=True, fell_back=False))


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
    bad = _nonfinite("kl", s, "KL")
    if bad is not None:
        return bad
    v = s.values
    n = v.shape[0]
    target = target if target is not None else th.kl_target if th.kl_target is not None else 0.01
    ev: dict[str, Any] = {"points": n, "target": target}
    if target_why:
        ev["target_from"] = target_why
    if n < 5:
        return Verdict("kl", "ok", Severity.OK, f"too early to judge KL ({n} points)", evidence=ev)
    W = window(n)
    recent = v[-W:]
    level = float(median(recent))
    ev.update(level=level, window=W)
    if nonnegative and median(recent) < -1e-6:
        return Verdict("kl", "negative", Severity.ALARM,
                       f"KL is negative ({fmt(level)}) with a non-negative estimator: a bug in the loss or logging",
                       int(s.steps[-W]), float(s.wall_times[-W]), ev)
    if np.all(np.abs(recent) <= th.kl_zero):
        return Verdict("kl", "zero", Severity.WARN,
                       f"KL has been 0 for the last {W} points: the policy is not being updated",
                       int(s.steps[-W]), float(s.wall_times[-W]), ev)
    if not reference and level > 2 * target and quantiles(recent, [0.25])[0] > 2 * target:
        whose = f" ({target_why})" if target_why else ""
        return Verdict("kl", "large", Severity.WARN,
                       f"KL {fmt(level)} is above 2x the target {fmt(target)}{whose} for {W} points: "
                       "steps too large?", int(s.steps[-W]), float(s.wall_times[-W]), ev)
    if not reference and n >= 4 * W:
        early = float(median(v[W:2 * W]))
        ev["early"] = early
        if early > 0 and level > 3 * early and level > target:
            return Verdict("kl", "growing", Severity.WARN,
                           f"update KL grew from {fmt(early)} to {fmt(level)}: stale experience?",
                           None, None, ev)
    return Verdict("kl", "ok", Severity.OK, f"KL {fmt(level)}" + (" (to the reference model)" if reference else ""),
                   None, None, ev)


def judge_explained_variance(s: Series, th: Thresholds) -> Verdict:
    """ok / nan / zero / negative."""
    bad = _nonfinite("explained_variance", s, "explained variance")
    if bad is not None:
        bad = Verdict(bad.metric, "nan", bad.severity, bad.reason + ": no reward signal reaches the value head?",
                      bad.since_step, bad.since_wall_time, bad.evidence)
        return bad
    v = s.values
    n = v.shape[0]
    ev: dict[str, Any] = {"points": n}
    if n < 5:
        return Verdict("explained_variance", "ok", Severity.OK, f"too early ({n} points)", evidence=ev)
    k = th.ev_zero_points
    if n >= k and np.all(v[-k:] == 0.0):
        return Verdict("explained_variance", "zero", Severity.WARN,
                       f"explained variance exactly 0 for the last {k} points: a dead value head?",
                       int(s.steps[-k]), float(s.wall_times[-k]), ev)
    W = window(n)
    level = float(median(v[-W:]))
    ev.update(level=level, window=W)
    # Early and noisy values are often negative in healthy runs: only a sustained stretch counts.
    if n >= 30 and level < 0 and quantiles(v[-2 * W:], [0.9])[0] < 0:
        return Verdict("explained_variance", "negative", Severity.WARN,
                       f"explained variance {fmt(level)} (negative for the last {2 * W} points): the value "
                       "function predicts worse than a constant", int(s.steps[-2 * W]), float(s.wall_times[-2 * W]), ev)
    return Verdict("explained_variance", "ok", Severity.OK, f"explained variance {fmt(level)}", None, None, ev)
