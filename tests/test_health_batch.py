"""The batch helpers `check` leans on give, for every run, exactly what the same helper gives
for that run alone: the derived rate (grids sized for a group at once), interval widths, the
rows of equal-length series, the entropy's finiteness read for a sweep at once."""

from __future__ import annotations

import numpy as np
import pytest
from health_many import T0, verdict_table

from tui.health import HealthOptions, judge, judge_many
from tui.health.corroborate import is_continuous
from tui.health.stats import as_rows, by_length
from tui.health.throughput import derive_rate, derive_rates, interval_width, interval_widths
from tui.store import Store


def _rate_items(seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None, float | None]]:
    """Records of many runs: most of one length (a sweep) with write gaps that give them
    different interval counts, plus the odd ones each path must clean or skip."""
    rng = np.random.default_rng(seed)
    items: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, float | None]] = []
    for r in range(300):
        n = 61 if r % 5 else int(rng.choice([1, 2, 7, 61, 200]))
        dt = float(rng.choice([0.5, 1.5, 3.0, 40.0]))
        walls = T0 + r + dt * np.arange(n) + rng.normal(0, 0.05 * dt, n).clip(-0.4 * dt, 0.4 * dt)
        steps = np.cumsum(rng.integers(1, 3000, n)).astype(np.int64)
        counts: np.ndarray = steps if r % 3 else steps.astype(np.float64) * 4.0  # a tag's steps, or a counter's values
        xsteps = None if r % 7 == 0 else steps
        gap: float | None = None if r % 11 == 0 else (0.0 if r % 13 == 0 else dt * float(rng.uniform(0.5, 2.0)))
        if n > 3 and r % 17 == 1:
            walls = walls.copy()
            walls[n // 2] = np.nan  # a damaged record: dropped
        if n > 3 and r % 19 == 2:
            walls = walls.copy()
            walls[[n // 2, n // 2 + 1]] = walls[[n // 2 + 1, n // 2]]  # two records out of order: sorted
        if n > 3 and r % 23 == 3:
            walls = np.full(n, T0)  # no time passed: no rate
        if r % 29 == 4:
            counts = counts.astype(np.float64)
            counts[-1] = np.inf
        items.append((walls, counts, xsteps, gap))
    return items


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_derive_rates_of_a_batch_equal_derive_rate_run_by_run(seed):
    items = _rate_items(seed)
    batched = derive_rates(items, 30.0)
    assert len(batched) == len(items)
    made = 0
    for (walls, counts, xsteps, gap), got in zip(items, batched, strict=True):
        one = derive_rate(walls, counts, 30.0, xsteps, gap)
        for a, b in ((one.steps, got.steps), (one.wall_times, got.wall_times), (one.values, got.values)):
            assert a.dtype == b.dtype
            assert np.array_equal(a, b, equal_nan=True)
        made += len(got) > 0
    assert 0 < made < len(items)  # some runs have a rate, some (too short, no time passed) none


def test_interval_widths_equal_interval_width():
    rng = np.random.default_rng(5)
    span = np.concatenate([rng.uniform(0.0, 1e5, 200), [0.0, 1.0, 150.0, 1e7, 18 * 3600.0]])
    gap = np.concatenate([rng.choice([0.0, 0.1, 2.0, 45.0], 200), [0.0, 0.0, 0.15, 1.0, 2.0]])
    widths = interval_widths(span, gap, 30.0)
    assert [float(w) for w in widths] == [interval_width(float(s), float(g) or None, 30.0)
                                          for s, g in zip(span, gap, strict=True)]


def test_an_unknown_gap_leaves_the_width_to_the_span():
    """A NaN gap counts for nothing (as Python's max, which the width was first written with)."""
    for span in (1.0, 150.0, 1e7):
        assert interval_width(span, float("nan"), 30.0) == interval_width(span, None, 30.0)


def test_rows_of_equal_length_series_are_np_stack():
    rng = np.random.default_rng(2)
    for arrays in ([rng.normal(size=61) for _ in range(40)],
                   [np.arange(5, dtype=np.int64) * i for i in range(9)] + [np.full(5, np.nan)],  # ints and floats
                   [np.empty(0) for _ in range(3)]):
        got = as_rows(arrays)
        want = np.stack(arrays)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=True)


def test_by_length_groups_every_array_once_in_order():
    rng = np.random.default_rng(4)
    for lengths in ([61] * 30, [3, 61, 3, 7, 61, 61, 0, 7], [0, 0]):
        arrays = [rng.normal(size=n) for n in lengths]
        groups = by_length(arrays)
        assert sorted(i for idx, _ in groups for i in idx) == list(range(len(arrays)))
        for idx, rows in groups:
            assert idx == sorted(idx)
            assert np.array_equal(rows, np.stack([arrays[i] for i in idx]))


def test_is_continuous_with_the_lowest_value_known_says_what_it_finds_itself():
    store = Store()
    store.ensure_run("r", "/logs/r")
    store.append("r", "loss", np.arange(3), np.arange(3.0), np.zeros(3))
    snap = store.snapshot("r")
    for H in (np.array([1.0, -0.2, np.nan]), np.array([np.nan, np.inf]), np.array([0.3, -0.04]), np.array([])):
        fin = H[np.isfinite(H)]
        lowest = float(fin.min()) if fin.size else float("inf")
        assert is_continuous(snap, H, lowest) == is_continuous(snap, H)


def _sweep(n: int, seed: int) -> list:
    """A sweep of SB3-style runs (the bench's shape: random-walk entropies, so continuous ones),
    some with a NaN or an all-NaN entropy, one run per directory."""
    rng = np.random.default_rng(seed)
    store = Store()
    for r in range(n):
        name = f"ppo_lr{r:04d}/PPO_1"
        store.ensure_run(name, f"/logs/{name}")
        m = 61
        steps = np.arange(1, m + 1, dtype=np.int64) * 2048
        walls = T0 + r + 1.5 * np.arange(m)
        ent = rng.normal(0, 1, m).cumsum() if r % 4 else 1.5 - 0.01 * np.arange(m)  # continuous, or discrete-looking
        if r % 9 == 2:
            ent[m // 2] = np.nan
        if r % 31 == 5:
            ent[:] = np.nan
        for tag, values in {"train/entropy_loss": -ent, "rollout/ep_rew_mean": rng.normal(0, 1, m).cumsum(),
                            "train/approx_kl": rng.normal(0.01, 0.02, m), "train/explained_variance": rng.normal(0.5, 0.3, m),
                            "time/fps": np.full(m, 1300.0), "train/value_loss": np.abs(rng.normal(1, 0.1, m))}.items():
            store.append(name, tag, steps, walls, values)
    return store.snapshots()


@pytest.mark.parametrize("now", [T0 + 200, T0 + 1e7])
def test_a_sweep_judged_in_one_batch_equals_each_run_alone(now):
    """The sweep `check` judges: the batch's shared looks (entropy finiteness, grids, rows) give
    every run the verdicts, texts and summary it gets judged alone."""
    runs = _sweep(120, seed=11)
    opts = HealthOptions()
    batched = verdict_table(judge_many(runs, opts, now))
    alone = verdict_table([judge(s, opts, now) for s in runs])
    assert batched == alone
    reasons = {v["reason"].split(" (")[0] for r in batched for v in r["verdicts"] if v["metric"] == "entropy"}
    assert "continuous actions" in reasons and len(reasons) > 1  # both kinds of entropy were judged
