"""Throughput derived from the records (never the logged fps): decay, drop, stall, ended."""

from __future__ import annotations

import numpy as np
from health_synth import T0, curve, noisy, snapshot

from tui.health import HealthOptions, Severity, judge, role_series
from tui.health.stats import spearman
from tui.health.throughput import derive_rate, interval_width


def counter_run(rates, dt=30.0, per_update=None, fps_logged=None, offset=0.0):
    """An update-indexed run (step = update number) with a `total_timesteps` counter tag.

    rates: env steps per second during each interval between logs.
    """
    rates = np.asarray(rates, dtype=np.float64)
    n = rates.shape[0] + 1
    walls = T0 + dt * np.arange(n)
    total = offset + np.concatenate([[0.0], np.cumsum(rates * dt)])
    steps = np.arange(1, n + 1)
    tags = {
        "total_timesteps": (steps, walls, total),
        "policy_entropy": (steps, walls, np.full(n, 1.2) + noisy(0, n, 0.05, 1)),
    }
    if fps_logged is not None:
        tags["fps"] = (steps, walls, fps_logged(walls, total))
    return snapshot(tags)


def tp(snap, **kw):
    return judge(snap, HealthOptions(**kw), now=float(snap.last_wall_time) + 5).verdict("throughput")


def test_derive_rate_on_a_regular_grid():
    walls = T0 + np.array([0, 7, 20, 31, 45, 60, 61, 90, 120.0])
    counts = 10.0 * (walls - T0)  # exactly 10 steps/s, written irregularly
    r = derive_rate(walls, counts, min_window=30.0)
    assert len(r) == 8
    assert np.allclose(r.values, 10.0)
    # A short run: intervals of the usual write gap (13.5 s), all equal.
    assert np.allclose(np.diff(r.wall_times), 13.5)


def test_interval_width_fits_the_run():
    assert interval_width(18 * 3600.0, 2.0, 30.0) == 30.0  # long runs: 30 s
    assert interval_width(150.0, 0.15, 30.0) == 3.0  # a 150 s run: 50 intervals
    assert interval_width(150.0, 5.0, 30.0) == 5.0  # never below the write gap
    assert interval_width(1e7, 1.0, 30.0) == 1e7 / 4096  # never a huge grid


def test_short_run_sudden_drop_is_seen():
    # The case: ~3 800 steps/s for 27 s, then ~800 steps/s until 150 s; SB3 writes
    # its env-step counter every ~0.1 s.
    walls, counts, t, c = [], [], T0, 0.0
    rng = np.random.default_rng(4)
    while t < T0 + 150:
        rate = 3800.0 if t < T0 + 27 else 800.0
        dt = 256 / rate * rng.uniform(0.9, 1.1)
        t, c = t + dt, c + 256
        walls.append(t)
        counts.append(c)
    n = len(walls)
    ent = 0.6 + noisy(0, n, 0.01, 5)
    snap = snapshot({"train/entropy_loss": (np.asarray(counts, np.int64), np.asarray(walls), -ent),
                     "rollout/ep_rew_mean": (np.asarray(counts, np.int64), np.asarray(walls), np.linspace(20, 200, n))})
    v = tp(snap)
    assert v.kind == "sudden_drop", v.reason
    assert 3300 < v.evidence["before"] < 4300 and 600 < v.evidence["after"] < 1000


def test_dqn_warm_up_is_no_drop():
    # An off-policy learner collects 20x faster before its first update (learning_starts).
    walls, counts, loss_w, t, c = [], [], [], T0, 0.0
    while c < 60_000:
        rate = 20_000.0 if c < 10_000 else 1_000.0
        t, c = t + 200 / rate, c + 200
        walls.append(t)
        counts.append(c)
        if c >= 10_000:
            loss_w.append(t)
    steps = np.asarray(counts, np.int64)
    k = len(walls) - len(loss_w)
    snap = snapshot({"rollout/exploration_rate": (steps, np.asarray(walls), np.linspace(1, 0.05, len(walls))),
                     "rollout/ep_rew_mean": (steps, np.asarray(walls), np.linspace(20, 200, len(walls))),
                     "train/loss": (steps[k:], np.asarray(loss_w), np.full(len(loss_w), 0.5))})
    v = tp(snap)
    assert v.kind == "steady", v.reason
    assert 800 < v.evidence["steps_per_s"] < 1200


