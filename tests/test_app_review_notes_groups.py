"""Issue 6 in the live TUI (pilot): `r` review, `n` notes, `g` seed groups, palette, help."""

from __future__ import annotations

import os
import threading

from app_fixtures import NOW, SEEDS, seed_store
from test_app_pilot import SIZE, record_notices, rows, sync, table
from testing import wait_for
from textual.widgets import Input, Static

from tui.app.app import AppOptions, make_app
from tui.app.screens.detail import DetailScreen
from tui.app.screens.group_detail import GroupDetailScreen
from tui.app.screens.note import NoteScreen
from tui.app.screens.overview import OverviewScreen
from tui.app.screens.review import ReviewScreen
from tui.notes import Note, NoteStore

GROUP = "ppo_cartpole_seed*"


def seed_app(seed_pattern: str | None = None):
    return make_app(store=seed_store(), options=AppOptions(clock=lambda: NOW, seed_pattern=seed_pattern))


def keys(text: str) -> list[str]:
    return ["space" if c == " " else c for c in text]


@sync
async def test_r_builds_the_review_in_a_worker_with_live_histories_and_r_closes_it(monkeypatch):
    import tui.health
    import tui.report.review as review_mod

    def no_replay(*a, **k):  # the app's Judge already has every run's history
        raise AssertionError("a run was replayed although the app knows its history")

    monkeypatch.setattr(tui.health, "replay_history", no_replay)
    threads = []
    real = review_mod.build_review

    def spy(*a, **k):
        threads.append(threading.current_thread() is threading.main_thread())
        assert k["histories"].keys() >= set(SEEDS)
        return real(*a, **k)

    monkeypatch.setattr(review_mod, "build_review", spy)
    app = seed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert threads == [False]  # built off the UI thread
        await pilot.pause()
        text = "\n".join(str(s.render()) for s in app.screen.query(Static))
        for run in ("pong-collapse", "cartpole-healthy", *SEEDS):
            assert run in text
        assert GROUP in text  # the review's seed groups section
        await pilot.press("r")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("enter", "r")  # from the detail screen too
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await pilot.press("escape")
        assert isinstance(app.screen, DetailScreen)


@sync
async def test_review_errors_become_notices(monkeypatch):
    import tui.report.review as review_mod

    def broken(*a, **k):
        raise PermissionError(13, "Permission denied", "/state/notes")

    monkeypatch.setattr(review_mod, "build_review", broken)
    app = seed_app()
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("/state/notes" in m for m, _ in seen))
        assert any("Permission denied" in m and sev == "error" for m, sev in seen)
        monkeypatch.setattr(review_mod, "build_review", lambda *a, **k: 1 / 0)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("ZeroDivisionError" in m for m, _ in seen))
        assert not any("Retrying" in m for m, _ in seen if "review" in m)
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("j")  # still alive
        assert table(app).cursor_row == 1


