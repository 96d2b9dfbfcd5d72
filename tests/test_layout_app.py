"""Issue 14, as a person meets it: names, step and age readable at 80, 100 and 120 columns;
the footer never cut; severity in words; ctrl+c and q/esc as other tools do; the help says
how to close it; a 12-line detail shows a chart; verdicts indent their wrapped lines; a run
whose reward lives in a sibling directory gets that reward's chart; the gate and the dialogs
fit 80x12 with their keys."""

from __future__ import annotations

import math

import numpy as np
import pytest
from app_fixtures import NOW, T0, fixed_store
from layout_helpers import LONG_NAMES, GateApp, gate_info, long_store, screen_lines
from testing import sync

from tui.app.app import AppOptions, make_app
from tui.app.screens.detail import DetailScreen
from tui.app.screens.help import CLOSE_HINT, HelpScreen
from tui.app.screens.note import NoteScreen
from tui.app.screens.overview import OverviewScreen
from tui.ingest import Ingestor
from tui.live.views import Judge
from tui.store import Store


def app_for(store: Store | None = None):
    return make_app(store=store if store is not None else long_store(),
                    options=AppOptions(clock=lambda: NOW, theme="tbpeek-dark"))


async def settled_lines(pilot, app, tries: int = 40) -> list[str]:
    """The screen once two looks in a row agree (a loaded machine may need more than one
    refresh before the columns are planned for the size)."""
    await pilot.pause()
    lines = screen_lines(app)
    for _ in range(tries):
        await pilot.pause(0.05)
        again = screen_lines(app)
        if again == lines:
            return lines
        lines = again
    return lines


def header_and_rows(lines: list[str]) -> tuple[str, list[str]]:
    head = next(i for i, line in enumerate(lines) if " run " in f" {line} ")
    rows = []
    for line in lines[head + 1:]:
        if not line.strip():
            break
        rows.append(line)
    return lines[head], rows


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 35)])
@sync
async def test_names_step_and_age_fit_and_the_footer_is_whole(size):
    app = app_for()
    async with app.run_test(size=size) as pilot:
        lines = await settled_lines(pilot, app)
        header, rows = header_and_rows(lines)
        assert header.split()[-2:] == ["step", "age"]  # never off the right edge
        assert len(rows) == len(app.judge.views())
        table = app.screen.query_one("#runs")
        shown = [table.get_cell(r, "name").plain for r in table.row_keys]
        assert len(set(shown)) == len(shown)  # no two runs read alike
        assert not any(s.startswith("sub/s…") for s in shown)
        for s in shown:
            assert s in "\n".join(rows)
        footer = lines[-1]
        assert "q Quit" in footer and "? Help" in footer
        words = footer.replace("▏", " ").split()
        assert all(w in {"space", "Pick", "/", "Filter", "o", "Sort", "g", "Seed", "groups", "n", "Note",
                         "t", "Theme", "q", "Quit", "?", "Help", "r", "Review", "^p", "palette"} for w in words), footer
        if size[0] >= 100:
            assert any("seaquest_ppo_pinned" in r for r in rows)  # whole words, not seaqu…pinned
        if size[0] == 80:
            assert "steps/s" not in header and "entropy" in header  # steps/s goes before names shrink
        if size[0] == 120:
            assert "steps/s" in header and "reward" in header


@sync
async def test_severity_is_in_words_in_the_wide_overview_with_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(fixed_store())
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#runs")
        for view in app.judge.views().values():
            cell = table.get_cell(view.name, "health").plain
            word = {3: "ALARM", 2: "WARN"}.get(int(view.severity))
            if word:
                assert cell.startswith(word), cell
            else:
                assert not cell.startswith(("ALARM", "WARN")), cell
        assert "ALARM" in "\n".join(screen_lines(app))


@sync
async def test_ctrl_c_quits_at_once():
    app = app_for(fixed_store())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # from the detail too
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running and app.return_code == 0


@sync
async def test_ctrl_c_with_an_unsaved_note_asks_once():
    app = app_for(fixed_store())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteScreen)
        await pilot.press("w", "h", "y")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, NoteScreen)
        assert app.screen.current().question == "why"  # nothing lost
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


@sync
async def test_ctrl_c_on_an_untouched_note_quits_at_once():
    app = app_for(fixed_store())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


@sync
async def test_q_and_esc_go_back_one_level_and_q_quits_from_the_overview():
    app = app_for(fixed_store())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        for back in ("q", "escape"):
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            await pilot.press(back)
            await pilot.pause()
            assert app.is_running and isinstance(app.screen, OverviewScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, OverviewScreen)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


@sync
async def test_help_says_how_to_close_it_and_its_footer_shows_its_own_keys():
    app = app_for(fixed_store())
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        lines = screen_lines(app)
        assert any(CLOSE_HINT in line for line in lines)
        assert "Close" in lines[-1] and "Pick" not in lines[-1] and "Filter" not in lines[-1]


@sync
async def test_a_twelve_line_detail_shows_a_chart_and_scrolls_its_verdicts():
    app = app_for(fixed_store())
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.has_class("-short")
        chart = next(iter(screen._charts.values()))
        assert chart.region.height >= 5  # a chart a person can read, in view
        assert screen.query_one("#verdict-box").region.height <= 2
        lines = screen_lines(app)
        assert any("┌" in line for line in lines) and any("└" in line for line in lines)
        assert "Back" in lines[-1]


