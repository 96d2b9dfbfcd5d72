"""The live TUI driven by Textual's pilot: navigation, filter, detail, smoothing, overlays,
compact layout, themes, notices, and a writer appending while the app runs."""

from __future__ import annotations

import pytest
from app_fixtures import NOW, fixed_store
from testing import sync

from tui.app.app import AppOptions, TbpeekApp, make_app
from tui.app.screens.detail import DetailScreen
from tui.app.screens.overview import OverviewScreen
from tui.app.widgets.run_table import RunTable

SIZE = (120, 35)


def fixed_app(**kw) -> TbpeekApp:
    opts = AppOptions(clock=lambda: NOW, **kw)
    return make_app(store=fixed_store(), options=opts)


def record_notices(app: TbpeekApp) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    real = app.notify

    def notify(message, *, title="", severity="information", **kw):
        seen.append((str(message), severity))
        return real(message, title=title, severity=severity, **kw)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def table(app) -> RunTable:
    return app.screen.query_one(RunTable)


def rows(app) -> list[str]:
    return list(table(app).row_keys)


@sync
async def test_overview_rows_worst_first_and_jk_navigation():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        order = rows(app)
        assert len(order) == 5
        sev = [app.judge.view(r).severity for r in order]
        assert sev == sorted(sev, reverse=True)  # worst first
        assert table(app).cursor_run() == order[0]
        await pilot.press("j", "j")
        assert table(app).cursor_run() == order[2]
        await pilot.press("k")
        assert table(app).cursor_run() == order[1]
        await pilot.press("o")  # sort by name
        assert rows(app) == sorted(order)
        assert table(app).cursor_run() == order[1]  # the cursor stays on its run
        await pilot.press("home", "o")  # on the top row, sorted by age: the cursor stays on top
        assert table(app).cursor_row == 0 and table(app).cursor_run() == rows(app)[0]


@sync
async def test_summary_line_counts():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = str(app.screen.query_one("#status").render())
        assert "5 runs: 3 healthy · 0 warn · 2 alarm" in status


@sync
async def test_filter_regex_and_bad_regex():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"pong", "enter")
        assert sorted(rows(app)) == ["pong-collapse", "pong-pinned"]
        assert "2/5 runs" in str(app.screen.query_one("#status").render())
        await pilot.press("slash", "(")
        assert "bad filter regex" in str(app.screen.query_one("#status").render())
        assert sorted(rows(app)) == ["pong-collapse", "pong-pinned"]  # the last good filter stays
        await pilot.press("escape")
        assert len(rows(app)) == 5


@sync
async def test_detail_shows_verdicts_and_role_charts_then_back():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = rows(app)[0]
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.run == first
        verdicts = str(screen.query_one("#verdicts").render())
        worst = app.judge.view(first).worst
        assert worst.reason.split()[0] in verdicts
        assert {"role-entropy", "role-reward", "role-throughput", "tag-losses/value_loss"} <= set(screen._charts)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


@sync
async def test_smoothing_keys_change_the_chart():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        chart = screen._charts["role-entropy"]
        assert screen.smoothing == 0.6
        smoothed = chart.render().plain
        await pilot.press("plus")
        assert screen.smoothing == 0.8
        await pilot.press("minus", "minus")
        assert screen.smoothing == 0.3
        await pilot.press("0")
        assert screen.smoothing == 0.0
        await pilot.pause()
        raw = chart.render().plain
        assert raw != smoothed
        assert "smoothing 0 " in str(screen.query_one("#detail-head").render())
        await pilot.press("x")
        assert screen.x_mode == "relative"
        await pilot.press("l")
        assert screen.log_y


@sync
async def test_space_picks_runs_and_detail_overlays_them_in_stable_colours():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        order = rows(app)
        await pilot.press("space", "j", "space")
        assert list(app.session.view.selected) == order[:2]
        assert table(app).get_cell(order[0], "mark").plain == "●"
        assert table(app).get_cell(order[2], "mark").plain == " "
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert screen.runs == [order[1], order[0]]
        lines = screen._charts["tag-losses/value_loss"].lines
        assert [ln.label for ln in lines] == [order[1], order[0]]
        assert lines[0].color != lines[1].color
        colours = {ln.label: ln.color for ln in lines}
        await pilot.press("escape", "k", "enter")  # the other run's detail: same colours
        await pilot.pause()
        again = {ln.label: ln.color for ln in app.screen._charts["tag-losses/value_loss"].lines}
        assert again == colours
        await pilot.press("escape", "space")  # unpick
        assert order[0] not in app.session.view.selected


