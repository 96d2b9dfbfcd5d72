"""Issue 11's rules on runs the tests make themselves: dead from the first update, no updates,
continuous policies, KL targets, final verdicts, step-time / memory growth, the run's life with
its writer process, and the one-line summary."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from health_synth import T0, curve, noisy, snapshot

from tui.health import HealthOptions, HealthTracker, Severity, judge, summarize
from tui.health.verdict import Verdict

LN2, LN6 = float(np.log(2)), float(np.log(6))
LINUX = os.path.isfile("/proc/stat") and os.path.isfile(f"/proc/{os.getpid()}/stat")


def sb3(entropy, reward=None, kl=None, n=None, dt=1.0, extra=None, texts=None):
    """An SB3-style run: train/entropy_loss = -H on the env-step axis."""
    n = n or len(entropy)
    steps = 256 * (1 + np.arange(n))
    walls = T0 + dt * np.arange(n)
    tags = {"train/entropy_loss": (steps, walls, -np.asarray(entropy, float))}
    if reward is not None:
        tags["rollout/ep_rew_mean"] = (steps, walls, np.asarray(reward, float))
    if kl is not None:
        tags["train/approx_kl"] = (steps, walls, np.asarray(kl, float))
    for tag, values in (extra or {}).items():
        tags[tag] = (steps, walls, np.asarray(values, float))
    return snapshot(tags, texts=texts)


def at_end(snap, **kw):
    return judge(snap, HealthOptions(**kw), now=float(snap.last_wall_time) + 5)


# ---- dead from the first update ----------------------------------------------------------------

def test_entropy_near_zero_nats_from_the_start_is_collapsed_not_healthy():
    n = 60
    H = np.r_[7e-9, np.abs(noisy(0, n - 1, 1e-9, 1))]  # ~1e-8 nats, "rising" relative to its start
    reward = np.full(n, 9.4) + noisy(0, n, 0.05, 2)
    kl = np.r_[120.0, np.zeros(n - 1)]
    h = at_end(sb3(H, reward, kl))
    v = h.verdict("entropy")
    assert v.kind == "collapsed" and v.severity == Severity.ALARM
    assert "nats" in v.reason and "first logged update" in v.reason and "%" not in v.reason
    assert "KL exactly 0" in v.reason and "reward flat at its starting level" in v.reason


@pytest.mark.parametrize("hint", ["negative", "std_tag", "box"])
def test_continuous_policies_at_zero_nats_are_not_dead(hint):
    n = 80
    H = np.linspace(1.4, 0.02, n) if hint != "negative" else np.linspace(1.4, -0.8, n)
    extra = {"train/std": np.linspace(1.0, 0.25, n)} if hint == "std_tag" else None
    texts = {"env": "action_space: Box(-2.0, 2.0, (1,), float32)"} if hint == "box" else None
    if hint == "negative":
        H = np.r_[H[:10], np.linspace(0.1, -0.8, n - 10)]
    v = at_end(sb3(H, np.linspace(-1200, -200, n), extra=extra, texts=texts)).verdict("entropy")
    assert v.kind == "healthy" and v.severity == Severity.OK and "continuous" in v.reason


def test_float_noise_below_zero_is_not_a_continuous_policy():
    n = 40
    H = np.r_[0.048, np.full(n - 1, -1.6e-9)]  # a dead discrete policy's rounding
    assert at_end(sb3(H, np.full(n, 9.4))).verdict("entropy").kind == "collapsed"


# ---- no updates at all ---------------------------------------------------------------------------

def test_still_entropy_and_zero_kl_is_an_alarm_early():
    n = 10  # ten updates are enough
    H = LN2 + noisy(0, n, 3e-7, 3)
    h = at_end(sb3(H, 22 + noisy(0, n, 1, 4), kl=noisy(0, n, 2e-10, 5), extra={"train/learning_rate": np.zeros(n)}))
    v = h.verdict("entropy")
    assert v.kind == "not_updating" and v.severity == Severity.ALARM
    assert "KL exactly 0" in v.reason and "learning rate is 0" in v.reason
    assert h.summary.head == "not learning"


def test_moving_entropy_with_zero_kl_is_not_no_updates():
    n = 100
    H = LN2 * (0.6 + 0.4 * np.exp(-np.arange(n) / 30)) + noisy(0, n, 0.01, 6)
    v = at_end(sb3(H, np.linspace(20, 200, n), kl=np.zeros(n))).verdict("entropy")
    assert v.kind != "not_updating"


# ---- KL targets ------------------------------------------------------------------------------------

def test_kl_target_logged_by_the_run_wins():
    n = 100
    H = LN2 * (0.6 + 0.4 * np.exp(-np.arange(n) / 30)) + noisy(0, n, 0.01, 7)
    kl = 0.03 + noisy(0, n, 0.002, 8)
    v = at_end(sb3(H, np.linspace(20, 200, n), kl=kl)).verdict("kl")
    assert v.kind == "large" and "0.01" in v.reason and "discrete" in v.reason
    v = at_end(sb3(H, np.linspace(20, 200, n), kl=kl, extra={"train/target_kl": np.full(n, 0.02)})).verdict("kl")
    assert v.kind == "ok" and v.evidence["target"] == 0.02 and "train/target_kl" in v.evidence["target_from"]


# ---- final verdicts -------------------------------------------------------------------------------

def test_short_pinned_run_is_final_once_ended():
    n = 29  # 29 updates, a few minutes: "normal early in training" while live
    H = np.minimum(LN2, LN2 - np.abs(noisy(0, n, 5e-4, 9)))
    snap = sb3(H, 22 + noisy(0, n, 0.5, 10), dt=10.0)
    live = judge(snap, HealthOptions(), now=float(snap.last_wall_time) + 5)
    assert live.verdict("entropy").severity <= Severity.INFO and "yet" in live.verdict("reward").reason
    done = judge(snap, HealthOptions(mode="review"), now=float(snap.last_wall_time) + 3600)
    v = done.verdict("entropy")
    assert v.kind == "pinned_at_max" and v.severity == Severity.ALARM
    assert "whole life (29 points" in v.reason and "early" not in v.reason
    r = done.verdict("reward")
    assert r.kind == "flat" and r.severity == Severity.WARN and "never improved" in r.reason and "yet" not in r.reason
    assert done.summary.text.startswith("learned nothing: reward never improved in 7424 steps")  # fmt_step
    assert done.summary.state == "ended"


def test_tracker_shows_final_verdicts_of_an_unchanged_ended_run_at_once():
    n = 29
    H = np.minimum(LN2, LN2 - np.abs(noisy(0, n, 5e-4, 9)))
    snap = sb3(H, 22 + noisy(0, n, 0.5, 10), dt=10.0)
    tr = HealthTracker(HealthOptions(), hold=3, clock_every=0.0)
    last = float(snap.last_wall_time)
    assert tr.update(snap, now=last + 5).verdict("entropy").severity <= Severity.INFO
    later = tr.update(snap, now=last + 2 * 86400)  # the same data, a day later: ended by the clock
    assert later.verdict("throughput").kind == "ended"
    assert later.verdict("entropy").severity == Severity.ALARM and later.summary.head == "learned nothing"


# ---- step time and memory --------------------------------------------------------------------------

def test_step_time_and_memory_growth():
    n = 200
    steps, walls = np.arange(1, n + 1), T0 + 30.0 * np.arange(n)
    snap = snapshot({
        "train/reward": (steps, walls, np.linspace(0, 1, n)),
        "train/frac_reward_zero_std": (steps, walls, np.full(n, 0.2)),
        "train/step_time": (steps, walls, 10 + np.linspace(0, 6, n) + noisy(0, n, 0.3, 11)),
        "perf/max_memory_allocated_gb": (steps, walls, np.full(n, 40.0) + noisy(0, n, 0.05, 12)),
        "perf/cpu_memory_used_gb": (steps, walls, 20 + np.linspace(0, 15, n) + noisy(0, n, 0.2, 13)),
    })
    h = at_end(snap)
    st, mem = h.verdict("step_time"), h.verdict("memory")
    assert st.kind == "growing" and st.severity == Severity.WARN and "train/step_time" in st.reason
    assert mem.kind == "growing" and "perf/cpu_memory_used_gb" in mem.reason
    flat = snapshot({"train/step_time": (steps, walls, 10 + noisy(0, n, 0.3, 14)),
                     "timing_s/step": (steps, walls, 10 + noisy(0, n, 0.3, 15))})
    assert at_end(flat).verdict("step_time").kind == "steady"
    # OpenRLHF's per-phase timings: the phase that grows is named.
    phases = snapshot({"train/timing/generate": (steps, walls, 30 + noisy(0, n, 0.5, 16)),
                       "train/timing/train": (steps, walls, 8 + np.linspace(0, 8, n) + noisy(0, n, 0.3, 17)),
                       "train/ppo_kl": (steps, walls, np.full(n, 0.01))})
    v = at_end(phases).verdict("step_time")
    assert v.kind == "growing" and "train/timing/train" in v.reason


# ---- the one-line summary ------------------------------------------------------------------------

def test_summary_of_a_healthy_run():
    n = 200
    H = LN6 * (0.77 + 0.23 * np.exp(-np.arange(n) / 40)) + noisy(0, n, 0.01, 16)
    h = at_end(sb3(H, np.linspace(24, 458, n) + noisy(0, n, 5, 17)), actions=6)
    assert h.summary.head == "fine" and h.summary.severity <= Severity.INFO
    assert "reward rose" in h.summary.text and "entropy fell to 0.7" in h.summary.text


def test_summary_adds_what_it_does_not_tell():
    vs = [Verdict("reward", "improving", Severity.OK, "reward rose", evidence={"first": 1.0, "last": 9.0}),
          Verdict("throughput", "sudden_drop", Severity.ALARM, "throughput dropped from 100 to 20 steps/s")]
    line = summarize(vs, last_step=5000)
    assert line.head == "learning" and line.severity == Severity.ALARM
    assert line.text == "learning: reward rose 1 -> 9 so far; but throughput dropped from 100 to 20 steps/s"
    borrowed = [Verdict("reward", "flat", Severity.WARN, "reward never improved",
                        evidence={"first": -21.0, "last": -21.0})]
    own = [Verdict("entropy", "pinned_at_max", Severity.ALARM, "entropy at max for its whole life"),
           Verdict("throughput", "ended", Severity.INFO, "finished at step 10000000")]
    line = summarize(own, borrowed, last_step=10_000_000)
    assert line.text == ("learned nothing: reward never improved in 10M steps (flat around -21); "
                         "entropy at max for its whole life")
    assert line.state == "ended" and line.severity == Severity.ALARM
    assert summarize([]).head == "nothing to judge"


# ---- the run's life: the writer process -----------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from eventfiles import Writer
    w = Writer(sys.argv[1])
    t = time.time()
    for i in range(40):
        w.scalar("losses/entropy", 0.6, 128 * i, t - 40 + i)
        w.scalar("charts/episodic_return", float(i), 128 * i, t - 40 + i)
    w.flush()
    print("written", flush=True)
    sys.stdin.readline()
""")


