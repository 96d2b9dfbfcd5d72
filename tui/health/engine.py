"""The health engine: run snapshots in, one verdict per metric out (stateless).

`judge_many` judges many runs at once (what `tbpeek check` calls): each check computes its
statistics once for all runs whose series have the same length (the runs of a sweep), then
decides run by run; `judge` is `judge_many` with one run, so each rule has one home and both
give the same verdicts. The live TUI uses `HealthTracker` (tracker.py, `update_many` for many
runs), which adds hysteresis and history on top. `replay_history` produces the verdict
timeline of a finished run by judging its prefixes.
"""

from __future__ import annotations

import time
from bisect import insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from tui.health.analysis import (
    Plan,
    RateSource,
    analyse,
    analyse_many,
    entropy_item,
    kl_item,
    plan_of,
    rate_sources,
    roles_of,
)
from tui.health.checks import judge_explained_variances, judge_kls, judge_reward, judge_rewards
from tui.health.corroborate import corroborate
from tui.health.growth import judge_growth
from tui.health.kin import Others, PeerEnds, peer_ends
from tui.health.kin import groups as kin_groups
from tui.health.lifecycle import EVIDENCE_AFTER, abnormal_end, judge_life, tails_finite, writer_evidence
from tui.health.options import HealthOptions
from tui.health.roles import series_for
from tui.health.shapes import EntropyItem, RewardContext, classify_many
from tui.health.summary import RunSummary, summarize
from tui.health.throughput import judge_rates
from tui.health.verdict import Severity, Verdict, worst
from tui.store import RunSnapshot, Series
from tui.vocab.writer import WriterEvidence

PRESENT = 60.0  # seconds: a `now` this close to the real clock is the present
METRIC_ORDER = ("entropy", "reward", "throughput", "kl", "explained_variance", "step_time", "memory")
_ORDER = {m: i for i, m in enumerate(METRIC_ORDER)}


def _in_order(v: Verdict) -> int:
    return _ORDER.get(v.metric, 99)


class VerdictChange(NamedTuple):  # (not a frozen dataclass: ~0.4 ms less start-up)
    """A metric's verdict changed kind (old_kind None: the first verdict of that metric)."""

    metric: str
    old_kind: str | None
    new_kind: str
    severity: Severity
    step: int | None
    wall_time: float | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "old_kind": self.old_kind, "new_kind": self.new_kind,
                "severity": self.severity.label, "step": self.step, "wall_time": self.wall_time,
                "reason": self.reason}


@dataclass
class RunHealth:
    """Everything the engine concluded about one run."""

    run: str
    library: str | None
    verdicts: list[Verdict]
    worst: Verdict | None
    roles: dict[str, Series]
    history: list[VerdictChange] = field(default_factory=list)
    path: str = ""
    version: int = -1
    usual_gap: float | None = None  # usual seconds between writes: the run-state rule's input
    borrowed: list[Verdict] = field(default_factory=list)  # siblings' verdicts that speak for it (reward)
    summary: RunSummary | None = None  # the run's verdict in one sentence
    state: str = "live"  # live / stalled / ended: the run-state rule with the writer evidence
    writer_alive: bool | None = None  # the writer process (None: no evidence): for run_state(writer_alive=)

    def verdict(self, metric: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.metric == metric), None)


def role_series(snap: RunSnapshot, opts: HealthOptions | None = None) -> dict[str, Series]:
    """Combined per-role series of a run: entropy as +H, reward (workers combined), throughput
    (derived steps/s, not the logged fps), and every other role the run has (``fps`` is the
    logged value)."""
    return analyse(snap, opts or HealthOptions()).series


def judge(snap: RunSnapshot, opts: HealthOptions | None = None, now: float | None = None,
          related: Sequence[RunSnapshot] = ()) -> RunHealth:
    """Judge a run once (`judge_many` with one run).

    Args:
        snap: the run.
        opts: options (action count, role overrides, mode, thresholds).
        now: the time to judge at (epoch seconds); stall/ended use it. Default: time.time().
        related: sibling runs of the same experiment (same parent directory). When `snap` has
            no reward of its own, a sibling's reward is used as context for the entropy verdict
            (OpenAI baselines and Rahtz write rewards into a separate subfolder); seed siblings
            tell a run that ended far short of theirs.
    """
    return judge_many([snap], opts, now, {snap.name: related})[0]


