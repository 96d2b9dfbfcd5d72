"""The accuracy corpus: real runs of real trainers (tests/corpus, made by bench/accuracy.py), whose
outcomes are known, get the verdicts tests/corpus/outcomes.toml pins. Tests read only the
committed files; they never train."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tui.health import HealthOptions, Severity, judge, siblings
from tui.ingest import load
from tui.vocab.writer import parse_event_file_name, run_writer, this_host

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_accuracy", REPO / "bench" / "accuracy.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BENCH = _bench()
OUTCOMES = BENCH.load_outcomes(CORPUS)


def test_every_trained_case_is_committed_with_its_outcome():
    assert set(OUTCOMES) == set(BENCH.CASES)
    for name in OUTCOMES:
        files = list((CORPUS / name).rglob("*tfevents*"))
        assert files, f"{name}: no event files (run bench/accuracy.py train --only {name})"
        for f in files:  # the real writers' own names: time, host, pid, counter
            w = parse_event_file_name(f.name)
            assert w is not None and w.pid is not None, f.name
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    assert total < 5 * 2**20  # a few MB in all


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_case_gets_its_known_outcome(name):
    healths = BENCH.judge_case(name, CORPUS)
    assert healths
    bad = BENCH.mismatches(OUTCOMES[name], healths)
    assert not bad, f"{name}: {OUTCOMES[name]['outcome']}\n" + "\n".join(bad) + \
        "\n" + "\n".join(f"  {v.severity.label} {v.metric} {v.kind}: {v.reason}" for h in healths for v in h.verdicts)


def _one(name: str):
    snaps = load([str(CORPUS / name)]).snapshots()
    rel = siblings(snaps)
    snap = snaps[0]
    return snap, rel[snap.name]


@pytest.mark.parametrize("name", ["ppo-cartpole-lr-high", "ppo-acrobot-lr-high"])
def test_dead_from_the_first_update_is_an_alarm_even_while_live(name):
    # Judged live, a minute after its last write: no "ended" yet, still an alarm (issue case 2).
    snap, rel = _one(name)
    h = judge(snap, HealthOptions(), now=float(snap.last_wall_time) + 60, related=rel)
    v = h.verdict("entropy")
    assert v.kind == "collapsed" and v.severity == Severity.ALARM, v.reason
    assert "nats" in v.reason and "%" not in v.reason  # absolute, not "263% of its initial level"
    assert h.summary is not None and h.summary.severity == Severity.ALARM


def test_no_updates_alarm_early_in_live_mode():
    # A zero learning rate: the first 10 updates are enough (issue case 4).
    from tui.health.tracker import prefix

    snap, _ = _one("ppo-cartpole-lr0")
    walls = snap.series["train/entropy_loss"].wall_times
    t = float(walls[9])
    h = judge(prefix(snap, t), HealthOptions(), now=t + 1)
    v = h.verdict("entropy")
    assert v.kind == "not_updating" and v.severity == Severity.ALARM, v.reason


def test_pinned_run_reads_final_once_ended_even_in_live_mode():
    # Long after it ended (the clock says so, a day later): no "normal early in training",
    # no "yet" (issue case 3).
    snap, rel = _one("ppo-cartpole-entropy-bonus")
    h = judge(snap, HealthOptions(), now=float(snap.last_wall_time) + 2 * 86400, related=rel)
    v = h.verdict("entropy")
    assert v.kind == "pinned_at_max" and v.severity == Severity.ALARM
    assert "whole life" in v.reason and "early" not in v.reason
    assert "yet" not in h.verdict("reward").reason
    assert h.summary.text.startswith("learned nothing: reward never improved in 25088 steps")
    # While live and young, the same curve is not yet final.
    live = judge(snap, HealthOptions(), now=float(snap.last_wall_time) + 5, related=rel)
    assert live.summary.head == "not learning yet"


def test_healthy_continuous_ppo_gets_no_kl_warning():
    snap, rel = _one("ppo-pendulum")
    v = judge(snap, HealthOptions(mode="review"), now=float(snap.last_wall_time) + 60, related=rel).verdict("kl")
    assert v.kind == "ok" and v.evidence["target"] == 0.05
    assert v.evidence["target_from"] == "the default for continuous policies"
    # The same run held to the discrete default warns: the family decides, not the run's KL.
    strict = judge(snap, HealthOptions.from_config({"health": {"kl_target": 0.01}}, mode="review"),
                   now=float(snap.last_wall_time) + 60, related=rel).verdict("kl")
    assert strict.kind == "large" and "configured" in strict.reason


def test_resumed_run_has_two_writers_and_overlapping_steps():
    snap, _ = _one("ppo-cartpole-resumed")
    files = sorted((CORPUS / "ppo-cartpole-resumed").rglob("*tfevents*"))
    pids = {parse_event_file_name(f.name).pid for f in files}
    assert len(files) == 2 and len(pids) == 2
    assert snap.restarts  # the store saw the steps go back


def test_finished_runs_are_ended_not_stalled_in_live_mode():
    # Judged now, in live mode, as `watch` / `check` / `status` do: every corpus run finished long
    # ago. On the machine that trained them the writer processes have exited (evidence); anywhere
    # else the day-long silence says so. Never a stall, never above info unless it ended badly.
    now = time.time()
    for name in sorted(OUTCOMES):
        snaps = load([str(CORPUS / name)]).snapshots()
        rel = siblings(snaps)
        for snap in snaps:
            ev = run_writer(snap.path)
            h = judge(snap, HealthOptions(), now=now, related=rel[snap.name])
            life = next((v for v in h.verdicts if v.kind in ("ended", "stalled")), None)
            if ev.alive is False or now - float(snap.last_wall_time) >= 86400:
                assert h.summary.state == "ended", (name, ev.reason)
                if life is not None:
                    assert life.kind == "ended" and life.severity <= Severity.INFO, life.reason
            if ev.host is not None and ev.host != this_host():
                assert ev.alive is None  # another machine's PIDs say nothing here


@pytest.mark.skipif(not os.path.isfile("/proc/stat"), reason="writer evidence needs Linux's /proc")
def test_corpus_writers_on_this_host_have_exited():
    for f in sorted(CORPUS.rglob("*tfevents*")):
        w = parse_event_file_name(f.name)
        if w is not None and w.host == this_host():
            assert run_writer([str(f)]).alive is False, f.name


NO_ALARM_WHILE_LIVE = ["ppo-cartpole", "ppo-acrobot", "ppo-pendulum", "sac-pendulum", "dqn-cartpole",
                       "ppo-cartpole-resumed", "cleanrl-ppo-cartpole",
                       "ppo-cartpole-entropy-bonus"]  # pinned 11 s: its alarm is final, once it ended


def _live_replay(name: str, fractions):
    """(fraction, RunHealth) of the run judged live at prefixes of its wall-time span."""
    from tui.health.tracker import prefix

    snap, rel = _one(name)
    walls = np.sort(np.concatenate([s.wall_times for s in snap.series.values()]))
    for f in fractions:
        t = float(walls[int(f * (len(walls) - 1))])
        yield f, judge(prefix(snap, t), HealthOptions(), now=t + 1, related=[prefix(r, t) for r in rel])


@pytest.mark.parametrize("name", NO_ALARM_WHILE_LIVE)
def test_no_false_alarm_while_they_train(name):
    # Replayed live, prefix by prefix: an alarm would break through the gate. (Throughput is
    # left out: these runs shared a loaded machine, and their steps/s really moved.)
    for f, h in _live_replay(name, np.linspace(0.1, 1.0, 19)):
        for v in h.verdicts:
            assert v.metric == "throughput" or v.severity < Severity.ALARM, f"{f:.0%}: {v.metric} {v.kind}: {v.reason}"


@pytest.mark.parametrize(("name", "kind"), [("ppo-cartpole-lr-high", "collapsed"), ("ppo-acrobot-lr-high", "collapsed"),
                                            ("ppo-cartpole-lr0", "not_updating")])
def test_dead_or_frozen_policies_alarm_in_their_first_tenth(name, kind):
    for _, h in _live_replay(name, [0.1]):
        v = h.verdict("entropy")
        assert v.kind == kind and v.severity == Severity.ALARM, v.reason
