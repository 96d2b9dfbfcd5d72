"""What the screens show, computed without a terminal: run rows, sparklines, ages, EMA.

Nothing here imports Textual, so every rule of the overview (state from write age, sorting,
the summary line, the text sparklines) is unit-tested as plain Python.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tui.groups import SeedGroup, group_health, group_runs
from tui.health.summary import RunSummary
from tui.health.verdict import Severity, Verdict
from tui.spark import downsample
from tui.store import Series
from tui.vocab import ENDED_AFTER, PatternError, RunState, StallRule, compile_regex, safe_terminal
from tui.vocab import run_state as vocab_run_state

SPARK_POINTS = 48  # values kept per sparkline (the widest column shows this many)


SORTS = ("worst", "name", "age")

BADGE_WORDS = {Severity.OK: "ok", Severity.INFO: "info", Severity.WARN: "warn", Severity.ALARM: "alarm"}
# One word per verdict kind for the badge (the detail screen gives the whole reason).
KIND_WORDS = {
    "pinned_at_max": "pinned", "collapsed": "collapsed", "nonfinite": "NaN", "sudden_drop": "fps-drop",
    "slow_decay": "fps-decay", "stalled": "stalled", "spike": "spike", "oscillating": "oscillating",
    "plateau": "plateau", "rising": "rising", "not_updating": "no-updates", "growing": "growing",
}


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average.

    Matches TensorBoard's scalar dashboard: ``last = last * w + (1 - w) * v`` started at 0, then
    divided by ``1 - w ** n`` (n = finite points so far) so the start isn't pulled toward 0.
    Non-finite values pass through unchanged and don't enter the average.

    Args:
        values: the raw values.
        weight: the smoothing weight in [0, 1); 0 returns the values unchanged.
    """
    v: np.ndarray = np.asarray(values, dtype=np.float64)
    if weight <= 0 or v.size == 0:
        return np.copy(v)
    if not weight < 1:
        raise ValueError(f"smoothing weight must be below 1, not {weight}")
    out = np.empty_like(v)
    last = 0.0
    n = 0
    for i, x in enumerate(v):
        if not math.isfinite(x):
            out[i] = x
            continue
        last = last * weight + (1 - weight) * x
        n += 1
        out[i] = last / (1 - weight**n)
    return out


def shorten(name: str, width: int) -> str:
    """Fit `name` in `width` cells, cutting the middle: run names differ at both ends
    (``pong-…-synthetic_prefs_81a378f/a2c`` vs ``…/a2c_misc``)."""
    if len(name) <= width:
        return name
    if width <= 1:
        return name[:width]
    tail = (width - 1) // 2 + (width - 1) % 2
    head = width - 1 - tail
    return name[:head] + "…" + name[len(name) - tail:]


def run_state(age: float | None, ended_after: float = ENDED_AFTER, usual_gap: float | None = None, *,
              writer_alive: bool | None = None) -> str:
    """'live', 'stalled' or 'ended' from the seconds since the run last wrote, by the one
    run-state rule (`tui.vocab.run_state`, as the health engine's stall verdict).

    The screens don't call this on a clock of their own: they show `RunView.state`, the state
    of the same judgement as the verdicts (`RunHealth.state`), so the state column and the
    health column can't disagree. This is the rule over plain numbers, for tests and tools.

    Args:
        age: seconds since the last write (None: never wrote).
        ended_after: silence after which a run has ended (pass the health options'
            ``thresholds.ended_after`` so the state column agrees with the verdicts).
        usual_gap: the run's usual seconds between writes (`RunView.usual_gap`); None: the
            120 s floor alone decides when a run stalls.
        writer_alive: whether the run's writer process is alive (`RunHealth.writer_alive`);
            None: no evidence, the clock decides.
    """
    if age is None:
        return str(RunState.LIVE if writer_alive else RunState.ENDED)
    return str(vocab_run_state(0.0, age, usual_gap, writer_alive=writer_alive, rule=StallRule(ended_after=ended_after)))


def group_state(states: Iterable[str]) -> str:
    """A seed group's state from its members': live while any member is, else stalled while
    any is (a hung seed is news), else ended."""
    seen = set(states)
    for s in (RunState.LIVE.value, RunState.STALLED.value):
        if s in seen:
            return s
    return RunState.ENDED.value


