"""Synthetic runs for the health tests: RunSnapshots built directly through the Store."""

from __future__ import annotations

import numpy as np

from tui.store import RunSnapshot, Store

T0 = 1_700_000_000.0


def snapshot(tags: dict[str, tuple], name: str = "run", path: str = "/logs/run",
             texts: dict[str, str] | None = None) -> RunSnapshot:
    """tags: tag -> (steps, wall_times, values)."""
    store = Store()
    store.ensure_run(name, path)
    for tag, (steps, walls, values) in tags.items():
        store.append(name, tag, steps, walls, values)
    for tag, text in (texts or {}).items():
        store.set_text(name, tag, 0, T0, text)
    return store.snapshot(name)


def curve(values, dt: float = 10.0, step0: int = 1, stride: int = 1, t0: float = T0):
    """(steps, walls, values) with one point every `dt` seconds."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    return (step0 + stride * np.arange(n), t0 + dt * np.arange(n), v)


def noisy(level, n: int, sd: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.broadcast_to(np.asarray(level, dtype=np.float64), (n,))
    return base + rng.normal(0, sd, n)


def decay_to(start: float, end: float, n: int, tau: float = 0.2) -> np.ndarray:
    """start -> end exponentially over the first part of n points, then flat."""
    x = np.arange(n) / n
    return end + (start - end) * np.exp(-x / tau)
