"""The health engine on Matthew Rahtz's real runs, whose outcomes are known (see the README)."""

from __future__ import annotations

import numpy as np
import pytest

from tui.health import HealthOptions, Severity, judge, prefix, replay_history, siblings
from tui.ingest import load

PONG_OK = "pong-original_rewards_7417fd8"
PONG_PINNED = "pong-end_to_end-synthetic_prefs-1_81a378f"
FPS1 = "fps1_0c803e5"
DOT = "moving_dot-end_to_end-synthetic_prefs_bf708da"


@pytest.fixture(scope="module")
def runs(rahtz):
    snaps = load([str(rahtz)]).snapshots()
    return {s.name: s for s in snaps}, siblings(snaps)


def judged(runs, name, **kw):
    snaps, rel = runs
    snap = snaps[name]
    return judge(snap, HealthOptions(**kw), now=float(snap.last_wall_time) + 60, related=rel[name])


def test_healthy_pong_is_healthy(runs):
    h = judged(runs, f"{PONG_OK}/a2c")
    assert h.library == "openai-baselines"
    assert h.verdict("entropy").kind == "healthy"
    assert h.worst.severity <= Severity.INFO
    assert judged(runs, f"{PONG_OK}/a2c_misc").verdict("reward").kind == "improving"


def test_pinned_pong_is_an_alarm(runs):
    h = judged(runs, f"{PONG_PINNED}/a2c")
    v = h.verdict("entropy")
    assert v.kind == "pinned_at_max" and v.severity == Severity.ALARM
    assert v.evidence["actions"] == 6  # inferred from max H = ln 6
    assert judged(runs, f"{PONG_PINNED}/a2c_misc").verdict("reward").kind == "flat"


def test_fps1_slow_decay_and_pinned(runs):
    h = judged(runs, f"{FPS1}/baselines")
    assert h.verdict("throughput").kind == "slow_decay"
    assert h.verdict("throughput").evidence["source"] == "values of total_timesteps"
    assert h.verdict("entropy").kind == "pinned_at_max"


def test_moving_dot_sudden_drop(runs):
    v = judged(runs, f"{DOT}/a2c").verdict("throughput")
    assert v.kind == "sudden_drop"
    assert v.evidence["before"] > 60 and v.evidence["after"] < 20  # about 72 -> 15


def _prefix_verdicts(runs, name, fractions):
    snaps, rel = runs
    snap = snaps[name]
    walls = snap.series["policy_entropy"].wall_times
    out = {}
    for f in fractions:
        t = float(walls[round(f * len(walls)) - 1])
        h = judge(prefix(snap, t), now=t + 5, related=[prefix(r, t) for r in rel[name]])
        out[f] = h
    return out


def test_healthy_pong_never_alarms_at_any_prefix(runs):
    fractions = [round(0.1 * k, 1) for k in range(1, 11)]
    for f, h in _prefix_verdicts(runs, f"{PONG_OK}/a2c", fractions).items():
        for v in h.verdicts:
            assert v.severity < Severity.WARN, f"{f:.0%}: {v.metric} {v.kind} {v.reason}"


def test_pinned_pong_flagged_by_half_its_length(runs):
    h = _prefix_verdicts(runs, f"{PONG_PINNED}/a2c", [0.5])[0.5]
    v = h.verdict("entropy")
    assert v.kind == "pinned_at_max" and v.severity == Severity.ALARM


def test_replay_history_of_the_pinned_run(runs):
    snaps, rel = runs
    name = f"{PONG_PINNED}/a2c"
    hist = replay_history(snaps[name], HealthOptions(mode="review"), points=30, related=rel[name])
    ent = [c for c in hist if c.metric == "entropy"]
    assert ent[-1].new_kind == "pinned_at_max" and ent[-1].severity == Severity.ALARM
    assert any(c.severity == Severity.WARN for c in ent)  # it escalated: info -> warn -> alarm
    walls = [c.wall_time for c in hist if c.wall_time is not None]
    assert walls and min(walls) >= float(np.min(snaps[name].series["policy_entropy"].wall_times)) - 1
    assert hist[-1].new_kind == "ended" or any(c.new_kind == "ended" for c in hist)


def test_one_line_summaries_across_sibling_folders(runs):
    # The reward lives in a2c_misc, the entropy in a2c: the a2c run's line speaks for both.
    snaps, rel = runs

    def line(name):
        snap = snaps[name]
        return judge(snap, HealthOptions(mode="review"), now=float(snap.last_wall_time) + 3600,
                     related=rel[name]).summary

    pinned = line(f"{PONG_PINNED}/a2c")
    assert pinned.head == "learned nothing" and pinned.severity == Severity.ALARM
    assert pinned.text.startswith("learned nothing: reward never improved in 1073 steps (flat around -21)")
    assert "for its whole life" in pinned.text and pinned.state == "ended"
    ok = line(f"{PONG_OK}/a2c")
    assert ok.text.startswith("fine: reward rose -21 -> 15") and "entropy fell to 0.88 of max" in ok.text
    dot = line(f"{DOT}/a2c")
    assert dot.head == "learning" and "but throughput dropped" in dot.text
