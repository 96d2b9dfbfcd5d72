"""Hostile names in the live app (issue 12.2, 12.10): run directories and tags named with
markup, control characters, escape sequences, RTL and zero-width characters and tmux's
``#(...)``, one of them alarming. The app stays up, shows every name literally (asserted on
the rendered screen), and no control character reaches the terminal."""

from __future__ import annotations

import html
import math
import re
import time

import pytest
from testing import sync, wait_for

from tui.app.app import AppOptions, make_app
from tui.app.screens.detail import DetailScreen
from tui.app.screens.overview import OverviewScreen
from tui.app.text import plain, safe
from tui.looks.settings import BudgetSettings

ALARMING = "zz[/]"  # a run directory named so killed the app with MarkupError when it alarmed
NAMES = [
    ALARMING, '[link="x]', "[bold red]RUNX[/]", "t\x1b]0;pwned\x07", "c\x1b[2Jclear",
    "rtl\u202eevil", "zero\u200bwidth", "#(touch x)", "csi\x9b31m", "cr\rname", "tab\tname",
    "osc52\x1b]52;c;cHduZWQ=\x07",
]
SIZE = (120, 40)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def screen_text(app) -> str:
    """What the terminal shows now, as text (from Textual's own screenshot)."""
    svg = app.export_screenshot()
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)
    return html.unescape("".join(lines)).replace("\xa0", " ")


def hostile_logdir(root) -> None:
    pytest.importorskip("tensorboard")
    from eventfiles import Writer

    now = time.time()
    for i, name in enumerate(NAMES):
        w = Writer(root / name)
        for step in range(1, 60):
            v = math.log(6) * (0.6 + 0.4 * math.exp(-step / 20))
            if name == ALARMING and step > 50:
                v = float("nan")  # an alarm: entropy is NaN
            tag = "losses/entropy" if i % 2 == 0 else f"losses/{name}"
            w.scalar(tag, v, step * 100, now - 600 + step * 10)
        w.close()


@sync
async def test_hostile_names_with_an_alarm_keep_the_app_up_and_show_literally(tmp_path):
    logs = tmp_path / "logs"
    hostile_logdir(logs)
    notices: list[str] = []
    opts = AppOptions(poll=0.2, budget=BudgetSettings(log_path=tmp_path / "looks.jsonl", every=1800, window=180))
    app = make_app([str(logs)], opts)
    real = app.notify

    def notify(message, **kw):
        notices.append(message)
        return real(message, **kw)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: len(app.judge.views()) == len(NAMES))
        # The alarm broke through: its detail is up, named literally in the header.
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.run == ALARMING
        shown = screen_text(app)
        assert safe(ALARMING) in shown
        assert any(ALARMING in n for n in notices)  # the alarm notice names it (as plain text)
        assert safe(ALARMING) + ": entropy" in shown  # in the toast, literally
        assert not CONTROL.search(shown)
        # Back to the overview: every name, literally (escapes visible), nothing styled away.
        await pilot.press("escape")  # the alarm's look is open: back to the overview
        await wait_for(pilot, lambda: isinstance(app.screen, OverviewScreen)
                       and all(safe(n) in screen_text(app) for n in NAMES))
        shown = screen_text(app)
        for name in NAMES:
            assert safe(name) in shown, name
        assert "[bold red]RUNX[/]" in shown and "\\x1b]0;pwned\\x07" in shown and "\\u202e" in shown
        assert not CONTROL.search(shown)
        # Each hostile run's detail opens, shows its name and tags literally, and the app lives.
        for _ in range(len(NAMES)):
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            text = screen_text(app)
            assert safe(app.screen.run) in text and not CONTROL.search(text)
            await pilot.press("escape", "j")
        assert app.is_running


@sync
async def test_notices_are_never_markup():
    """`[bold red]RUNX[/]` in a notice shows as typed; `zz[/]` and `[link="x]` don't raise."""
    from app_fixtures import NOW, fixed_store

    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for text in ("zz[/] alarm", '[link="x] gone', "[bold red]RUNX[/]", "t\x1b]0;pwned\x07",
                     "first line\nsecond\x1b[2J line"):
            app.notify(text, title="[b]x[/b]")
        expected = ("zz[/] alarm", '[link="x] gone', "[bold red]RUNX[/]", "t\\x1b]0;pwned\\x07", "[b]x[/b]",
                    "second\\x1b[2J line")
        await wait_for(pilot, lambda: all(e in screen_text(app) for e in expected))  # toasts mount on idle
        joined = screen_text(app)
        # A notice's own line breaks stay line breaks; control characters in a line don't.
        assert "first line\n" in joined and "second\\x1b[2J line" in joined
        assert app.is_running


def test_plain_content_is_literal_and_safe():
    c = plain("[bold]x[/bold]\x1b[2J\u200b")
    assert str(c) == "[bold]x[/bold]\\x1b[2J\\u200b" and not c.spans
    assert safe("é日本 -3.2 ‐ a b") == "é日本 -3.2 ‐ a b"  # nothing else changes (numbers stay)


@sync
async def test_the_gate_lists_hostile_alarm_names_one_per_line(tmp_path):
    from test_gate import T0 as GATE_T0
    from test_gate import host as gate_host
    from testing import Clock

    from tui.health.verdict import Severity, Verdict
    from tui.looks.log import Look, append_look

    append_look(Look(start=GATE_T0 - 300, end=GATE_T0 - 120, found_new=False), tmp_path / "looks.jsonl")
    app = gate_host(tmp_path, Clock(GATE_T0), [])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        alarm = Verdict("entropy", "collapsed", Severity.ALARM, "entropy low")
        # Judged straight into the budget (no breakthrough): the gate lists them.
        app.gate.budget.on_verdicts({"zz[/]": [alarm], "t\x1b]0;pwned\x07": [alarm]})
        app.gate.refresh()
        await pilot.pause()
        shown = screen_text(app)
        assert "▲ zz[/]: entropy collapsed" in shown and "▲ t\\x1b]0;pwned\\x07: entropy collapsed" in shown
        assert "\\x0a" not in shown and not CONTROL.search(shown)


@sync
async def test_a_deleted_file_named_with_markup_is_said_literally(tmp_path):
    """`[link="x]` in a deleted file's name raised "Expected markup value" in the notice."""
    pytest.importorskip("tensorboard")
    from eventfiles import Writer, event_files

    logs = tmp_path / "logs"
    w = Writer(logs / "run", suffix='.[link="x]')
    for step in range(1, 20):
        w.scalar("losses/entropy", 1.0, step, time.time() - 100 + step)
    w.close()
    path = event_files(logs)[0]
    assert '[link="x]' in path.name
    notices: list[str] = []
    app = make_app([str(logs)], AppOptions(poll=0.2))
    real = app.notify
    app.notify = lambda m, **kw: (notices.append(m), real(m, **kw))[1]  # type: ignore[method-assign]
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: app.judge.view("run") is not None)
        path.unlink()
        await wait_for(pilot, lambda: any('[link="x]' in n for n in notices))
        await wait_for(pilot, lambda: '[link="x]' in screen_text(app))  # in the toast, literally
        assert app.is_running
