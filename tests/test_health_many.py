"""judge_many (the batched path `tbpeek check` uses) gives exactly the verdicts `judge` gives run
by run: severity, kind, reason text, since, evidence values, the summary and the run state."""

from __future__ import annotations

import numpy as np
import pytest
from health_many import T0, _one, varied_runs, verdict_table

from tui.health import HealthOptions, judge, judge_many, siblings
from tui.health.checks import KlItem, judge_explained_variances, judge_kls, judge_rewards
from tui.health.options import Thresholds

RUNS = varied_runs(600, seed=7)
CASES = [
    (HealthOptions(), T0 + 30000),  # some live, some stalled, some ended
    (HealthOptions(), T0 + 1e7),  # all ended: judged as whole lives
    (HealthOptions(mode="review"), T0 + 30000),
    (HealthOptions(actions=6), T0 + 5000),
]


def test_the_varied_runs_cover_the_shapes():
    """The comparison below means something only if the runs reach every kind of verdict."""
    kinds = {(v["metric"], v["kind"]) for opts, now in CASES
             for r in verdict_table(judge_many(RUNS, opts, now)) for v in r["verdicts"]}
    for want in [("entropy", k) for k in ("healthy", "pinned_at_max", "collapsed", "oscillating", "plateau",
                                           "nonfinite", "spike", "rising", "too_early")] + \
                [("reward", k) for k in ("improving", "flat", "collapsed", "nonfinite")] + \
                [("kl", k) for k in ("ok", "negative", "zero", "large")] + \
                [("explained_variance", k) for k in ("ok", "zero", "negative", "nan")] + \
                [("throughput", k) for k in ("stalled", "ended", "sudden_drop", "slow_decay", "steady")] + \
                [("step_time", "growing"), ("memory", "growing")]:
        assert want in kinds, want
    assert any(r["borrowed"] for opts, now in CASES[:1] for r in verdict_table(judge_many(RUNS, opts, now)))
    assert len({len(s.series[next(iter(s.series))]) for s in RUNS}) >= 8  # many lengths: batches and odd shapes


@pytest.mark.parametrize("opts,now", CASES)
def test_judge_many_equals_judge_run_by_run(opts, now):
    related = siblings(RUNS)
    one_by_one = verdict_table([judge(s, opts, now, related[s.name]) for s in RUNS])
    batched = verdict_table(judge_many(RUNS, opts, now))  # siblings found by judge_many itself
    assert len(batched) == len(RUNS)
    for a, b in zip(one_by_one, batched, strict=True):
        assert a == b, a["run"]


def test_judge_many_keeps_the_order_and_handles_no_runs():
    assert judge_many([], HealthOptions(), T0) == []
    shuffled = list(reversed(RUNS[:50]))
    assert [h.run for h in judge_many(shuffled, HealthOptions(), T0 + 30000)] == [s.name for s in shuffled]


def test_batched_checks_equal_the_checks_of_one_series():
    """Each batched check against itself with one series: a row's answer never depends on the
    other rows of its batch (equal lengths, NaN and Inf rows mixed in)."""
    th = Thresholds()
    rng = np.random.default_rng(3)
    vals = [s.series[tag] for s in RUNS for tag in ("rollout/ep_rew_mean", "eprewmean", "charts/episodic_return")
            if tag in s.series]
    assert len(vals) > 100
    items = [(s, bool(rng.integers(0, 2)), None) for s in vals]
    assert judge_rewards(items, th) == [judge_rewards([it], th)[0] for it in items]
    kls = [KlItem(s, nonnegative=bool(i % 2), target=0.01 * (i % 3 + 1)) for i, s in enumerate(vals)]
    assert judge_kls(kls, th) == [judge_kls([k], th)[0] for k in kls]
    assert judge_explained_variances(vals, th) == [judge_explained_variances([s], th)[0] for s in vals]


