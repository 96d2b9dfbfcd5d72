"""Small robust statistics on numpy arrays (vectorised; no Python loops over points)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MAD_TO_SD = 1.4826


def window(n: int) -> int:
    """The recent window W = clamp(ceil(0.1·n), 5, 50) (DIAGNOSTICS.md §3), never above n."""
    return min(n, max(5, min(50, -(-n // 10))))


def median(x: np.ndarray) -> float:
    """The median of a 1-D array without NaNs (np.median's checks cost more than the work on
    the small windows the checks use)."""
    n = x.shape[0]
    if n == 0:
        return float("nan")
    k = n // 2
    if n % 2:
        return float(np.partition(x, k)[k])
    p = np.partition(x, (k - 1, k))
    return float(0.5 * (p[k - 1] + p[k]))


def median_rows(a: np.ndarray) -> np.ndarray:
    """Median along the last axis (rows of equal length, no NaNs): the same numbers `median`
    gives for each row (a selection, then the same arithmetic)."""
    m = a.shape[-1]
    k = m // 2
    if m % 2:
        return np.partition(a, k, axis=-1)[..., k]
    p = np.partition(a, (k - 1, k), axis=-1)
    return 0.5 * (p[..., k - 1] + p[..., k])


def quantile_rows(a: np.ndarray, q: float) -> np.ndarray:
    """`quantiles(row, [q])[0]` for each row of a 2-D array (same arithmetic, all rows at once)."""
    s = np.sort(a, axis=1)
    n = s.shape[1]
    pos = q * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    out: np.ndarray = s[:, lo] + (pos - lo) * (s[:, hi] - s[:, lo])
    return out


class Lazy:
    """Statistics of a group of rows (the series of equal length of many runs), by name. A value
    given as a function is computed the first time any row asks for it, for every row at once:
    a group of one computes only what its verdict needs, a sweep's group each statistic once."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.made = {k: v for k, v in values.items() if not callable(v)}
        self._makers = {k: v for k, v in values.items() if callable(v)}

    def get(self, name: str, j: int) -> Any:
        got = self.made.get(name)
        if got is None:
            got = self.made[name] = self._makers[name]()
        return got[j]

    def row(self, j: int) -> Row:
        return Row(self, j)


class Row:
    """One row's view of a `Lazy` group: ``row["level"]``."""

    __slots__ = ("_group", "_j")

    def __init__(self, group: Lazy, j: int) -> None:
        self._group, self._j = group, j

    def __getitem__(self, name: str) -> Any:
        try:
            return self._group.made[name][self._j]
        except KeyError:
            return self._group.get(name, self._j)


def by_length(arrays: Sequence[np.ndarray]) -> list[tuple[list[int], np.ndarray]]:
    """The arrays grouped by length: (their indices, stacked as the rows of a 2-D array).

    The batched checks compute each statistic once per group, for all its rows (the runs of a
    sweep have series of equal length); a check of one run is a group of one row.
    """
    if len(arrays) == 1:  # one run: one group of one row
        return [([0], arrays[0][None, :])]
    lengths = [a.shape[0] for a in arrays]
    if lengths and lengths.count(lengths[0]) == len(lengths):  # a sweep's runs: one group
        return [(list(range(len(arrays))), as_rows(arrays))]
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(n, []).append(i)
    return [(idx, as_rows([arrays[i] for i in idx]) if len(idx) > 1 else arrays[idx[0]][None, :])
            for idx in groups.values()]


def as_rows(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """`np.stack` of 1-D arrays of equal length: one copy, without np.stack's work per array
    (which costs more than the copy itself for a sweep's thousands of short series)."""
    out: np.ndarray = np.concatenate(arrays).reshape(len(arrays), arrays[0].shape[0])
    return out


def quantiles(x: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Linear-interpolated quantiles (as np.quantile's default) of a 1-D array without NaNs."""
    s = np.sort(x)
    n = s.shape[0]
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        out.append(float(s[lo] + (pos - lo) * (s[hi] - s[lo])))
    return out


def robust(x: np.ndarray) -> tuple[float, float]:
    """(median, 1.4826·MAD) of the finite values; (nan, nan) when there are none."""
    if not np.isfinite(x).all():
        x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    med = median(x)
    return med, float(MAD_TO_SD * median(np.abs(x - med)))


def rolling_mean_sd(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each window of `w` points ending at i (i >= w-1).

    Returns arrays of length len(x) - w + 1 (empty when len(x) < w). Uses cumulative sums of
    values centred on the overall mean, which keeps the variance numerically sane.
    """
    m, sd = rolling_mean_sd_rows(x[None, :], w)
    return m[0], sd[0]


def rolling_mean_sd_rows(a: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """`rolling_mean_sd` of each row of a 2-D array."""
    rows, n = a.shape
    if n < w or w < 1:
        return np.empty((rows, 0)), np.empty((rows, 0))
    mean = a.mean(axis=1, keepdims=True)
    c = a - mean
    zero = np.zeros((rows, 1))
    s1 = np.concatenate((zero, np.cumsum(c, axis=1)), axis=1)
    s2 = np.concatenate((zero, np.cumsum(c * c, axis=1)), axis=1)
    m = (s1[:, w:] - s1[:, :-w]) / w
    var = (s2[:, w:] - s2[:, :-w]) / w - m * m
    return m + mean, np.sqrt(np.maximum(var, 0.0))


def run_start(cond: np.ndarray) -> int | None:
    """Index where the final run of True values in `cond` starts; None if cond[-1] is False."""
    if cond.size == 0 or not cond[-1]:
        return None
    false = np.flatnonzero(~cond)
    return int(false[-1] + 1) if false.size else 0


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ties broken by order; fine for continuous data)."""
    n = x.shape[0]
    if n < 3:
        return float("nan")
    ry = np.empty(n)
    ry[np.argsort(y, kind="stable")] = np.arange(n)
    if (np.diff(x) > 0).all():  # time: already in order, its ranks are 0..n-1
        rx = np.arange(n, dtype=np.float64)
    else:
        rx = np.empty(n)
        rx[np.argsort(x, kind="stable")] = np.arange(n)
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def block_medians(x: np.ndarray, blocks: int) -> tuple[np.ndarray, float]:
    """Medians of about `blocks` consecutive equal blocks, and the pooled within-block sd.

    A remainder that doesn't fill a block is dropped from the front, so the newest points
    always count. (`block_medians_rows` for one row.)
    """
    med, within = block_medians_rows(x[None, :], blocks)
    return med[0], float(within[0])


def block_medians_rows(a: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """`block_medians` of each row of a 2-D array: (medians, one row of blocks per row; the
    pooled within-block sd of each row)."""
    rows, n = a.shape
    size = max(1, n // blocks)
    k = n // size
    b = a[:, n - k * size:].reshape(rows, k, size)
    dev = b - b.mean(axis=2, keepdims=True)
    return median_rows(b), np.sqrt((dev * dev).reshape(rows, k * size).sum(axis=1) / (k * size))
