"""The look budget inside the real app: gate on start, looks, `e`, breakthrough, CLI wiring."""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
from app_fixtures import NOW, STEP_SECONDS, T0, N, _add, fixed_store
from testing import Clock, sync

from tui.app.app import AppOptions, make_app
from tui.app.cli import budget_settings, configure
from tui.app.screens.detail import DetailScreen
from tui.app.screens.gate import GateScreen
from tui.app.screens.overview import OverviewScreen
from tui.looks.log import Look, append_look, read_looks
from tui.looks.settings import BudgetSettings
from tui.store import Store

SIZE = (120, 35)


def calm_store() -> Store:
    """Two live runs, both healthy."""
    store = Store()
    i = np.arange(N)
    noise = np.random.default_rng(3).normal(0, 0.01, N)
    h_max = math.log(6)
    for run in ("ppo-a", "ppo-b"):
        _add(store, run, h_max * (0.55 + 0.45 * np.exp(-i / 60)) + noise,
             -21 + 36 * (1 - np.exp(-i / 80)), np.full(N, 2048.0))
    return store


def budget_app(tmp_path, clock, store=None, **settings):
    log = tmp_path / "looks.jsonl"
    opts = AppOptions(clock=clock, budget=BudgetSettings(log_path=log, **settings))
    return make_app(store=store if store is not None else calm_store(), options=opts), log


def gated_app(tmp_path, clock):
    """An app whose last look started a minute ago: the gate is up for the next 29 minutes."""
    append_look(Look(start=NOW - 60, end=NOW - 30, found_new=False), tmp_path / "looks.jsonl")
    return budget_app(tmp_path, clock, every=1800, window=180)


async def open_look(pilot) -> None:
    """Start the due look from the gate."""
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def gate_text(app) -> str:
    assert isinstance(app.screen, GateScreen)
    return app.screen.text()


@sync
async def test_gate_on_start_when_no_look_is_due_shows_no_values(tmp_path):
    clock = Clock(NOW)
    (tmp_path / "looks.jsonl").write_text("")
    append_look(Look(start=NOW - 600, end=NOW - 420, found_new=False), tmp_path / "looks.jsonl")
    app, _ = budget_app(tmp_path, clock, every=1800, window=180)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = gate_text(app)
        assert "Watching 2 runs · 0 alarms" in text
        assert "in 20:00" in text  # the next look is 30 min after the last one started
        for hidden in ("ppo-a", "healthy", "▁", "█", "2048"):
            assert hidden not in text
        await pilot.press("enter")  # not due: nothing opens
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        await pilot.press("e")  # no look to end: still the gate
        assert isinstance(app.screen, GateScreen)


@sync
async def test_due_look_opens_on_enter_shows_time_left_and_e_ends_it(tmp_path):
    clock = Clock(NOW)
    app, log = budget_app(tmp_path, clock, every=120, window=30)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "A look is due" in gate_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        clock.t += 10
        app.screen.redraw()
        assert "look · 0:20 left" in str(app.screen.query_one("#status").content)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        assert "Next look at" in gate_text(app)
    looks = read_looks(log)
    assert looks[-1].trigger == "scheduled" and looks[-1].end == pytest.approx(NOW + 10)


@sync
async def test_window_expiry_brings_the_gate_back(tmp_path):
    clock = Clock(NOW)
    app, _ = budget_app(tmp_path, clock, every=120, window=30)
    async with app.run_test(size=SIZE) as pilot:
        await open_look(pilot)
        assert isinstance(app.screen, OverviewScreen)
        clock.t += 31
        app.session.gate.refresh()
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)


@sync
async def test_new_alarm_while_gated_breaks_through_to_that_runs_detail(tmp_path):
    clock = Clock(NOW)
    app, log = gated_app(tmp_path, clock)
    written: list[str] = []
    rang: list[bool] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        app.session.gate.alerter.write = written.append
        app.session.gate.alerter.bell = lambda: rang.append(True)
        wall = T0 + N * STEP_SECONDS + 20
        app.store.append("ppo-b", "losses/entropy", [(N + 1) * 2048, (N + 2) * 2048], [wall, wall + 5],
                         [float("nan"), float("nan")])
        app.store.set_last_write("ppo-b", wall + 5)
        app.refresh_from_store()
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen) and app.screen.run == "ppo-b"
        assert rang == [True]
        assert any("\x1b]9;" in w and "ppo-b" in w for w in written)
        assert any("\x1b]777;notify;" in w for w in written)
    alarm_looks = [k for k in read_looks(log) if k.trigger == "alarm"]
    assert alarm_looks and alarm_looks[0].run == "ppo-b"


