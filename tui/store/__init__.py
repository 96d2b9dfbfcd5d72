"""Columnar, bounded, thread-safe storage of scalar series: one series per (run, tag).

The store is the hinge of tbpeek: the ingest worker appends to it, everything else reads
from it. It is plain Python + numpy (no Textual, no watchdog).

Concurrency model: one writer, many readers. Appends only ever write *past* the end that
readers can see, and every operation that would change already-visible points (a restart
purge, downsampling) builds new arrays instead of editing the old ones. A reader therefore
gets zero-copy views (`Series`) that stay valid and unchanged for as long as it keeps them;
the lock is held only to read or swap the (arrays, length) pair.

Memory is bounded: each tag keeps full resolution up to ``max_points``; beyond that the
oldest half is folded into buckets that keep each bucket's minimum and maximum, so a spike
never disappears from a chart, however old.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import numpy as np

from tui.store.buffer import BUCKET, EMPTY_SERIES, Series, TagBuffer, TagEnd, capacity
from tui.store.problems import Problem, ProblemKind

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    from numpy.typing import ArrayLike

__all__ = ["DEFAULT_MAX_POINTS", "EMPTY_SERIES", "Problem", "ProblemKind", "Restart", "RunEnds", "RunSnapshot",
           "Series", "Store", "TagEnd", "Text", "last_write_time"]

DEFAULT_MAX_POINTS = 100_000


class Restart(NamedTuple):
    """A tag's step went back: the writer restarted (or resumed from a checkpoint)."""

    tag: str
    step: int  # the new (smaller) step; kept points with step >= this were dropped
    wall_time: float
    dropped: int  # how many kept points were dropped


class Text(NamedTuple):
    step: int
    wall_time: float
    text: str


def last_write_time(mtime: float | None, wall: float | None) -> float | None:
    """When a run last wrote: the older of the file's mtime and the newest event's wall time.

    Copied or restored logs have fresh mtimes but old wall times; a trainer on a machine whose
    clock runs ahead has future wall times but honest local mtimes. The older one is right in
    both cases, and for a live run on one machine they agree.
    """
    if mtime is None or wall is None:
        return wall if mtime is None else mtime
    return min(mtime, wall)


_SET = object.__setattr__


@dataclass(frozen=True, init=False)  # (its __init__ below: the generated one's 12 frozen setattrs cost 4x as much)
class RunSnapshot:
    """Everything the store knows about a run, frozen at one version."""

    name: str
    path: str
    version: int
    series: dict[str, Series]
    texts: dict[str, Text]
    restarts: tuple[Restart, ...]
    problems: dict[str, str]  # key (a file or directory) -> its problems' messages, joined
    file_version: str | None
    last_write: float | None  # newest event file's mtime (epoch seconds), if known
    points: int
    problem_items: tuple[Problem, ...] = ()  # the same problems, typed
    files: tuple[str, ...] = ()  # its event files at the ingest's last look at its directory ((): unknown)

    def __init__(self, name: str, path: str, version: int, series: dict[str, Series], texts: dict[str, Text],
                 restarts: tuple[Restart, ...], problems: dict[str, str], file_version: str | None,
                 last_write: float | None, points: int, problem_items: tuple[Problem, ...] = (),
                 files: tuple[str, ...] = ()) -> None:
        """The dataclass's own __init__ (fields in order), its fields set as one dict: a sweep's
        check snapshots thousands of runs."""
        _SET(self, "__dict__", {"name": name, "path": path, "version": version, "series": series, "texts": texts,
                                "restarts": restarts, "problems": problems, "file_version": file_version,
                                "last_write": last_write, "points": points, "problem_items": problem_items,
                                "files": files})

    @property
    def tags(self) -> list[str]:
        return sorted(self.series)

    # A snapshot never changes: what is derived from its series is computed once, when asked.
    @cached_property
    def last_wall_time(self) -> float | None:
        return _newest([s.wall_times.item(-1) for s in self.series.values() if s.steps.shape[0]])

    @cached_property
    def last_activity(self) -> float | None:
        """When the run last wrote, as far as tbpeek can tell (see `last_write_time`)."""
        return last_write_time(self.last_write, self.last_wall_time)

    @cached_property
    def last_step(self) -> int | None:
        return _newest([s.steps.item(-1) for s in self.series.values() if s.steps.shape[0]])


