"""One tag's points in growable numpy arrays (the store's building block)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import numpy as np

BUCKET = 4  # points per bucket when folding old data; each bucket keeps 2 (min and max)
_NO_STEPS = np.empty(0, np.int64)  # never written: a buffer of capacity 0 swaps in arrays first
_NO_FLOATS = np.empty(0, np.float64)


class Series:
    """An immutable view of one tag's points, in step order (as written).

    Immutable by contract, not by a runtime guard: its attributes are `Final` (mypy refuses
    to assign them) and its arrays are the store's, never written to (`TagBuffer`). A plain
    slotted class because a sweep's judging makes tens of thousands of them (a frozen
    dataclass's making cost 3x as much). Compared, hashed and printed as the frozen dataclass
    it was (field by field)."""

    __slots__ = ("steps", "values", "wall_times")

    def __init__(self, steps: np.ndarray, wall_times: np.ndarray, values: np.ndarray) -> None:
        self.steps: Final[np.ndarray] = steps  # int64
        self.wall_times: Final[np.ndarray] = wall_times  # float64, seconds since the epoch
        self.values: Final[np.ndarray] = values  # float64; NaN/Inf are kept as written

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def __repr__(self) -> str:
        return f"Series(steps={self.steps!r}, wall_times={self.wall_times!r}, values={self.values!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Series)
        return (self.steps, self.wall_times, self.values) == (other.steps, other.wall_times, other.values)

    def __hash__(self) -> int:
        return hash((self.steps, self.wall_times, self.values))

    @property
    def empty(self) -> bool:
        return bool(self.steps.shape[0] == 0)

    @classmethod
    def from_lists(cls, steps: Iterable[int], wall_times: Iterable[float], values: Iterable[float]) -> Series:
        return cls(
            np.asarray(list(steps), dtype=np.int64),
            np.asarray(list(wall_times), dtype=np.float64),
            np.asarray(list(values), dtype=np.float64),
        )

    def tail(self, n: int) -> Series:
        return Series(self.steps[-n:], self.wall_times[-n:], self.values[-n:])


TagEnd = tuple[int, int, float, float]
"""A tag's point count and its last point: ``(points, step, value, wall_time)``."""

EMPTY_SERIES = Series(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))


def capacity(n: int) -> int:
    """Array capacity for ``n`` points: a power of two, at least 64."""
    return 1 << (max(64, n) - 1).bit_length()