@sync
async def test_alarms_of_long_ended_runs_do_not_ring(tmp_path):
    """The fixed store's collapse is live (rings); the same data read a week later is history."""
    clock = Clock(NOW + 7 * 86400)
    app, log = budget_app(tmp_path, clock, fixed_store(), every=1800, window=180)
    rang: list[bool] = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        assert "0 alarms" in gate_text(app)
    assert rang == [] and not [k for k in read_looks(log) if k.trigger == "alarm"]

    clock = Clock(NOW)
    app, log = budget_app(tmp_path / "live", clock, fixed_store(), every=1800, window=180)
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
    assert rang and [k.run for k in read_looks(log) if k.trigger == "alarm"]


@sync
async def test_quit_during_a_look_logs_its_end(tmp_path):
    clock = Clock(NOW)
    app, log = budget_app(tmp_path, clock, every=120, window=30)
    async with app.run_test(size=SIZE) as pilot:
        await open_look(pilot)
        clock.t += 5
        await pilot.press("q")
    assert read_looks(log)[-1].end == pytest.approx(NOW + 5)


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    configure(p)
    return p.parse_args(["/runs", *argv])


def test_watch_has_a_budget_by_default_and_flags_override_the_config():
    s = budget_settings(parse(), {"looks": {"every": "1h"}})
    assert s.enabled and s.every == 3600
    s = budget_settings(parse("--every", "2m", "--window", "30s"), {"looks": {"every": "1h"}})
    assert (s.every, s.window) == (120, 30)
    assert budget_settings(parse("--no-budget"), {}).enabled is False
    with pytest.raises(ValueError, match="--window"):
        budget_settings(parse("--every", "1m", "--window", "5m"), {})


def test_demo_runs_without_a_budget_unless_asked_and_then_logs_apart(tmp_path):
    from tui.config import state_dir

    assert budget_settings(parse(), {"looks": {"every": "1h"}}, demo=True) is None
    assert budget_settings(parse("--no-budget"), {}, demo=True) is None
    s = budget_settings(parse("--every", "2m", "--window", "30s"), {}, demo=True)
    assert s.enabled and s.every == 120 and s.log_path == state_dir() / "demo-looks.jsonl"


def test_bad_budget_flag_exits_2_with_a_message(capsys):
    from tui.app.cli import run_watch

    code = run_watch(["/nonexistent"], parse("--every", "soon"))
    assert code == 2
    assert "--every" in capsys.readouterr().err


@sync
async def test_review_does_not_open_over_the_gate(tmp_path):
    clock = Clock(NOW)
    app, _ = gated_app(tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause(0.5)
        assert isinstance(app.screen, GateScreen)


@sync
async def test_the_gate_waits_for_a_note_being_written(tmp_path):
    from tui.app.screens.note import NoteScreen

    clock = Clock(NOW)
    app, _ = budget_app(tmp_path, clock, every=120, window=30)
    async with app.run_test(size=SIZE) as pilot:
        await open_look(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"why does it")
        clock.t += 31  # the window ends mid-sentence
        app.session.gate.refresh()
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*" collapse")  # 'o' and 'e' type, they don't override or end looks
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.session.gate.refresh()
        await pilot.pause()
        assert isinstance(app.screen, GateScreen) and not app.screen.overriding
    from tui.notes import NoteStore

    assert NoteStore().get("/logs/ppo-a").question == "why does it collapse"


@sync
async def test_when_a_look_is_due_o_just_looks(tmp_path):
    app, log = budget_app(tmp_path, Clock(NOW), every=120, window=30)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "look early" not in gate_text(app)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
    assert read_looks(log)[-1].trigger == "scheduled"
