"""What the checks read off a run before judging it: its role series (throughput derived), the
source and cadence of its rate, its entropy's scale; for many runs at once (`analyse_many`).

Split from engine.py (which decides the verdicts from these).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from tui.health.checks import KlItem
from tui.health.corroborate import is_continuous, kl_target
from tui.health.options import HealthOptions
from tui.health.roles import RoleMap, RoleSource, actions_from_texts, assign_roles, infer_actions, series_for, tag_set
from tui.health.shapes import EntropyItem, RewardContext, Scale
from tui.health.stats import by_length, median
from tui.health.throughput import derive_rates, learning_start, learning_tags, step_source, usual_gap, usual_gaps
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot, Series


@lru_cache(maxsize=4096)
def _roles_cached(tags: tuple[str, ...], overrides: tuple[tuple[str, str], ...]) -> RoleMap:
    return assign_roles(list(tags), dict(overrides))


class Plan(NamedTuple):
    """What a run's tag set decides, the same for every run with those tags: its roles, where
    each role's series comes from (the one tag of a role read as written, else None: `series_for`),
    and the tags whose first records tell when learning began (`learning_tags`)."""

    roles: RoleMap
    picks: tuple[tuple[str, str | None, RoleSource], ...]
    learning: tuple[str, ...]


@lru_cache(maxsize=4096)
def _plan_cached(tags: tuple[str, ...], overrides: tuple[tuple[str, str], ...]) -> Plan:
    rm = _roles_cached(tags, overrides)
    picks = tuple((role, src.tags[0] if len(src.tags) == 1 and src.sign == 1.0 else None, src)
                  for role, src in rm.sources.items())
    return Plan(rm, picks, learning_tags(rm, tags))


def plan_of(snap: RunSnapshot, opts: HealthOptions) -> Plan:
    """The run's `Plan` (cached by its tag set: runs of one experiment share tags)."""
    return _plan_cached(tag_set(snap), tuple(sorted(opts.roles.items())) if opts.roles else ())


def roles_of(snap: RunSnapshot, opts: HealthOptions) -> RoleMap:
    """The role map of a run (cached by its tag set: runs of one experiment share tags)."""
    return plan_of(snap, opts).roles


ONE_ACTION_NATS = float(np.log(2.0))  # the smallest discrete policy: 2 actions


def entropy_scale(snap: RunSnapshot, roles: RoleMap, H: np.ndarray, opts: HealthOptions,
                   continuous_why: str | None = None, lowest: float | None = None) -> Scale | None:
    """`continuous_why`: `is_continuous(snap, H)`, when the caller has it; `lowest`: H's smallest
    finite value (inf: none), when the caller has it."""
    src = roles.sources["entropy"]
    if src.absolute and not roles.llm:
        continuous = is_continuous(snap, H) if continuous_why is None else continuous_why or None
    else:
        continuous = None
    if not roles.llm and src.absolute and continuous is None:
        if opts.actions:
            return Scale(float(np.log(opts.actions)), opts.actions, "actions")
        n = actions_from_texts({k: t.text for k, t in snap.texts.items()})
        if n and n >= 2:
            return Scale(float(np.log(n)), n, "texts")
        n = infer_actions(H)
        if n:
            return Scale(float(np.log(n)), n, "inferred")
        fin = H[np.isfinite(H)]
        if fin.size and float(fin.max()) < ONE_ACTION_NATS * 0.5:
            # Never near any uniform policy, not even over 2 actions: dead from the first
            # logged update (a learning rate far too high). Judged in absolute nats: there is
            # no initial level worth comparing with.
            return Scale(ONE_ACTION_NATS, None, "absolute")
    if continuous is not None and lowest is not None:  # what the lines below find, known without a look at H
        return None if lowest < float("inf") else Scale(1.0, None, "initial")
    fin = H[np.isfinite(H)]
    if fin.size == 0:
        return Scale(1.0, None, "initial")  # all non-finite: the check says so before scaling matters
    if continuous is not None:
        return None  # continuous actions (differential entropy can be negative): no scale
    h0 = float(median(fin[: min(10, fin.size)]))
    if h0 <= 0:
        return None
    return Scale(h0, None, "initial")