@sync
async def test_wrapped_verdict_lines_are_indented_under_their_text():
    app = app_for(fixed_store())
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # the worst run: a long throughput verdict
        await pilot.pause()
        text = app.screen.query_one("#verdicts").render()
        lines = str(text).splitlines()
        assert len(lines) > len(app.judge.view(app.screen.run).verdicts)  # something wrapped
        for line in lines:
            badge = line[:8].strip()
            assert badge in {"alarm", "warn", "info", "ok", "!"} or line.startswith(" " * 8), line


def sibling_store() -> Store:
    """`exp/a2c` logs entropy, `exp/env` the rewards (one experiment's two folders)."""
    store = Store()
    n = 200
    steps = np.arange(1, n + 1, dtype=np.int64) * 100
    walls = T0 + np.arange(n) * 10.0
    store.ensure_run("exp/a2c", "/logs/exp/a2c")
    store.append("exp/a2c", "policy_entropy", steps, walls, np.full(n, math.log(6)) - 0.001)
    store.set_last_write("exp/a2c", float(walls[-1]))
    store.ensure_run("exp/env", "/logs/exp/env")
    store.append("exp/env", "episode_reward", steps, walls, np.full(n, -21.0))
    store.set_last_write("exp/env", float(walls[-1]))
    return store


@sync
async def test_a_run_whose_reward_is_in_a_sibling_directory_gets_its_reward_chart():
    app = app_for(sibling_store())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.judge.reward_source("exp/a2c") == "exp/env"
        assert app.judge.reward_source("exp/env") is None
        table = app.screen.query_one("#runs")
        table.move_cursor(row=table.row_keys.index("exp/a2c"))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.run == "exp/a2c"
        chart = screen._charts["role-reward"]
        assert chart.chart_title == "reward (from exp/env)"
        assert len(chart.lines[0].values) == 200


def test_the_reward_of_real_runs_in_a_sibling_folder(rahtz):
    store = Store()
    Ingestor(store, [str(rahtz / "pong-end_to_end-synthetic_prefs-1_81a378f")]).poll()
    judge = Judge()
    judge.update_store(store)
    runs = set(store.versions())
    a2c = next(r for r in runs if r.endswith("a2c"))
    misc = next(r for r in runs if r.endswith("a2c_misc"))
    assert judge.reward_source(a2c) == misc
    assert "reward" in judge.roles(a2c) and len(judge.roles(a2c)["reward"]) > 10
    assert judge.view(a2c).spark["reward"]  # the overview's reward column too


@pytest.mark.parametrize("size", [(80, 12), (100, 12)])
@sync
async def test_the_gate_with_four_alarms_fits_a_short_pane(size):
    app = GateApp(gate_info(4))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert any("o look early (say why) · q quit" in line for line in lines)
        assert any("╰" in line for line in lines) and any("╭" in line for line in lines)
        assert sum("▲" in line for line in lines) == 4
    app = GateApp(gate_info(4, due=True))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert any("enter look · q quit" in line for line in screen_lines(app))


@sync
async def test_the_gate_reason_box_stays_in_view_in_a_short_pane():
    app = GateApp(gate_info(6))
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "Why look now?" in text and "e.g. checking the new learning rate" in text
        assert "q quit" in text


@pytest.mark.parametrize("key,hint", [("n", "ctrl+s save · esc cancel"), ("r", "esc Back")])
@sync
async def test_dialogs_fit_80x12_with_their_keys(key, hint):
    app = app_for(fixed_store())
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause(0.5)
        lines = screen_lines(app)
        assert any(hint in line for line in lines), "\n".join(lines)
        if key == "n":
            assert any("╰" in line for line in lines)
            assert sum("What" in line for line in lines) == 3  # every field's label


@sync
async def test_the_palette_fits_80x12():
    app = app_for(fixed_store())
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        assert any("Search for commands" in line for line in screen_lines(app))


def test_long_names_fixture_is_what_the_tests_think():
    assert set(LONG_NAMES) <= set(long_store().versions())


@sync
async def test_untrusted_names_show_literally_in_the_table_and_the_detail():
    store = fixed_store()
    hostile = ["evil\x1b]0;pwned\x07", "zz[/]", "[bold red]RUNX[/]"]
    for name in hostile:
        store.ensure_run(name, f"/logs/{name}")
        store.append(name, "losses/entropy", np.arange(1, 11, dtype=np.int64), T0 + np.arange(10.0),
                     np.linspace(1.7, 0.01, 10))
        store.set_last_write(name, T0 + 9)
    app = app_for(store)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#runs")
        cells = {table.get_cell(r, "name").plain for r in table.row_keys}
        assert "evil\\x1b]0;pwned\\x07" in cells and "zz[/]" in cells and "[bold red]RUNX[/]" in cells
        text = "\n".join(screen_lines(app))
        assert "\x1b" not in text and "[bold red]RUNX[/]" in text
        rows = table.row_keys
        table.move_cursor(row=rows.index("zz[/]"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and "zz[/]" in str(app.screen.query_one("#detail-head").render())
