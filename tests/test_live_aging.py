"""`Judge.aging`: which runs the clock alone can change (re-judged every 30 s while idle)."""

from __future__ import annotations

import math

from tui.live.views import Judge
from tui.store import Store

NOW = 1_700_000_000.0
DAY = 86400.0


def _write(store: Store, run: str, end: float, n: int = 60, start: int = 0) -> None:
    steps = [2048 * (start + i) for i in range(n)]
    walls = [end - (n - i) * 10 for i in range(n)]
    store.append(run, "losses/entropy", steps, walls, [1.5 * math.exp(-(start + i) / 50) + 0.2 for i in range(n)])
    store.append(run, "charts/episodic_return", steps, walls, [float(start + i) for i in range(n)])


def _judge(store: Store, now: float) -> Judge:
    j = Judge(clock=lambda: now)
    j.update_store(store)
    return j


def test_ended_unchanged_runs_are_left_alone_live_ones_and_writers_are_not():
    store = Store()
    for run, end in (("old", NOW - 3 * DAY), ("live", NOW - 30)):
        store.ensure_run(run, f"/logs/{run}")
        _write(store, run, end)
    j = _judge(store, NOW)
    assert j.health("old").state == "ended" and j.health("live").state != "ended"
    assert j.aging(store) == ["live"]
    _write(store, "old", NOW - 5, n=5, start=60)  # the ended run writes again
    assert sorted(j.aging(store)) == ["live", "old"]
    j.update_store(store)
    assert j.health("old").state != "ended"


def test_an_ended_run_is_judged_again_when_a_sibling_writes():
    store = Store()  # siblings: the runs of one experiment, side by side
    for run in ("exp/a", "exp/b"):
        store.ensure_run(run, f"/logs/{run}")
        _write(store, run, NOW - 3 * DAY)
    j = _judge(store, NOW)
    assert j.aging(store) == []
    _write(store, "exp/b", NOW - 3 * DAY + 100, n=3, start=60)  # still ended, but new data beside "a"
    assert sorted(j.aging(store)) == ["exp/a", "exp/b"]


def test_a_run_never_judged_is_aging():
    store = Store()
    store.ensure_run("new", "/logs/new")
    assert Judge(clock=lambda: NOW).aging(store) == ["new"]


def test_an_idle_rejudge_of_ended_runs_announces_nothing():
    """The screens redraw (and sort every row) on each announcement: 30 000 ended runs were
    redrawn every 30 s while nothing happened."""
    from tui.live.events import RunsChanged
    from tui.live.session import LiveSession

    store = Store()
    store.ensure_run("old", "/logs/old")
    _write(store, "old", NOW - 3 * DAY)
    events: list[object] = []
    session = LiveSession(store, clock=lambda: NOW, emit=events.append)
    session.refresh_from_store()
    events.clear()
    session.rejudge_all()
    assert not [e for e in events if isinstance(e, RunsChanged)]
    store.ensure_run("live", "/logs/live")
    _write(store, "live", NOW - 30)
    session.refresh_from_store()
    events.clear()
    session.rejudge_all()  # a live run ages with the clock: judged again and announced
    assert [e for e in events if isinstance(e, RunsChanged)]