class Analysis:
    """(A plain class: a dataclass's making was ~0.5 ms of start-up; never compared.)"""

    __slots__ = ("entropy_finite", "gap", "learning_from", "memo", "rate_source", "roles", "series")
    roles: RoleMap
    series: dict[str, Series]
    rate_source: str
    gap: float | None  # usual seconds between writes
    learning_from: float | None  # when learning began (`learning_start`)
    entropy_finite: tuple[float, bool] | None  # the entropy's smallest finite value (inf: none), all finite?
    memo: dict[str, str | None]

    def __init__(self, roles: RoleMap, series: dict[str, Series], rate_source: str, gap: float | None,
                 learning_from: float | None, entropy_finite: tuple[float, bool] | None = None,
                 memo: dict[str, str | None] | None = None) -> None:
        self.roles = roles
        self.series = series
        self.rate_source = rate_source
        self.gap = gap
        self.learning_from = learning_from
        self.entropy_finite = entropy_finite
        self.memo = {} if memo is None else memo

    def continuous(self, snap: RunSnapshot) -> str | None:
        """`is_continuous` of the run with its entropy (once per run)."""
        if "continuous" not in self.memo:
            ent = self.series.get("entropy")
            fin = self.entropy_finite
            self.memo["continuous"] = is_continuous(snap, ent.values if ent is not None else None,
                                                    fin[0] if fin is not None else None)
        return self.memo["continuous"]


_Source = tuple[str, np.ndarray, np.ndarray, np.ndarray]


class RateSource(NamedTuple):
    src: _Source | None  # the env-step source throughput is derived from, without an off-policy warm-up
    gap: float | None  # the run's usual seconds between writes
    start: float | None  # when learning began (`learning_start`)


def rate_source(snap: RunSnapshot, roles: RoleMap) -> RateSource:
    return rate_sources([snap], [roles])[0]


def rate_sources(snaps: Sequence[RunSnapshot], roles: Sequence[RoleMap | Plan]) -> list[RateSource]:
    """Each run's rate source (the usual gaps of all runs at once); `roles`: each run's role
    map, or its `Plan` (which knows its learning tags)."""
    found = []
    for snap, given in zip(snaps, roles, strict=True):
        rm, tags = (given.roles, given.learning) if isinstance(given, Plan) else (given, None)
        src = step_source(snap, rm)
        start = learning_start(snap, rm, tags)
        if src and start is not None and start > src[1][0]:
            keep = src[1] >= start
            if int(keep.sum()) >= 2:
                src = (src[0], src[1][keep], src[2][keep], src[3][keep])
        found.append((src, start))
    gaps = usual_gaps([src[1] if src else _NO_WALLS for src, _ in found])
    out = []
    for snap, (src, start), gap in zip(snaps, found, gaps, strict=True):
        if gap is None and snap.series:
            gap = usual_gap(max(snap.series.values(), key=len).wall_times)
        out.append(RateSource(src, gap, start))
    return out


_NO_WALLS = np.empty(0, np.float64)


def analyse(snap: RunSnapshot, opts: HealthOptions,
             source: RateSource | None = None) -> Analysis:
    return analyse_many([snap], opts, [source])[0]


