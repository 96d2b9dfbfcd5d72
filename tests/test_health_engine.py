"""judge / HealthTracker / replay_history / HealthOptions, and real writers' files."""

from __future__ import annotations

import numpy as np
import pytest
from eventfiles import Writer
from health_synth import T0, curve, decay_to, noisy, snapshot

from tui.health import HealthOptions, HealthTracker, Severity, judge, replay_history, role_series
from tui.ingest import load
from tui.store import Store

LN6 = float(np.log(6))


def test_sb3_style_file_is_judged_on_plus_h(tmp_path):
    """SB3 logs train/entropy_loss = -H on the env-step axis, with rollout/ep_rew_mean."""
    n = 300
    H = np.minimum(LN6, noisy(LN6 * 0.999, n, 0.002, 1))  # pinned at ln 6
    with Writer(tmp_path / "PPO_1") as w:
        for i in range(n):
            step, wall = 2048 * (i + 1), T0 + 60.0 * i
            w.scalar("train/entropy_loss", -float(H[i]), step, wall)
            w.scalar("rollout/ep_rew_mean", -21.0 + 0.01 * np.sin(i), step, wall)
            w.scalar("time/fps", 2048 / 60.0, step, wall)
    store = load([str(tmp_path)])
    snap = store.snapshot("PPO_1")
    h = judge(snap, HealthOptions(actions=6), now=T0 + 60.0 * n)
    assert h.library == "stable-baselines3"
    assert np.all(h.roles["entropy"].values > 0)  # +H, not the logged -H
    v = h.verdict("entropy")
    assert v.kind == "pinned_at_max" and v.severity == Severity.ALARM  # 5 h at max, reward flat
    # Throughput from SB3's env-step axis: 2048 steps a minute.
    assert abs(h.verdict("throughput").evidence["steps_per_s"] - 2048 / 60) < 1


def test_tracker_holds_a_kind_through_a_single_noisy_evaluation():
    healthy = np.minimum(LN6, decay_to(LN6, 0.85 * LN6, 400) + noisy(0, 400, 0.03, 2))
    store = Store()
    store.ensure_run("r", "/r")
    tr = HealthTracker(HealthOptions(actions=6), hold=3, clock_every=0)
    walls = T0 + 10.0 * np.arange(healthy.shape[0])
    store.append("r", "policy_entropy", np.arange(300), walls[:300], healthy[:300])
    first = tr.update(store.snapshot("r"), now=walls[299])
    assert first.verdict("entropy").kind == "healthy"
    # One NaN is a fact: it shows at once.
    store.append("r", "policy_entropy", [300], [walls[300]], [np.nan])
    assert tr.update(store.snapshot("r"), now=walls[300]).verdict("entropy").kind == "nonfinite"
    hist = tr.history("r")
    assert [(c.old_kind, c.new_kind) for c in hist if c.metric == "entropy"] == [(None, "healthy"), ("healthy", "nonfinite")]


def test_tracker_needs_hold_evaluations_to_switch():
    tr = HealthTracker(HealthOptions(actions=6), hold=3, clock_every=0)
    flat = np.minimum(LN6, noisy(LN6 * 0.999, 400, 0.002, 3))
    healthy = np.concatenate([decay_to(LN6, 0.8 * LN6, 300), noisy(0.8 * LN6, 100, 0.03, 4)])
    a = snapshot({"policy_entropy": curve(flat, dt=30.0)})
    b = snapshot({"policy_entropy": curve(healthy, dt=30.0)})
    now = float(a.last_wall_time)
    assert tr.update(a, now).verdict("entropy").kind == "pinned_at_max"
    from dataclasses import replace

    for i in range(2):  # twice a different reading: not yet
        v = tr.update(replace(b, name=a.name, version=10 + i), now).verdict("entropy")
        assert v.kind == "pinned_at_max" and v.evidence["pending"] == "healthy"
    v = tr.update(replace(b, name=a.name, version=12), now).verdict("entropy")
    assert v.kind == "healthy"


def test_tracker_is_cheap_for_an_unchanged_version():
    snap = snapshot({"policy_entropy": curve(np.full(50, 1.0))})
    tr = HealthTracker(clock_every=60)
    h1 = tr.update(snap, now=T0 + 500)
    assert tr.update(snap, now=T0 + 510) is h1  # same version, clock barely moved: cached
    assert tr.update(snap, now=T0 + 600) is not h1  # the clock matters for stalls


def test_replay_history_records_changes_with_steps():
    x = np.concatenate([np.minimum(LN6, noisy(LN6 * 0.999, 200, 0.002, 5)),
                        decay_to(LN6, 0.01, 100, tau=0.05), np.abs(noisy(0.02, 200, 0.005, 6))])
    snap = snapshot({"policy_entropy": curve(x, dt=60.0)})
    hist = replay_history(snap, HealthOptions(actions=6), points=25, now=float(snap.last_wall_time))
    kinds = [c.new_kind for c in hist if c.metric == "entropy"]
    assert "pinned_at_max" in kinds and kinds[-1] == "collapsed"
    col = next(c for c in hist if c.new_kind == "collapsed")
    assert 200 <= col.step <= 330  # it began after the pinned stretch
    assert all(c.wall_time is not None for c in hist)


