"""The gate screen and its controller, in a tiny host app; and the alerts (bell, OSC, command)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from testing import Clock, sync
from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.app.screens.gate import GateHost, GateScreen
from tui.health.verdict import Severity, Verdict
from tui.live.alerts import Alerter, clean, notification, tmux_wrap
from tui.live.gate import GateController, countdown, gate_lines
from tui.looks.log import Look, append_look, read_looks
from tui.looks.policy import Alarm, GateInfo, LookBudget
from tui.looks.settings import BudgetSettings

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC).timestamp()
CHART_TEXT = "entropy 0.7312 ▁▂▃▅▇█▇▅"
ALARM = Verdict("entropy", "collapsed", Severity.ALARM, "entropy collapsed to 0.011 of max 1.39")


class Host(App):
    """Stands in for the real app: one 'charts' screen, and the gate over it."""

    def __init__(self, budget: LookBudget, alerter: Alerter) -> None:
        super().__init__()
        self.budget = budget
        self.alerter = alerter
        self.alarm_runs: list[str] = []
        self.gate: GateController | None = None

    def compose(self) -> ComposeResult:
        yield Static(CHART_TEXT, id="charts")

    def on_mount(self) -> None:
        ui = GateHost(self, tz=UTC)  # no timer: the tests call refresh() themselves
        self.gate = GateController(ui, self.budget, self.alerter, on_alarm_look=self.alarm_runs.append)
        self.gate.start()


def host(tmp_path, clock, written: list[str], **settings) -> Host:
    budget = LookBudget(BudgetSettings(**settings), logdirs=["/runs"], clock=clock, tz=UTC,
                        log_path=tmp_path / "looks.jsonl")
    budget.set_runs(["a", "b", "ppo"])
    return Host(budget, Alerter(write=written.append, tmux=False))


def log_of(tmp_path) -> list[Look]:
    return read_looks(tmp_path / "looks.jsonl")


@sync
async def test_gate_shown_on_start_when_no_look_is_due_and_hides_the_charts(tmp_path):
    append_look(Look(start=T0 - 300, end=T0 - 120, found_new=False), tmp_path / "looks.jsonl")
    app = host(tmp_path, Clock(T0), [])
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        text = app.screen.text()
        assert "Next look at 14:25, in 25:00" in text
        assert "Watching 3 runs · 0 alarms" in text
        assert "Last look at 13:55 · found nothing new" in text
        # nothing of the curves or values: not the chart text, no sparkline, no value
        assert "entropy" not in text and "0.73" not in text
        assert not set("▁▂▃▄▅▆▇█") & set(text)
        assert not app.screen.query("#charts")
        await pilot.press("enter")  # not due: nothing happens
        assert isinstance(app.screen, GateScreen) and log_of(tmp_path)[-1].start == T0 - 300


@sync
async def test_enter_starts_a_due_look_and_the_window_end_brings_the_gate_back(tmp_path):
    clock = Clock(T0)
    app = host(tmp_path, clock, [], window=60)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "A look is due. Press enter to look." in app.screen.text()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen)
        assert app.screen.query_one("#charts", Static).content == CHART_TEXT
        clock.t = T0 + 45  # within the notice period: told, still looking
        app.gate.refresh()
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen)
        assert any("close in 15 s" in str(n.message) for n in app._notifications)
        clock.t = T0 + 61
        app.gate.refresh()
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        assert "Next look at 14:30" in app.screen.text()
    (look,) = log_of(tmp_path)
    assert (look.trigger, look.start, look.end) == ("scheduled", T0, T0 + 60)


@sync
async def test_override_needs_a_reason_then_opens_a_look(tmp_path):
    append_look(Look(start=T0 - 60, end=T0 - 30), tmp_path / "looks.jsonl")
    app = host(tmp_path, Clock(T0), [])
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.press(*"hmm", "enter")
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        assert "at least 3 words" in app.screen.text()
        await pilot.press(*["ctrl+u"], *"lr change looks odd", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen)
    last = log_of(tmp_path)[-1]
    assert last.trigger == "override" and last.reason.endswith("lr change looks odd")


@sync
async def test_escape_cancels_an_override(tmp_path):
    append_look(Look(start=T0 - 60, end=T0 - 30), tmp_path / "looks.jsonl")
    app = host(tmp_path, Clock(T0), [])
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("o", *"just looking around", "escape")
        await pilot.pause()
        assert isinstance(app.screen, GateScreen) and not app.screen.overriding
    assert len(log_of(tmp_path)) == 1


@sync
async def test_an_alarm_while_gated_opens_the_gate_rings_and_notifies(tmp_path):
    append_look(Look(start=T0 - 60, end=T0 - 30), tmp_path / "looks.jsonl")
    written: list[str] = []
    app = host(tmp_path, Clock(T0), written, quiet_hours=(13 * 60, 15 * 60))  # quiet hours, too
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.gate.on_health({"a": [], "ppo": []}) == []
        assert isinstance(app.screen, GateScreen) and written == []
        alarms = app.gate.on_health({"ppo": [ALARM]})
        await pilot.pause()
        assert [a.run for a in alarms] == ["ppo"]
        assert not isinstance(app.screen, GateScreen)
        assert app.alarm_runs == ["ppo"]
        assert written[0] == "\x07"
        assert "\x1b]9;tbpeek: alarm: ppo: entropy collapsed\x1b\\" in written[1]
        assert "\x1b]777;notify;tbpeek: alarm;ppo: entropy collapsed\x1b\\" in written[1]
    last = log_of(tmp_path)[-1]
    assert (last.trigger, last.run, last.reason) == ("alarm", "ppo", "entropy collapsed to 0.011 of max 1.39")


@sync
async def test_the_gate_lists_alarms_with_run_and_reason(tmp_path):
    written: list[str] = []
    clock = Clock(T0)
    app = host(tmp_path, clock, written, window=60)
    async with app.run_test() as pilot:
        await pilot.pause()
        app.gate.on_health({"ppo": [ALARM]})
        clock.t = T0 + 120
        app.gate.refresh()
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        text = app.screen.text()
        assert "▲ ppo: entropy collapsed" in text and "1 alarm" in text
        assert "0.011" not in text and "1.39" not in text  # words, never values


def test_gate_snapshot(snap_compare, tmp_path):
    append_look(Look(start=T0 - 600, end=T0 - 420, found_new=True), tmp_path / "looks.jsonl")
    app = host(tmp_path, Clock(T0), [], allowance=8)
    assert snap_compare(app, terminal_size=(80, 20))


def test_gate_lines_for_quiet_hours_and_allowance():
    info = GateInfo(now=T0, next_look=T0 + 7200 + 300, countdown=7500, waiting_for="allowance",
                    runs_watched=1, allowance=4, looks_today=4, last_look=T0 - 60, last_found_new=None,
                    alarms=tuple(Alarm(f"r{i}", "nan", "entropy", "nan", Severity.ALARM, T0) for i in range(7)))
    lines = gate_lines(info, UTC)
    assert lines["next"] == "Next look at 16:05 (today's allowance is used), in 2h 05m"
    assert lines["watch"] == "Watching 1 run · 7 alarms"
    assert lines["last"].endswith("4 of 4 looks today")
    assert lines["alarms"].splitlines()[-1] == "… and 2 more"
    assert countdown(0.2) == "0:01" and countdown(59.0) == "0:59"


# ---- alerts -----------------------------------------------------------------------------------
def test_notification_sequences_are_clean_and_wrap_for_tmux():
    seq = notification("tbpeek", "evil\x1b]52;c;aGk=\x07run; x")
    assert seq.count("\x1b") == 4 and "\x07" not in seq  # only our own ESCs (2 per sequence)
    assert clean("a\nb\x9cc") == "a b c"
    wrapped = notification("t", "b", tmux=True)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]9;t: b\x1b\x1b\\\x1b\\")
    assert tmux_wrap("\x1b]9;x\x1b\\") == "\x1bPtmux;\x1b\x1b]9;x\x1b\x1b\\\x1b\\"


def test_tmux_is_detected_from_the_environment(monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    written: list[str] = []
    Alerter(write=written.append).announce(Alarm("r", "why", "m", "k", Severity.ALARM, T0))
    assert written[0] == "\x07" and written[1].startswith("\x1bPtmux;")


def test_on_alarm_command_gets_the_alarm_in_its_environment_never_through_a_shell(tmp_path):
    out = tmp_path / "out.txt"
    script = ("import os, sys; open(sys.argv[1], 'w').write("
              "'|'.join(os.environ[k] for k in ('TBPEEK_RUN', 'TBPEEK_REASON', 'TBPEEK_SEVERITY', 'TBPEEK_LOGDIRS')))")
    alerter = Alerter(write=lambda s: None, on_alarm=[sys.executable, "-c", script, str(out)], logdirs=["/runs"])
    run = "ppo-$(touch pwned); `touch pwned2`"
    assert alerter.run_command(Alarm(run, "entropy 'collapsed'", "entropy", "collapsed", Severity.ALARM, T0)) is None
    import time

    for _ in range(200):  # the command runs in the background
        if out.exists() and out.read_text():
            break
        time.sleep(0.05)
    assert out.read_text() == f"{run}|entropy 'collapsed'|alarm|/runs"
    assert not Path("pwned").exists() and not (tmp_path / "pwned").exists()


def test_on_alarm_command_that_cannot_start_says_why(tmp_path):
    alerter = Alerter(write=lambda s: None, on_alarm=[str(tmp_path / "no-such-command")])
    msg = alerter.run_command(Alarm("r", "x", "m", "k", Severity.ALARM, T0))
    assert msg is not None and "no-such-command" in msg and "not through a shell" in msg
    assert alerter.errors == [msg]


def test_bell_uses_the_given_function():
    rung: list[bool] = []
    written: list[str] = []
    Alerter(write=written.append, bell=lambda: rung.append(True), tmux=False).announce(
        Alarm("r", "x", "m", "k", Severity.ALARM, T0))
    assert rung == [True] and "\x07" not in "".join(written)


@pytest.mark.parametrize("severity", [Severity.WARN])
@sync
async def test_warnings_do_not_break_through_by_default(tmp_path, severity):
    append_look(Look(start=T0 - 60, end=T0 - 30), tmp_path / "looks.jsonl")
    written: list[str] = []
    app = host(tmp_path, Clock(T0), written)
    async with app.run_test() as pilot:
        await pilot.pause()
        app.gate.on_health({"a": [Verdict("throughput", "decay", severity, "fps decays")]})
        await pilot.pause()
        assert isinstance(app.screen, GateScreen) and written == []


@sync
async def test_no_budget_never_shows_the_gate_but_still_rings_and_logs(tmp_path):
    written: list[str] = []
    app = host(tmp_path, Clock(T0), written, enabled=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen) and not app.gate.blocking
        app.gate.on_health({"ppo": [ALARM]})
        await pilot.pause()
        assert not isinstance(app.screen, GateScreen) and written[0] == "\x07"
        app.gate.stop()
    (look,) = log_of(tmp_path)
    assert look.trigger == "budget_off" and look.end is not None