class RunEnds(NamedTuple):
    """What a listing needs of a run (`Store.ends`): each tag's point count and last point,
    without its points (no arrays, no views: for thousands of runs at once). Its points, last
    step, wall time and activity follow the same rules as `RunSnapshot`'s."""

    name: str
    path: str
    version: int
    ends: dict[str, TagEnd | None]  # tag -> its end; None for a tag without points
    texts: dict[str, Text]
    restarts: tuple[Restart, ...]
    problem_items: tuple[Problem, ...]
    file_version: str | None
    last_write: float | None  # newest event file's mtime (epoch seconds), if known
    points: int
    last_step: int | None
    last_wall_time: float | None

    @property
    def last_activity(self) -> float | None:
        """When the run last wrote, as far as tbpeek can tell (see `last_write_time`)."""
        return last_write_time(self.last_write, self.last_wall_time)

    @classmethod
    def of(cls, snap: RunSnapshot) -> RunEnds:
        """The ends of a snapshot's series (what `Store.ends` gives for the store at its version)."""
        ends: dict[str, TagEnd | None] = {}
        for tag, s in snap.series.items():
            n = s.steps.shape[0]
            ends[tag] = (n, s.steps.item(n - 1), s.values.item(n - 1), s.wall_times.item(n - 1)) if n else None
        return cls(snap.name, snap.path, snap.version, ends, snap.texts, snap.restarts, snap.problem_items,
                   snap.file_version, snap.last_write, snap.points, snap.last_step, snap.last_wall_time)


_T = TypeVar("_T", int, float)


def _newest(ends: Sequence[_T]) -> _T | None:
    """A run's last step (or wall time): the largest of its tags' last ones, in the store's
    order of tags (a NaN wall time compares as max() has it); None when no tag has points."""
    return max(ends) if ends else None


def _totals(ends: dict[str, TagEnd | None]) -> tuple[int, int | None, float | None]:
    """A run's points, last step and last wall time (`_newest`) from its tags' ends."""
    have = [e for e in ends.values() if e is not None]  # in the store's order of tags
    if not have:
        return 0, None, None
    points, steps, _, walls = zip(*have, strict=True)
    return sum(points), _newest(steps), _newest(walls)


class _Run:
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self.tags: dict[str, TagBuffer] = {}
        self.texts: dict[str, Text] = {}
        self.restarts: list[Restart] = []
        self.problems: dict[str, tuple[Problem, ...]] = {}
        self.file_version: str | None = None
        self.last_write: float | None = None
        self.version = 0
        self.files: tuple[str, ...] = ()