def judge_many(snaps: Sequence[RunSnapshot], opts: HealthOptions | None = None, now: float | None = None,
               related: Mapping[str, Sequence[RunSnapshot]] | None = None) -> list[RunHealth]:
    """Judge many runs once: the same verdicts as `judge` on each, in the order given, with
    each statistic computed once for all runs whose series have the same length (a sweep's
    runs do), so a run costs microseconds, not a millisecond.

    `related`: run name -> its siblings (default: the runs beside it among `snaps`, as
    `siblings` finds them, without listing them per run: `kin`).
    """
    opts = opts or HealthOptions()
    now = time.time() if now is None else now
    sibs, peers = kin_of(snaps, related)
    return judge_with_kin(snaps, opts, now, sibs, peers)


Kin = tuple[list[Sequence[RunSnapshot]], list[PeerEnds | bool | None]]


def kin_of(snaps: Sequence[RunSnapshot], related: Mapping[str, Sequence[RunSnapshot]] | None = None) -> Kin:
    """Each run's siblings and its seed siblings' ends (False: found from the siblings, run by
    run): what `judge_many` compares a run with, `related` as there."""
    sibs: list[Sequence[RunSnapshot]] = [()] * len(snaps)
    peers: list[PeerEnds | bool | None] = [False] * len(snaps)
    if related is None:  # the runs beside each run, as views of its directory's runs (no pairs listed)
        for idx in kin_groups(snaps):
            if len(idx) == 1:  # alone in its directory: no siblings, no seed siblings' ends
                peers[idx[0]] = None
                continue
            group = [snaps[i] for i in idx]
            for j, (i, ends) in enumerate(zip(idx, peer_ends(group), strict=True)):
                sibs[i], peers[i] = Others(group, j), ends
    else:
        sibs = [related.get(s.name, ()) for s in snaps]
    return sibs, peers


def judge_some(snaps: Sequence[RunSnapshot], idx: Sequence[int], opts: HealthOptions | None = None,
               now: float | None = None) -> list[RunHealth]:
    """Judge the runs at `idx` among `snaps` (in that order), each beside its siblings among all
    of `snaps`: what `judge(snaps[i], opts, now, siblings(snaps)[snaps[i].name])` gives for each,
    in one batch (a cache refreshing the runs that changed)."""
    opts = opts or HealthOptions()
    now = time.time() if now is None else now
    sibs, peers = kin_of(snaps)
    return judge_with_kin([snaps[i] for i in idx], opts, now, [sibs[i] for i in idx], [peers[i] for i in idx])


def judge_with_kin(snaps: Sequence[RunSnapshot], opts: HealthOptions, now: float,
                   sibs: Sequence[Sequence[RunSnapshot]], peers: Sequence[PeerEnds | bool | None]) -> list[RunHealth]:
    """`judge_many` with each run's kin given (`kin_of`, per run in the same order): any part
    of a batch judged this way gives the same verdicts as the whole batch."""
    th = opts.thresholds
    # The run's life first (cheap), so an ended run is judged once, as a whole.
    plans = [plan_of(s, opts) for s in snaps]
    sources = rate_sources(snaps, plans)
    writers = [writer_at(s, opts, now, {}) for s in snaps]
    lives = [judge_life(s, src.gap, now, th, opts.mode, w) for s, src, w in zip(snaps, sources, writers, strict=True)]
    finals = [life is not None and life.kind == "ended" for life in lives]
    with np.errstate(all="ignore"):
        parts = _judge_parts_many(snaps, opts, sibs, finals, sources, plans)
    ended = [i for i, final in enumerate(finals) if final]
    tails: list[bool | None] = [None] * len(snaps)
    for i, ok in zip(ended, tails_finite([snaps[i] for i in ended]), strict=True):
        tails[i] = ok
    # `with_liveness` of each run's shapes (judged as a whole where it has ended), made here, in place.
    return [_completed(h, tp, final, s, life, w, r, p, t, in_place=True)
            for s, (h, tp), final, life, w, r, p, t in zip(snaps, parts, finals, lives, writers, sibs, peers, tails,
                                                           strict=True)]


