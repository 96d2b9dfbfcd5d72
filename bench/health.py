"""CPU time of the health engine: judge 1 000 runs × 10 tags × 1 000 points (issue 3: ≤ 1 s).

    .venv/bin/python bench/health.py                    # the issue's case, 3 repeats
    .venv/bin/python bench/health.py --runs 200 --points 5000 --repeat 5
    .venv/bin/python bench/health.py --profile          # where the time goes
    .venv/bin/python bench/health.py --runs 3000 --points 61   # a sweep of short runs (issue 13)

Runs are built in memory (RunSnapshots from a Store, as the app holds them) in the shape of
OpenAI-baselines A2C runs: entropy, reward, a step counter, logged fps, value/policy loss,
explained variance, KL, learning rate, episode length. They are a mix of healthy, pinned,
collapsed, decaying and noisy runs, so every branch of the classifier is exercised. Two
figures: "shared tags" (all runs use the same tag names, as the runs of one experiment do; the
role map is cached by tag set) and "distinct tags" (every run has its own tag names, so roles
are matched afresh for each run: the worst case). Each is timed twice: `judge` run by run, and
`judge_many` (all runs at once, as `tbpeek check` judges: each statistic once per group of
series of equal length), with the per-run cost in µs. Only judging is timed, not building the
data. Figures are CPU seconds (time.process_time), medians of the repeats, and ratios to the
target.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.health import (
    HealthOptions,
    analysis,
    judge,
    judge_many,
)
from tui.store import RunSnapshot, Store

TARGET = 1.0  # CPU seconds for 1 000 runs × 10 tags × 1 000 points
T0 = 1_700_000_000.0


def make_runs(n_runs: int, n_points: int, distinct: bool, seed: int = 0) -> list[RunSnapshot]:
    rng = np.random.default_rng(seed)
    store = Store(max_points=max(n_points, 16))
    ln6 = np.log(6)
    x = np.arange(n_points) / n_points
    for r in range(n_runs):
        name = f"run{r:05d}"
        store.ensure_run(name, f"/bench/{name}")
        pre = f"r{r}/" if distinct else ""
        steps = np.arange(1, n_points + 1)
        walls = T0 + 10.0 * steps + rng.normal(0, 0.5, n_points)
        walls.sort()
        kind = r % 5
        if kind == 0:  # healthy
            ent = ln6 * (0.85 + 0.14 * np.exp(-x / 0.2)) + rng.normal(0, 0.04, n_points)
        elif kind == 1:  # pinned
            ent = ln6 * 0.999 + rng.normal(0, 0.002, n_points)
        elif kind == 2:  # collapsed
            ent = ln6 * np.exp(-x / 0.1) + 0.01
        elif kind == 3:  # oscillating
            ent = ln6 * (0.6 + 0.2 * np.sign(np.sin(np.arange(n_points) / 6.0)))
        else:  # plateau
            ent = np.log(3) + rng.normal(0, 0.003, n_points)
        ent = np.minimum(ent, ln6)
        rate = 800 * (1 - 0.2 * x) if kind == 3 else np.full(n_points, 800.0)
        total = np.cumsum(rate * 10.0)
        tags = {
            "policy_entropy": ent,
            "eprewmean": np.linspace(-21, 15 if kind == 0 else -20, n_points) + rng.normal(0, 1, n_points),
            "total_timesteps": total,
            "fps": total / (walls - T0 + 100),
            "value_loss": np.abs(rng.normal(0.01, 0.005, n_points)),
            "policy_loss": rng.normal(0, 0.01, n_points),
            "explained_variance": 0.9 * (1 - np.exp(-x / 0.1)) + rng.normal(0, 0.05, n_points),
            "approxkl": np.abs(rng.normal(0.005, 0.002, n_points)),
            "learning_rate": np.full(n_points, 7e-4),
            "eplenmean": np.linspace(800, 3000, n_points),
        }
        for tag, values in tags.items():
            store.append(name, pre + tag, steps, walls, values)
    return store.snapshots()


def time_judge(snaps: list[RunSnapshot], opts: HealthOptions, many: bool = False) -> float:
    analysis._roles_cached.cache_clear()
    now = T0 + 1e6
    t = time.process_time()
    if many:
        judge_many(snaps, opts, now, {})
    else:
        for s in snaps:
            judge(s, opts, now)
    return time.process_time() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args(argv)
    opts = HealthOptions()
    print(f"health engine: {a.runs} runs x 10 tags x {a.points} points, CPU seconds (median of {a.repeat})")
    import gc

    gc.disable()  # as `tbpeek check` judges (tui.ingest.no_cyclic_gc)
    scale = a.runs * a.points / 1e6  # the target scales with the data
    for label, distinct in (("shared tags", False), ("distinct tags", True)):
        snaps = make_runs(a.runs, a.points, distinct)
        if a.profile:
            prof = cProfile.Profile()
            prof.enable()
            time_judge(snaps, opts)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        verdicts = sum(len(judge(s, opts, T0 + 1e6).verdicts) for s in snaps)  # same work in both cases
        target = TARGET * scale
        for how, many in (("judge", False), ("judge_many", True)):
            times = [time_judge(snaps, opts, many) for _ in range(a.repeat)]
            med = statistics.median(times)
            print(f"  {label:<14} {how:<10} {med:6.3f} s   ({med / a.runs * 1e6:.0f} µs/run; "
                  f"{med / target:.2f}x the {target:.2f} s target; {verdicts} verdicts; "
                  f"runs: {', '.join(f'{x:.3f}' for x in times)})")
    print(f"  (machine load average now: {', '.join(f'{x:.1f}' for x in __import__('os').getloadavg())})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