@dataclass(frozen=True)
class RunView:
    """Everything the overview shows of one run, computed off the UI thread.

    Attributes:
        name: the run's name.
        version: the store's version of the run this view was computed from.
        verdicts: the health engine's verdicts.
        spark: role ("entropy", "reward", "throughput") -> the last values, as a tuple.
        spark_bounds: role -> a fixed sparkline scale (entropy: 0 to its maximum, when known).
        last_step: the largest step of any tag.
        last_write: epoch seconds of the last write (`tui.store.last_write_time`).
        problems: file -> message (damaged records, unreadable files).
        library: the library the run was written by, if recognised.
        members: for a folded seed group, its runs (seed order); empty for a run.
        healthy: for a folded seed group, how many members are healthy.
        usual_gap: the run's usual seconds between writes (the run-state rule's input).
        state: live, stalled or ended: `RunHealth.state`, decided in the same judgement as
            the verdicts (the one run-state rule with the writer evidence); the state column,
            the detail's head, the gate and ``check`` all read it.
        writer_alive: the writer process is alive (True), has exited (False), unknown (None).
        summary: the run's verdict in one sentence (`RunHealth.summary`); a folded group's is
            its worst member's.
        summary_of: for a folded group, the member the summary speaks of.
    """

    name: str
    version: int
    verdicts: tuple[Verdict, ...] = ()
    spark: dict[str, tuple[float, ...]] = field(default_factory=dict)
    spark_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    last_step: int | None = None
    last_write: float | None = None
    problems: dict[str, str] = field(default_factory=dict)
    library: str | None = None
    members: tuple[str, ...] = ()
    healthy: int | None = None
    usual_gap: float | None = None
    state: str = RunState.LIVE.value
    writer_alive: bool | None = None
    summary: RunSummary | None = None
    summary_of: str | None = None

    @property
    def is_group(self) -> bool:
        """A folded seed group (see `fold_groups`), not a run."""
        return bool(self.members)

    @cached_property
    def worst(self) -> Verdict | None:
        """The most severe verdict (kept: sorting and counting 30 000 rows ask it often)."""
        best: Verdict | None = None
        for v in self.verdicts:
            if best is None or v.severity > best.severity:
                best = v
        return best

    @cached_property
    def severity(self) -> Severity:
        w = self.worst
        return w.severity if w is not None else Severity.OK

    def badge(self) -> str:
        """A one-word label: the worst verdict's kind when something is wrong, else 'ok'."""
        w = self.worst
        if w is None:
            return "—"
        if w.severity == Severity.OK:
            return "ok"
        if w.kind in KIND_WORDS:
            return KIND_WORDS[w.kind]
        return w.kind.replace("_", " ").split()[0] if w.kind else BADGE_WORDS[w.severity]

    def age(self, now: float) -> float | None:
        return None if self.last_write is None else now - self.last_write


def summary_line(view: RunView | None) -> str:
    """The run's verdict in one sentence, as shown first (the overview's line under the table,
    the detail's head): plain, safe text; a folded group's names the member it speaks of."""
    if view is None:
        return ""
    if view.summary is None:
        return "no verdicts yet"
    text = safe_terminal(view.summary.text)
    return f"{safe_terminal(view.summary_of)}: {text}" if view.summary_of else text


def spark_tuple(s: Series | None, n: int = SPARK_POINTS) -> tuple[float, ...]:
    """The whole history squeezed to `n` values, as a new tuple (compared by value, never
    mutated in place, so a redraw can't be missed)."""
    if s is None or len(s) == 0:
        return ()
    return tuple(float(x) for x in downsample(s.values, n))


