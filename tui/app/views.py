"""Turn store snapshots into `RunView`s with the health engine (pure: no Textual).

One `HealthTracker` per run, because a tracker keeps the run's verdict history. The ingest
worker calls `Judge.update` for the runs that changed; the UI only reads the results.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tui.app.model import RunView, spark_tuple
from tui.health.options import HealthOptions
from tui.store import RunSnapshot, Series, Store

log = logging.getLogger(__name__)

SPARK_ROLES = ("entropy", "reward", "throughput")


def _tracker_factory():
    """The health engine's tracker class, or None while it isn't there (older checkouts)."""
    try:
        from tui.health import HealthTracker  # type: ignore[attr-defined]
    except ImportError:
        return None
    return HealthTracker


def _fallback_roles(snap: RunSnapshot, opts: HealthOptions) -> tuple[dict[str, Series], str | None]:
    """Role series without the tracker: roles.py's mapping plus the derived step rate."""
    from tui.health.roles import snapshot_roles, series_for
    from tui.health.throughput import derive_rate, step_source

    rm = snapshot_roles(snap, opts.roles)
    out: dict[str, Series] = {}
    for role in ("entropy", "reward"):
        src = rm.sources.get(role)
        if src is not None:
            out[role] = series_for(snap, src)
    source = step_source(snap, rm)
    if source is not None:
        out["throughput"] = derive_rate(source[1], source[2], opts.thresholds.min_window)
    return out, rm.library


class Judge:
    """Keeps one health tracker per run and the latest `RunView` of each.

    Args:
        options: the health engine's options.
        clock: returns "now" in epoch seconds (tests freeze it).
    """

    def __init__(self, options: HealthOptions | None = None, clock=time.time) -> None:
        self.options = options or HealthOptions()
        self.clock = clock
        self._factory = _tracker_factory()
        self._trackers: dict[str, Any] = {}
        self._roles: dict[str, dict[str, Series]] = {}
        self._views: dict[str, RunView] = {}
        self._lock = threading.Lock()

    def update(self, snap: RunSnapshot) -> RunView:
        """Judge one run's snapshot and remember the view (called from the ingest worker)."""
        now = self.clock()
        verdicts: tuple = ()
        library = None
        if self._factory is not None:
            tracker = self._trackers.get(snap.name)
            if tracker is None:
                tracker = self._trackers[snap.name] = self._factory(self.options)
            health = tracker.update(snap, now=now)
            verdicts = tuple(health.verdicts)
            roles = dict(health.roles)
            library = getattr(health, "library", None)
        else:
            roles, library = _fallback_roles(snap, self.options)
        last_write = snap.last_write if snap.last_write is not None else snap.last_wall_time
        view = RunView(
            name=snap.name,
            version=snap.version,
            verdicts=verdicts,
            spark={r: spark_tuple(roles.get(r)) for r in SPARK_ROLES},
            last_step=snap.last_step,
            last_write=last_write,
            problems=dict(snap.problems),
            library=library,
        )
        with self._lock:
            self._views[snap.name] = view
            self._roles[snap.name] = roles
        return view

    def update_store(self, store: Store, runs: list[str] | None = None) -> list[str]:
        """Judge `runs` (default: those whose version changed); returns the runs judged."""
        versions = store.versions()
        names = runs if runs is not None else [
            r for r, v in versions.items() if (self._views.get(r) is None or self._views[r].version != v)]
        for name in names:
            if name in store:
                self.update(store.snapshot(name))
        return names

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
