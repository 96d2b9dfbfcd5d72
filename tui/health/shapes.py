"""The entropy shape classifier (DIAGNOSTICS.md §3).

Entropy is normalised to h = H / ln|A| when the action count is known, else h = H / H_0 (its
initial level; always so for LLM policies). Decisions use robust statistics over the recent
window W = clamp(ceil(0.1·N), 5, 50); a single noisy point never decides (isolated spikes are
removed first and reported as such), and "since" is the start of the final stretch over which
the state's condition held on rolling windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from tui.health.options import Thresholds
from tui.health.stats import (
    MAD_TO_SD,
    Lazy,
    Row,
    by_length,
    median,
    median_rows,
    quantile_rows,
    rolling_mean_sd_rows,
    run_start,
    window,
)
from tui.health.verdict import Severity, Verdict
from tui.store import Series
from tui.vocab.fmt import fmt_span as _dur  # one home for a verdict's spans of time
from tui.vocab.fmt import fmt_value as fmt


class RewardContext(NamedTuple):  # (NamedTuples here: frozen dataclasses cost ~0.4 ms each to make)
    """What the reward did, for judging entropy states (None fields: no reward known)."""

    improving: bool | None = None  # rose by a real gain at some point
    fell_back: bool | None = None  # gave back most of that gain since


class Scale(NamedTuple):
    h_max: float  # the value h = 1 corresponds to
    actions: int | None  # |A| when known
    how: str  # "actions", "inferred", "texts", "initial", "absolute" (nats against ln 2: dead from the start)


def despike(x: np.ndarray, th: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """Replace isolated excursions by the local median; report those that returned.

    Returns (cleaned values, boolean mask of the spikes). A point is off the curve when it is
    more than max(6σ, 0.1·scale) from the median of the 7 points around it, with scale 1 (h is
    normalised: a tenth of the maximum, wherever the curve is; |h| when it exceeds 1) and σ the
    robust local noise (1.4826 · median absolute deviation from that median, per block of 32 points:
    local, yet one partition of the data rather than one per point). Every such point is
    replaced (one noisy point never flips a verdict), but a run of them is a *spike* only when
    the curve came back: one of the 3 points after it is again within that limit of the level
    before it. Inside the curve a lasting change is never off the curve (the centred median
    follows it after 3 points); at the newest end there is no "after" yet (the window is
    reflected), so the leading edge of a fast, lasting drop is off the curve but has not
    returned: cleaned, not called a spike.
    """
    clean, spikes = despike_rows(x[None, :], th)
    return clean[0], spikes[0]


def despike_rows(X: np.ndarray, th: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """`despike` of each row of a 2-D array (the running medians of all rows at once)."""
    rows, n = X.shape
    nospike = np.zeros((rows, n), bool)
    if n < 7:
        return X, nospike
    lo, hi = X.min(axis=1), X.max(axis=1)
    scale = np.maximum(np.maximum(np.abs(lo), np.abs(hi)), 1.0)
    work = hi - lo > th.spike_min * scale  # else no point can be that far from any median: skip the work
    if not work.any():
        return X, nospike
    # Reflected ends (np.pad(mode="reflect"), without its overhead): an outlier at an end
    # must not be its own median.
    pad = np.concatenate((X[:, 3:0:-1], X, X[:, -2:-5:-1]), axis=1)
    # Median of each 7-point window: sorting 7 shifted copies is cheaper than partitioning n short rows.
    med = np.sort(np.stack([pad[:, i:i + n] for i in range(7)]), axis=0)[3]
    dev = np.abs(X - med)
    b = 32 if n >= 64 else n
    k = n // b
    # Blocks aligned to the end (the newest points matter most); the oldest remainder joins
    # the first block's estimate.
    blocks = 1.4826 * median_rows(dev[:, n - k * b:].reshape(rows, k, b))
    sigma = np.concatenate([np.repeat(blocks[:, :1], n - k * b, axis=1), np.repeat(blocks, b, axis=1)], axis=1)
    limit = np.maximum(th.spike_sigma * sigma, th.spike_min * scale[:, None])
    off = (np.abs(X - med) > limit) & work[:, None]
    hit = off.any(axis=1)
    if not hit.any():
        return X, off
    spikes = nospike
    for r in np.flatnonzero(hit).tolist():
        spikes[r] = _returned(X[r], off[r], limit[r])
    return np.where(off, med, X), spikes


def _returned(x: np.ndarray, off: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """The runs of `off` points after which the curve came back to the level before them."""
    spikes = np.zeros_like(off)
    idx = np.flatnonzero(off)
    cut = np.flatnonzero(np.diff(idx) > 1)
    for a, b in zip(idx[np.r_[0, cut + 1]], idx[np.r_[cut, idx.size - 1]], strict=True):  # few runs: a loop is fine
        before = x[max(0, a - 3):a]
        after = x[b + 1:b + 4]
        if before.size and after.size and np.any(np.abs(after - median(before)) <= limit[a]):
            spikes[a:b + 1] = True
    return spikes


def classify(h_series: Series, scale: Scale, th: Thresholds, reward: RewardContext,
             llm: bool = False, final: bool = False) -> Verdict:
    """Classify a normalised entropy curve (values already h = H / scale.h_max).

    `final`: the run has ended, so it is judged as a whole, whatever its length: a state that
    held for its whole life is a final verdict ("for its whole life", never "yet" or "early").
    (`classify_many` with one curve.)
    """
    return classify_many([EntropyItem(h_series, scale, reward, llm, final)], th)[0]


class EntropyItem(NamedTuple):
    """One run's normalised entropy and what `classify` needs with it."""

    h: Series
    scale: Scale
    reward: RewardContext
    llm: bool = False
    final: bool = False


