"""The end-of-day review as data: what every run did, when things went wrong, how often you looked.

Pure (numpy only). `build_review` turns judged runs (snapshots, verdicts, verdict histories),
the look log and the notes into a `Review`; the renderers (`render_text`, `render_md`,
`render_html`) and the TUI's review screen only format it. Every run is kept in the `Review`
with a `touched` flag, so a screen can toggle "show untouched runs" without recomputing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tui.groups import GroupHealth, group_health, group_runs
from tui.notes import Note
from tui.store import Restart, RunSnapshot, Series
from tui.vocab import Severity, Verdict
from tui.vocab import run_state as vocab_run_state

SPARK_POINTS = 48  # buckets per role series kept for sparklines and charts
TIMELINE_MAX = 30  # most recent verdict changes shown per run
QUIET_KINDS = frozenset({"too_early"})  # not news: left out of the timeline

# Which way is "best" for a role: max, min, or no meaningful best (None).
BEST = {"reward": "max", "fps": "max", "throughput": "max", "steps_per_s": "max",
        "explained_variance": "max", "episode_length": None, "value_loss": "min",
        "step_time": "min"}
# Roles shown first, in this order; others follow alphabetically.
ROLE_ORDER = ("entropy", "reward", "fps", "throughput", "steps_per_s", "kl", "explained_variance")


@dataclass(frozen=True)
class TimelineEntry:
    """One verdict change: ``13:05 · step 120k · entropy collapsed``."""

    wall_time: float | None
    step: int | None
    metric: str
    kind: str
    old_kind: str | None
    severity: Severity
    reason: str

    @property
    def label(self) -> str:
        """``entropy collapsed``; a change of severity only: ``entropy collapsed, now alarm``."""
        text = f"{self.metric} {self.kind.replace('_', ' ')}"
        return f"{text}, now {self.severity.label}" if self.old_kind == self.kind else text


@dataclass(frozen=True)
class RoleStat:
    """First / best / last of one role series, and a bucketed copy for sparklines and charts.

    ``spark``/``spark_lo``/``spark_hi`` are per-bucket mean, min and max (NaN where a bucket
    holds no finite value); ``spark_x`` the bucket's mean wall time (charts share the clock
    axis of the timeline: a role series combined from several tags may count its own steps).
    """

    role: str
    n: int
    first: float
    last: float
    best: float | None
    best_dir: str | None  # "max", "min" or None
    lo: float
    hi: float
    nonfinite: int
    first_wall: float
    last_wall: float
    spark: tuple[float, ...]
    spark_lo: tuple[float, ...]
    spark_hi: tuple[float, ...]
    spark_x: tuple[float, ...]


@dataclass(frozen=True)
class RunReview:
    """Everything the review says about one run."""

    name: str
    path: str
    state: str  # "live", "stalled" or "ended" (`tui.vocab.RunState`)
    first_wall: float | None
    last_wall: float | None
    last_step: int | None
    worst: Severity
    verdicts: tuple[Verdict, ...]
    timeline: tuple[TimelineEntry, ...]
    timeline_omitted: int  # earlier changes not shown
    roles: tuple[RoleStat, ...]
    steps_per_s: float | None
    restarts: tuple[Restart, ...]
    note: Note | None
    touched: bool
    problems: dict[str, str] = field(default_factory=dict)
    library: str | None = None
    group: str | None = None  # seed group key when the run has siblings
    summary: str | None = None  # the run's verdict in one sentence (`RunHealth.summary`), shown first

    @property
    def duration(self) -> float | None:
        if self.first_wall is None or self.last_wall is None:
            return None
        return self.last_wall - self.first_wall


@dataclass(frozen=True)
class LookSummary:
    """The day's looks, summarised from the look log."""

    count: int
    scheduled: int
    overrides: tuple[tuple[float, str], ...]  # (start, reason)
    breakthroughs: tuple[tuple[float, str, str], ...]  # (start, run, reason)
    budget_off: int
    found_nothing: int
    judged: int  # looks whose found_new is known

    @property
    def nothing_new_share(self) -> float | None:
        return self.found_nothing / self.judged if self.judged else None


@dataclass(frozen=True)
class GroupRow:
    key: str
    members: tuple[str, ...]
    healthy: int
    worst: Severity

    @property
    def label(self) -> str:
        return f"{self.healthy}/{len(self.members)} healthy"