def test_role_series_has_entropy_reward_throughput():
    snap = snapshot({
        "policy_entropy": curve(np.linspace(1.7, 1.2, 100)),
        "eprewmean": curve(np.linspace(-21, 0, 100)),
        "fps": curve(np.full(100, 123.0)),
    })
    rs = role_series(snap)
    assert {"entropy", "reward", "throughput", "fps"} <= set(rs)
    assert np.allclose(rs["throughput"].values, 0.1)  # derived: 1 step / 10 s, not the logged 123


def test_options_from_config_and_cli():
    cfg = {"roles": {"entropy": "a/h", "reward": "a/r"}, "health": {"actions": 6, "pinned_alarm_after": "3h",
                                                                    "stall_floor": 60}}
    o = HealthOptions.from_config(cfg, roles={"reward": "b/r"}, actions=None, mode="review")
    assert o.actions == 6 and o.mode == "review"
    assert o.roles == {"entropy": "a/h", "reward": "b/r"}
    assert o.thresholds.pinned_alarm_after == 3 * 3600 and o.thresholds.stall_floor == 60.0
    with pytest.raises(ValueError, match="unknown key"):
        HealthOptions.from_config({"health": {"colour": 1}})
    with pytest.raises(ValueError, match="whole number"):
        HealthOptions.from_config({"health": {"actions": "six"}})
    with pytest.raises(ValueError, match="at least 2"):
        HealthOptions.from_config({}, actions=1)
    with pytest.raises(ValueError, match="mode"):
        HealthOptions(mode="sometimes")


KINDS = {
    "entropy": {"too_early", "healthy", "pinned_at_max", "plateau", "collapsed", "oscillating", "rising",
                "spike", "nonfinite"},
    "throughput": {"steady", "slow_decay", "sudden_drop", "stalled", "ended"},
    "reward": {"improving", "flat", "collapsed", "nonfinite"},
    "kl": {"ok", "negative", "large", "growing", "zero", "nonfinite"},
    "explained_variance": {"ok", "nan", "zero", "negative"},
}


def test_any_input_gives_documented_kinds_and_never_raises():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.floats(allow_nan=True, allow_infinity=True, width=64)
    walls = st.floats(min_value=0, max_value=4e9, allow_nan=False)
    series = st.lists(st.tuples(st.integers(-10, 10**9), walls, values), min_size=1, max_size=120)
    tags = st.dictionaries(st.sampled_from(["policy_entropy", "eprewmean", "total_timesteps", "approxkl",
                                            "explained_variance", "fps", "orig_reward_0", "orig_reward_1"]),
                           series, min_size=1, max_size=6)

    @settings(max_examples=150, deadline=None)
    @given(tags=tags, mode=st.sampled_from(["live", "review"]), actions=st.sampled_from([None, 2, 6]))
    def check(tags, mode, actions):
        snap = snapshot({t: tuple(zip(*sorted(pts), strict=False)) for t, pts in tags.items()})
        h = judge(snap, HealthOptions(mode=mode, actions=actions), now=4e9)
        for v in h.verdicts:
            assert v.kind in KINDS[v.metric], (v.metric, v.kind)
            assert isinstance(v.reason, str) and v.reason
        replay_history(snap, HealthOptions(mode=mode), points=4, now=4e9)

    check()


def test_tracker_rechecks_only_liveness_for_an_unchanged_run(monkeypatch):
    from tui.health import tracker as tracker_mod

    calls = []
    real = tracker_mod.judge_shapes_many
    monkeypatch.setattr(tracker_mod, "judge_shapes_many", lambda snaps, *a, **k: calls.extend(snaps) or real(snaps, *a, **k))
    snap = snapshot({"policy_entropy": curve(np.full(100, 1.0), dt=10.0)})
    tr = HealthTracker(clock_every=0)
    last = float(snap.last_wall_time)
    assert tr.update(snap, now=last + 5).verdict("throughput").kind == "steady"
    v = tr.update(snap, now=last + 5000).verdict("throughput")
    assert v.kind == "stalled" and v.severity == Severity.ALARM  # noticed without new data
    assert len(calls) == 1  # the curves were judged once
    assert [c.new_kind for c in tr.history(snap.name) if c.metric == "throughput"] == ["steady", "stalled"]


def test_clock_ticks_do_not_confirm_a_pending_reading():
    from dataclasses import replace as dc_replace

    flat = np.minimum(LN6, noisy(LN6 * 0.999, 400, 0.002, 3))
    healthy = np.minimum(LN6, decay_to(LN6, 0.8 * LN6, 400) + noisy(0, 400, 0.03, 4))
    a = snapshot({"policy_entropy": curve(flat, dt=30.0)})
    b = dc_replace(snapshot({"policy_entropy": curve(healthy, dt=30.0)}), name=a.name, version=a.version + 1)
    tr = HealthTracker(HealthOptions(actions=6), hold=3, clock_every=0)
    now = float(a.last_wall_time)
    assert tr.update(a, now).verdict("entropy").kind == "pinned_at_max"
    for k in range(5):  # one new reading, then the clock ticks on the same data
        v = tr.update(b, now + 1 + k).verdict("entropy")
    assert v.kind == "pinned_at_max" and v.evidence["pending"] == "healthy"
