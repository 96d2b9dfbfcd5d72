"""Live judging with hysteresis and per-run verdict history, and replay of a finished run."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tui.health.engine import RunHealth, Shapes, VerdictChange, judge_shapes_many, with_liveness, writer_at
from tui.health.lifecycle import judge_life
from tui.health.options import HealthOptions
from tui.health.summary import summarize
from tui.health.verdict import Severity, Verdict, worst
from tui.store import RunSnapshot, Series

# Kinds that switch at once (no hysteresis): they are facts, not shapes read from noise.
IMMEDIATE = frozenset({"nonfinite", "nan", "stalled", "ended", "not_updating"})
# The run's life (`RunHealth.state`): a stall or an end that no longer holds goes at once too, so
# the throughput verdict shown and the state (the overview's column) never disagree.
LIFE = frozenset({"stalled", "ended"})


@dataclass
class _MetricState:
    shown: Verdict  # the verdict currently reported
    pending: tuple[str, Severity] | None = None  # a different (kind, severity) seen lately, unconfirmed
    count: int = 0


@dataclass
class _RunState:
    version: tuple[int, tuple[int, ...]] = (-1, ())
    judged_at: float = 0.0
    metrics: dict[str, _MetricState] = field(default_factory=dict)
    history: list[VerdictChange] = field(default_factory=list)
    health: RunHealth | None = None
    shapes: Shapes | None = None


class HealthTracker:
    """Judges runs repeatedly; a metric's verdict changes only after it held for `hold` evaluations.

    A change is a new kind or a new severity of the same kind (a pinned entropy becoming an
    alarm is news); both are recorded in the run's history. Non-finite values, stalls and ends
    are facts, not readings of noise: they show at once.

    Cheap when nothing changed: for a run whose store version is unchanged, only the liveness
    check (stalled/ended, a few comparisons) is redone, at most every `clock_every` seconds;
    the curves are judged again only when the data changed.

    Args:
        opts: engine options.
        hold: consecutive evaluations a new kind must hold before it is shown.
        clock_every: seconds between liveness checks of an unchanged run.
    """

    def __init__(self, opts: HealthOptions | None = None, hold: int = 3, clock_every: float = 1.0) -> None:
        self.opts = opts or HealthOptions()
        self.hold = max(1, hold)
        self.clock_every = clock_every
        self._runs: dict[str, _RunState] = {}

    def history(self, run: str) -> list[VerdictChange]:
        st = self._runs.get(run)
        return list(st.history) if st else []

    def forget(self, run: str) -> None:
        self._runs.pop(run, None)

    def update(self, snap: RunSnapshot, now: float | None = None,
               related: Sequence[RunSnapshot] = ()) -> RunHealth:
        return self.update_many([snap], now, {snap.name: related})[0]

    def update_many(self, snaps: Sequence[RunSnapshot], now: float | None = None,
                    related: Mapping[str, Sequence[RunSnapshot]] | None = None) -> list[RunHealth]:
        """`update` of many runs: the runs whose data changed are judged together
        (`judge_shapes_many`: each statistic once for all of them), the same verdicts as one by
        one. `related`: run name -> its siblings (default: none)."""
        now = time.time() if now is None else now
        rel = related or {}
        todo: list[int] = []
        states: list[tuple[_RunState, tuple[int, tuple[int, ...]], bool]] = []
        for i, snap in enumerate(snaps):
            st = self._runs.setdefault(snap.name, _RunState())
            # Siblings' versions count too: their reward is context for this run's entropy.
            version = (snap.version, tuple(r.version for r in rel.get(snap.name, ())))
            unchanged = st.shapes is not None and version == st.version and snap.version >= 0
            states.append((st, version, unchanged))
            if not self._recent(st, unchanged, now) and (not unchanged or st.shapes is None):
                todo.append(i)
        judged = judge_shapes_many([snaps[i] for i in todo], self.opts,
                                   [rel.get(snaps[i].name, ()) for i in todo]) if todo else []
        for i, shapes in zip(todo, judged, strict=True):
            states[i][0].shapes = shapes
        lives = self._lives(snaps, now, rel, states)
        return [self._update(snap, now, rel.get(snap.name, ()), *states[i], lives[i]) for i, snap in enumerate(snaps)]

    def _recent(self, st: _RunState, unchanged: bool, now: float) -> bool:
        """The run's last health still stands: its data unchanged, its clock checked lately."""
        return unchanged and st.health is not None and now - st.judged_at < self.clock_every

    def _lives(self, snaps: Sequence[RunSnapshot], now: float, rel: Mapping[str, Sequence[RunSnapshot]],
               states: Sequence[tuple[_RunState, tuple[int, tuple[int, ...]], bool]]) -> list[tuple[Verdict | None] | None]:
        """Each re-judged run's life at `now` (as `with_liveness` judges it: its gap, its writer
        evidence cached in its shapes), and the final shapes of the runs that have ended, judged
        together (`judge_shapes_many`), kept where `with_liveness` looks for them."""
        lives: list[tuple[Verdict | None] | None] = [None] * len(snaps)
        ended: list[int] = []
        for i, (snap, (st, _, unchanged)) in enumerate(zip(snaps, states, strict=True)):
            sh = st.shapes
            if sh is None or self._recent(st, unchanged, now):
                continue  # not judged again now (`_update` returns its last health)
            life = judge_life(snap, sh.gap, now, self.opts.thresholds, self.opts.mode,
                              writer_at(snap, self.opts, now, sh.cache))
            lives[i] = (life,)
            if life is not None and life.kind == "ended" and not sh.final and not isinstance(sh.cache.get("final"), Shapes):
                ended.append(i)
        finals = judge_shapes_many([snaps[i] for i in ended], self.opts, [rel.get(snaps[i].name, ()) for i in ended],
                                   [True] * len(ended)) if ended else []
        for i, final in zip(ended, finals, strict=True):
            shapes = states[i][0].shapes
            assert shapes is not None
            shapes.cache["final"] = final
        return lives

    def _update(self, snap: RunSnapshot, now: float, related: Sequence[RunSnapshot], st: _RunState,
                version: tuple[int, tuple[int, ...]], unchanged: bool,
                life: tuple[Verdict | None] | None = None) -> RunHealth:
        if self._recent(st, unchanged, now):
            assert st.health is not None
            return st.health
        assert st.shapes is not None  # judged by update_many
        fresh = with_liveness(st.shapes, snap, self.opts, now, related, judged_life=life)
        st.version, st.judged_at = version, now
        shown: list[Verdict] = []
        # An ended run's verdicts are final judgements of a whole life, not readings of noise.
        ended = fresh.state == "ended"
        for v in fresh.verdicts:
            ms = st.metrics.get(v.metric)
            if ms is None:
                st.metrics[v.metric] = _MetricState(v)
                st.history.append(_change(None, v, snap))
                shown.append(v)
                continue
            state = (v.kind, v.severity)
            if state == (ms.shown.kind, ms.shown.severity):
                ms.shown, ms.pending, ms.count = v, None, 0
            elif not unchanged or v.kind in IMMEDIATE or state != ms.pending:
                # Only new data counts as another reading: re-checking the clock on the same
                # points must not confirm a reading that one noisy point produced.
                ms.count = ms.count + 1 if state == ms.pending else 1
                ms.pending = state
                if ms.count >= self.hold or v.kind in IMMEDIATE or ms.shown.kind in LIFE or ended:
                    st.history.append(_change(ms.shown.kind, v, snap))
                    ms.shown, ms.pending, ms.count = v, None, 0
            shown.append(ms.shown if ms.pending is None else
                         replace(ms.shown, evidence=ms.shown.evidence | {"pending": ms.pending[0]}))
        line = summarize(shown, fresh.borrowed, snap.last_step, final=ended,
                         state=fresh.state)
        health = RunHealth(fresh.run, fresh.library, shown, worst(shown), fresh.roles, list(st.history),
                           fresh.path, fresh.version, fresh.usual_gap, borrowed=fresh.borrowed, summary=line,
                           state=fresh.state, writer_alive=fresh.writer_alive)
        st.health = health
        return health


