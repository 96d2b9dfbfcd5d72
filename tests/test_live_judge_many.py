"""`Judge.update_store` judges the runs of one update together (`HealthTracker.update_many`):
the same views, role series, reward sources and histories as judging them one by one."""

from __future__ import annotations

import numpy as np
from health_many import T0, _one

from tui.live.views import Judge, _by_parent, _siblings
from tui.store import Store


def _store(seed: int = 0) -> Store:
    """Varied runs: experiments of 1-3 seeds, directories of 5-9 seed siblings (some of them
    ended far short of the others), a reward-only sibling now and then, and a flat directory of
    40 runs (CleanRL's ``runs/<name>``: too many to be one experiment's siblings)."""
    rng = np.random.default_rng(seed)
    store = Store()
    r = 0
    while r < 160:
        seeds = int(rng.integers(1, 4)) if r % 20 else int(rng.integers(5, 10))
        for s in range(seeds):
            _one(store, f"exp{r:04d}/seed{s}", f"/logs/exp{r:04d}/seed{s}", r + s, rng, lib=r % 3)
        r += seeds
    for k in range(40):
        _one(store, f"runs/cleanrl_{k}", f"/logs/runs/cleanrl_{k}", 1000 + k, rng, lib=2)
    # Runs that ended far short of their siblings: a few points of a sibling, beside it.
    by_dir: dict[str, list[str]] = {}
    for name in store.runs():
        by_dir.setdefault(name.split("/")[0], []).append(name)
    for name in [runs[0] for runs in by_dir.values() if 3 <= len(runs) <= 7][:3]:
        snap = store.snapshot(name)
        store.ensure_run(name + "_short", store.path(name) + "_short")
        for tag, s in snap.series.items():
            store.append(name + "_short", tag, s.steps[:3], s.wall_times[:3], s.values[:3])
    return store


def _one_by_one(judge: Judge, store: Store, names: list[str]) -> None:
    """The way the Judge judged before: each run with a list of its siblings' snapshots."""
    by_parent = _by_parent(store, store.versions())
    for name in names:
        judge.update(store.snapshot(name), [store.snapshot(r) for r in _siblings(store, name, by_parent)])


def _state(judge: Judge, names: list[str]) -> list[tuple[object, ...]]:
    views = judge.views()
    return [(repr(views[n]), {k: (s.steps.tolist(), repr(s.values.tolist())) for k, s in judge.roles(n).items()},
             judge.reward_source(n), judge.histories()[n]) for n in names]


def test_batched_update_store_gives_the_views_of_run_by_run():
    store = _store()
    names = store.runs()
    now = [T0 + 3000.0]
    one, many = Judge(clock=lambda: now[0]), Judge(clock=lambda: now[0])
    # The first read in parts (as the session reads), then the clock alone, then new data in
    # some runs, then days later (ended runs).
    for a, b in ((0, 50), (50, 150), (150, len(names))):
        _one_by_one(one, store, names[a:b])
        assert many.update_store(store, runs=names[a:b]) == names[a:b]
    assert _state(one, names) == _state(many, names)
    states = {v.state for v in many.views().values()}
    sources = {many.reward_source(n) for n in names} - {None}
    assert len(states) > 1 and sources, "the runs judged cover states and borrowed rewards"

    now[0] += 500.0
    _one_by_one(one, store, names)
    many.update_store(store, runs=names)
    assert _state(one, names) == _state(many, names)

    changed = names[::7]
    for name in changed:
        s = store.snapshot(name)
        for tag, series in s.series.items():
            if len(series):
                store.append(name, tag, [int(series.steps[-1]) + 1], [float(series.wall_times[-1]) + 1.0],
                             [float(series.values[-1])])
    now[0] += 4 * 86400.0  # every run ended
    moved = [r for r, v in store.versions().items() if one.views()[r].version != v]
    assert sorted(moved) == sorted(changed)
    _one_by_one(one, store, moved)
    assert sorted(many.update_store(store)) == sorted(changed)
    assert _state(one, names) == _state(many, names)
    _one_by_one(one, store, names)
    many.update_store(store, runs=names)
    assert _state(one, names) == _state(many, names)
    short = [n for n in names if any("far fewer steps than" in v.reason for v in many.views()[n].verdicts)]
    assert {n for n in names if n.endswith("_short")} <= set(short), "runs ended short of their siblings say so"
    assert not any(n.startswith("runs/") for n in short), "a flat directory of 40 runs is not one experiment"


def test_update_many_of_no_runs_and_update_of_one():
    store = _store(1)
    j = Judge(clock=lambda: T0 + 3000.0)
    assert j.update_many([]) == []
    assert j.update_store(store, runs=[]) == []
    name = store.runs()[0]
    view = j.update(store.snapshot(name))
    assert j.view(name) == view and view.name == name