class Store:
    """All scalar data tbpeek has read, by run and tag.

    Args:
        max_points: points kept at full resolution per tag before old data is folded.
    """

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 4 * BUCKET:
            raise ValueError(f"max_points must be at least {4 * BUCKET}")
        self.max_points = max_points
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._logdir_problems: tuple[Problem, ...] = ()

    # ---- writing (one writer) -------------------------------------------------------------
    def ensure_run(self, run: str, path: str) -> None:
        """Register a run (idempotent). `path` is its directory."""
        with self._lock:
            if run not in self._runs:
                self._runs[run] = _Run(run, path)
                self._version += 1

    def _bump(self, r: _Run) -> None:
        r.version += 1
        self._version += 1

    def append(self, run: str, tag: str, steps: ArrayLike, wall_times: ArrayLike, values: ArrayLike) -> None:
        """Append points to (run, tag), applying TensorBoard's restart rule.

        When a tag's step goes back (smaller than the last kept step), the kept points with
        step >= the new step are dropped and a `Restart` is recorded. Steps that repeat are
        kept as written.
        """
        self.append_many(run, [(tag, steps, wall_times, values)])

    def append_many(self, run: str, batch: Iterable[tuple[str, object, object, object]],
                    adopt: bool = False, ordered: Sequence[bool] | None = None) -> None:
        """:meth:`append` for several tags of one run: ``(tag, steps, wall_times, values)``.

        With ``adopt``, the caller hands the arrays over (it will never write to them, nor to
        the memory they share with other arrays of the batch): a tag's first points are kept
        as they are instead of copied. ``ordered``, when given, says of each item of the batch
        whether its steps are known never to go back (then they are not checked again).
        """
        if adopt and ordered is not None:
            batch = self._adopt_new(run, batch, ordered)
            if not batch:
                return
            ordered = None
        items = []
        i64, f64 = np.dtype(np.int64), np.dtype(np.float64)
        for i, (tag, steps, wall_times, values) in enumerate(batch):
            if (type(steps) is np.ndarray and steps.ndim == 1 and steps.dtype == i64  # the common case
                    and type(wall_times) is np.ndarray and wall_times.ndim == 1 and wall_times.dtype == f64
                    and type(values) is np.ndarray and values.ndim == 1 and values.dtype == f64):
                s, w, v = steps, wall_times, values
            else:
                s = np.asarray(steps, dtype=np.int64).ravel()
                w = np.asarray(wall_times, dtype=np.float64).ravel()
                v = np.asarray(values, dtype=np.float64).ravel()
            if not (s.shape == w.shape == v.shape):
                raise ValueError("steps, wall_times and values must have the same length")
            if s.shape[0]:
                items.append((tag, s, w, v, ordered is not None and ordered[i]))
        if not items:
            return
        with self._lock:
            r = self._runs.get(run)
            if r is None:
                raise KeyError(f"unknown run {run!r}: call ensure_run first")
            for tag, s, w, v, known in items:
                buf = r.tags.get(tag)
                if buf is None:
                    buf = r.tags[tag] = TagBuffer(self.max_points, 0 if adopt else capacity(s.shape[0]))
                last = buf.last_step()
                if known or s.shape[0] == 1 or (s[1:] >= s[:-1]).all():
                    if last is None and adopt:
                        buf.adopt(s, w, v)
                        continue
                    if last is None or s[0] >= last:  # no restart: the common case
                        buf.extend(s, w, v)
                        continue
                # Split the batch wherever the step goes back (rare: a restart).
                cuts = np.flatnonzero(s[1:] < s[:-1]) + 1
                start = 0
                for end in [*cuts.tolist(), s.shape[0]]:
                    last = buf.last_step()
                    if last is not None and s[start] < last:
                        dropped = buf.purge_from(int(s[start]))
                        r.restarts.append(Restart(tag, int(s[start]), float(w[start]), dropped))
                    buf.extend(s[start:end], w[start:end], v[start:end])
                    start = end
            self._bump(r)

    def _adopt_new(self, run: str, batch: Iterable[tuple[str, object, object, object]],
                   ordered: Sequence[bool]) -> list[tuple[str, object, object, object]]:
        """The fast path of :meth:`append_many` for a run's new tags whose steps are in order
        (the first read of a run): their arrays are taken as they are. The rest is returned.

        Items known to be in order come from the fast path (or its replay from a forked
        reader): 1-D contiguous int64, float64, float64 arrays of one non-zero length. That is
        checked for the batch's first such item only: for thousands of runs' first reads,
        checking each item cost as much as adopting it."""
        rest: list[tuple[str, object, object, object]] = []
        adopted = TagBuffer.adopted
        with self._lock:
            r = self._runs.get(run)
            if r is None:
                raise KeyError(f"unknown run {run!r}: call ensure_run first")
            tags, mp = r.tags, self.max_points
            checked = False
            for item, known in zip(batch, ordered, strict=True):
                tag, s, w, v = item
                if known and tag not in tags:
                    if not checked:
                        _check_adoptable(s, w, v)
                        checked = True
                    tags[tag] = adopted(mp, s, w, v)  # type: ignore[arg-type]
                else:
                    rest.append(item)
            if len(rest) < len(ordered):
                self._bump(r)
        return rest

    def set_text(self, run: str, tag: str, step: int, wall_time: float, text: str) -> None:
        """Keep the latest text summary of a tag (e.g. hyperparameters)."""
        with self._lock:
            r = self._runs[run]
            r.texts[tag] = Text(int(step), float(wall_time), text)
            self._bump(r)

    def set_file_version(self, run: str, file_version: str) -> None:
        with self._lock:
            r = self._runs[run]
            if r.file_version != file_version:
                r.file_version = file_version
                self._bump(r)

    def set_files(self, run: str, files: tuple[str, ...]) -> None:
        """The run's event files as its directory was last listed (the writer evidence reads
        their names; no data changes, so the run's version stays)."""
        with self._lock:
            self._runs[run].files = files

    def set_last_write(self, run: str, mtime: float) -> None:
        with self._lock:
            r = self._runs[run]
            if r.last_write is None or mtime > r.last_write:
                r.last_write = mtime
                self._bump(r)

    def set_problem(self, run: str, key: str, message: str | None) -> None:
        """Record (or with None, clear) a problem of a run in words only (kind ``other``)."""
        self.set_problems(run, key, [] if message is None else [Problem(ProblemKind.OTHER, key, message)])

    def set_problems(self, run: str, key: str, problems: Sequence[Problem]) -> None:
        """Replace the problems of a run recorded under ``key`` (a file or directory path);
        an empty sequence clears them."""
        new = tuple(p if p.run == run else replace(p, run=run) for p in problems)
        with self._lock:
            r = self._runs[run]
            if new == r.problems.get(key, ()):
                return
            if new:
                r.problems[key] = new
            else:
                del r.problems[key]
            self._bump(r)

    def set_logdir_problems(self, problems: Sequence[Problem]) -> None:
        """Replace the problems that belong to no run (e.g. directories that can't be listed)."""
        new = tuple(problems)
        with self._lock:
            if new != self._logdir_problems:
                self._logdir_problems = new
                self._version += 1

    def problems(self) -> list[Problem]:
        """Every problem: first those that belong to no run, then each run's, by run name."""
        with self._lock:
            out = list(self._logdir_problems)
            for name in sorted(self._runs):
                for ps in self._runs[name].problems.values():
                    out.extend(ps)
            return out

    # ---- reading (any thread) -------------------------------------------------------------
    @property
    def version(self) -> int:
        """Increases whenever anything changes."""
        return self._version

    def runs(self) -> list[str]:
        with self._lock:
            return sorted(self._runs)

    def __contains__(self, run: str) -> bool:
        return run in self._runs

    def __len__(self) -> int:
        return len(self._runs)

    def run_version(self, run: str) -> int:
        r = self._runs.get(run)
        return r.version if r is not None else -1

    def versions(self) -> dict[str, int]:
        with self._lock:
            return {name: r.version for name, r in self._runs.items()}

    def path(self, run: str) -> str:
        return self._runs[run].path

    def tags(self, run: str) -> list[str]:
        with self._lock:
            return sorted(self._runs[run].tags)

    def series(self, run: str, tag: str) -> Series:
        with self._lock:
            r = self._runs.get(run)
            buf = r.tags.get(tag) if r is not None else None
            return buf.view() if buf is not None else EMPTY_SERIES

    def snapshot(self, run: str) -> RunSnapshot:
        with self._lock:
            r = self._runs[run]
            series, points, steps_end, walls_end = TagBuffer.views(r.tags)
            snap = RunSnapshot(
                name=r.name,
                path=r.path,
                version=r.version,
                series=series,
                texts=dict(r.texts),
                restarts=tuple(r.restarts),
                problems={k: "; ".join(p.message for p in ps) for k, ps in r.problems.items()} if r.problems else {},
                problem_items=tuple(p for ps in r.problems.values() for p in ps) if r.problems else (),
                file_version=r.file_version,
                last_write=r.last_write,
                files=r.files,
                points=points,
            )
        # Its last step and wall time, known from the same loop: set as the cached properties
        # would find them (`_newest` of the same ends, in the same order).
        d = snap.__dict__
        d["last_step"], d["last_wall_time"] = _newest(steps_end), _newest(walls_end)
        return snap

    def ends(self, runs: Iterable[str]) -> Iterator[RunEnds]:
        """What a listing needs of each of these runs (`RunEnds`), one at a time: their tags'
        point counts and last points, read from the buffers directly (no views, no snapshot).

        Raises:
            KeyError: a run the store doesn't have (when its turn comes).
        """
        lock, every, tag_ends = self._lock, self._runs, TagBuffer.ends
        for name in runs:
            with lock:
                r = every[name]
                ends = tag_ends(r.tags)
                texts, restarts = dict(r.texts), tuple(r.restarts)
                problems = tuple(p for ps in r.problems.values() for p in ps) if r.problems else ()
                path, version, file_version, last_write = r.path, r.version, r.file_version, r.last_write
            yield RunEnds(name, path, version, ends, texts, restarts, problems, file_version, last_write,
                          *_totals(ends))

    def snapshots(self) -> list[RunSnapshot]:
        return [self.snapshot(name) for name in self.runs()]


def _check_adoptable(s: object, w: object, v: object) -> None:
    """Raises ValueError unless ``s, w, v`` are what :meth:`Store._adopt_new` takes as they are:
    1-D contiguous int64, float64, float64 arrays of one non-zero length (a caller's bug)."""
    if not (isinstance(s, np.ndarray) and isinstance(w, np.ndarray) and isinstance(v, np.ndarray)
            and s.dtype == np.int64 and w.dtype == np.float64 and v.dtype == np.float64
            and s.ndim == w.ndim == v.ndim == 1 and s.flags.c_contiguous and w.flags.c_contiguous
            and v.flags.c_contiguous and 0 < s.shape[0] == w.shape[0] == v.shape[0]):
        raise ValueError("points handed over in order must be 1-D contiguous int64/float64 arrays of one length")
