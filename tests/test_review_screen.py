"""The review and note screens, standalone in a tiny host app (pilot and snapshot tests)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from testing import sync
from textual.app import App
from textual.widgets import Input, Static

from tui.app.screens.note import NoteScreen
from tui.app.screens.review import ReviewScreen
from tui.health.verdict import Severity, Verdict
from tui.notes import Note, NoteStore
from tui.report.review_model import LookSummary, RunReview, TimelineEntry, assemble, role_stat
from tui.store import Restart, Series

T0 = 1_700_000_000.0


def _series(values) -> Series:
    n = len(values)
    return Series(np.arange(n, dtype=np.int64) * 1000, T0 + np.arange(n) * 30.0, np.asarray(values, float))


def fixed_review(include_all: bool = False):
    """A review built by hand (no health engine): the screen's picture must not move when
    the engine's wording changes."""
    x = np.linspace(0, 1, 200)
    collapse = RunReview(
        name="ppo_seed3", path="/exp/ppo_seed3", state="ended", first_wall=T0, last_wall=T0 + 5970,
        last_step=199_000, worst=Severity.ALARM,
        verdicts=(Verdict("entropy", "collapsed", Severity.ALARM, "entropy 0.02 of max 1.79 since step 120k"),
                  Verdict("throughput", "ended", Severity.INFO, "no writes for 5.0 h: the run has ended")),
        timeline=(TimelineEntry(T0 + 600, 20_000, "entropy", "healthy", None, Severity.OK, ""),
                  TimelineEntry(T0 + 3600, 120_000, "entropy", "collapsed", "healthy", Severity.ALARM,
                                "entropy 0.02 of max 1.79")),
        timeline_omitted=0,
        roles=(role_stat("entropy", _series(np.where(x < 0.6, 1.7 - x, 0.02))),
               role_stat("reward", _series(np.where(x < 0.6, -21 + 40 * x, 3 - 20 * (x - 0.6))))),
        steps_per_s=33.3, restarts=(Restart("loss", 50_000, T0 + 1500, 12),),
        note=Note("/exp/ppo_seed3", question="Does seed 3 collapse too?", expectation="no"),
        touched=True)
    healthy = [RunReview(
        name=f"ppo_seed{i}", path=f"/exp/ppo_seed{i}", state="live", first_wall=T0, last_wall=T0 + 5970,
        last_step=199_000, worst=Severity.OK,
        verdicts=(Verdict("entropy", "healthy", Severity.OK, "entropy fell to 0.8 of max and varies normally"),),
        timeline=(), timeline_omitted=0, roles=(role_stat("entropy", _series(1.7 - 0.5 * x)),),
        steps_per_s=33.3, restarts=(), note=None, touched=True) for i in (1, 2)]
    old = RunReview(name="old_run", path="/exp/old_run", state="ended", first_wall=T0 - 9e5,
                    last_wall=T0 - 8e5, last_step=10, worst=Severity.OK, verdicts=(), timeline=(),
                    timeline_omitted=0, roles=(), steps_per_s=None, restarts=(), note=None, touched=False)
    looks = LookSummary(5, 3, ((T0 + 2000, "checking the lr fix"),), ((T0 + 3700, "ppo_seed3", "entropy collapsed"),),
                        0, 3, 5)
    return assemble([*healthy, collapse, old], since=T0 - 3600, now=T0 + 6000, looks=looks,
                    include_all=include_all)


class Host(App):
    def __init__(self, screen_factory):
        super().__init__()
        self.factory = screen_factory
        self.result = "unset"

    def on_mount(self) -> None:
        self.push_screen(self.factory(), callback=self._done)

    def _done(self, result) -> None:
        self.result = result


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _texts(screen) -> list[str]:
    return [str(w.content) for w in screen.query(Static)]


