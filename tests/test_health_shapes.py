"""Entropy shape kinds on synthetic curves with noise (one test per kind, plus traps)."""

from __future__ import annotations

import numpy as np
from health_synth import curve, decay_to, noisy, snapshot

from tui.health import HealthOptions, Severity, judge

LN6 = float(np.log(6))


def entropy_verdict(values, dt=10.0, actions=6, tag="policy_entropy", reward=None, **kw):
    tags = {tag: curve(values, dt)}
    if reward is not None:
        tags["eprewmean"] = curve(reward, dt)
    snap = snapshot(tags)
    now = float(snap.last_wall_time) + 1.0
    h = judge(snap, HealthOptions(actions=actions, **kw), now=now)
    return h.verdict("entropy")


def test_healthy_falls_and_flattens():
    v = entropy_verdict(decay_to(LN6 * 0.99, LN6 * 0.85, 600) + noisy(0, 600, 0.04, 1))
    assert v.kind == "healthy" and v.severity == Severity.OK


def test_pinned_at_max_short_is_info_long_is_alarm():
    flat = np.minimum(LN6, noisy(LN6 * 0.999, 400, 0.002, 2))
    short = entropy_verdict(flat, dt=5.0)  # 400 points, 33 minutes
    assert short.kind == "pinned_at_max" and short.severity == Severity.INFO
    long = entropy_verdict(flat, dt=30.0)  # 400 points, 3.3 hours
    assert long.kind == "pinned_at_max" and long.severity == Severity.ALARM
    assert "not learning" in long.reason
    assert long.evidence["pinned_for_s"] > 7200


def test_pinned_with_improving_reward_is_one_level_lower():
    flat = np.minimum(LN6, noisy(LN6 * 0.999, 400, 0.002, 2))
    reward = np.concatenate([np.full(200, -21.0), np.linspace(-21, 10, 200)]) + noisy(0, 400, 0.5, 3)
    v = entropy_verdict(flat, dt=30.0, reward=reward)
    assert v.kind == "pinned_at_max" and v.severity == Severity.WARN


def test_collapsed_premature_when_reward_never_improved():
    x = np.concatenate([decay_to(LN6, 0.01, 100, tau=0.1), noisy(0.02, 300, 0.005, 4)])
    v = entropy_verdict(np.abs(x), reward=noisy(-21, 400, 0.5, 5))
    assert v.kind == "collapsed" and v.severity == Severity.ALARM
    assert v.evidence["premature"] is True


def test_collapsed_converged_with_good_reward_is_info():
    x = np.concatenate([decay_to(LN6, 0.02, 300, tau=0.2), noisy(0.03, 300, 0.005, 6)])
    reward = np.concatenate([np.linspace(-21, 20, 300), np.full(300, 20.0)]) + noisy(0, 600, 0.5, 7)
    v = entropy_verdict(np.abs(x), reward=reward)
    assert v.kind == "collapsed" and v.severity == Severity.INFO
    assert "converged" in v.reason


def test_plateau_reports_uniform_over_k_actions():
    # ln 3 out of ln 6: uniform over 3 of 6 actions, flat, reward flat.
    x = np.concatenate([decay_to(LN6, np.log(3), 150, tau=0.15), noisy(np.log(3), 450, 0.003, 8)])
    v = entropy_verdict(x, reward=noisy(-21, 600, 0.5, 9))
    assert v.kind == "plateau"
    assert "uniform over 3 of 6 actions" in v.reason
    assert v.severity == Severity.WARN


def test_oscillating():
    t = np.arange(600)
    x = LN6 * (0.6 + 0.2 * np.sign(np.sin(t / 6.0))) + noisy(0, 600, 0.02, 10)
    v = entropy_verdict(x)
    assert v.kind == "oscillating" and v.severity == Severity.WARN


def test_rising_after_a_fall():
    x = np.concatenate([decay_to(LN6, 0.4 * LN6, 300, tau=0.1), np.linspace(0.4, 0.85, 150) * LN6,
                        np.full(150, 0.85 * LN6)]) + noisy(0, 600, 0.01, 11)
    v = entropy_verdict(x)
    assert v.kind == "rising" and v.severity == Severity.WARN


def test_spike_is_never_a_collapse():
    # A healthy run with h 0.9 -> 0.05 -> 0.9 at one point, near the end.
    x = np.concatenate([decay_to(LN6, 0.9 * LN6, 400), noisy(0.9 * LN6, 200, 0.01, 12)])
    x[-10] = 0.05 * LN6
    v = entropy_verdict(x)
    assert v.kind == "spike" and v.severity == Severity.INFO


def test_single_outlier_does_not_change_a_pinned_verdict():
    flat = np.minimum(LN6, noisy(LN6 * 0.999, 400, 0.002, 2))
    flat[-1] = 0.5 * LN6
    v = entropy_verdict(flat, dt=30.0)
    assert v.kind in ("pinned_at_max", "spike")
    flat[-1] = LN6
    flat[-3] = 0.5 * LN6
    assert entropy_verdict(flat, dt=30.0).kind in ("pinned_at_max", "spike")


def test_nonfinite_is_an_alarm_at_its_step():
    x = decay_to(LN6, 1.0, 100)
    x[60] = np.nan
    v = entropy_verdict(x)
    assert v.kind == "nonfinite" and v.severity == Severity.ALARM and v.since_step == 61


def test_too_early():
    v = entropy_verdict(np.full(3, LN6))
    assert v.kind == "too_early" and v.severity == Severity.OK


def test_no_entropy_tag_no_entropy_verdict():
    snap = snapshot({"fps": curve(np.full(10, 100.0))})
    assert judge(snap, now=float(snap.last_wall_time)).verdict("entropy") is None


def test_relative_when_action_count_unknown():
    # Entropy that starts at 3.7 (not ln of an integer): judged relative to its start.
    x = np.full(400, 3.7) + noisy(0, 400, 0.001, 13)
    snap = snapshot({"policy_entropy": curve(x, dt=30.0)})
    v = judge(snap, now=float(snap.last_wall_time)).verdict("entropy")
    assert v.evidence["scale"] == "initial"
    assert v.kind == "pinned_at_max" and "initial level" in v.reason
    assert v.severity == Severity.WARN  # 3.3 h, but without |A| "initial" needn't mean uniform


def test_action_count_inferred_from_max_entropy():
    x = decay_to(np.log(5), 0.8 * np.log(5), 300) + noisy(0, 300, 0.01, 14)
    x = np.minimum(x, np.log(5))
    snap = snapshot({"policy_entropy": curve(x)})
    v = judge(snap, now=float(snap.last_wall_time)).verdict("entropy")
    assert v.evidence["scale"] == "inferred" and v.evidence["actions"] == 5


def test_action_count_from_hyperparameter_text():
    x = np.full(100, 1.0) + noisy(0, 100, 0.05, 15)
    snap = snapshot({"policy_entropy": curve(x)}, texts={"hyperparameters/text_summary": "env_id: BreakoutNoFrameskip-v4"})
    v = judge(snap, now=float(snap.last_wall_time)).verdict("entropy")
    assert v.evidence["scale"] == "texts" and v.evidence["actions"] == 4


def test_continuous_entropy_below_zero_is_not_shape_judged():
    x = np.linspace(2.0, -3.0, 300)
    snap = snapshot({"train/entropy_loss": curve(-x), "rollout/ep_rew_mean": curve(np.linspace(0, 1, 300))})
    v = judge(snap, now=float(snap.last_wall_time)).verdict("entropy")
    assert v.kind == "healthy" and "isn't judged" in v.reason
