"""The one run-state rule (tui.vocab.runstate): boundaries, gap, modes, writer evidence."""

import math

import pytest

from tui.vocab import ENDED_AFTER, STALL_FLOOR, Liveness, RunState, StallRule, liveness, run_state

NOW = 1_000_000.0


def state(silent, gap=None, **kw):
    return run_state(NOW - silent, NOW, gap, **kw)


def test_floor_decides_without_a_gap():
    assert state(0) is RunState.LIVE
    assert state(STALL_FLOOR - 0.001) is RunState.LIVE
    assert state(STALL_FLOOR) is RunState.STALLED  # at the threshold: stalled
    assert state(ENDED_AFTER - 1) is RunState.STALLED
    assert state(ENDED_AFTER) is RunState.ENDED


def test_usual_gap_raises_the_threshold_but_never_below_the_floor():
    # a run that writes every 60 s: stalled after 5 x 60 = 300 s, not after 120 s
    assert state(299, gap=60) is RunState.LIVE
    assert state(300, gap=60) is RunState.STALLED
    # a fast writer (every 2 s): the 120 s floor still holds (writers may flush every 120 s)
    assert state(100, gap=2) is RunState.LIVE and state(120, gap=2) is RunState.STALLED
    # an unknown or nonsense gap is no gap
    for gap in (None, 0.0, -5.0, math.nan, math.inf):
        assert state(119, gap=gap) is RunState.LIVE and state(121, gap=gap) is RunState.STALLED


def test_alarm_after_ten_gaps_or_twice_the_floor():
    lv = liveness(NOW - 239, NOW)
    assert lv.state is RunState.STALLED and not lv.alarm
    assert liveness(NOW - 240, NOW).alarm
    assert not liveness(NOW - 599, NOW, 60).alarm and liveness(NOW - 600, NOW, 60).alarm
    assert not liveness(NOW - 10, NOW).alarm  # live is never an alarm


def test_review_mode_ends_a_silent_run():
    assert state(STALL_FLOOR - 1, mode="review") is RunState.LIVE
    assert state(STALL_FLOOR, mode="review") is RunState.ENDED
    with pytest.raises(ValueError, match="mode"):
        state(0, mode="dead")


def test_never_wrote_and_clock_skew():
    assert run_state(None, NOW) is RunState.ENDED
    assert run_state(math.nan, NOW) is RunState.ENDED
    lv = liveness(NOW + 3600, NOW)  # a writer whose clock runs ahead: not silent
    assert lv.state is RunState.LIVE and lv.silent == 0.0


def test_writer_evidence_wins_over_the_clock():
    # exited writer: ended at once, even a second after its last write
    assert state(1, writer_alive=False) is RunState.ENDED
    lv = liveness(NOW - 1, NOW, writer_alive=False)
    assert lv.basis == "writer exited"
    # alive but silent: stalled (hung), however long, also in review mode
    assert state(10 * ENDED_AFTER, writer_alive=True) is RunState.STALLED
    assert state(STALL_FLOOR, writer_alive=True, mode="review") is RunState.STALLED
    # alive and writing: live
    assert state(5, writer_alive=True) is RunState.LIVE
    assert run_state(None, NOW, writer_alive=True) is RunState.LIVE  # started, nothing written yet
    # None: no evidence, the clock decides
    assert state(STALL_FLOOR, writer_alive=None) is RunState.STALLED


def test_custom_rule_and_words():
    rule = StallRule(floor=10, warn=2, alarm=3, ended_after=100)
    assert run_state(NOW - 9, NOW, rule=rule) is RunState.LIVE
    assert run_state(NOW - 10, NOW, rule=rule) is RunState.STALLED
    assert run_state(NOW - 100, NOW, rule=rule) is RunState.ENDED
    assert rule.stalled_at(20) == 40 and rule.alarm_at(20) == 60
    assert RunState.STALLED == "stalled" and f"{RunState.LIVE}" == "live" and str(RunState.ENDED) == "ended"
    assert isinstance(liveness(NOW, NOW), Liveness)


def test_the_health_engine_and_the_app_column_use_the_same_rule():
    """check's stall verdict and the overview's state column agree on every silence."""
    from tui.health.options import Thresholds
    from tui.health.throughput import judge_liveness
    from tui.live.model import run_state as column_state

    th = Thresholds()
    for gap in (None, 2.0, 60.0, 1000.0):
        for silent in (0, 100, 119, 120, 299, 300, 5000, 86399, 86400, 10 ** 6):
            v = judge_liveness(NOW - silent, gap, NOW, th, "live")
            engine = "live" if v is None else v.kind
            assert column_state(silent, th.ended_after, gap) == engine, (gap, silent)