@sync
async def test_compact_layout_below_80x20_and_back():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.has_class("-compact")
        await pilot.resize_terminal(60, 12)
        await pilot.pause()
        assert app.screen.has_class("-compact")
        keys = table(app).column_keys
        assert keys == ["health", "name", "entropy", "reward", "throughput"]
        assert len(rows(app)) == 5
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not app.screen.has_class("-compact")
        assert "age" in table(app).column_keys


@sync
async def test_theme_switch_recolours_badges():
    app = fixed_app(theme="tbpeek-dark")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        alarm_run = rows(app)[0]
        dark = str(table(app).get_cell(alarm_run, "health").style)
        assert app.verdict_styles()["verdict-alarm"].lower() in dark.lower()
        app.theme = "tbpeek-light"
        await pilot.pause(1.2)
        light = str(table(app).get_cell(alarm_run, "health").style)
        assert light != dark
        assert app.verdict_styles()["verdict-alarm"].lower() in light.lower()


@sync
async def test_unknown_theme_and_bad_theme_file_give_notices(tmp_path):
    (tmp_path / "bad.toml").write_text('name = "bad"\ndark = true\nprimary = 12\n')
    app = fixed_app(theme="no-such-theme", theme_dirs=[tmp_path])
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "tbpeek-dark" or app.theme == "textual-dark"
        text = "\n".join(m for m, _ in seen)
        assert "unknown theme 'no-such-theme'" in text
        assert "bad.toml" in text


class FailingIngestor:
    """Reads nothing; its poll raises (a bug in ingest must not kill the app)."""

    def __init__(self, store, root):
        self.store, self.root = store, root

    def watch_paths(self):
        return [str(self.root)]

    def rescan(self):
        return []

    def poll(self, paths=None):
        raise RuntimeError("disk on fire")


class ProblemIngestor(FailingIngestor):
    def poll(self, paths=None):
        self.store.ensure_run("r", str(self.root))
        self.store.set_problem("r", "/x/events.out.tfevents.1", "damaged record at byte 40: skipped")
        return {"r"}


@sync
async def test_worker_error_becomes_a_notice_and_the_app_lives(tmp_path):
    store = fixed_store()
    app = make_app(store=store, ingestor=FailingIngestor(store, tmp_path),
                   options=AppOptions(clock=lambda: NOW))
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if any("disk on fire" in m for m, _ in seen):
                break
        assert any("disk on fire" in m and sev == "error" for m, sev in seen)
        await pilot.press("j")  # still answering keys
        assert table(app).cursor_row == 1


@sync
async def test_damaged_file_gives_notice_and_row_marker(tmp_path):
    store = fixed_store()
    app = make_app(store=store, ingestor=ProblemIngestor(store, tmp_path),
                   options=AppOptions(clock=lambda: NOW))
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if any("damaged record" in m for m, _ in seen):
                break
        assert any("damaged record" in m for m, _ in seen)
        await pilot.pause(0.5)
        assert table(app).get_cell("r", "name").plain.startswith("! ")


@sync
async def test_end_to_end_writer_appends_and_point_reaches_overview(tmp_path):
    pytest.importorskip("tui.ingest", reason="ingest engine not present")
    from eventfiles import Writer

    run_dir = tmp_path / "logs" / "run1"
    w = Writer(run_dir)
    for step in range(1, 21):
        w.scalar("losses/entropy", 1.5 - step * 0.01, step, 1_700_000_000.0 + step)
    w.flush()
    app = make_app([str(tmp_path / "logs")], AppOptions(poll=0.1))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.judge.view("run1") is not None:
                break
        assert app.judge.view("run1").last_step == 20
        w.scalar("losses/entropy", 0.123, 21, 1_700_000_021.0)
        w.flush()
        for _ in range(200):
            await pilot.pause(0.05)
            v = app.judge.view("run1")
            if v.last_step == 21 and table(app).get_cell("run1", "step").plain.strip() == "21":
                break
        view = app.judge.view("run1")
        assert view.last_step == 21
        assert app.store.series("run1", "losses/entropy").values[-1] == pytest.approx(0.123)
        assert table(app).get_cell("run1", "step").plain.strip() == "21"
    w.close()


@sync
async def test_new_run_appears_live_and_a_vanished_run_is_marked(tmp_path):
    pytest.importorskip("tui.ingest", reason="ingest engine not present")
    import shutil

    from eventfiles import Writer

    logs = tmp_path / "logs"
    with Writer(logs / "first") as w:
        w.scalar("losses/entropy", 1.0, 1, 1_700_000_000.0)
    app = make_app([str(logs)], AppOptions(poll=0.1))
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        async def wait_for(cond):
            for _ in range(300):
                await pilot.pause(0.05)
                if cond():
                    return True
            return False

        assert await wait_for(lambda: rows(app) == ["first"])
        with Writer(logs / "second") as w:
            w.scalar("losses/entropy", 1.0, 1, 1_700_000_000.0)
        assert await wait_for(lambda: sorted(rows(app)) == ["first", "second"])
        shutil.rmtree(logs / "second")
        assert await wait_for(lambda: any("no longer exists" in m for m, _ in seen))
        assert await wait_for(lambda: table(app).get_cell("second", "name").plain.startswith("! "))


