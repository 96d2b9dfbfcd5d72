"""Seed groups: runs whose names differ only by a seed form one group (pure).

RL results need several seeds; a config that works one time in three should be visible as
such. ``ppo_cartpole_seed1``, ``ppo_cartpole_seed2`` and ``ppo_cartpole_seed3`` form the group
``ppo_cartpole_seed*``; so do ``a2c_s1``/``a2c_s2`` and ``dqn-1``/``dqn-2``. The seed may sit in
any path component of the run name (``exp/ppo-seed3/train``).

The pattern is configurable (config ``[groups] seed_pattern``, or the ``pattern`` argument): a
regex that matches the seed token at the *end of a path component*; its first non-empty group
is the seed. The token is replaced by ``*`` in the group key.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tui.store import Series
from tui.vocab import Severity, compile_regex

# `seed3`, `_seed-3`, `.seed=3`, `_s2`, `-s2`, `-1`, `_1` at the end of a component. A bare
# `-3` after `<digit>e` is an exponent (`lr1e-3`), not a seed.
DEFAULT_SEED_PATTERN = r"(?:[-_.]?seed[-_=]?(\d+)|[-_]s(\d+)|(?<!\de)[-_](\d+))$"


def compile_pattern(pattern: str | re.Pattern[str] | None = None) -> re.Pattern[str]:
    """Compile a seed pattern (None: the default).

    Raises:
        tui.vocab.PatternError: (a ValueError) the pattern can't be compiled, for any reason
            (a huge repeat count too); the message says so and why.
    """
    if isinstance(pattern, re.Pattern):
        return pattern
    return compile_regex(pattern or DEFAULT_SEED_PATTERN, "seed pattern", re.IGNORECASE)


def seed_key(name: str, pattern: str | re.Pattern[str] | None = None) -> tuple[str, str | None]:
    """(group key, seed) of a run name; (name, None) when it carries no seed.

    Only the last path component that carries a seed is replaced, so ``s1/ppo_s1`` keeps its
    directory part (a different directory is a different experiment).
    """
    rx = compile_pattern(pattern)
    parts = name.split("/")
    for i in range(len(parts) - 1, -1, -1):
        m = rx.search(parts[i])
        if m and m.start() > 0:  # a component that is *only* a seed is not a name with a seed
            gi = next((g for g in range(1, (rx.groups or 0) + 1) if m.group(g)), 0)
            start, end = m.span(gi)
            seed = m.group(gi)
            parts[i] = parts[i][:start] + "*" + parts[i][end:]
            return "/".join(parts), seed
    return name, None


@dataclass(frozen=True)
class SeedGroup:
    """Runs that differ only by seed. ``members`` are run names in seed order."""

    key: str
    members: tuple[str, ...]
    seeds: tuple[str | None, ...]

    @property
    def n(self) -> int:
        return len(self.members)


def _seed_order(seed: str | None) -> tuple[int, str]:
    if seed is None:
        return (-1, "")
    return (int(seed), seed) if seed.isdigit() else (1 << 62, seed)


def group_runs(names: Iterable[str], pattern: str | re.Pattern[str] | None = None) -> list[SeedGroup]:
    """Group run names by seed key; every run is in exactly one group (singletons included).

    A name without a seed joins no one else's group even if its key text coincides.
    Groups come in order of key; members in order of seed.
    """
    rx = compile_pattern(pattern)
    by_key: dict[str, list[tuple[str, str | None]]] = {}
    for name in names:
        key, seed = seed_key(name, rx)
        by_key.setdefault(key if seed is not None else "\0" + name, []).append((name, seed))
    groups = []
    for key, members in by_key.items():
        members.sort(key=lambda m: (_seed_order(m[1]), m[0]))
        groups.append(SeedGroup(key.lstrip("\0"), tuple(m[0] for m in members), tuple(m[1] for m in members)))
    groups.sort(key=lambda g: g.key)
    return groups


@dataclass(frozen=True)
class GroupHealth:
    """How many runs of a group are healthy (worst severity below warn)."""

    group: SeedGroup
    healthy: int
    worst: Severity

    @property
    def label(self) -> str:
        return f"{self.healthy}/{self.group.n} healthy"


def group_health(group: SeedGroup, worst_by_run: Mapping[str, Severity]) -> GroupHealth:
    """k/n healthy for a group, from each run's worst severity (a run not judged counts as OK)."""
    sev = [worst_by_run.get(m, Severity.OK) for m in group.members]
    return GroupHealth(group, sum(1 for s in sev if s < Severity.WARN), max(sev, default=Severity.OK))


@dataclass(frozen=True)
class Band:
    """A group's series on a common x grid: median and min–max of the members present at each x.

    ``count[i]`` is how many members cover ``x[i]`` (runs of different lengths); where it is 0,
    median/lo/hi are NaN.
    """

    x: np.ndarray
    median: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    count: np.ndarray


def group_band(series: Sequence[Series], points: int = 200, x: str = "step") -> Band:
    """Median and min–max band of several runs' series of one role, on a common x grid.

    Each member is linearly interpolated onto the grid only within its own x range (never
    extrapolated); non-finite values are left out of the interpolation.

    Args:
        series: one series per member (empty ones are ignored).
        points: grid size.
        x: "step" or "wall" (relative wall time since each run's first point).
    """
    if points < 2:
        raise ValueError("points must be at least 2")
    xs, ys = [], []
    for s in series:
        if s.empty:
            continue
        sx = s.steps.astype(np.float64) if x == "step" else s.wall_times - s.wall_times[0]
        ok = np.isfinite(s.values) & np.isfinite(sx)
        if not ok.any():
            continue
        sx, sy = sx[ok], s.values[ok]
        order = np.argsort(sx, kind="stable")
        xs.append(sx[order])
        ys.append(sy[order])
    if not xs:
        e = np.empty(0)
        return Band(e, e, e, e, np.empty(0, np.int64))
    grid = np.linspace(min(a[0] for a in xs), max(a[-1] for a in xs), points)
    mat = np.full((len(xs), points), np.nan)
    for i, (sx, sy) in enumerate(zip(xs, ys, strict=True)):
        inside = (grid >= sx[0]) & (grid <= sx[-1])
        mat[i, inside] = np.interp(grid[inside], sx, sy)
    count = np.isfinite(mat).sum(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns -> NaN, intended
        med = np.nanmedian(mat, 0)
        lo = np.nanmin(mat, 0)
        hi = np.nanmax(mat, 0)
    return Band(grid, med, lo, hi, count)
