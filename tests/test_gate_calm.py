"""A calm look budget (issue 14.4/14.8, 12.9): the next look to the minute, one breakthrough
for alarms close together (the worst leads, the others listed, no screen switch per alarm), a
look that ends stays ended, where the last look was, and --on-alarm runs limited."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from testing import Clock

from tui.health.verdict import Severity, Verdict
from tui.live.alerts import Alerter
from tui.live.gate import BATCH_SECONDS, GateController, gate_lines, short_path, where
from tui.looks.log import Look, append_look, read_looks
from tui.looks.policy import Alarm, GateInfo, LookBudget
from tui.looks.settings import BudgetSettings

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC).timestamp()
COLLAPSE = Verdict("entropy", "collapsed", Severity.ALARM, "entropy collapsed to 0.011 of max 1.39")
NAN = Verdict("entropy", "nonfinite", Severity.ALARM, "entropy is NaN since step 900")
WARN = Verdict("throughput", "slow_decay", Severity.WARN, "throughput fell 40%")


class UI:
    def __init__(self) -> None:
        self.notices: list[tuple[str, str, str]] = []
        self.gate_up = False
        self.shown = 0
        self.on_look = None

    def notify(self, message, *, title="", severity="information", timeout=None) -> None:
        self.notices.append((title, message, severity))

    def show_gate(self, info, on_look, on_override) -> None:
        self.gate_up, self.on_look = True, on_look
        self.shown += 1

    def update_gate(self, info) -> None:
        pass

    def hide_gate(self) -> None:
        self.gate_up = False


class FakeProc:
    def __init__(self) -> None:
        self.done = threading.Event()

    def wait(self) -> int:
        self.done.wait(10)
        return 0


def controller(tmp_path, clock, enabled=True, on_alarm=None, spawn=None):
    budget = LookBudget(BudgetSettings(enabled=enabled, every=1800, window=60), logdirs=["/home/ann/runs/demo"],
                        clock=clock, tz=UTC, log_path=tmp_path / "looks.jsonl")
    budget.set_runs(["a", "b", "c", "d"])
    written: list[str] = []
    rang: list[bool] = []
    kw = {"spawn": spawn} if spawn else {}
    alerter = Alerter(write=written.append, bell=lambda: rang.append(True), tmux=False, on_alarm=on_alarm, **kw)
    leads: list[str] = []
    ui = UI()
    gate = GateController(ui, budget, alerter, on_alarm_look=leads.append, tz=UTC)
    gate.start()
    return gate, ui, leads, rang, written


def test_alarms_seconds_apart_are_one_breakthrough_led_by_the_worst(tmp_path):
    clock = Clock(T0)
    gate, ui, leads, rang, _ = controller(tmp_path, clock)
    assert ui.gate_up
    gate.on_health({"b": [WARN], "a": [COLLAPSE]})  # warn doesn't break through by default
    assert leads == ["a"] and not ui.gate_up and rang == [True]
    clock.t += 3
    gate.on_health({"c": [NAN]})
    clock.t += 4
    gate.on_health({"d": [COLLAPSE]})
    assert leads == ["a"]  # never a screen switch per alarm
    assert rang == [True]  # one bell
    assert [a.run for a in gate.batch.alarms] == ["a", "c", "d"]
    also = [m for t, m, _ in ui.notices if "Also alarming" in m]
    assert len(also) == 2 and "c: entropy is NaN" in also[0]
    alarm_looks = [k for k in read_looks(tmp_path / "looks.jsonl") if k.trigger == "alarm"]
    assert len(alarm_looks) == 1 and alarm_looks[0].run == "a"


def test_one_judgement_with_many_alarms_is_one_notice_listing_them_all(tmp_path):
    clock = Clock(T0)
    gate, ui, leads, rang, written = controller(tmp_path, clock)
    gate.on_health({f"r{i}": [COLLAPSE] for i in range(7)} | {"a": [NAN]})
    assert len(leads) == 1 and rang == [True]
    title, text, _ = [n for n in ui.notices if n[2] == "error"][-1]
    assert title == "8 alarms" and "… and 3 more" in text and len(text.splitlines()) == 6
    assert sum("\x1b]9;" in w for w in written) == 1 and "(+7 more)" in written[0]


def test_a_look_that_ends_ends_and_is_not_reopened_by_an_alarm_just_after(tmp_path):
    clock = Clock(T0)
    gate, ui, leads, _, _ = controller(tmp_path, clock)
    gate.on_health({"a": [COLLAPSE]})
    assert not ui.gate_up
    clock.t += 61  # the alarm look's 60 s window is over
    gate.refresh()
    assert ui.gate_up and any("The look is over" in m for _, m, _ in ui.notices)
    clock.t += 2
    gate.on_health({"b": [COLLAPSE]})  # arrives with the end: joins, doesn't reopen
    assert ui.gate_up and leads == ["a"]
    gate.refresh()
    assert ui.gate_up
    clock.t += 600  # much later, a new alarm is news again
    gate.on_health({"c": [NAN]})
    assert not ui.gate_up and leads == ["a", "c"]


def test_alarms_joining_never_extend_the_look(tmp_path):
    clock = Clock(T0)
    gate, _ui, _, _, _ = controller(tmp_path, clock)
    gate.on_health({"a": [COLLAPSE]})
    ends = gate.budget.look_ends(clock())
    clock.t += 50
    gate.on_health({"b": [COLLAPSE]})
    assert gate.budget.look_ends(clock()) == ends


def test_without_a_budget_alarms_close_together_still_switch_once(tmp_path):
    clock = Clock(T0)
    gate, _ui, leads, _, _ = controller(tmp_path, clock, enabled=False)
    gate.on_health({"a": [COLLAPSE]})
    clock.t += 3
    gate.on_health({"b": [NAN]})
    assert leads == ["a"]
    clock.t += BATCH_SECONDS + 1
    gate.on_health({"c": [NAN]})
    assert leads == ["a", "c"]


def test_gate_says_next_look_to_the_minute_and_where_the_last_look_was(tmp_path):
    info = GateInfo(now=T0, next_look=T0 + 1234, countdown=1234, waiting_for="gap", runs_watched=3,
                    last_look=T0 - 600, last_found_new=False, last_logdirs=("/home/ann/runs/demo",))
    lines = gate_lines(info, UTC, home="/home/ann")
    assert lines["next"] == "Next look at 14:20"
    assert lines["last"] == "Last look at 13:50 on ~/runs/demo · found nothing new"
    # Nothing that moves each second: a second later, the same words.
    later = GateInfo(**{**info.__dict__, "now": T0 + 1, "countdown": 1233})
    assert gate_lines(later, UTC, home="/home/ann") == lines
    assert gate_lines(info, UTC, show_countdown=True)["next"] == "Next look at 14:20, in 20:34"
    assert where(["/a", "/b", "/c"], home="/x") == "/a and 2 more" and short_path("/home/annx", "/home/ann") == "/home/annx"


def test_the_gate_names_the_logdir_of_the_last_look_from_the_log(tmp_path):
    append_look(Look(start=T0 - 600, end=T0 - 540, logdirs=["/srv/runs/other"]), tmp_path / "looks.jsonl")
    clock = Clock(T0)
    gate, _, _, _, _ = controller(tmp_path, clock)
    assert gate_lines(gate.budget.state(), UTC)["last"].startswith("Last look at 13:50 on /srv/runs/other")


def test_on_alarm_runs_once_per_breakthrough_at_most_two_at_once_then_queued_then_skipped(tmp_path):
    procs: list[FakeProc] = []
    envs: list[dict] = []

    def spawn(argv, env, **kw):
        envs.append(env)
        procs.append(FakeProc())
        return procs[-1]

    clock = Clock(T0)
    gate, _ui, _, _, _ = controller(tmp_path, clock, on_alarm=["notify-me"], spawn=spawn)
    gate.on_health({f"r{i:03d}": [COLLAPSE] for i in range(300)})  # 300 runs alarming at start-up
    assert len(procs) == 1  # one breakthrough: one command
    assert envs[0]["TBPEEK_COUNT"] == "300" and len(envs[0]["TBPEEK_RUNS"].splitlines()) == 300
    alerter = gate.alerter
    # Many separate breakthroughs while commands hang: 2 run, 8 wait, the rest are skipped (said).
    for k in range(15):
        alerter.run_command(Alarm(f"x{k}", "r", "entropy", "collapsed", Severity.ALARM, T0))
    assert len(procs) == 2 and len(alerter.queued) == 8 and alerter.skipped == 6
    assert any("skipped" in e for e in alerter.errors)
    procs[0].done.set()  # one finishes: the next waiting one starts
    for _ in range(100):
        if len(procs) == 3:
            break
        threading.Event().wait(0.02)
    assert len(procs) == 3 and len(alerter.queued) == 7
    for p in procs:
        p.done.set()


def test_the_gate_lists_alarms_one_per_line_with_names_made_safe():
    alarms = tuple(Alarm(name, "r", "entropy", "collapsed", Severity.ALARM, T0)
                   for name in ("a\nb", "c\x1b]0;x\x07"))
    lines = gate_lines(GateInfo(now=T0, alarms=alarms), UTC)["alarms"].split("\n")
    assert lines == ["▲ a\\x0ab: entropy collapsed", "▲ c\\x1b]0;x\\x07: entropy collapsed"]


def test_a_look_due_within_two_minutes_is_said_to_the_second():
    info = GateInfo(now=T0 + 5, next_look=T0 + 95, countdown=90, waiting_for="gap")
    assert gate_lines(info, UTC)["next"] == "Next look at 14:01:35"  # "14:01" at 14:00:05 reads as past