def writer_at(snap: RunSnapshot, opts: HealthOptions, now: float, cache: dict[str, object]) -> WriterEvidence | None:
    """The writer evidence when it can speak: live mode, the run silent a little while, and
    `now` the present. The process table tells about the present only: judging at another
    moment (a replay, a test's clock) leaves the clock to decide. Review mode asks about
    finished work: a silent run has ended there, whoever still lives (a notebook's kernel
    outlives its runs)."""
    last = snap.last_wall_time
    if (opts.mode == "live" and last is not None and now - last >= EVIDENCE_AFTER
            and abs(now - time.time()) < PRESENT):
        return writer_evidence(snap, cache, now)
    return None


class Shapes:
    """Everything `judge` concludes from the data alone (not from the clock): what a tracker
    keeps for a run whose data hasn't changed, re-checking only for stalls as time passes.
    (A plain class: a frozen dataclass's making was ~0.5 ms of start-up; never compared.)"""

    __slots__ = ("cache", "final", "gap", "health", "rate_verdict")
    health: RunHealth  # verdicts without the throughput verdict
    rate_verdict: Verdict | None  # steady / slow_decay / sudden_drop, before liveness
    gap: float | None  # the run's usual seconds between writes
    final: bool  # judged as an ended run (a whole life)
    cache: dict[str, object]  # writer evidence, final shapes

    def __init__(self, health: RunHealth, rate_verdict: Verdict | None, gap: float | None, final: bool = False,
                 cache: dict[str, object] | None = None) -> None:
        self.health = health
        self.rate_verdict = rate_verdict
        self.gap = gap
        self.final = final
        self.cache = {} if cache is None else cache


def with_liveness(shapes: Shapes, snap: RunSnapshot, opts: HealthOptions, now: float,
                  related: Sequence[RunSnapshot] = (),
                  judged_life: tuple[Verdict | None] | None = None,
                  peers: PeerEnds | bool | None = False, tails_ok: bool | None = None) -> RunHealth:
    """The full judgement at `now`: the data's verdicts plus live / stalled / ended.

    The writer process (from the event file names) is asked about once the run has been silent
    for a little while; an ended run is judged again as a whole (final verdicts), once.
    """
    writer = writer_at(snap, opts, now, shapes.cache)
    # `judged_life`: (judge_life's verdict,) when the caller has just judged it, at this `now`
    # with this gap and writer (the tracker does).
    live = judged_life[0] if judged_life is not None else judge_life(snap, shapes.gap, now, opts.thresholds, opts.mode, writer)
    if live is not None and live.kind == "ended" and not shapes.final:
        final = shapes.cache.get("final")
        if not isinstance(final, Shapes):
            final = judge_shapes(snap, opts, related, final=True)
            shapes.cache["final"] = final
        shapes = final
    return _completed(shapes.health, shapes.rate_verdict, shapes.final, snap, live, writer, related, peers, tails_ok)


