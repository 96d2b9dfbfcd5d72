"""The run table is virtual: only the rows on screen are built, a change rebuilds only its row,
the clock's tick sorts nothing, and the cursor keeps its run across reorders (hundreds of runs:
thousands behave the same, only slower to set up). Counters, never wall-clock times."""

from __future__ import annotations

import numpy as np
from app_fixtures import NOW, fixed_store
from testing import Clock, sync, wait_for

import tui.app.screens.overview as overview
from tui.app.app import AppOptions, make_app
from tui.app.widgets.run_table import RunTable

RUNS = 300
SIZE = (120, 30)


def table(app) -> RunTable:
    return app.screen.query_one(RunTable)


def on_screen(t: RunTable) -> range:
    top = int(t.scroll_y)
    return range(top, min(t.row_count, top + t.size.height - 1))


def poison(app, run: str) -> None:
    """A NaN in `run`'s entropy: an alarm, so it sorts first (worst first)."""
    s = app.store.series(run, "losses/entropy")
    app.store.append(run, "losses/entropy", [int(s.steps[-1]) + 1], [float(s.wall_times[-1]) + 1], [np.nan])
    app.refresh_from_store()


@sync
async def test_only_the_rows_on_screen_are_built():
    app = make_app(store=fixed_store(RUNS), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app).row_count == RUNS and table(app).rows_built > 0)
        t = table(app)
        visible = len(on_screen(t))
        assert 10 < visible < 40
        assert t.rows_built <= visible  # 300 rows, only those on screen were built
        await pilot.press("end")
        await pilot.pause()
        assert t.cursor_row == RUNS - 1 and t.cursor_row in on_screen(t)
        assert t.rows_built <= 2 * visible + 1  # the last page too, nothing between
        built = t.rows_built
        await pilot.press("k", "k")  # the cursor moves within the page: no row's data changed
        await pilot.pause()
        assert t.rows_built == built and t.cursor_row == RUNS - 3


@sync
async def test_a_change_rebuilds_only_its_row():
    app = make_app(store=fixed_store(RUNS), options=AppOptions(clock=lambda: NOW))
    app.session.view.set_sort("name")  # a NaN changes no order by name
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app).row_count == RUNS and table(app).rows_built > 0)
        t = table(app)
        await pilot.pause(0.6)
        shown = [t.row_keys[i] for i in on_screen(t)]
        built, reorders = t.rows_built, t.reorders
        run = shown[3]
        poison(app, run)
        await wait_for(pilot, lambda: t.get_cell(run, "health").plain.startswith("ALARM"))
        await pilot.pause(0.6)  # a few more ticks: nothing else is rebuilt
        assert t.rows_built == built + 1 and t.reorders == reorders
        off = t.row_keys[-1]  # a run off screen: nothing is built until it is scrolled to
        assert off not in shown
        poison(app, off)
        await wait_for(pilot, lambda: app.judge.view(off).severity >= 3)
        await pilot.pause(0.6)
        assert t.rows_built == built + 1
        await pilot.press("end")
        await wait_for(pilot, lambda: t.get_cell(off, "health").plain.startswith("ALARM"))


@sync
async def test_the_clock_tick_sorts_nothing_and_redraws_only_ages_on_screen(monkeypatch):
    clock = Clock(NOW)
    sorts: list[int] = []
    real_order = overview.SortedViews.order
    monkeypatch.setattr(overview.SortedViews, "order", lambda *a, **k: sorts.append(1) or real_order(*a, **k))
    app = make_app(store=fixed_store(RUNS), options=AppOptions(clock=clock, refresh=0.1))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app).row_count == RUNS and table(app).rows_built > 0)
        t = table(app)
        await pilot.pause(0.5)
        first = t.row_keys[0]
        age = t.get_cell(first, "age").plain.strip()
        built, reorders, sorted_before = t.rows_built, t.reorders, len(sorts)
        clock.advance(120)
        await wait_for(pilot, lambda: t.get_cell(first, "age").plain.strip() != age)
        await pilot.pause(0.5)  # several ticks of the clock
        assert len(sorts) == sorted_before and t.reorders == reorders  # nothing sorted, nothing moved
        assert 0 < t.rows_built - built <= len(on_screen(t))  # only rows on screen, once each


@sync
async def test_the_cursor_keeps_its_run_when_rows_reorder():
    app = make_app(store=fixed_store(RUNS), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app).row_count == RUNS and table(app).rows_built > 0)
        t = table(app)
        t.move_cursor(row=200)
        await pilot.pause()
        run = t.cursor_run()
        assert run is not None and t.cursor_row in on_screen(t)
        below = t.row_keys[250]  # it moves above the cursor's run: the run moves down one row
        reorders = t.reorders
        poison(app, below)
        await wait_for(pilot, lambda: t.row_keys[0] == below or t.row_keys.index(below) < 200)
        assert t.reorders > reorders
        assert t.cursor_run() == run and t.cursor_row == t.row_keys.index(run) == 201
        assert t.cursor_row in on_screen(t)  # still in view
        assert str(app.screen.query_one("#run-summary").render())  # the run line speaks of it


@sync
async def test_enter_and_clicks_open_the_cursor_run_and_headers_sort():
    app = make_app(store=fixed_store(RUNS), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app).row_count == RUNS)
        t = table(app)
        await pilot.click(RunTable, offset=(10, 0))  # the header "run": sort by name
        await wait_for(pilot, lambda: t.row_keys == sorted(t.row_keys))
        await pilot.press("pagedown")
        await pilot.pause()
        row = t.cursor_row
        assert row > 0 and row in on_screen(t)
        run = t.cursor_run()
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "run", None) == run)