def _change(old: str | None, v: Verdict, snap: RunSnapshot) -> VerdictChange:
    """A change dated when the new state began; a severity change of the same kind, or one whose
    check can't say when it began, is dated at the run's end (when it was seen)."""
    if (v.since_step is None and v.since_wall_time is None) or old == v.kind:
        return VerdictChange(v.metric, old, v.kind, v.severity, snap.last_step, snap.last_wall_time, v.reason)
    return VerdictChange(v.metric, old, v.kind, v.severity, v.since_step, v.since_wall_time, v.reason)


def prefix(snap: RunSnapshot, until: float) -> RunSnapshot:
    """The run as it was at wall time `until` (each tag cut at its last point written by then)."""
    series: dict[str, Series] = {}
    for tag, s in snap.series.items():
        k = int(np.searchsorted(np.maximum.accumulate(s.wall_times), until, side="right")) if len(s) else 0
        if k:
            series[tag] = Series(s.steps[:k], s.wall_times[:k], s.values[:k])
    return replace(snap, series=series, points=sum(len(s) for s in series.values()), version=-1)


def replay_history(snap: RunSnapshot, opts: HealthOptions | None = None, points: int = 40,
                   related: Sequence[RunSnapshot] = (), now: float | None = None,
                   hold: int = 2) -> list[VerdictChange]:
    """The verdict timeline of a run: judge `points` prefixes (evenly spaced in wall time) and
    record each metric's kind changes (with hysteresis `hold`), then the run as it is `now`.

    Each change carries the step and wall time the new state began (its verdict's
    `since_step`/`since_wall_time`), or the prefix's end when the check doesn't say.
    """
    opts = opts or HealthOptions()
    walls = [s.wall_times for s in snap.series.values() if len(s)]
    if not walls:
        return []
    t0 = min(float(w.min()) for w in walls)
    t1 = max(float(w.max()) for w in walls)
    tracker = HealthTracker(replace(opts, mode="live"), hold=hold, clock_every=0.0)
    for i, t in enumerate(np.linspace(t0, t1, max(2, points))[1:]):
        part = prefix(snap, float(t))
        rel = [prefix(r, float(t)) for r in related]
        tracker.update(replace(part, version=i), now=float(t), related=rel)
    final = HealthTracker(opts, hold=1)
    last = final.update(snap, now=now, related=related)
    history = tracker.history(snap.name)
    shown: dict[str, tuple[str, Severity]] = {}
    for ch in history:
        shown[ch.metric] = (ch.new_kind, ch.severity)
    for v in last.verdicts:  # the present state (e.g. "ended") closes the timeline
        if shown.get(v.metric) != (v.kind, v.severity):
            prev = shown.get(v.metric)
            history.append(_change(prev[0] if prev else None, v, snap))
    return history
