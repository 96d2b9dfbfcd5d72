"""Seed groups: names that differ only by seed, k/n healthy, median and min–max band."""

from __future__ import annotations

import numpy as np
import pytest

from tui.groups import DEFAULT_SEED_PATTERN, group_band, group_health, group_runs, seed_key
from tui.health.verdict import Severity
from tui.store import Series


@pytest.mark.parametrize("name, key, seed", [
    ("ppo_cartpole_seed3", "ppo_cartpole_seed*", "3"),
    ("ppo-seed-12", "ppo-seed-*", "12"),
    ("a2c_s2", "a2c_s*", "2"),
    ("dqn-1", "dqn-*", "1"),
    ("exp/ppo-seed3/train", "exp/ppo-seed*/train", "3"),
    ("lr1e-3", "lr1e-3", None),  # an exponent, not a seed
    ("seed1", "seed1", None),  # only a seed: nothing to group by
    ("baseline", "baseline", None),
])
def test_seed_key(name, key, seed):
    assert seed_key(name) == (key, seed)


def test_group_runs_folds_seeds_and_keeps_others_alone():
    names = ["ppo_seed10", "ppo_seed2", "ppo_seed1", "a2c_s1", "a2c_s2", "dqn", "dqn-1", "sac_seed1"]
    groups = {g.key: g for g in group_runs(names)}
    assert groups["ppo_seed*"].members == ("ppo_seed1", "ppo_seed2", "ppo_seed10")  # numeric order
    assert groups["ppo_seed*"].seeds == ("1", "2", "10")
    assert groups["a2c_s*"].n == 2
    assert groups["dqn"].members == ("dqn",)  # no seed: not folded with dqn-1
    assert groups["dqn-*"].members == ("dqn-1",)
    assert sorted(m for g in groups.values() for m in g.members) == sorted(names)


def test_custom_pattern():
    names = ["runA.r1", "runA.r2", "runB.r1"]
    groups = {g.key: g.members for g in group_runs(names, r"\.r(\d+)$")}
    assert groups == {"runA.r*": ("runA.r1", "runA.r2"), "runB.r*": ("runB.r1",)}
    # the default pattern doesn't know ".rN"
    assert all(g.n == 1 for g in group_runs(names, DEFAULT_SEED_PATTERN))
    with pytest.raises(ValueError, match="not a valid regular expression"):
        group_runs(names, "(")


def test_k_of_n_healthy():
    (g,) = [g for g in group_runs(["x_seed1", "x_seed2", "x_seed3"]) if g.n == 3]
    gh = group_health(g, {"x_seed1": Severity.OK, "x_seed2": Severity.ALARM, "x_seed3": Severity.INFO})
    assert (gh.healthy, gh.worst, gh.label) == (2, Severity.ALARM, "2/3 healthy")


def _s(steps, values):
    steps = np.asarray(steps)
    return Series(steps.astype(np.int64), steps.astype(float), np.asarray(values, float))


def test_band_median_and_min_max_on_a_common_grid():
    a = _s([0, 10, 20], [0.0, 1.0, 2.0])
    b = _s([0, 5, 20], [2.0, 2.0, 2.0])
    c = _s([0, 20], [4.0, 4.0])
    band = group_band([a, b, c], points=5)
    np.testing.assert_allclose(band.x, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(band.median, [2, 2, 2, 2, 2])
    np.testing.assert_allclose(band.lo, [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(band.hi, [4, 4, 4, 4, 4])
    assert band.count.tolist() == [3, 3, 3, 3, 3]


def test_band_never_extrapolates_a_short_run_and_skips_nan():
    long = _s([0, 100], [1.0, 1.0])
    short = _s([0, 25, 50], [3.0, np.nan, 3.0])
    band = group_band([long, short, Series.from_lists([], [], [])], points=3)
    assert band.count.tolist() == [2, 2, 1]
    np.testing.assert_allclose(band.median, [2, 2, 1])
    np.testing.assert_allclose(band.hi, [3, 3, 1])
    assert group_band([]).x.size == 0