@dataclass(frozen=True)
class Review:
    """The whole review. ``runs`` holds every run, worst first; see `visible`."""

    generated: float
    since: float
    until: float
    runs: tuple[RunReview, ...]
    looks: LookSummary | None
    groups: tuple[GroupRow, ...]
    include_all: bool = False
    looks_error: str | None = None

    def visible(self, include_all: bool | None = None) -> list[RunReview]:
        """The runs to show: touched ones, or all with ``include_all``."""
        every = self.include_all if include_all is None else include_all
        return [r for r in self.runs if every or r.touched]

    @property
    def untouched(self) -> int:
        return sum(1 for r in self.runs if not r.touched)


# ---- pieces ---------------------------------------------------------------------------------

def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else float("nan")


def role_stat(role: str, s: Series, points: int = SPARK_POINTS) -> RoleStat | None:
    """First/best/last and a bucketed copy of one role series; None for an empty series."""
    if s.empty:
        return None
    v = s.values
    ok = np.isfinite(v)
    fin = v[ok]
    direction = BEST.get(role)
    best = None
    if fin.size and direction == "max":
        best = float(fin.max())
    elif fin.size and direction == "min":
        best = float(fin.min())
    chunks = np.array_split(np.arange(len(v)), min(points, len(v)))
    mean, lo, hi, xs = [], [], [], []
    for idx in chunks:
        cv = v[idx]
        cv = cv[np.isfinite(cv)]
        xs.append(float(s.wall_times[idx].mean()))
        if cv.size:
            mean.append(float(cv.mean()))
            lo.append(float(cv.min()))
            hi.append(float(cv.max()))
        else:
            mean.append(float("nan"))
            lo.append(float("nan"))
            hi.append(float("nan"))
    return RoleStat(
        role=role, n=len(v),
        first=_finite(fin[0]) if fin.size else float("nan"),
        last=_finite(fin[-1]) if fin.size else float("nan"),
        best=best, best_dir=direction,
        lo=float(fin.min()) if fin.size else float("nan"),
        hi=float(fin.max()) if fin.size else float("nan"),
        nonfinite=int((~ok).sum()),
        first_wall=float(s.wall_times[0]), last_wall=float(s.wall_times[-1]),
        spark=tuple(mean), spark_lo=tuple(lo), spark_hi=tuple(hi), spark_x=tuple(xs),
    )


