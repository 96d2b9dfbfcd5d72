"""The look budget's policy, with a fake clock (UTC, so days and quiet hours are exact)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

import pytest
from testing import Clock

from tui.health.verdict import Severity, Verdict
from tui.looks.log import Look, append_look, read_looks
from tui.looks.policy import LookBudget, validate_reason
from tui.looks.settings import BudgetSettings, parse_quiet_hours
from tui.report.cli_options import add_budget, budget_flags

UTC = timezone.utc


def at(hh: int, mm: int = 0, day: int = 2) -> float:
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC).timestamp()


def make(tmp_path, clock, **kw) -> LookBudget:
    b = LookBudget(BudgetSettings(**kw), logdirs=["/runs"], clock=clock, tz=UTC,
                   log_path=tmp_path / "looks.jsonl")
    b.begin()
    return b


def v(metric="entropy", kind="collapsed", sev=Severity.ALARM, reason="entropy collapsed"):
    return Verdict(metric, kind, sev, reason)


def test_first_look_is_due_at_once_then_the_gap_applies(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock)
    info = b.state()
    assert info.due and not info.in_look and not b.may_show()
    b.start_look("scheduled")
    assert b.may_show()
    clock.advance(60)
    info = b.state()
    assert info.in_look and not info.due
    assert info.next_look == at(10, 30) and info.waiting_for == "gap"
    with pytest.raises(ValueError, match="no look is due"):
        b.start_look("scheduled")
    clock.t = at(10, 30) - 1  # a second before: not yet
    assert not b.state().due
    clock.t = at(10, 30)
    assert b.state().due


def test_window_expiry_closes_the_look_and_logs_its_end(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock, window=180)
    b.start_look("scheduled")
    clock.advance(170)
    info = b.state()
    assert info.in_look and info.ending_soon  # notice a little before (20 s)
    clock.advance(10)
    assert not b.may_show()
    (look,) = read_looks(tmp_path / "looks.jsonl")
    assert look.end == at(10, 3) and look.trigger == "scheduled" and look.logdirs == ["/runs"]


def test_looks_of_another_tbpeek_count(tmp_path):
    append_look(Look(start=at(9, 50), end=at(9, 53)), tmp_path / "looks.jsonl")  # the other pane
    b = make(tmp_path, Clock(at(10)))
    info = b.state()
    assert not info.due and info.next_look == at(10, 20) and info.last_look == at(9, 50)


def test_daily_allowance_waits_for_midnight_and_counts_overrides_not_alarms(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock, every=600, window=60, allowance=2)
    b.start_look("scheduled")
    clock.t = at(10, 10)
    b.start_look("override", reason="the new seed looks odd")
    clock.t = at(11)
    b.breakthrough(b.on_verdicts({"ppo": [v()]})[0])
    clock.t = at(12)
    info = b.state()
    assert info.looks_today == 2 and info.allowance == 2
    assert not info.due and info.waiting_for == "allowance"
    assert info.next_look == at(0, day=3)
    clock.t = at(0, 1, day=3)
    assert b.state().due


def test_quiet_hours_defer_scheduled_looks_across_midnight(tmp_path):
    clock = Clock(at(23))
    b = make(tmp_path, clock, quiet_hours=parse_quiet_hours("22:00-07:00"))
    info = b.state()
    assert not info.due and info.waiting_for == "quiet hours" and info.next_look == at(7, day=3)
    clock.t = at(6, 59, day=3)
    assert not b.state().due
    clock.t = at(7, day=3)
    assert b.state().due


def test_an_alarm_in_quiet_hours_still_breaks_through(tmp_path):
    clock = Clock(at(3))
    b = make(tmp_path, clock, quiet_hours=(22 * 60, 7 * 60))
    assert b.on_verdicts({"ppo": [v(kind="healthy", sev=Severity.OK)]}) == []
    assert not b.may_show()
    alarms = b.on_verdicts({"ppo": [v()]})
    assert [(a.run, a.reason) for a in alarms] == [("ppo", "entropy collapsed")]
    b.breakthrough(alarms[0])
    assert b.may_show()
    info = b.state()
    assert info.look_trigger == "alarm" and info.alarms[0].headline == "ppo: entropy collapsed"
    # the same alarm again is not new; a recovery and relapse is
    assert b.on_verdicts({"ppo": [v()]}) == []
    b.on_verdicts({"ppo": []})
    assert len(b.on_verdicts({"ppo": [v()]})) == 1
    (look,) = read_looks(tmp_path / "looks.jsonl")
    assert look.trigger == "alarm" and look.run == "ppo" and look.found_new is True


def test_an_alarm_during_a_look_extends_it_instead_of_starting_another(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock, window=60)
    b.start_look("scheduled")
    clock.advance(50)
    alarms = b.on_verdicts({"ppo": [v()], "sac": [v(metric="reward", kind="collapsed", reason="reward fell")]})
    for a in alarms:
        assert b.breakthrough(a) is b.current
    clock.advance(40)  # past the first window (60), within the extended one (50 + 60)
    assert b.may_show() and b.state().look_ends == at(10) + 110
    clock.advance(25)
    assert not b.may_show()
    (look,) = read_looks(tmp_path / "looks.jsonl")
    assert look.trigger == "scheduled" and look.found_new is True and look.end == at(10) + 110


def test_warnings_break_through_only_when_configured(tmp_path):
    warn = v(kind="slow_decay", sev=Severity.WARN, reason="fps decays")
    assert make(tmp_path, Clock(at(10))).on_verdicts({"a": [warn]}) == []
    b = make(tmp_path, Clock(at(10)), breakthrough_on=Severity.WARN)
    assert [a.kind for a in b.on_verdicts({"a": [warn]})] == ["slow_decay"]


def test_restarting_tbpeek_does_not_ring_again_for_a_recent_alarm(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock)
    b.breakthrough(b.on_verdicts({"ppo": [v()]})[0])
    b.close()
    clock.advance(120)
    again = make(tmp_path, clock)
    assert again.on_verdicts({"ppo": [v()]}) == []
    assert [a.run for a in again.state().alarms] == ["ppo"]  # still listed on the gate


def test_override_needs_a_reason_of_a_few_words(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock)
    b.start_look("scheduled")
    clock.advance(300)
    assert validate_reason("just") is not None
    with pytest.raises(ValueError, match="at least 3 words"):
        b.start_look("override", reason="because")
    b.start_look("override", reason="checking the lr change")
    assert b.may_show()
    looks = read_looks(tmp_path / "looks.jsonl")
    assert [(k.trigger, k.reason) for k in looks] == [("scheduled", None),
                                                      ("override", "checking the lr change")]


def test_found_new_compares_verdicts_with_the_previous_look(tmp_path):
    clock = Clock(at(10))
    b = make(tmp_path, clock, every=600, window=60)
    b.on_verdicts({"a": [v(kind="healthy", sev=Severity.OK)]})
    b.start_look()
    clock.advance(600)
    b.start_look()  # nothing changed
    clock.advance(600)
    b.on_verdicts({"a": [v(kind="slow_decay", sev=Severity.WARN, reason="slowly")]})
    b.start_look()  # a warning appeared
    b.close()
    assert [k.found_new for k in read_looks(tmp_path / "looks.jsonl")] == [False, False, True]


def test_no_budget_shows_everything_and_logs_the_session(tmp_path):
    clock = Clock(at(3))
    b = make(tmp_path, clock, enabled=False, quiet_hours=(0, 600))
    assert b.may_show() and b.state().in_look and not b.state().enabled
    alarms = b.on_verdicts({"ppo": [v()]})
    assert len(alarms) == 1 and b.breakthrough(alarms[0]) is None  # nothing to open: all open
    clock.advance(3600)
    b.close()
    (look,) = read_looks(tmp_path / "looks.jsonl")
    assert look.trigger == "budget_off" and look.duration == 3600


def test_unwritable_log_keeps_the_budget_working(tmp_path):
    (tmp_path / "ro").write_text("a file, not a directory")
    b = LookBudget(BudgetSettings(), clock=Clock(at(10)), tz=UTC, log_path=tmp_path / "ro" / "looks.jsonl")
    b.start_look()
    assert b.may_show() and isinstance(b.last_error, OSError)
    assert not b.state().due  # the unlogged look still counts


def test_settings_from_config_and_flags():
    p = argparse.ArgumentParser()
    add_budget(p)
    looks = {"every": "1h", "window": "5m", "quiet_hours": "23-7", "on_alarm": ["notify", "x"]}
    s = BudgetSettings.from_config(looks, budget_flags(p.parse_args(["--window", "2m", "--allowance", "6"])))
    assert (s.every, s.window, s.allowance, s.quiet_hours) == (3600, 120, 6, (23 * 60, 7 * 60))
    assert s.on_alarm == ("notify", "x")
    s = BudgetSettings.from_config(None, budget_flags(p.parse_args(["--no-budget", "--on-alarm", "say 'run down'",
                                                                    "--breakthrough-on", "warn"])))
    assert not s.enabled and s.on_alarm == ("say", "run down") and s.breakthrough_on == Severity.WARN


@pytest.mark.parametrize("argv, cfg, match", [
    (["--every", "soon"], None, "--every: can't read duration"),
    (["--every", "1m", "--window", "5m"], None, "can't be longer than the gap"),
    (["--allowance", "lots"], None, "--allowance must be a whole number"),
    (["--quiet-hours", "22"], None, "--quiet-hours: can't read"),
    (["--quiet-hours", "25:00-07:00"], None, "not a time of day"),
    (["--on-alarm", "say 'oops"], None, "check the quotes"),
    ([], {"looks": {"evry": "5m"}}, r"config \[looks\]: unknown key 'evry'"),
    ([], {"looks": {"window": 0}}, "must be above zero"),
])
def test_bad_settings_say_what_is_wrong(argv, cfg, match):
    p = argparse.ArgumentParser()
    add_budget(p)
    with pytest.raises(ValueError, match=match):
        BudgetSettings.from_config((cfg or {}).get("looks"), budget_flags(p.parse_args(argv)))