def _completed(h: RunHealth, tp: Verdict | None, final: bool, snap: RunSnapshot, live: Verdict | None,
               writer: WriterEvidence | None, related: Sequence[RunSnapshot], peers: PeerEnds | bool | None,
               tails_ok: bool | None, in_place: bool = False) -> RunHealth:
    """`with_liveness` from the shapes' health and rate verdict (`final`: judged as a whole), the
    run's life and writer at `now` (`in_place`: the health is the caller's alone, dropped
    after: completed as the judgement, not copied)."""
    if live is not None and live.kind == "ended":
        bad = abnormal_end(snap, related, peers, tails_ok)
        if bad:
            live = replace(live, severity=Severity.WARN, reason=f"{live.reason}; ended badly: {bad}",
                           evidence=live.evidence | {"abnormal": bad})
    life = live
    if live is not None and (tp is None or live.severity > tp.severity or tp.kind == "steady"):
        if tp is not None:  # (a Verdict made directly: dataclasses.replace costs more than the judging)
            live = Verdict(live.metric, live.kind, live.severity, live.reason, live.since_step,
                           live.since_wall_time, live.evidence | {"rate": tp.reason})
        tp = live
    verdicts = h.verdicts if in_place else list(h.verdicts)
    if tp is not None:  # among the others, in METRIC_ORDER (theirs are: `_judge_parts_many` sorts them)
        insort(verdicts, tp, key=_in_order)
    state = life.kind if life is not None and life.kind in ("stalled", "ended") else "live"
    line = summarize(verdicts, h.borrowed, snap.last_step, final=final, state=state)
    if in_place:
        h.worst, h.summary, h.state = worst(verdicts), line, state
        h.writer_alive = writer.alive if writer is not None else None
        return h
    return RunHealth(h.run, h.library, verdicts, worst(verdicts), h.roles, history=h.history, path=h.path,  # replace()
                     version=h.version, usual_gap=h.usual_gap, borrowed=h.borrowed, summary=line, state=state,
                     writer_alive=writer.alive if writer is not None else None)


def judge_shapes(snap: RunSnapshot, opts: HealthOptions, related: Sequence[RunSnapshot] = (),
                 final: bool = False) -> Shapes:
    """The clock-free part of `judge` (`final`: judge the run as ended, as a whole)."""
    return judge_shapes_many([snap], opts, [related], [final])[0]


def judge_shapes_many(snaps: Sequence[RunSnapshot], opts: HealthOptions,
                      related: Sequence[Sequence[RunSnapshot]] | None = None,
                      finals: Sequence[bool] | None = None) -> list[Shapes]:
    """`judge_shapes` of many runs at once (`related`, `finals`: per run, in the same order)."""
    # Values near the float limits overflow in variances; the checks see inf/nan and say so.
    with np.errstate(all="ignore"):
        return _judge_shapes_many(snaps, opts, related if related is not None else [()] * len(snaps),
                                  finals if finals is not None else [False] * len(snaps), [None] * len(snaps))


def _judge_shapes(snap: RunSnapshot, opts: HealthOptions, related: Sequence[RunSnapshot], final: bool,
                  source: RateSource | None = None) -> Shapes:
    return _judge_shapes_many([snap], opts, [related], [final], [source])[0]


def _judge_shapes_many(snaps: Sequence[RunSnapshot], opts: HealthOptions, related: Sequence[Sequence[RunSnapshot]],
                       finals: Sequence[bool], sources: Sequence[RateSource | None]) -> list[Shapes]:
    return [Shapes(h, tp, h.usual_gap, final)
            for (h, tp), final in zip(_judge_parts_many(snaps, opts, related, finals, sources), finals, strict=True)]


