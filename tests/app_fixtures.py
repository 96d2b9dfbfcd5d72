"""Fixed data for the app's tests and snapshots: a Store built in memory, fixed wall times."""

from __future__ import annotations

import math

import numpy as np

from tui.store import Store

T0 = 1_700_000_000.0  # fixed epoch seconds: snapshots never depend on today's date
STEP_SECONDS = 10.0  # one logged point every 10 s
N = 240
NOW = T0 + N * STEP_SECONDS + 30.0  # "now" for frozen clocks: the live runs wrote 30 s ago


def _add(store: Store, run: str, entropy, reward, steps_per_point, last_wall=None, nan_at=None):
    store.ensure_run(run, f"/logs/{run}")
    n = len(entropy)
    steps = np.arange(1, n + 1, dtype=np.int64) * 2048
    walls = T0 + np.arange(n) * STEP_SECONDS
    if last_wall is not None:
        walls = walls - (walls[-1] - last_wall)
    ent = np.asarray(entropy, dtype=float)
    if nan_at is not None:
        ent = ent.copy()
        ent[nan_at:] = np.nan
    store.append(run, "losses/entropy", steps, walls, ent)
    store.append(run, "charts/episodic_return", steps, walls, np.asarray(reward, dtype=float))
    counter = np.cumsum(steps_per_point)
    store.append(run, "charts/SPS", steps, walls, np.asarray(steps_per_point) / STEP_SECONDS)
    store.append(run, "global_step", steps, walls, counter.astype(float))
    store.append(run, "losses/value_loss", steps, walls, 1.0 / (1 + np.arange(n) / 20))
    store.set_last_write(run, float(walls[-1]))


def fixed_store(runs: int = 5) -> Store:
    """Five runs with known shapes (healthy, collapse, pinned, fps leak, stalled with NaN)."""
    store = Store()
    i = np.arange(N)
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, N)
    h_max = math.log(6)
    _add(store, "cartpole-healthy", h_max * (0.55 + 0.45 * np.exp(-i / 60)) + noise,
         -21 + 36 * (1 - np.exp(-i / 80)), np.full(N, 2048.0))
    _add(store, "pong-collapse", h_max * np.maximum(0.01, np.exp(-i / 25)) + noise * 0.1,
         -21 + 5 * np.sin(i / 30), np.full(N, 2048.0))
    _add(store, "pong-pinned", h_max - np.abs(noise) * 0.05, np.full(N, -21.0) + noise, np.full(N, 2048.0))
    _add(store, "breakout-fps-leak", h_max * (0.6 + 0.4 * np.exp(-i / 50)) + noise,
         i / 10.0, 2048.0 / (1 + i / 40))
    _add(store, "seaquest-stalled", h_max * (0.7 + 0.3 * np.exp(-i / 50)) + noise,
         i / 20.0, np.full(N, 2048.0), last_wall=NOW - 5400, nan_at=N - 3)
    for k in range(5, runs):
        _add(store, f"extra-{k:03d}", h_max * (0.6 + 0.4 * np.exp(-i / (40 + k))) + noise,
             i / (10 + k), np.full(N, 2048.0))
    return store


SEEDS = ("ppo_cartpole_seed1", "ppo_cartpole_seed2", "ppo_cartpole_seed3")


def seed_store() -> Store:
    """`fixed_store` plus three seeds of one config: seeds 1 and 2 healthy; seed 3 learns too,
    but its throughput drops to a third (an alarm)."""
    store = fixed_store()
    i = np.arange(N)
    h_max = math.log(6)
    for k, name in enumerate(SEEDS, 1):
        noise = np.random.default_rng(100 + k).normal(0, 0.01, N)
        entropy = h_max * (0.55 + 0.45 * np.exp(-i / (55 + 5 * k))) + noise
        reward = -21 + (30 + 3 * k) * (1 - np.exp(-i / 80))
        sps = 2048.0 / (1 + i / 40) if k == 3 else np.full(N, 2048.0)
        _add(store, name, entropy, reward, sps)
    return store
