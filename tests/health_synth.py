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


def noisy_collapse(before: int, after: int, level: float = 0.85, tau: float = 4.0, noise: float = 0.02,
                   floor: float = 0.002, seed: int = 0) -> np.ndarray:
    """A normalised entropy h that explores at `level` (noise `noise`) for `before` points, then
    collapses towards 0 with time constant `tau` points over `after` points; near zero the
    noise is one-sided and small (entropy can't go below 0), as in a real collapse."""
    rng = np.random.default_rng(seed)
    head = level + rng.normal(0, noise, before)
    t = np.arange(after, dtype=np.float64)
    fall = level * np.exp(-t / tau)
    # Noise relative to the level while it is high, a small one-sided floor noise near 0.
    tail = fall + rng.normal(0, noise, after) * np.minimum(1.0, fall / level) + np.abs(rng.normal(0, 0.004, after))
    return np.maximum(floor, np.concatenate([head, tail]))


def replay_kinds(values, dt: float = 1.0, actions: int = 4, start: int = 0, hold: int = 1,
                 tag: str = "losses/entropy", metric: str = "entropy") -> list[str]:
    """The `metric` verdict kind a live HealthTracker shows after each point from `start` on:
    the curve replayed prefix by prefix, one new point per update (hold=1: every reading)."""
    from dataclasses import replace

    from tui.health import HealthOptions
    from tui.health.tracker import HealthTracker, prefix

    snap = snapshot({tag: curve(values, dt)})
    walls = snap.series[tag].wall_times
    tracker = HealthTracker(HealthOptions(actions=actions), hold=hold, clock_every=0.0)
    kinds = []
    for i in range(start, len(walls)):
        part = replace(prefix(snap, float(walls[i])), version=i)
        kinds.append(tracker.update(part, now=float(walls[i])).verdict(metric).kind)
    return kinds