@sync
async def test_n_writes_a_note_that_the_detail_and_overview_show():
    app = seed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        run = table(app).cursor_run()
        await pilot.press("n")
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*keys("does lr fix the collapse"))  # 'r' and 'g' type, not act
        await pilot.press("tab", *keys("entropy stays up"))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        note = NoteStore().get(app.store.path(run))
        assert note is not None and note.question == "does lr fix the collapse"
        assert note.expectation == "entropy stays up"
        assert str(NoteStore().root).startswith(os.environ["TBPEEK_STATE_DIR"])  # isolated
        assert "✎" in table(app).get_cell(run, "mark").plain
        await pilot.press("enter")
        await pilot.pause()
        panel = app.screen.query_one("#note-panel", Static)
        assert panel.display
        shown = str(panel.render())
        assert "does lr fix the collapse" in shown and "entropy stays up" in shown
        await pilot.press("n")  # edit it from the detail screen
        assert isinstance(app.screen, NoteScreen)
        assert app.screen.query_one("#note-question", Input).value == "does lr fix the collapse"
        await pilot.press("end", *keys(" at all"), "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        assert "collapse at all" in str(app.screen.query_one("#note-panel", Static).render())


@sync
async def test_notes_saved_earlier_are_shown_and_escape_saves_nothing():
    store = seed_store()
    NoteStore().save(Note(store.path("pong-pinned"), question="why pinned?"))
    app = make_app(store=store, options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: "✎" in table(app).get_cell("pong-pinned", "mark").plain)
        assert "✎" not in table(app).get_cell("pong-collapse", "mark").plain
        run = table(app).cursor_run()
        await pilot.press("n", *keys("never mind"), "escape")
        assert NoteStore().get(app.store.path(run)) is None
        detail = DetailScreen("pong-pinned")
        await app.push_screen(detail)
        await pilot.pause()
        assert "why pinned?" in str(detail.query_one("#note-panel", Static).render())


@sync
async def test_g_folds_three_seeds_into_one_row_and_unfolds():
    app = seed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert set(SEEDS) <= set(rows(app))
        await pilot.press("g")
        order = rows(app)
        assert GROUP in order and not set(SEEDS) & set(order)
        assert len(order) == 6  # five runs + one group
        assert table(app).get_cell(GROUP, "health").plain == "2/3 healthy"
        status = str(app.screen.query_one("#status").render())
        assert "8 runs" in status and "1 seed group folded" in status
        await pilot.press("g")
        assert set(SEEDS) <= set(rows(app)) and GROUP not in rows(app)
        await pilot.resize_terminal(60, 12)  # compact: "k/n" in the badge column
        await pilot.pause()
        await pilot.press("g")
        assert table(app).get_cell(GROUP, "health").plain == "2/3"


@sync
async def test_enter_on_a_folded_group_charts_median_and_band():
    app = seed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("g")
        table(app).move_cursor(row=rows(app).index(GROUP), animate=False)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GroupDetailScreen) and screen.runs == list(SEEDS)
        band = screen.bands["role-entropy"]
        assert band.x.size > 0 and band.count.max() == 3
        assert (band.lo <= band.median).all() and (band.median <= band.hi).all()
        assert [ln.label for ln in screen._charts["role-entropy"].lines] == ["min", "max", "median"]
        assert "tag-losses/value_loss" in screen.bands
        head = str(screen.query_one("#detail-head").render())
        assert "2/3 healthy" in head and "median" in head and "min & max" in head
        verdicts = str(screen.query_one("#verdicts").render())
        assert all(s in verdicts for s in SEEDS)
        await pilot.press("x")
        assert screen.x_mode == "relative" and screen.bands["role-entropy"].x[0] == 0
        await pilot.press("x")
        assert screen.x_mode == "step"
        seen = record_notices(app)
        await pilot.press("n")  # a group has no note of its own
        assert isinstance(app.screen, GroupDetailScreen) and any("unfold" in m for m, _ in seen)
        await pilot.press("escape", "space")  # space on a folded row picks all its seeds
        assert set(SEEDS) <= set(app.session.view.selected)
        assert table(app).get_cell(GROUP, "mark").plain.startswith("●")


@sync
async def test_bad_seed_pattern_gives_a_notice_and_the_default():
    app = seed_app("seed(\\d+")
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("g")
        assert any("not a valid regular expression" in m and sev == "warning" for m, sev in seen)
        assert GROUP in rows(app)


@sync
async def test_seed_pattern_from_config():
    import argparse

    from tui.app.cli import build_options, configure
    from tui.config import config_dir, load_config

    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "config.toml").write_text('[groups]\nseed_pattern = "-(collapse|pinned)$"\n')
    parser = argparse.ArgumentParser()
    configure(parser)
    options = build_options(parser.parse_args(["/runs"]), load_config())
    assert options.seed_pattern == "-(collapse|pinned)$"
    app = seed_app(options.seed_pattern)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("g")
        assert "pong-*" in rows(app) and GROUP not in rows(app)


@sync
async def test_palette_commands_and_help_list_the_new_keys():
    from tui.app.screens.help import HELP

    app = seed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Review the last 24 h", "Fold seed groups"} <= set(commands)
        commands["Fold seed groups"].callback()
        await pilot.pause()
        assert GROUP in rows(app)
        assert "Unfold seed groups" in {c.title for c in app.get_system_commands(app.screen)}
        commands["Review the last 24 h"].callback()
        assert await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
    for key in ("`r`", "`n`", "`g`"):
        assert key in HELP


@sync
async def test_folding_without_any_seed_group_says_so():
    from app_fixtures import fixed_store

    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW))
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("g")
        assert any("No two runs differ only by a seed" in m for m, _ in seen)
        assert len(rows(app)) == 5
