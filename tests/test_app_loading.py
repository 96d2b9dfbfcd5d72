"""Loading is visible (issue 14.7): the first read of a big logdir is done in parts and the
status line says "reading 1 200 of 3 000 runs" meanwhile; the runs read so far are shown."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from app_fixtures import NOW
from testing import sync, wait_for

from tui.app.app import AppOptions, make_app
from tui.live.session import LOAD_MIN_RUNS, LiveSession
from tui.store import Store


@dataclass
class State:
    run: str
    path: str


class SlowIngestor:
    """Knows `n` runs of one file each; each poll of a part adds one point to each of its runs
    and (optionally) waits to be let go, as a slow disk would."""

    def __init__(self, store: Store, n: int, gate: threading.Event | None = None) -> None:
        self.store = store
        self.runs = [f"run-{i:04d}" for i in range(n)]
        self.gate = gate
        self.polls: list[list[str] | None] = []
        self.entered = threading.Event()

    def watch_paths(self) -> list[str]:
        return []

    def rescan(self) -> list[str]:
        for r in self.runs:
            self.store.ensure_run(r, f"/logs/{r}")
        return list(self.runs)

    def file_states(self) -> list[State]:
        return [State(r, f"/logs/{r}/events.out.tfevents.1") for r in self.runs]

    def poll(self, paths=None) -> set[str]:
        self.polls.append(None if paths is None else list(paths))
        if paths is None:
            return set()
        if len(self.polls) == 2 and self.gate is not None:
            self.entered.set()
            self.gate.wait(10)
        runs = [p.split("/")[2] for p in paths]
        for r in runs:
            self.store.append(r, "losses/entropy", np.array([1]), np.array([NOW - 5.0]), np.array([1.0]))
        return set(runs)


def test_the_first_read_is_done_in_parts_and_says_how_far_it_is():
    store = Store()
    statuses: list[str] = []
    session = LiveSession(store, None, clock=lambda: NOW)
    ing = SlowIngestor(store, 3000)
    session.ingestor = ing
    session.emit = lambda event: statuses.append(session.loading_status())
    session.first_ingest()
    parts = [p for p in ing.polls if p is not None]
    assert sum(len(p) for p in parts) == 3000 and len(set(map(tuple, parts))) == 21  # every file once
    assert [len(p) for p in parts[:3]] == [50, 100, 150]  # a screenful first, then even parts
    assert ing.polls[-1] is None  # then one poll of everything (files found meanwhile)
    assert statuses[0] == "looking for runs…" and statuses[1] == "reading 0 of 3 000 runs"
    assert "reading 1 200 of 3 000 runs" in statuses
    assert statuses[-1] == "" and session.loading is None


def test_a_small_logdir_is_read_in_one_go():
    store = Store()
    session = LiveSession(store, None, clock=lambda: NOW)
    ing = SlowIngestor(store, LOAD_MIN_RUNS)
    session.ingestor = ing
    session.first_ingest()
    assert ing.polls == [None] and session.loading_status() == ""


@sync
async def test_the_status_line_shows_progress_and_the_runs_read_so_far():
    store = Store()
    gate = threading.Event()
    ing = SlowIngestor(store, 400, gate)
    app = make_app(store=store, ingestor=ing, options=AppOptions(clock=lambda: NOW))
    try:
        async with app.run_test(size=(120, 35)) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if ing.entered.is_set():
                    break
            for _ in range(200):  # the overview redraws on its timer
                await pilot.pause(0.05)
                if "reading 50 of 400 runs" in str(app.screen.query_one("#status").render()):
                    break
            assert "reading 50 of 400 runs" in str(app.screen.query_one("#status").render())
            # The first part's points are shown already; the others' rows wait for theirs.
            assert app.judge.view("run-0049").last_step == 1
            assert app.judge.view("run-0399") is None  # not judged before it is read
            assert await wait_for(pilot, lambda: app.screen.table.row_count == 50)
            gate.set()
            for _ in range(200):
                await pilot.pause(0.05)
                if ("reading" not in str(app.screen.query_one("#status").render())
                        and len(app.screen.table.row_keys) == 400):
                    break
            assert "reading" not in str(app.screen.query_one("#status").render())
            assert len(app.screen.table.row_keys) == 400 and app.judge.view("run-0399").last_step == 1
    finally:
        gate.set()


class RecordingWatcher:
    """A watcher that only notes when it was started (as a count of the ingestor's polls)."""

    def __init__(self, ing: SlowIngestor) -> None:
        self.ing, self.started_after, self.mode, self.fallback_reason = ing, None, "inotify", None

    def start_in_background(self) -> None:
        self.started_after = len(self.ing.polls)

    start = start_in_background

    def stop(self) -> None:
        pass


def test_the_app_places_its_watches_once_the_first_rows_are_read():
    """Placing 60 000 watches beside the first read doubled the time to the first rows of
    30 000 runs: the app's session starts its watcher after the first part, not before."""
    for later, expected in ((True, 1), (False, 0)):
        store = Store()
        ing = SlowIngestor(store, 400)
        ing.watch_paths = lambda: ["/logs"]  # type: ignore[method-assign]
        session = LiveSession(store, ing, clock=lambda: NOW)
        watcher = RecordingWatcher(ing)
        session._make_watcher = lambda *a, w=watcher, **k: w  # type: ignore[assignment]
        session.start_watching(after_first_rows=later)
        session.first_ingest()
        assert watcher.started_after == expected  # 1: after the first part's poll, before the next
        assert len(session.judge.views()) == 400