def test_tracker_update_many_equals_update_run_by_run():
    """The live tracker's batched update (new data, then the clock only, then new data) gives
    each run the verdicts, summary and history that updating the runs one by one gives."""
    from dataclasses import replace

    from tui.health import HealthTracker

    runs = RUNS[:200]
    related = siblings(runs)
    one, many = HealthTracker(hold=2, clock_every=0), HealthTracker(hold=2, clock_every=0)
    for k, now in enumerate((T0 + 3000, T0 + 3000 + 500, T0 + 40000)):
        snaps = runs if k != 2 else [replace(s, version=s.version + 1) for s in runs]
        a = verdict_table([one.update(s, now, related[s.name]) for s in snaps])
        b = verdict_table(many.update_many(snaps, now, related))
        assert a == b
        for s in snaps:
            assert one.history(s.name) == many.history(s.name)


class _OneAtATime:
    """The tracker as it was before `update_many` judged lives first: `with_liveness` finds each
    run's end itself and judges its final shapes alone (the reference the batch must equal)."""

    @staticmethod
    def make(**kw):
        from tui.health import HealthTracker

        class OneAtATime(HealthTracker):
            def _lives(self, snaps, now, rel, states):
                return [None] * len(snaps)

        return OneAtATime(**kw)


# (mode, [(now, new data?)]): runs that end under way, end between two updates with no new data
# (the clock alone), are all ended from the start, and gain data after they ended.
ENDING = [
    ("live", [(T0 + 3000, False), (T0 + 1e7, False), (T0 + 1e7 + 5, False), (T0 + 2e7, True)]),
    ("live", [(T0 + 1e7, False), (T0 + 1e7 + 60, False), (T0 + 1e7 + 90, True)]),
    ("review", [(T0 + 3000, False), (T0 + 30000, False), (T0 + 1e7, True), (T0 + 1e7 + 1, False)]),
    ("review", [(T0 + 1e7, False), (T0 + 1e7 + 1, True)]),
]


@pytest.mark.parametrize("mode,steps", ENDING)
def test_tracker_update_many_of_ended_runs_equals_update_one_at_a_time(mode, steps):
    """update_many judges the lives first and the ended runs' final shapes in one batch: the
    verdicts, summaries, states and histories equal both `update` run by run and the tracker
    that judged each ended run alone (`with_liveness` finding the end itself), whether the runs
    ended before the first update, under way, or between two updates of unchanged data."""
    from dataclasses import replace

    from tui.health import HealthTracker
    from tui.health.engine import Shapes

    runs = RUNS[:150]
    related = siblings(runs)
    opts = HealthOptions(mode=mode)
    one = HealthTracker(opts, hold=2, clock_every=0)
    ref = _OneAtATime.make(opts=opts, hold=2, clock_every=0)
    many = HealthTracker(opts, hold=2, clock_every=0)
    snaps, states = runs, set()
    for now, new_data in steps:
        if new_data:
            snaps = [replace(s, version=s.version + 1) for s in snaps]
        a = verdict_table([one.update(s, now, related[s.name]) for s in snaps])
        r = verdict_table(ref.update_many(snaps, now, related))
        b = verdict_table(many.update_many(snaps, now, related))
        assert a == r
        assert b == r
        states |= {row["state"] for row in b}
        for s in snaps:
            assert one.history(s.name) == ref.history(s.name) == many.history(s.name), s.name
        for s, row in zip(snaps, b, strict=True):  # the batch left the final shapes where with_liveness looks
            sh = many._runs[s.name].shapes
            if row["state"] == "ended":
                assert sh.final or isinstance(sh.cache.get("final"), Shapes)
                mine, theirs = sh.cache.get("final", sh), ref._runs[s.name].shapes.cache.get("final", sh)
                assert verdict_table([mine.health]) == verdict_table([theirs.health])
                assert (mine.rate_verdict, mine.gap, mine.final) == (theirs.rate_verdict, theirs.gap, theirs.final)
    assert "ended" in states and (states - {"ended"} or steps[0][0] >= T0 + 1e7)