def sort_key(key: str) -> Callable[[RunView], tuple[object, ...]]:
    """The sort's key function: 'worst' (severity, then problems, then name), 'name', or
    'age' (most recent write first). A pure function of the view (never of the clock), and a
    total order (the name breaks ties): `tui.live.order.SortedViews` relies on both."""
    if key == "name":
        return lambda v: (v.name,)
    if key == "age":
        # In 10-second buckets (as shown), so live runs don't swap places on every write.
        return lambda v: (v.last_write is None, -((v.last_write or 0.0) // 10), v.name)
    if key == "worst":
        return lambda v: (-int(v.severity), -len(v.problems), v.name)
    raise ValueError(f"unknown sort {key!r}: use one of {', '.join(SORTS)}")


def sort_views(views: Iterable[RunView], key: str, now: float = 0.0) -> list[RunView]:
    """Sort rows by `sort_key(key)` (`now` is unused: no sort depends on the clock)."""
    return sorted(views, key=sort_key(key))


def compile_filter(text: str) -> Callable[[str], bool]:
    """A predicate on run names from a (case-insensitive) regex; empty text matches all.

    Raises:
        ValueError: the regex doesn't compile; the message says why.
    """
    if not text.strip():
        return lambda name: True
    try:  # compile_regex: every way re.compile fails (x{99999999999} overflows, deep nesting)
        rx = compile_regex(text, "filter", re.IGNORECASE)
    except PatternError as e:
        raise ValueError(f"bad filter regex {text!r}: {e.reason}") from None
    return lambda name: rx.search(name) is not None


def summary(views: Iterable[RunView]) -> dict[str, int]:
    """How many runs are healthy / warn / alarm (info counts as healthy)."""
    out = {"healthy": 0, "warn": 0, "alarm": 0}
    for v in views:
        sev = v.severity
        if sev >= Severity.ALARM:
            out["alarm"] += 1
        elif sev >= Severity.WARN:
            out["warn"] += 1
        else:
            out["healthy"] += 1
    return out


def thousands(n: int) -> str:
    """1200 -> '1 200': a space groups thousands in the status line's numbers."""
    return f"{n:,}".replace(",", " ")


def summary_text(counts: dict[str, int], shown: int, total: int) -> str:
    t = thousands
    runs = f"{t(total)} runs" if shown == total else f"{t(shown)}/{t(total)} runs"
    return f"{runs}: {t(counts['healthy'])} healthy · {t(counts['warn'])} warn · {t(counts['alarm'])} alarm"


def tag_groups(tags: Iterable[str], first: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
    """Group tags by prefix (text before the first '/'); `first` tags lead as group 'roles'."""
    lead = list(first)
    groups: dict[str, list[str]] = {}
    for t in sorted(tags):
        if t in lead:
            continue
        prefix = t.split("/", 1)[0] if "/" in t else ""
        groups.setdefault(prefix, []).append(t)
    out: list[tuple[str, list[str]]] = []
    if lead:
        out.append(("roles", lead))
    out += sorted(groups.items(), key=lambda kv: (kv[0] != "", kv[0]))
    return out


def median_spark(sparks: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    """The element-wise median of sparkline tuples; shorter ones are stretched to the longest
    (each covers its run's whole history, so position means "fraction of the run")."""
    sparks = [s for s in sparks if s]
    if not sparks:
        return ()
    n = max(len(s) for s in sparks)
    grid = np.linspace(0.0, 1.0, n)
    rows = []
    for s in sparks:
        a = np.asarray(s, dtype=np.float64)
        rows.append(a if a.size == n else np.interp(grid, np.linspace(0.0, 1.0, a.size), a) if a.size > 1
                    else np.full(n, a[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column stays NaN (shown as ×)
        med = np.nanmedian(np.vstack(rows), axis=0)
    return tuple(float(x) for x in med)


def fold_groups(views: Iterable[RunView], pattern: str | re.Pattern[str] | None = None,
                ) -> tuple[list[RunView], dict[str, SeedGroup]]:
    """Fold runs whose names differ only by a seed into one view per group.

    A group's view carries the worst member's verdicts (so it sorts and badges like that
    member), the median of the members' sparklines, the newest write and largest step, the
    members' problems (prefixed by run), and ``healthy`` = how many members are healthy. Its
    version is the sum of the members' versions, so it moves whenever any member's does.
    Runs without seed siblings are returned unchanged.

    Args:
        views: the runs' views.
        pattern: a seed regex (str or compiled; None: `tui.groups.DEFAULT_SEED_PATTERN`).

    Returns:
        (views with groups folded, group key -> `SeedGroup` for the folded rows).
    """
    by_name = {v.name: v for v in views}
    out: list[RunView] = []
    folded: dict[str, SeedGroup] = {}
    for g in group_runs(by_name, pattern):
        if g.n < 2:
            out.append(by_name[g.members[0]])
            continue
        members = [by_name[m] for m in g.members]
        worst = max(members, key=lambda v: (int(v.severity), len(v.problems)))
        gh = group_health(g, {v.name: v.severity for v in members})
        writes = [v.last_write for v in members if v.last_write is not None]
        steps = [v.last_step for v in members if v.last_step is not None]
        roles = {r for v in members for r in v.spark}
        out.append(RunView(
            name=g.key, version=sum(v.version for v in members), verdicts=worst.verdicts,
            spark={r: median_spark([v.spark.get(r, ()) for v in members]) for r in sorted(roles)},
            last_step=max(steps) if steps else None, last_write=max(writes) if writes else None,
            problems={f"{v.name}: {k}": msg for v in members for k, msg in v.problems.items()},
            library=worst.library, members=g.members, healthy=gh.healthy,
            state=group_state(v.state for v in members), summary=worst.summary, summary_of=worst.name))
        folded[g.key] = g
    return out, folded