@pytest.mark.skipif(not LINUX, reason="writer evidence needs Linux's /proc")
def test_silent_run_is_stalled_while_its_writer_lives_and_ended_once_it_exits(tmp_path):
    from tui.ingest import load

    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "run"), here], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "written"
        snap = load([str(tmp_path)]).snapshot("run")
        last = float(snap.last_wall_time)
        # Judged as if 10 min of silence had passed (the clock is moved, the process table is
        # real: "now" stays within a minute of the present for the evidence to count).
        opts = HealthOptions.from_config({"health": {"stall_floor": 1.0}})
        now = max(time.time(), last + 30)
        v = judge(snap, opts, now=now).verdict("throughput")
        assert v.kind == "stalled" and "process alive" in v.reason and "hung?" in v.reason
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(timeout=30)
        h = judge(snap, HealthOptions(), now=max(time.time(), last + 30))
        v = h.verdict("throughput")
        assert v.kind == "ended" and v.severity == Severity.INFO
        assert "finished at step 4992" in v.reason and "exited" in v.reason
        assert h.summary.state == "ended"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ended_badly_nan_at_the_end_or_short_of_its_seed_siblings():
    n = 100
    H = LN6 * (0.7 + 0.3 * np.exp(-np.arange(n) / 30)) + noisy(0, n, 0.01, 18)
    H[-1] = np.nan
    snap = snapshot({"losses/entropy": curve(H, dt=10.0)})
    v = judge(snap, HealthOptions(mode="review"), now=T0 + 10 * n + 3600).verdict("throughput")
    assert v.kind == "ended" and v.severity == Severity.WARN and "just before the end" in v.reason
    seeds = [snapshot({"losses/entropy": curve(np.full(k, 1.2) + noisy(0, k, 0.02, s), dt=10.0)},
                      name=f"exp/seed{s}", path=f"/logs/exp/seed{s}") for s, k in ((1, 300), (2, 300), (3, 60))]
    short = judge(seeds[2], HealthOptions(mode="review"), now=T0 + 1e5, related=seeds[:2]).verdict("throughput")
    assert short.kind == "ended" and short.severity == Severity.WARN and "far fewer steps" in short.reason
    fine = judge(seeds[0], HealthOptions(mode="review"), now=T0 + 1e5, related=seeds[1:]).verdict("throughput")
    assert fine.kind == "ended" and fine.severity == Severity.INFO