def test_update_indexed_run_uses_its_step_counter_tag():
    snap = counter_run(np.full(200, 8000 / 30.0) + noisy(0, 200, 3, 2))
    v = tp(snap)
    assert v.kind == "steady"
    assert v.evidence["source"] == "values of total_timesteps"
    assert abs(v.evidence["steps_per_s"] - 266.7) < 10  # not 1/30 updates per second
    rate = role_series(snap)["throughput"]
    assert abs(float(np.median(rate.values)) - 266.7) < 10
    assert rate.steps.max() <= 201  # plotted on the run's own (update) axis


def test_slow_decay():
    # 18 hours, 50 -> 38 steps/s (-24 %), like Rahtz's threading-bug runs.
    n = 1350
    rates = np.linspace(50, 38, n) + noisy(0, n, 1.5, 3)
    v = tp(counter_run(rates, dt=48.0))
    assert v.kind == "slow_decay" and v.severity == Severity.WARN
    assert v.evidence["late"] < 0.9 * v.evidence["early"]


def test_sudden_drop_is_dated_and_alarming_when_deep():
    rates = np.concatenate([np.full(200, 72.0), np.full(60, 15.0)]) + noisy(0, 260, 1.0, 4)
    snap = counter_run(rates, dt=10.0)
    v = tp(snap)
    assert v.kind == "sudden_drop" and v.severity == Severity.ALARM
    assert abs(v.since_wall_time - (T0 + 2000)) <= 90  # the drop began at 2000 s


def test_transient_dip_is_not_a_drop():
    rates = np.full(300, 72.0) + noisy(0, 300, 1.0, 5)
    rates[150:160] = 15.0
    assert tp(counter_run(rates, dt=10.0)).kind == "steady"


def test_cumulative_fps_trap_is_not_a_decay():
    """An lr1e-3-style run: logged fps (a cumulative average over a resumed counter) falls
    34 -> 19 while the real rate stays flat at ~18 steps/s. Must not be called a decay."""
    n = 1000
    rates = np.full(n, 18.0) + noisy(0, n, 0.5, 6)
    start = T0 - 600.0  # the process started 10 minutes before its first log

    def cumulative(walls, total):
        return total / (walls - start)

    snap = counter_run(rates, dt=30.0, fps_logged=cumulative, offset=21_000.0)  # resumed: 34 -> 18 logged
    fps = snap.series["fps"].values
    # The trap is real: the logged value decays like a leak would...
    assert fps[1] > 30 and fps[-1] < 20
    assert spearman(snap.series["fps"].wall_times[1:], fps[1:]) <= -0.7
    # ...but the derived throughput is steady.
    v = tp(snap)
    assert v.kind == "steady", v.reason
    assert abs(v.evidence["steps_per_s"] - 18.0) < 1.0


def test_stalled_live_ended_review():
    snap = counter_run(np.full(100, 100.0), dt=10.0)
    last = float(snap.last_wall_time)
    live = judge(snap, HealthOptions(), now=last + 1000).verdict("throughput")
    assert live.kind == "stalled" and live.severity == Severity.ALARM  # 100x the 10 s gap
    warn = judge(snap, HealthOptions(), now=last + 130).verdict("throughput")
    assert warn.kind == "stalled" and warn.severity == Severity.WARN  # > 120 s floor, < 240 s
    fine = judge(snap, HealthOptions(), now=last + 60).verdict("throughput")
    assert fine.kind == "steady"  # under the 120 s floor: writers may flush every 120 s
    review = judge(snap, HealthOptions(mode="review"), now=last + 1000).verdict("throughput")
    assert review.kind == "ended" and review.severity == Severity.INFO
    old = judge(snap, HealthOptions(), now=last + 3 * 86400).verdict("throughput")
    assert old.kind == "ended"


def test_shape_beats_ended_for_a_finished_decaying_run():
    n = 1350
    snap = counter_run(np.linspace(50, 38, n) + noisy(0, n, 1.5, 3), dt=48.0)
    v = judge(snap, HealthOptions(mode="review"), now=float(snap.last_wall_time) + 86400 * 30).verdict("throughput")
    assert v.kind == "slow_decay"


def test_episode_indexed_rewards_give_no_throughput():
    # Per-worker episode rewards: their step counts episodes, whose rate falls as the agent
    # gets better (longer episodes). That is learning, not slowness.
    tags = {f"orig_reward_{i}": curve(np.full(100, -21.0), dt=10.0 + i) for i in range(4)}
    snap = snapshot(tags)
    assert "throughput" not in role_series(snap)