def _role_key(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


def mean_steps_per_s(snap: RunSnapshot, counter: Series | None = None) -> float | None:
    """Mean steps per second over the run's life: Δvalue / Δwall of the step-counter series
    when there is one (runs whose x-axis counts updates), else Δstep / Δwall of the tag that
    spans the most steps.

    This counts pauses (a restart, a stall) as time spent, which is what the day cost.
    """
    if counter is not None and len(counter) >= 2:
        fin = np.isfinite(counter.values)
        if fin.sum() >= 2:
            v, w = counter.values[fin], counter.wall_times[fin]
            if v[-1] > v[0] and w[-1] > w[0]:
                return float((v[-1] - v[0]) / (w[-1] - w[0]))
    best: tuple[int, float] | None = None
    for s in snap.series.values():
        if len(s) < 2:
            continue
        ds = int(s.steps[-1] - s.steps[0])
        dt = float(s.wall_times[-1] - s.wall_times[0])
        if ds > 0 and dt > 0 and (best is None or ds > best[0]):
            best = (ds, dt)
    return best[0] / best[1] if best else None


def first_wall_time(snap: RunSnapshot) -> float | None:
    starts = [float(s.wall_times[0]) for s in snap.series.values() if len(s)]
    return min(starts) if starts else None


def run_state(verdicts: Sequence[Verdict], last_wall: float | None, now: float,
              usual_gap: float | None = None) -> str:
    """live / stalled / ended: the throughput verdict's stalled/ended when there is one (it
    applies the one run-state rule, `tui.vocab.run_state`), else that rule itself in review
    mode (a more severe throughput verdict may have outranked the liveness one)."""
    for v in verdicts:
        if v.kind in ("stalled", "ended"):
            return v.kind
    return vocab_run_state(last_wall, now, usual_gap, mode="review").value


def timeline(changes: Iterable[Any], since: float | None) -> tuple[tuple[TimelineEntry, ...], int]:
    """Verdict changes (objects with metric, old_kind, new_kind, severity, step, wall_time,
    reason) at or after `since` (all with None), oldest first, the most recent `TIMELINE_MAX`.

    Returns:
        (entries, number of earlier changes left out).
    """
    entries = []
    for c in changes:
        if c.new_kind in QUIET_KINDS:
            continue
        wall = getattr(c, "wall_time", None)
        if since is not None and wall is not None and wall < since:
            continue
        sev = c.severity if isinstance(c.severity, Severity) else Severity.parse(str(c.severity))
        entries.append(TimelineEntry(wall, getattr(c, "step", None), c.metric, c.new_kind,
                                     getattr(c, "old_kind", None), sev, getattr(c, "reason", "") or ""))
    entries.sort(key=lambda e: (e.wall_time if e.wall_time is not None else -math.inf,
                                e.step if e.step is not None else -1))
    omitted = max(0, len(entries) - TIMELINE_MAX)
    return tuple(entries[omitted:]), omitted


def summarise_looks(looks: Iterable[Any], since: float, until: float) -> LookSummary:
    """Count the looks that started in [since, until] (objects like `tui.looks.log.Look`)."""
    count = scheduled = budget_off = nothing = judged = 0
    overrides: list[tuple[float, str]] = []
    breaks: list[tuple[float, str, str]] = []
    for lk in looks:
        if not (since <= lk.start <= until):
            continue
        count += 1
        trig = lk.trigger
        if trig == "override":
            overrides.append((lk.start, lk.reason or ""))
        elif trig == "alarm":
            breaks.append((lk.start, lk.run or "", lk.reason or ""))
        elif trig == "budget_off":
            budget_off += 1
        else:
            scheduled += 1
        if lk.found_new is not None:
            judged += 1
            nothing += not lk.found_new
    overrides.sort()
    breaks.sort()
    return LookSummary(count, scheduled, tuple(overrides), tuple(breaks), budget_off, nothing, judged)


def summarise_run(snap: RunSnapshot, verdicts: Sequence[Verdict], roles: Mapping[str, Series],
                  changes: Iterable[Any], *, since: float, now: float, note: Note | None = None,
                  library: str | None = None, whole_history: bool = False,
                  usual_gap: float | None = None, summary: str | None = None) -> RunReview:
    """One run's review from its snapshot, current verdicts, role series and verdict changes
    (`usual_gap`: the run's usual seconds between writes, `RunHealth.usual_gap`; `summary`:
    the run's verdict in one sentence, `RunHealth.summary.text`)."""
    last_wall = snap.last_wall_time
    stats = [st for role, s in sorted(roles.items(), key=lambda kv: _role_key(kv[0]))
             if (st := role_stat(role, s)) is not None]
    tl, omitted = timeline(changes, None if whole_history else since)
    worst = max((v.severity for v in verdicts), default=Severity.OK)
    return RunReview(
        name=snap.name, path=snap.path, state=run_state(verdicts, last_wall, now, usual_gap),
        first_wall=first_wall_time(snap), last_wall=last_wall, last_step=snap.last_step,
        worst=worst,
        verdicts=tuple(sorted(verdicts, key=lambda v: (-v.severity, v.metric))),
        timeline=tl, timeline_omitted=omitted, roles=tuple(stats),
        # Only where the engine found a throughput: a rewards-only run's x-axis counts
        # episodes, and "steps/s" of it would mislead.
        steps_per_s=(mean_steps_per_s(snap, roles.get("step_counter"))
                     if "throughput" in roles or "step_counter" in roles else None),
        restarts=tuple(snap.restarts),
        note=note if note is not None and not note.empty else None,
        touched=last_wall is not None and last_wall >= since,
        problems=dict(snap.problems), library=library, summary=summary or None,
    )


def assemble(runs: Iterable[RunReview], *, since: float, now: float, looks: LookSummary | None,
             include_all: bool = False, seed_pattern: str | None = None,
             looks_error: str | None = None) -> Review:
    """Sort runs worst first (then by name), attach seed groups, and make the `Review`."""
    runs = list(runs)
    groups = [g for g in group_runs([r.name for r in runs], seed_pattern) if g.n > 1]
    worst = {r.name: r.worst for r in runs}
    rows = []
    member_of: dict[str, str] = {}
    for g in groups:
        gh: GroupHealth = group_health(g, worst)
        rows.append(GroupRow(g.key, g.members, gh.healthy, gh.worst))
        member_of.update(dict.fromkeys(g.members, g.key))
    runs = [r if r.name not in member_of else _with_group(r, member_of[r.name]) for r in runs]
    runs.sort(key=lambda r: (-int(r.worst), r.name))
    rows.sort(key=lambda g: (-int(g.worst), g.key))
    return Review(generated=now, since=since, until=now, runs=tuple(runs), looks=looks,
                  groups=tuple(rows), include_all=include_all, looks_error=looks_error)


def _with_group(r: RunReview, key: str) -> RunReview:
    return replace(r, group=key)