class TagBuffer:
    """One tag's points: growable arrays; old points folded to min/max buckets past a budget.
    Its three arrays always have one length (the capacity); the first ``n`` points are written."""

    __slots__ = ("max_points", "n", "steps", "values", "walls")

    def __init__(self, max_points: int, capacity: int = 64) -> None:
        self.max_points = max_points
        self.steps = np.empty(capacity, np.int64) if capacity else _NO_STEPS
        self.walls = np.empty(capacity, np.float64) if capacity else _NO_FLOATS
        self.values = np.empty(capacity, np.float64) if capacity else _NO_FLOATS
        self.n = 0

    def view(self) -> Series:
        """The points as a `Series`: the arrays themselves when they are full (nothing is ever
        written to a full array: an append swaps in larger ones), else their first ``n`` points."""
        n, steps = self.n, self.steps
        if n == steps.shape[0]:
            return Series(steps, self.walls, self.values)
        return Series(steps[:n], self.walls[:n], self.values[:n])

    @staticmethod
    def views(bufs: dict[str, TagBuffer]) -> tuple[dict[str, Series], int, list[int], list[float]]:
        """Each tag's `view`, in one loop for a run's tags (a sweep's snapshot reads thousands of
        runs), with the run's point count and its tags' last steps and wall times (those with
        points, in the order of `bufs`), as Python numbers."""
        out: dict[str, Series] = {}
        points = 0
        steps_end: list[int] = []
        walls_end: list[float] = []
        for tag, b in bufs.items():
            n, steps, walls, values = b.n, b.steps, b.walls, b.values
            if n != steps.shape[0]:
                steps, walls, values = steps[:n], walls[:n], values[:n]
            out[tag] = Series(steps, walls, values)
            if n:
                points += n
                steps_end.append(steps.item(n - 1))
                walls_end.append(walls.item(n - 1))
        return out, points, steps_end, walls_end

    def last_step(self) -> int | None:
        return int(self.steps[self.n - 1]) if self.n else None

    @staticmethod
    def ends(bufs: dict[str, TagBuffer]) -> dict[str, TagEnd | None]:
        """Each tag's `TagEnd`, as Python numbers; None for an empty one (one loop for a run's
        tags: a listing reads thousands of runs)."""
        out: dict[str, TagEnd | None] = {}
        for tag, b in bufs.items():
            n = b.n
            if n:
                i = n - 1
                out[tag] = (n, b.steps.item(i), b.values.item(i), b.walls.item(i))
            else:
                out[tag] = None
        return out

    def _replace(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray, extra: int = 0) -> None:
        """Swap in fresh arrays (readers holding old views keep the old, unchanged data)."""
        n = steps.shape[0]
        cap = capacity(n + extra)
        new_s = np.empty(cap, np.int64)
        new_w = np.empty(cap, np.float64)
        new_v = np.empty(cap, np.float64)
        new_s[:n] = steps
        new_w[:n] = walls
        new_v[:n] = values
        self.steps, self.walls, self.values, self.n = new_s, new_w, new_v, n

    @classmethod
    def adopted(cls, max_points: int, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> TagBuffer:
        """A buffer holding these (contiguous, 1-D, ordered) arrays as its points, no copy."""
        buf = cls.__new__(cls)
        n = buf.n = steps.shape[0]
        buf.max_points, buf.steps, buf.walls, buf.values = max_points, steps, walls, values
        if n > max_points:
            buf._fold()
        return buf

    def adopt(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        """Take these arrays as the (empty) tag's points, without a copy. Their length is the
        capacity: the next append swaps in larger arrays, so they are never written to."""
        if not (steps.flags.c_contiguous and walls.flags.c_contiguous and values.flags.c_contiguous):
            self.extend(steps, walls, values)
            return
        self.steps, self.walls, self.values, self.n = steps, walls, values, steps.shape[0]
        if self.n > self.max_points:
            self._fold()

    def purge_from(self, step: int) -> int:
        """Drop kept points with step >= `step`; returns how many were dropped."""
        v = self.view()
        keep = v.steps < step
        dropped = int(v.steps.shape[0] - np.count_nonzero(keep))
        if dropped:
            self._replace(v.steps[keep], v.wall_times[keep], v.values[keep])
        return dropped

    def extend(self, steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> None:
        k = steps.shape[0]
        if k == 0:
            return
        n = self.n
        if n + k > self.steps.shape[0]:
            v = self.view()
            self._replace(v.steps, v.wall_times, v.values, extra=k)
        self.steps[n : n + k] = steps
        self.walls[n : n + k] = walls
        self.values[n : n + k] = values
        self.n = n + k  # publish last: readers never see unwritten slots
        if self.n > self.max_points:
            self._fold()

    def _fold(self) -> None:
        """Fold the oldest half into min/max buckets until the tag fits its budget."""
        v = self.view()
        steps, walls, values = v.steps, v.wall_times, v.values
        while steps.shape[0] > self.max_points:
            half = (steps.shape[0] // 2) // BUCKET * BUCKET
            if half < BUCKET:
                break
            old_v = values[:half].reshape(-1, BUCKET)
            rows = np.arange(old_v.shape[0])
            nan = np.isnan(old_v)
            keep = np.zeros(old_v.shape, dtype=bool)
            has_num = ~nan.all(1)
            filled_lo = np.where(nan, np.inf, old_v)
            filled_hi = np.where(nan, -np.inf, old_v)
            keep[rows[has_num], filled_lo.argmin(1)[has_num]] = True
            keep[rows[has_num], filled_hi.argmax(1)[has_num]] = True
            # NaN is a verdict of its own: the first NaN of a bucket survives too.
            has_nan = nan.any(1)
            keep[rows[has_nan], nan.argmax(1)[has_nan]] = True
            idx = np.flatnonzero(keep.ravel())
            steps = np.concatenate([steps[idx], steps[half:]])
            walls = np.concatenate([walls[idx], walls[half:]])
            values = np.concatenate([values[idx], values[half:]])
        self._replace(steps, walls, values)