def _judge_parts_many(snaps: Sequence[RunSnapshot], opts: HealthOptions, related: Sequence[Sequence[RunSnapshot]],
                      finals: Sequence[bool], sources: Sequence[RateSource | None],
                      plans: Sequence[Plan] | None = None) -> list[tuple[RunHealth, Verdict | None]]:
    """The clock-free verdicts of many runs: each check's statistics for all runs at once
    (`judge_rewards`, `judge_kls`, `judge_explained_variances`), the rest run by run; per run,
    its health without the throughput verdict, and the rate verdict (the parts of its `Shapes`)."""
    th = opts.thresholds
    ans = analyse_many(snaps, opts, sources, plans)
    count = len(snaps)

    contexts = [RewardContext()] * count
    rewards: list[Verdict | None] = [None] * count
    borrowed: list[list[Verdict]] = [[] for _ in snaps]
    own = [i for i in range(count) if "reward" in ans[i].series]
    judged = judge_rewards([(ans[i].series["reward"], finals[i], ans[i].learning_from) for i in own], th)
    for i, (v, ctx) in zip(own, judged, strict=True):
        rewards[i], contexts[i] = v, ctx
    for i in range(count):
        if "reward" not in ans[i].series:
            companion = reward_companion(snaps[i], related[i], opts)
            if companion is not None:
                reward, contexts[i] = judge_reward(companion[1], th, finals[i])
                rewards[i] = reward
                borrowed[i].append(replace(reward, evidence=reward.evidence | {"from_sibling": True}))

    kls: list[Verdict | None] = [None] * count
    with_kl = [i for i in range(count) if "kl" in ans[i].series]
    for i, v in zip(with_kl, judge_kls([kl_item(snaps[i], ans[i], opts) for i in with_kl], th), strict=True):
        kls[i] = v
    evs: list[Verdict | None] = [None] * count
    with_ev = [i for i in range(count) if "explained_variance" in ans[i].series]
    for i, v in zip(with_ev, judge_explained_variances([ans[i].series["explained_variance"] for i in with_ev], th),
                    strict=True):
        evs[i] = v

    with_tp = [i for i in range(count) if "throughput" in ans[i].series]
    tps = dict(zip(with_tp, judge_rates([(ans[i].series["throughput"], ans[i].rate_source) for i in with_tp], th),
                   strict=True))

    ents: dict[int, Verdict] = {}
    curves: list[tuple[int, EntropyItem, bool]] = []
    for i in range(count):
        if "entropy" in ans[i].series:
            got = entropy_item(snaps[i], ans[i], opts, contexts[i], finals[i])
            if isinstance(got, Verdict):
                ents[i] = got
            else:
                curves.append((i, *got))
    for (i, _, backed), v in zip(curves, classify_many([c[1] for c in curves], th), strict=True):
        ents[i] = corroborate(v, ans[i].series["entropy"], kls[i], rewards[i], ans[i].series.get("learning_rate"),
                              th) if backed else v

    out = []
    for i, snap in enumerate(snaps):
        an = ans[i]
        roles, series = an.roles, an.series
        # In METRIC_ORDER (entropy, reward, kl, explained_variance), then the growth verdicts.
        verdicts = [v for v in (ents.get(i), rewards[i] if not borrowed[i] else None, kls[i], evs[i]) if v is not None]
        tp = tps.get(i)
        grown = judge_growth(snap, series, th)
        if grown:
            verdicts += grown
            verdicts.sort(key=_in_order)
        health = RunHealth(snap.name, roles.library, verdicts, worst(verdicts), series,
                           path=snap.path, version=snap.version, usual_gap=an.gap, borrowed=borrowed[i])
        out.append((health, tp))
    return out


def reward_companion(snap: RunSnapshot, related: Sequence[RunSnapshot],
                     opts: HealthOptions) -> tuple[str, Series] | None:
    """(name, reward) of the one sibling that holds rewards only (no entropy) over the same
    time: the reward the verdicts of a run without one of its own are judged with."""
    found: list[tuple[str, Series]] = []
    start, end = _span(snap)
    for other in related:
        o_roles = roles_of(other, opts)
        if "reward" not in o_roles.sources or "entropy" in o_roles.sources:
            continue
        s = series_for(other, o_roles.sources["reward"])
        if len(s) and start is not None and s.wall_times.min() <= end and s.wall_times.max() >= start:
            found.append((other.name, s))
    return found[0] if len(found) == 1 else None


def _span(snap: RunSnapshot) -> tuple[float | None, float | None]:
    walls = [s.wall_times for s in snap.series.values() if len(s)]
    if not walls:
        return None, None
    return min(float(w.min()) for w in walls), max(float(w.max()) for w in walls)


def siblings(snaps: Sequence[RunSnapshot]) -> dict[str, list[RunSnapshot]]:
    """For each run, the other runs in the same parent directory (one experiment's subfolders;
    none in a directory of too many runs to be one experiment: `kin.groups`)."""
    out: dict[str, list[RunSnapshot]] = {}
    for idx in kin_groups(snaps):
        group = [snaps[i] for i in idx]
        for s in group:
            out[s.name] = [o for o in group if o.name != s.name]
    return out