def test_tracker_update_many_with_writer_evidence_equals_one_at_a_time(tmp_path):
    """Judged at the present in live mode, the writer process speaks (its PID in the event
    file's name): a live writer keeps a silent run stalled, an exited one ends it, no evidence
    leaves the clock to decide. The batch asks the same evidence, kept in the same cache, and
    gives what judging each ended run alone gives, now and on the clock alone a moment later."""
    import os
    import subprocess
    import sys
    import time
    from dataclasses import replace

    from tui.health import HealthTracker
    from tui.vocab.writer import this_host

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pids = [os.getpid(), int(gone.stdout)]
    runs = []
    for i, s in enumerate(RUNS[:90]):
        d = tmp_path / f"r{i}"
        d.mkdir()
        host = this_host() if i % 3 else "some-other-host"
        f = d / f"events.out.tfevents.{int(time.time())}.{host}.{pids[i % 2]}.0"
        f.write_bytes(b"")
        runs.append(replace(s, path=str(d), files=(str(f),)))
    related = siblings(runs)
    opts = HealthOptions()
    ref = _OneAtATime.make(opts=opts, hold=2, clock_every=0)
    many = HealthTracker(opts, hold=2, clock_every=0)
    states = set()
    for _ in range(2):  # new data, then the clock alone
        now = time.time()
        r = verdict_table(ref.update_many(runs, now, related))
        b = verdict_table(many.update_many(runs, now, related))
        assert b == r
        states |= {row["state"] for row in b}
        for s in runs:
            assert ref.history(s.name) == many.history(s.name), s.name
    assert {"ended", "stalled"} <= states
    alive = [h.writer_alive for h in many.update_many(runs, time.time(), related)]
    assert True in alive and False in alive and None in alive


def test_tracker_update_many_judges_ended_runs_final_shapes_once_in_one_batch(monkeypatch):
    """All runs ended: their final shapes come from one `judge_shapes_many` call (not one per
    run), and an update on the clock alone judges nothing again."""
    from tui.health import HealthTracker, tracker

    calls = []
    real = tracker.judge_shapes_many

    def spy(snaps, opts, related=None, finals=None):
        calls.append((len(snaps), tuple(finals or ())))
        return real(snaps, opts, related, finals)

    monkeypatch.setattr(tracker, "judge_shapes_many", spy)
    runs = RUNS[:60]
    t = HealthTracker(hold=2, clock_every=0)
    got = t.update_many(runs, T0 + 1e7, siblings(runs))
    assert all(h.state == "ended" for h in got)
    assert calls == [(60, ()), (60, (True,) * 60)]
    calls.clear()
    t.update_many(runs, T0 + 1e7 + 10, siblings(runs))
    assert calls == []


def test_peer_ends_is_the_median_of_the_others_last_steps():
    """kin.peer_ends reads each run's median of its siblings' last steps off one sorted list:
    the number `median` of the others gives, for groups of odd and even size, ties, and tag sets."""
    from health_synth import snapshot

    from tui.health.kin import Others, peer_ends
    from tui.health.stats import median

    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 4, 7, 30):
        group = []
        for i in range(size):
            n = int(rng.choice([5, 10, 10, 40]))
            tags = ("a", "b") if i % 4 else ("a",)
            group.append(snapshot({t: (np.arange(n) * 7, T0 + np.arange(n), np.zeros(n)) for t in tags},
                                  name=f"r{i}", path=f"/x/r{i}"))
        got = peer_ends(group)
        for j, s in enumerate(group):
            others = Others(group, j)
            assert len(others) == size - 1 and s not in list(others)
            ends = [o.last_step for o in others if set(o.series) == set(s.series)]
            assert got[j] == ((len(ends), median(np.asarray(ends, dtype=np.float64))) if ends else None)


def test_tails_finite_of_many_runs_equals_one_by_one():
    from tui.health.lifecycle import tails_finite

    together = tails_finite(RUNS)
    assert together == [tails_finite([s])[0] for s in RUNS]
    assert together == [all(np.isfinite(s.values[-3:]).all() for s in r.series.values()) for r in RUNS]
    assert False in together and True in together