@sync
async def test_inotify_unavailable_falls_back_to_polling_and_says_so(tmp_path, monkeypatch):
    pytest.importorskip("tui.ingest", reason="ingest engine not present")
    import errno

    from eventfiles import Writer

    import tui.live.session as session_mod

    class NoInotify:
        def schedule(self, *a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")

        def start(self):
            pass

        def stop(self):
            pass

        def is_alive(self):
            return False

    real = session_mod.Watcher

    class LimitedWatcher(real):
        def __init__(self, paths, on_change, poll_interval=None, **kw):
            super().__init__(paths, on_change, poll_interval, observer_factory=NoInotify, **kw)

    monkeypatch.setattr(session_mod, "Watcher", LimitedWatcher)
    with Writer(tmp_path / "logs" / "r") as w:
        w.scalar("losses/entropy", 1.0, 1, 1_700_000_000.0)
    app = make_app([str(tmp_path / "logs")], AppOptions())
    seen = record_notices(app)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.session.watch_mode == "polling":
                break
        await pilot.pause(0.5)
        status = str(app.screen.query_one("#status").render())
        assert "polling" in status and "watch limit" in status
        assert any("watch limit" in m for m, _ in seen)


@sync
async def test_q_quits_and_stops_watching(tmp_path):
    pytest.importorskip("tui.ingest", reason="ingest engine not present")
    from eventfiles import Writer

    with Writer(tmp_path / "logs" / "r") as w:
        w.scalar("losses/entropy", 1.0, 1, 1_700_000_000.0)
    app = make_app([str(tmp_path / "logs")], AppOptions())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        watcher = app.session.watcher
        assert watcher is not None and watcher.running
        await pilot.press("q")
    # Leaving the block shuts the app down; before the fix, quitting hung right here.
    assert app.return_code == 0
    assert app.session.watcher is None
    assert not watcher.running


@sync
async def test_runs_judged_on_a_thread_reach_the_look_budget_on_the_ui_thread(tmp_path):
    import threading

    import numpy as np

    from tui.looks.settings import BudgetSettings

    app = fixed_app(budget=BudgetSettings(enabled=False, log_path=tmp_path / "looks.jsonl"))
    got: list[tuple[list[str], bool]] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        gate = app.session.gate
        real = gate.on_health

        def spy(healths):
            got.append(([h.run for h in healths], threading.current_thread() is threading.main_thread()))
            return real(healths)

        gate.on_health = spy
        app.store.append("pong-pinned", "losses/entropy", [10**7], [NOW], [np.log(6)])
        worker = threading.Thread(target=app.refresh_from_store)  # as the ingest loop does
        worker.start()
        worker.join()
        await pilot.pause(0.2)
    assert got and got[-1] == (["pong-pinned"], True)


@sync
async def test_mouse_click_on_row_opens_detail_and_header_sorts():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click(RunTable, offset=(10, 0))  # the header row: "run"
        await pilot.pause()
        assert app.session.view.sort == "name" and rows(app) == sorted(rows(app))
        await pilot.click(RunTable, offset=(10, 2))  # the second run
        await pilot.pause()
        if not isinstance(app.screen, DetailScreen):  # a first click may only highlight
            await pilot.click(RunTable, offset=(10, 2))
            await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.run == "cartpole-healthy"  # 2nd by name


@sync
async def test_theme_picker_and_palette_sort_commands():
    from textual.command import CommandPalette

    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)  # Textual's theme picker
        await pilot.press("escape")
        await pilot.pause()
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Sort runs: worst", "Sort runs: name", "Sort runs: age"} <= set(commands)
        commands["Sort runs: name"].callback()
        await pilot.pause(1.2)
        assert rows(app) == sorted(rows(app))


@sync
async def test_slash_focuses_the_filter_at_once_so_fast_typing_lands_in_it():
    """Keys typed right after `/` (fast, or pasted) are already queued: the box must have the
    focus before they are handled, or `o` sorts and `n` opens a note instead."""
    from textual.widgets import Input

    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.action_filter()
        assert app.focused is app.screen.query_one("#filter", Input)  # no await in between
        await pilot.press(*"pong", "enter")
        assert sorted(rows(app)) == ["pong-collapse", "pong-pinned"] and app.session.view.sort == "worst"