def classify_many(items: Sequence[EntropyItem], th: Thresholds) -> list[Verdict]:
    """`classify` of many runs: the statistics of curves of equal length (despiking, levels,
    quantiles, rolling means) computed once for all of them."""
    out: list[Verdict | None] = [None] * len(items)
    for idx, V in by_length([it.h.values for it in items]):
        n_all = V.shape[1]
        skip = int(th.warmup_frac * n_all) if n_all >= 50 else 0
        ok = np.isfinite(V).all(axis=1)
        rows = [i for i, good in zip(idx, ok.tolist(), strict=True) if good]
        feats: dict[int, Row] = {}
        if rows and n_all - skip >= th.min_points:
            lazy = Lazy(_entropy_features(V[ok][:, skip:] if not ok.all() else V[:, skip:], th))
            feats = {i: lazy.row(j) for j, i in enumerate(rows)}
        for i in idx:
            out[i] = _classify_row(items[i], th, feats.get(i))
    return [v for v in out if v is not None]


def _entropy_features(h: np.ndarray, th: Thresholds) -> dict[str, Any]:
    """What `classify` decides on, for each row of `h` (finite, after the warm-up, >= min_points);
    the statistics only some verdicts need are computed when a row first asks (`Lazy`)."""
    rows, n = h.shape
    W = window(n)
    raw = h
    rolled: list[tuple[np.ndarray, np.ndarray]] = []

    def roll(i: int) -> Callable[[], list[np.ndarray]]:
        # Rolling statistics (for "since" and the lowest level) use the raw curve: over W
        # points a lone spike moves them little.
        def make() -> list[np.ndarray]:
            if not rolled:
                rolled.append(rolling_mean_sd_rows(raw, W))
            return list(rolled[0][i])
        return make

    # The recent 2W points, which decide the state, are despiked (only those: the 7-point
    # running median is the engine's most expensive step).
    tail = min(n, 2 * W + 40)
    clean, tail_spikes = despike_rows(h[:, -tail:], th)
    h = np.concatenate([h[:, :-tail], clean], axis=1) if tail < n else clean
    spikes = np.zeros((rows, n), bool)
    spikes[:, -tail:] = tail_spikes
    recent = h[:, -W:]
    level = median_rows(recent)
    return {"h": list(h), "spikes": list(spikes), "m": roll(0), "s": roll(1),
            "level": level.tolist(), "noise": (1.4826 * median_rows(np.abs(recent - level[:, None]))).tolist(),
            "sd": recent.std(axis=1).tolist(), "h0": median_rows(h[:, : min(W, 10)]).tolist(),
            "spiky": spikes[:, -W:].any(axis=1).tolist(),
            "q75": lambda: quantile_rows(recent, 0.75).tolist(),
            "p10": lambda: quantile_rows(h[:, -2 * W:], 0.1).tolist(),
            "p90": lambda: quantile_rows(h[:, -2 * W:], 0.9).tolist(),
            "prev": (lambda: median_rows(h[:, -2 * W:-W]).tolist()) if n >= 2 * W else level.tolist()}