def test_judge_many_equals_judge_on_any_input():
    """Hostile values (NaN, Inf, huge, repeated times, one point) in runs side by side: judge_many
    gives each run what judge gives it, and never raises."""
    from health_synth import snapshot
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.floats(allow_nan=True, allow_infinity=True, width=64)
    walls = st.floats(min_value=0, max_value=4e9, allow_nan=False)
    series = st.lists(st.tuples(st.integers(-10, 10**9), walls, values), min_size=1, max_size=80)
    tags = st.dictionaries(st.sampled_from(["policy_entropy", "eprewmean", "total_timesteps", "approxkl",
                                            "explained_variance", "fps", "train/entropy_loss"]),
                           series, min_size=1, max_size=5)

    @settings(max_examples=60, deadline=None)
    @given(runs=st.lists(tags, min_size=1, max_size=5), copies=st.integers(1, 3),
           mode=st.sampled_from(["live", "review"]))
    def check(runs, copies, mode):
        snaps = [snapshot({t: tuple(zip(*sorted(pts), strict=False)) for t, pts in tags.items()},
                          name=f"e/r{i}_{c}", path=f"/logs/e/r{i}_{c}")
                 for i, tags in enumerate(runs) for c in range(copies)]  # copies: equal lengths, batched
        opts = HealthOptions(mode=mode)
        related = siblings(snaps)
        assert verdict_table(judge_many(snaps, opts, 4e9)) == \
            verdict_table([judge(s, opts, 4e9, related[s.name]) for s in snaps])

    check()


def test_judge_some_equals_judge_beside_all_siblings():
    """A cache's refresh judges only some runs, each beside its siblings among all runs."""
    from tui.health.engine import judge_some

    opts, now = CASES[1]  # all ended: abnormal ends compare with every sibling, judged or not
    related = siblings(RUNS)
    idx = list(range(0, len(RUNS), 3))
    want = verdict_table([judge(RUNS[i], opts, now, related[RUNS[i].name]) for i in idx])
    assert verdict_table(judge_some(RUNS, idx, opts, now)) == want
    assert judge_some(RUNS, [], opts, now) == []


def test_a_directory_of_many_runs_is_not_one_experiment_in_every_command():
    """The one rule for siblings (`tui.health.kin`): runs in a directory of a few runs are seed
    siblings (one that ended far short of the others says so); a flat directory of many runs
    (CleanRL's ``runs/<name>``) holds many experiments, and its runs are judged alone: by
    `siblings` (review), `judge_many` (check), `judge_some` (status) and the app's Judge alike."""
    from tui.health.engine import judge_some
    from tui.health.kin import MAX_SIBLINGS
    from tui.live.views import Judge
    from tui.store import Store

    store = Store()
    for d, k in (("exp", 3), ("runs", MAX_SIBLINGS + 4)):
        for s in range(k):  # the same run, k times
            _one(store, f"{d}/seed{s}", f"/logs/{d}/seed{s}", 7, np.random.default_rng(3), lib=0)
        full = store.snapshot(f"{d}/seed0")
        store.ensure_run(f"{d}/short", f"/logs/{d}/short")
        for tag, ser in full.series.items():
            store.append(f"{d}/short", tag, ser.steps[:3], ser.wall_times[:3], ser.values[:3])
    snaps = store.snapshots()
    names = [s.name for s in snaps]
    opts, now = HealthOptions(mode="review"), T0 + 1e7

    def short(healths) -> set[str]:
        return {n for n, h in zip(names, healths, strict=True)
                if any("far fewer steps than" in v.reason for v in h.verdicts)}

    assert short(judge_many(snaps, opts, now)) == {"exp/short"}
    assert short(judge_some(snaps, range(len(snaps)), opts, now)) == {"exp/short"}
    assert siblings(snaps)["runs/short"] == [] and len(siblings(snaps)["exp/short"]) == 3
    judge = Judge(opts, clock=lambda: now)
    judge.update_store(store)
    views = judge.views()
    assert {n for n in names if any("far fewer steps than" in v.reason for v in views[n].verdicts)} == {"exp/short"}