@sync
async def test_review_screen_shows_runs_worst_first_and_toggles_untouched():
    app = Host(lambda: ReviewScreen(fixed_review()))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        runs = [w.name for w in screen.query(".run")]
        assert runs == ["ppo_seed3", "ppo_seed1", "ppo_seed2"]  # worst first, untouched hidden
        assert screen.query(".run").first().has_class("alarm")
        text = "\n".join(_texts(screen))
        assert "23:13 · step 120k · entropy collapsed" in text
        assert "2/3 healthy" in text and "checking the lr fix" in text
        assert "Does seed 3 collapse too?" in text
        await pilot.press("a")
        assert [w.name for w in screen.query(".run")] == ["ppo_seed3", "old_run", "ppo_seed1", "ppo_seed2"]
        await pilot.press("a")
        assert "old_run" not in [w.name for w in screen.query(".run")]
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)


@sync
async def test_note_screen_saves_atomically_and_returns_the_note(tmp_path):
    store = NoteStore(tmp_path / "notes")
    store.save(Note("/exp/run1", question="old question"))
    app = Host(lambda: NoteScreen("/exp/run1", "run1", store=store))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        q = screen.query_one("#note-question", Input)
        assert q.value == "old question" and q.has_focus
        q.value = ""
        await pilot.press(*"why does entropy collapse")
        await pilot.press("tab")
        await pilot.press(*"stays above half")
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert isinstance(app.result, Note)
    saved = store.get("/exp/run1")
    assert saved.question == "why does entropy collapse" and saved.expectation == "stays above half"
    assert app.result == saved


@sync
async def test_note_screen_escape_saves_nothing(tmp_path):
    store = NoteStore(tmp_path / "notes")
    app = Host(lambda: NoteScreen("/exp/run1", "run1", store=store))
    async with app.run_test() as pilot:
        await pilot.press(*"typed")
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None and store.get("/exp/run1") is None


@sync
async def test_note_screen_keeps_the_text_when_saving_fails(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = NoteStore(blocker / "notes")  # can't be created
    app = Host(lambda: NoteScreen("/exp/run1", "run1", store=store))
    notices: list[tuple[str, str]] = []
    real = app.notify

    def notify(message, *, severity="information", **kw):
        notices.append((str(message), severity))
        return real(message, severity=severity, **kw)

    app.notify = notify
    with pytest.warns(UserWarning, match="can't be read"):  # reading the old note fails too
        async with app.run_test() as pilot:
            await pilot.press(*"precious words")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, NoteScreen)  # still open
            assert app.screen.query_one("#note-question", Input).value == "precious words"
    assert any("Can't save the note" in m and sev == "error" for m, sev in notices)


def test_review_screen_snapshot(snap_compare):
    assert snap_compare(Host(lambda: ReviewScreen(fixed_review())), terminal_size=(100, 44))


def test_review_lines_wrap_under_their_own_start():
    """A long verdict reason continues under the reason, not at the screen's left edge; a line
    from an event file is shown literally (never markup)."""
    from rich.console import Console

    from tui.app.screens.review import HangingLines

    reason = "entropy collapsed to 0.02 of max 1.79 since step 120k [bold]not markup[/bold] " * 2
    lines = HangingLines(["  ▶ ended · 1h 40m", "  verdicts:", f"    ■ alarm entropy collapsed — {reason}"])
    console = Console(width=50, record=True, color_system=None)
    console.print(lines)
    out = console.export_text().rstrip("\n").split("\n")
    assert out[0] == "  ▶ ended · 1h 40m" and out[1] == "  verdicts:"
    verdict = out[2:]
    assert len(verdict) > 2 and verdict[0].startswith("    ■ alarm entropy collapsed")
    hang = len("    ■ alarm ")
    assert all(line.startswith(" " * hang) and line[hang] != " " for line in verdict[1:])
    assert "[bold]not markup[/bold]" in "".join(line.strip() for line in verdict)
    assert str(lines).split("\n")[2].endswith(reason)