def _classify_row(it: EntropyItem, th: Thresholds, f: Row | None) -> Verdict:
    """classify's decision for one curve, from its row of `_entropy_features` (None: the curve
    has a NaN/Inf, or too few points)."""
    h_series, scale, reward, llm, final = it
    h_all = h_series.values
    steps, walls = h_series.steps, h_series.wall_times
    n_all = h_all.shape[0]
    if f is None:
        bad = ~np.isfinite(h_all)
        if bad.any():
            i = int(np.argmax(bad))
            return Verdict("entropy", "nonfinite", Severity.ALARM,
                           f"entropy is {h_all[i] * scale.h_max} at step {steps[i]}: the update produced "
                           f"NaN/Inf ({int(bad.sum())} of {n_all} points)",
                           int(steps[i]), float(walls[i]), {"nonfinite": int(bad.sum())})
    skip = int(th.warmup_frac * n_all) if n_all >= 50 else 0
    st, wt = steps[skip:], walls[skip:]
    n = n_all - skip
    H = scale.h_max
    ev: dict[str, Any] = {"points": int(n), "h_max": H, "scale": scale.how}
    if scale.actions:
        ev["actions"] = scale.actions
    if f is None or n < th.min_points:
        return Verdict("entropy", "too_early", Severity.OK,
                       f"the run ended after {n} entropy points: too short to judge" if final
                       else f"too early to judge entropy ({n} points)", evidence=ev)
    W = window(n)
    h, spikes = f["h"], f["spikes"]
    level, noise, sd, h0 = f["level"], f["noise"], f["sd"], f["h0"]

    def roll() -> tuple[np.ndarray, np.ndarray]:
        return f["m"], f["s"]

    ev.update(level=level, noise=noise, sd=sd, window=W, initial=h0, entropy=level * H)
    end_step, end_wall = int(st[-1]), float(wt[-1])

    def since(cond_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[int | None, float | None]:
        i = run_start(cond_of(*roll()))
        if i is None:
            return end_step, end_wall
        # Window i covers points i .. i+W-1: the state began at its first point.
        return int(st[i]), float(wt[i])

    if scale.how == "absolute":
        of_max = f"{fmt(level * H + 0.0)} nats"  # + 0.0: never "-0 nats"
    elif scale.how == "initial":
        of_max = f"{level:.0%} of its initial level"
    else:
        of_max = f"{fmt(level * H)} of max {fmt(H)}"

    # Collapsed: near zero, sustained over the window.
    if level <= th.collapsed_level and f["q75"] <= 2 * th.collapsed_level:
        ss, sw = since(lambda m, s: m <= 2 * th.collapsed_level)
        early = ss is not None and (ss - st[0]) < 0.2 * max(1, st[-1] - st[0])  # in the first fifth
        first = (ss is not None and ss <= int(st[0])) or scale.how == "absolute"
        if first:
            ev["from_first_update"] = True
        to = "from its first logged update" if first else ""
        if reward.improving and not reward.fell_back:
            return Verdict("entropy", "collapsed", Severity.INFO,
                           f"entropy {of_max}: a converged, nearly deterministic policy; the reward "
                           f"holds its gain", ss, sw, ev | {"premature": False})
        if reward.improving and reward.fell_back:
            why = "the reward has fallen back from its best since"
        elif reward.improving is None:
            why = "the policy was dead from the start" if first else "premature?" if early else \
                "check that the reward holds"
        else:
            why = "the policy was dead from the start and the reward never improved" if first else \
                "premature: the reward never improved"
        sev = Severity.WARN if reward.improving is None and not early and not first else Severity.ALARM
        words = f"entropy {of_max} {to} (about one action)" if first else \
            f"entropy collapsed to {of_max} (about one action)"
        return Verdict("entropy", "collapsed", sev, f"{words}: {why}", ss, sw,
                       ev | {"premature": bool(early or first or reward.improving is False)})
    if n < th.full_points and not final:
        if f["spiky"]:
            return _spike(h, spikes, st, wt, ev)
        return Verdict("entropy", "too_early", Severity.OK,
                       f"entropy {of_max}; too early to judge its shape ({n} points)", evidence=ev)

    # Pinned at the maximum: the policy is not learning.
    if level >= th.pinned_level and sd <= th.pinned_sd:
        ss, sw = since(lambda m, s: (m >= th.pinned_level) & (s <= th.pinned_sd))
        held_s = end_wall - (sw if sw is not None else end_wall)
        held_n = int(np.count_nonzero(st >= (ss if ss is not None else end_step)))
        ev.update(pinned_for_s=held_s, pinned_points=held_n)
        where = "its maximum" if scale.how != "initial" else "its initial level"
        whole = held_n >= 0.9 * n
        if held_s >= th.pinned_alarm_after or held_n >= th.pinned_alarm_points:
            sev = Severity.ALARM
            tail = "the policy is not learning"
        elif held_s >= th.pinned_warn_after or held_n >= th.pinned_warn_points:
            sev = Severity.WARN
            tail = "the policy is not learning yet"
        else:
            sev = Severity.INFO
            tail = "normal early in training"
        span = f"for {held_n} points ({_dur(held_s)})"
        if final:
            # An ended run is judged as a whole, whatever its length: pinned for (nearly) all
            # its life is a final verdict, at least a warning; an alarm when the reward confirms
            # it never improved. Never milder than the live rule.
            sev = max(sev, Severity.ALARM if whole and reward.improving is False else Severity.WARN)
            tail = "the policy never learned" if whole else "the policy stopped learning"
            span = f"for its whole life ({held_n} points, {_dur(held_s)})" if whole else \
                f"for its last {held_n} points ({_dur(held_s)})"
            ev.update(whole_life=whole, final=True)
        if reward.improving is False and sev >= Severity.ALARM:
            tail += " (reward flat too)"
        if scale.how == "initial" and sev > Severity.WARN:
            # Without |A| (or for an LLM) "at its initial level" needn't mean uniform: warn only.
            sev = Severity.WARN
        if reward.improving and sev > Severity.INFO:
            # A uniform policy can't improve a reward for long: one level lower, not silence.
            sev = Severity(sev - 1)
            tail += ", though the reward rose"
        return Verdict("entropy", "pinned_at_max", sev,
                       f"entropy {of_max}, sd {sd * H:.2g}, at {where} {span}: {tail}", ss, sw, ev)

    # Oscillating: wide, repeated swings (learning rate too high?). A wide spread alone is no
    # oscillation: a fall (a collapse in progress) spreads the window as much, and noise
    # around its median crosses that median at every other point. The swings must go back
    # and forth: count the legs of the local trend's zigzag, each at least as large as the
    # spread the rule asks for (and half the actual spread, and well above the noise); a
    # monotone fall with noise makes one leg, whatever its level crossings.
    p10, p90 = f["p10"], f["p90"]
    swing = float(p90 - p10)
    cv = sd / level if level > 0 else 0.0
    ev.update(swing=swing, cv=cv)
    legs = 0
    if swing > th.oscillating_range and cv > th.oscillating_cv:
        legs, leg = swing_legs(h[-2 * W:], max(th.oscillating_range, swing / 2))
        ev.update(legs=legs, leg_amplitude=leg)
    if legs >= th.oscillating_legs:
        return Verdict("entropy", "oscillating", Severity.WARN,
                       f"entropy swings between {fmt(p10 * H)} and {fmt(p90 * H)} ({swing:.0%} of "
                       f"{'max' if scale.how != 'initial' else 'its start'}): learning rate too high?",
                       int(st[-2 * W if n >= 2 * W else 0]), float(wt[-2 * W if n >= 2 * W else 0]), ev)

    if f["spiky"]:
        return _spike(h, spikes, st, wt, ev)

    m = roll()[0]
    lowest = float(np.min(m)) if m.size else level
    ev["lowest"] = lowest
    # Rising: a large, lasting rise after a fall. The rise is measured on the rolling mean
    # too (mean against mean): a fall in progress drags the newest mean below the window's
    # median, which is no rise.
    now_mean = float(m[-1]) if m.size else level
    rise = min(level, now_mean) - lowest
    if rise >= th.rising_gain and rise >= 5 * max(noise, 1e-9) and h0 - lowest >= th.rising_gain / 2:
        imin = int(np.argmin(m)) + W - 1
        return Verdict("entropy", "rising", Severity.WARN,
                       f"entropy rose back from {fmt(lowest * H)} to {of_max}: the policy is unlearning"
                       f"{' or the reward signal changed' if not llm else ''}", int(st[imin]), float(wt[imin]), ev)

    # Plateau at an intermediate level, not moving, tiny variation.
    prev_level = f["prev"]
    if (th.collapsed_level < level < th.plateau_high and abs(level - prev_level) <= th.plateau_change
            and sd <= th.plateau_sd and not reward.improving):
        ss, sw = since(lambda m, s: (m > th.collapsed_level) & (m < th.plateau_high) & (s <= th.plateau_sd))
        words = f"entropy flat at {of_max}"
        if scale.actions:
            k = float(np.exp(level * H))
            if abs(k - round(k)) <= 0.1 and round(k) >= 1:
                words += f" (about uniform over {round(k)} of {scale.actions} actions)"
        sev = Severity.WARN if reward.improving is False else Severity.INFO
        return Verdict("entropy", "plateau", sev,
                       words + (": the reward never improved" if reward.improving is False else ""), ss, sw, ev)

    if h0 - level >= 0.05:
        return Verdict("entropy", "healthy", Severity.OK,
                       f"entropy fell from {fmt(h0 * H)} to {of_max} and varies normally", None, None, ev)
    return Verdict("entropy", "healthy", Severity.OK, f"entropy {of_max}, varying normally", None, None, ev)


def swing_legs(x: np.ndarray, amplitude: float) -> tuple[int, float]:
    """(legs, the leg amplitude used): how many alternating rises and falls of at least
    `amplitude` the local trend of `x` makes.

    The local trend is the 5-point running median (noise mostly gone, swings that last a few
    points kept); the amplitude is raised to 4x the point-to-point noise of `x` (the robust sd
    of its differences / sqrt 2: the trend doesn't inflate it), so noise never makes a leg.
    """
    n = x.shape[0]
    if n < 5:
        return 0, amplitude
    d = np.diff(x)
    noise = MAD_TO_SD * median(np.abs(d - median(d))) / np.sqrt(2.0)
    a = max(amplitude, 4.0 * noise)
    pad = np.concatenate((np.full(2, x[0]), x, np.full(2, x[-1])))
    trend = np.sort(np.stack([pad[i:i + n] for i in range(5)]), axis=0)[2]
    return zigzag_legs(trend, a), a


def zigzag_legs(x: np.ndarray, amplitude: float) -> int:
    """How many alternating rises and falls of at least `amplitude` the curve makes.

    A leg is counted where the curve turns and moves back by the amplitude from its last
    extreme. Measured from the path's own extremes, not from a fixed level: a trend under the
    swings doesn't remove legs, a trend without swings is one leg at most. A monotone fall
    is 1; a fall and a recovery 2.
    """
    if x.shape[0] < 2 or not amplitude > 0:
        return 0
    a = amplitude
    legs, direction = 0, 0  # direction of the current leg: +1 up, -1 down, 0 not started
    hi = lo = float(x[0])
    for v in x[1:].tolist():  # only for wide, high-CV windows (rare): <= 100 points
        if direction >= 0:
            if v > hi:
                hi = v
            elif hi - v >= a:  # turned down by the amplitude: a falling leg begins
                legs, direction, lo = legs + 1, -1, v
                continue
        if direction <= 0:
            if v < lo:
                lo = v
            elif v - lo >= a:
                legs, direction, hi = legs + 1, 1, v
    return legs


def _spike(h: np.ndarray, spikes: np.ndarray, st: np.ndarray, wt: np.ndarray, ev: dict[str, Any]) -> Verdict:
    i = int(np.flatnonzero(spikes)[-1])
    ev = ev | {"spike_points": int(spikes.sum())}
    return Verdict("entropy", "spike", Severity.INFO,
                   f"an isolated entropy spike at step {int(st[i])} (1-3 points off the curve): not a collapse",
                   int(st[i]), float(wt[i]), ev)
