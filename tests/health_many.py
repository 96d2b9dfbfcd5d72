"""Many synthetic runs of varied shapes, for comparing the batched judge with the per-run one.

`varied_runs(n, seed)`: healthy, pinned, collapsed, oscillating, plateau, NaN, spike, rising
entropies; improving, flat and collapsing rewards; steady, decaying and dropping throughput;
stalled / ended runs; KL negative / zero / large; explained variance zero / negative / NaN;
step-time growth; short runs; different lengths, libraries (SB3, baselines, CleanRL) and seed
siblings. Lengths repeat, so the batched path gets batches of equal shapes and odd ones.
"""

from __future__ import annotations

import numpy as np

from tui.store import RunSnapshot, Store

T0 = 1_700_000_000.0
LN6 = float(np.log(6))
LENGTHS = (3, 7, 12, 19, 25, 61, 61, 61, 61, 100, 100, 240, 400)


def _entropy(kind: int, n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.arange(n) / max(n, 1)
    if kind == 0:  # healthy
        return np.minimum(LN6, LN6 * (0.85 + 0.14 * np.exp(-x / 0.2)) + rng.normal(0, 0.04, n))
    if kind == 1:  # pinned
        return np.minimum(LN6, LN6 * 0.999 + rng.normal(0, 0.002, n))
    if kind == 2:  # collapsed
        return LN6 * np.exp(-x / 0.1) + 0.01
    if kind == 3:  # oscillating
        return LN6 * (0.6 + 0.2 * np.sign(np.sin(np.arange(n) / 3.0))) + rng.normal(0, 0.01, n)
    if kind == 4:  # plateau
        return np.log(3) + rng.normal(0, 0.003, n)
    if kind == 5:  # a NaN somewhere
        h = LN6 * (0.9 + rng.normal(0, 0.02, n))
        h[rng.integers(0, n)] = np.nan
        return h
    if kind == 6:  # a spike near the end
        h = np.minimum(LN6, LN6 * 0.8 + rng.normal(0, 0.01, n))
        if n > 8:
            h[-3] = 0.05
        return h
    if kind == 7:  # fell, then rose back
        return LN6 * np.where(x < 0.5, 0.9 - 1.6 * x, 0.1 + 1.6 * (x - 0.5)) + rng.normal(0, 0.01, n)
    if kind == 8:  # continuous (negative entropy)
        return rng.normal(0, 1, n).cumsum()
    return LN6 * np.full(n, 0.01)  # dead from the start


def _reward(kind: int, n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.arange(n) / max(n, 1)
    if kind == 0:
        return -21 + 36 * x + rng.normal(0, 1, n)  # improving
    if kind == 1:
        return -20 + rng.normal(0, 1, n)  # flat
    if kind == 2:
        return 100 * np.where(x < 0.5, x, 1 - x) + rng.normal(0, 1, n)  # rose, fell back
    if kind == 3:
        r = rng.normal(0, 1, n).cumsum()
        r[rng.integers(0, n)] = np.inf if n % 2 else np.nan
        return r
    return rng.normal(0, 1, n).cumsum()  # a random walk (the bench's sweep)


def _one(store: Store, name: str, path: str, r: int, rng: np.random.Generator, lib: int) -> None:
    n = LENGTHS[int(rng.integers(0, len(LENGTHS)))]
    dt = float(rng.choice([1.0, 10.0, 60.0]))
    steps = (np.arange(1, n + 1) * (2048 if lib == 0 else 1)).astype(np.int64)
    walls = T0 + dt * np.arange(n) + rng.normal(0, 0.01 * dt, n)
    walls.sort()
    if r % 17 == 5:  # a stall in the middle: the rate drops
        walls[n // 2:] += 600.0
    ent = _entropy(int(rng.integers(0, 10)), n, rng)
    rew = _reward(int(rng.integers(0, 5)), n, rng)
    rate = 800.0 * (1 - 0.5 * np.arange(n) / n) if r % 4 == 1 else np.full(n, 800.0)
    if r % 4 == 2:
        rate[n // 2:] *= 0.2  # a sudden drop
    total = np.cumsum(rate * np.diff(walls, prepend=walls[0] - dt))
    klk = r % 5
    kl = (-np.abs(rng.normal(0.01, 0.005, n)) if klk == 0 else np.zeros(n) if klk == 1
          else np.abs(rng.normal(0.2, 0.05, n)) if klk == 2
          else np.abs(rng.normal(0.005, 0.002, n)) * np.linspace(1, 10, n) if klk == 3
          else np.abs(rng.normal(0.005, 0.002, n)))
    evk = r % 6
    ev = (np.zeros(n) if evk == 0 else -1 + rng.normal(0, 0.1, n) if evk == 1
          else np.where(np.arange(n) == n - 1, np.nan, 0.5) if evk == 2 else 0.9 + rng.normal(0, 0.05, n))
    if lib == 0:
        tags = {"train/entropy_loss": -ent, "rollout/ep_rew_mean": rew, "time/fps": total / (walls - T0 + 100),
                "train/approx_kl": kl, "train/explained_variance": ev, "train/value_loss": np.abs(rew) * 0.01,
                "rollout/ep_len_mean": np.linspace(100, 500, n), "train/clip_fraction": np.abs(kl)}
    elif lib == 1:
        tags = {"policy_entropy": ent, "eprewmean": rew, "total_timesteps": total, "fps": total / (walls - T0 + 100),
                "approxkl": kl, "explained_variance": ev, "learning_rate": np.full(n, 0.0 if r % 23 == 0 else 7e-4)}
    else:
        tags = {"losses/entropy": ent, "charts/episodic_return": rew, "charts/SPS": rate,
                "losses/approx_kl": kl, "losses/explained_variance": ev}
        if r % 7 == 0:
            tags["perf/step_time"] = 0.1 * (1 + np.arange(n) / n) + rng.normal(0, 0.001, n)
        if r % 11 == 0:
            tags["system/memory_used"] = 1e9 * (1 + 0.5 * np.arange(n) / n)
    if r % 13 == 3:  # no reward of its own: a sibling's reward-only directory speaks for it
        tags = {k: v for k, v in tags.items() if k not in ("eprewmean", "rollout/ep_rew_mean", "charts/episodic_return")}
    elif r % 13 == 4:  # rewards only (OpenAI baselines and Rahtz write them into a subfolder)
        tags = {"eprewmean": rew}
    store.ensure_run(name, path)
    warmup = n // 4 if r % 19 == 7 else 0  # an off-policy warm-up: rewards before the first update
    for tag, values in tags.items():
        m = n if r % 9 else max(1, n - int(rng.integers(0, 3)))  # now and then, tags of unequal length
        a = 0 if "rew" in tag or "return" in tag or "fps" in tag or "SPS" in tag else min(warmup, m - 1)
        store.append(name, tag, steps[a:m], walls[a:m], np.asarray(values, np.float64)[a:m])


def varied_runs(n: int, seed: int = 0) -> list[RunSnapshot]:
    """`n` runs of varied shapes, in experiments of 1-3 seed siblings (same parent directory, same
    library), and now and then 30 (some of them ended far short of the others)."""
    rng = np.random.default_rng(seed)
    store = Store()
    r = 0
    while r < n:
        seeds = int(rng.integers(1, 4)) if r % 50 else 30  # now and then a sweep's directory of many runs
        for s in range(min(seeds, n - r)):
            name = f"exp{r:04d}/seed{s}"
            _one(store, name, f"/logs/exp{r:04d}/seed{s}", r + s, rng, lib=r % 3)  # seeds share a library
        r += seeds
    return store.snapshots()


def verdict_table(healths) -> list[dict]:
    """Everything a RunHealth says, for exact comparison (NaN made comparable)."""
    def clean(x):
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if hasattr(x, "item") and not isinstance(x, (str, bytes)):
            x = x.item()
        if isinstance(x, float) and x != x:
            return "nan"
        return x

    with np.errstate(all="ignore"):  # sums of hostile values overflow: compared as they come
        return _table(healths, clean)


def _table(healths, clean) -> list[dict]:
    return [clean({"run": h.run, "library": h.library, "state": h.state, "usual_gap": h.usual_gap,
                   "summary": h.summary.to_json() if h.summary else None,
                   "worst": h.worst.to_json() if h.worst else None,
                   "verdicts": [v.to_json() for v in h.verdicts],
                   "borrowed": [v.to_json() for v in h.borrowed],
                   "roles": {k: [len(s), float(np.nansum(s.values))] for k, s in sorted(h.roles.items())}})
            for h in healths]