def analyse_many(snaps: Sequence[RunSnapshot], opts: HealthOptions, sources: Sequence[RateSource | None],
                 plans: Sequence[Plan] | None = None) -> list[Analysis]:
    """Each run's role series, with throughput derived (`derive_rates`: all runs at once);
    `plans`: each run's `plan_of`, when the caller has them."""
    if plans is None:
        plans = [plan_of(s, opts) for s in snaps]
    missing = [i for i, source in enumerate(sources) if source is None]
    found = dict(zip(missing, rate_sources([snaps[i] for i in missing], [plans[i] for i in missing]), strict=True))
    srcs = [source if source is not None else found[i] for i, source in enumerate(sources)]
    with_src = [i for i, rs in enumerate(srcs) if rs.src]
    rates = derive_rates([(src[1], src[2], src[3], gap) for src, gap, _ in (srcs[i] for i in with_src) if src],
                         opts.thresholds.min_window)
    rate_of = dict(zip(with_src, rates, strict=True))
    found_series: list[dict[str, Series]] = []
    for i, (snap, plan) in enumerate(zip(snaps, plans, strict=True)):
        ser = snap.series
        series: dict[str, Series] = {}
        for role, tag, rsrc in plan.picks:  # the role series that have points
            if tag is None:
                combined = series_for(snap, rsrc)
                if combined.steps.shape[0]:
                    series[role] = combined
            elif (s := ser.get(tag)) is not None and s.steps.shape[0]:  # `series_for` of one tag
                series[role] = s
        rate = rate_of.get(i)
        if rate is not None and rate.steps.shape[0]:
            series["throughput"] = rate
        found_series.append(series)
    return [Analysis(plan.roles, series, src[0] if src else "", gap, start, fin)
            for plan, series, (src, gap, start), fin in zip(plans, found_series, srcs, _entropy_finite(found_series),
                                                            strict=True)]


def _entropy_finite(found: Sequence[dict[str, Series]]) -> list[tuple[float, bool] | None]:
    """For each run's series: its entropy's smallest finite value (inf: none) and whether all are
    finite (None: no entropy, or a run alone: its checks look themselves), for runs of equal
    length at once."""
    out: list[tuple[float, bool] | None] = [None] * len(found)
    ents = [i for i, series in enumerate(found) if "entropy" in series]
    if len(ents) < 2:
        return out
    for idx, H in by_length([found[i]["entropy"].values for i in ents]):
        ok = np.isfinite(H)
        for j, low, whole in zip(idx, np.where(ok, H, np.inf).min(axis=1).tolist(), ok.all(axis=1).tolist(),
                                 strict=True):
            out[ents[j]] = (low, whole)
    return out


@lru_cache(maxsize=4096)
def _signed_kl(tags: tuple[str, ...]) -> bool:
    """Whether a KL estimator of these tags may be negative (PPO's own ppo_kl, old_approx_kl)."""
    return any("ppo_kl" in t or "old_approx" in t for t in tags)


def kl_item(snap: RunSnapshot, an: Analysis, opts: HealthOptions) -> KlItem:
    ksrc = an.roles.sources["kl"]
    signed = _signed_kl(ksrc.tags)
    target, why = kl_target(snap, an.roles, an.series, opts, continuous=lambda: an.continuous(snap))
    return KlItem(an.series["kl"], not signed, "reference" in ksrc.note, target, why)


def entropy_item(snap: RunSnapshot, an: Analysis, opts: HealthOptions, context: RewardContext,
                  final: bool) -> Verdict | tuple[EntropyItem, bool]:
    """The entropy verdict when it needs no shape (continuous actions), else the curve to
    classify (normalised) and whether other metrics corroborate its verdict."""
    roles = an.roles
    H = an.series["entropy"]
    fin = an.entropy_finite
    scale = entropy_scale(snap, roles, H.values, opts, an.continuous(snap) or "", fin[0] if fin is not None else None)
    if scale is None:
        all_finite = fin[1] if fin is not None else bool(np.isfinite(H.values).all())
        if not all_finite:
            return EntropyItem(H, Scale(1.0, None, "initial"), context), False
        why = an.continuous(snap) or "its initial level is not above 0"
        return Verdict("entropy", "healthy", Severity.OK,
                       f"continuous actions ({why}): the entropy's shape isn't judged",
                       evidence={"points": H.steps.shape[0], "continuous": True})
    h = Series(H.steps, H.wall_times, H.values / scale.h_max)
    return EntropyItem(h, scale, context, llm=roles.llm, final=final), True
