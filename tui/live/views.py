"""Turn store snapshots into `RunView`s with the health engine (pure: no Textual).

The ingest worker calls `Judge.update_store` for the runs that changed; the UI only reads the
results (`views`, `roles`), which are replaced whole, never edited, under a lock.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from tui.health import HealthOptions, HealthTracker, RunHealth, VerdictChange
from tui.health.engine import reward_companion
from tui.health.kin import Others, experiment_size_ok
from tui.health.verdict import Verdict
from tui.live.model import RunView, spark_tuple
from tui.store import RunSnapshot, Series, Store

SPARK_ROLES = ("entropy", "reward", "throughput")


def entropy_bounds(verdicts: Iterable[Verdict], values: Iterable[float]) -> dict[str, tuple[float, float]]:
    """Entropy's sparkline scale: 0 to the maximum the health engine judged it against."""
    for v in verdicts:
        h_max = v.evidence.get("h_max") if v.metric == "entropy" else None
        if isinstance(h_max, (int, float)) and h_max > 0:
            finite = [x for x in values if math.isfinite(x)]
            return {"entropy": (0.0, max([float(h_max), *finite]))}
    return {}


class Judge:
    """Keeps the health tracker (it holds each run's verdict history) and the latest views.

    Args:
        options: the health engine's options.
        clock: returns "now" in epoch seconds (tests freeze it).
    """

    def __init__(self, options: HealthOptions | None = None, clock: Callable[[], float] = time.time) -> None:
        self.options = options or HealthOptions()
        self.clock = clock
        self.tracker = HealthTracker(self.options)
        self._health: dict[str, RunHealth] = {}
        self._roles: dict[str, dict[str, Series]] = {}
        self._views: dict[str, RunView] = {}
        self._reward_from: dict[str, str] = {}  # run -> the sibling its reward is read from
        self._judged_data: dict[str, tuple[int, tuple[int, ...]]] = {}  # run -> (its, siblings') versions judged
        self._parents: tuple[tuple[str, ...], dict[str, list[str]]] = ((), {})  # runs -> by parent directory
        self._lock = threading.Lock()

    def update(self, snap: RunSnapshot, related: Sequence[RunSnapshot] = ()) -> RunView:
        """Judge one run's snapshot and remember the view (called from the ingest worker).

        Args:
            snap: the run.
            related: runs of the same experiment (sibling directories: rewards are often
                logged in a run of their own).
        """
        return self.update_many([snap], {snap.name: related})[0]

    def update_many(self, snaps: Sequence[RunSnapshot],
                    related: Mapping[str, Sequence[RunSnapshot]] | None = None) -> list[RunView]:
        """`update` of many runs at once: judged together (`HealthTracker.update_many`: each
        statistic once for all of them), then a view each; the same views as one by one.

        Args:
            snaps: the runs (names unique).
            related: run name -> its siblings (default: none).
        """
        rel = related or {}
        healths = self.tracker.update_many(snaps, now=self.clock(), related=rel)
        built = [self._view(snap, health, rel.get(snap.name, ())) for snap, health in zip(snaps, healths, strict=True)]
        with self._lock:
            for snap, health, (view, roles, source) in zip(snaps, healths, built, strict=True):
                self._views[snap.name] = view
                self._roles[snap.name] = roles
                self._health[snap.name] = health
                self._judged_data[snap.name] = (snap.version, tuple(r.version for r in rel.get(snap.name, ())))
                if source is None:
                    self._reward_from.pop(snap.name, None)
                else:
                    self._reward_from[snap.name] = source
        return [view for view, _, _ in built]

    def _view(self, snap: RunSnapshot, health: RunHealth,
              related: Sequence[RunSnapshot]) -> tuple[RunView, dict[str, Series], str | None]:
        """The run's view of its judgement: (view, role series, the sibling its reward is read
        from or None)."""
        verdicts = tuple(health.verdicts)
        roles = dict(health.roles)
        source = None
        if "reward" not in roles and related:
            # The health engine judged this run with a sibling's reward ("reward flat too"):
            # show that reward too, by the engine's own rule.
            companion = reward_companion(snap, related, self.options)
            if companion is not None:
                source, roles["reward"] = companion
        spark = {r: spark_tuple(roles.get(r)) for r in SPARK_ROLES}
        view = RunView(
            name=snap.name,
            version=snap.version,
            verdicts=verdicts,
            spark=spark,
            spark_bounds=entropy_bounds(verdicts, spark.get("entropy", ())),
            last_step=snap.last_step,
            last_write=snap.last_activity,
            problems=dict(snap.problems),
            library=health.library,
            usual_gap=health.usual_gap,
            state=health.state,
            writer_alive=health.writer_alive,
            summary=health.summary,
        )
        return view, roles, source

    def update_store(self, store: Store, runs: list[str] | None = None) -> list[str]:
        """Judge `runs` (default: those whose version changed), all at once; returns the runs
        judged.

        A run's siblings are the runs of its directory (none in a directory too full to be one experiment: `tui.health.kin`), each run's as a
        view of its directory's snapshots (`kin.Others`): no list of siblings per run, and each
        run's snapshot taken once however many runs share it."""
        versions = store.versions()
        names = runs if runs is not None else [
            r for r, v in versions.items() if (self._views.get(r) is None or self._views[r].version != v)]
        names = [n for n in names if n in store]
        if not names:
            return names
        by_parent = self._by_parent(store, versions)
        taken: dict[str, RunSnapshot] = {}

        def snap_of(run: str) -> RunSnapshot:
            s = taken.get(run)
            if s is None:
                s = taken[run] = store.snapshot(run)
            return s

        groups: dict[str, list[RunSnapshot]] = {}  # parent directory -> its runs' snapshots
        related: dict[str, Sequence[RunSnapshot]] = {}
        for name in names:
            parent = _parent(store, name)
            sibs = by_parent.get(parent, [])
            if len(sibs) < 2 or not experiment_size_ok(len(sibs)):
                continue
            group = groups.get(parent)
            if group is None:
                group = groups[parent] = [snap_of(r) for r in sibs]
            related[name] = Others(group, sibs.index(name))
        self.update_many([snap_of(n) for n in dict.fromkeys(names)], related)
        return names

    def aging(self, store: Store) -> list[str]:
        """The runs whose judgement can change with the clock alone: every run but those that
        had ended when last judged and whose data, and their siblings', is unchanged since (an
        ended run stays ended until it writes again). Re-judging 3 000 ended runs every 30 s
        cost several % of a core while nothing happened."""
        versions = store.versions()
        by_parent = self._by_parent(store, versions)
        with self._lock:
            health, judged = dict(self._health), dict(self._judged_data)
        out = []
        for run, v in versions.items():
            h, seen = health.get(run), judged.get(run)
            ended = h is not None and h.state == "ended"
            if not ended or seen != (v, tuple(versions.get(r, -1) for r in _siblings(store, run, by_parent))):
                out.append(run)
        return out

    def _by_parent(self, store: Store, versions: dict[str, int]) -> dict[str, list[str]]:
        """The runs grouped by parent directory, kept while the runs are the same (3 000 paths
        normalised on every ingest cost more than judging the few runs that changed)."""
        runs = tuple(versions)
        if runs != self._parents[0]:
            self._parents = (runs, _by_parent(store, versions))
        return self._parents[1]

    def views(self) -> dict[str, RunView]:
        """A copy of the latest view of every run (safe to read on any thread)."""
        with self._lock:
            return dict(self._views)

    def view(self, run: str) -> RunView | None:
        with self._lock:
            return self._views.get(run)

    def roles(self, run: str) -> dict[str, Series]:
        """The role series ("entropy", "reward", "throughput") of the run's last judgement."""
        with self._lock:
            return dict(self._roles.get(run, {}))

    def reward_source(self, run: str) -> str | None:
        """The sibling run whose reward stands in for `run`'s (it logs none), if any."""
        with self._lock:
            return self._reward_from.get(run)

    def health(self, run: str) -> RunHealth | None:
        with self._lock:
            return self._health.get(run)

    def histories(self) -> dict[str, list[VerdictChange]]:
        """Run -> its verdict changes so far (copies; safe on any thread). The review uses them
        instead of replaying each run's history again."""
        with self._lock:
            return {run: list(h.history) for run, h in self._health.items()}


def _by_parent(store: Store, versions: dict[str, int]) -> dict[str, list[str]]:
    by_parent: dict[str, list[str]] = {}
    for r in versions:
        by_parent.setdefault(_parent(store, r), []).append(r)
    return by_parent


def _parent(store: Store, name: str) -> str:
    return os.path.dirname(os.path.normpath(store.path(name)))


def _siblings(store: Store, name: str, by_parent: dict[str, list[str]]) -> list[str]:
    """The runs beside `name` (sibling directories), none in a flat logdir of many runs."""
    sibs = by_parent.get(_parent(store, name), [])
    return [r for r in sibs if r != name] if experiment_size_ok(len(sibs)) else []
