"""The first read of many runs on two cores: about half of the runs read in a forked child.

The child reads its runs' files exactly as the parent would (the same code), but into a
:class:`Recorder` instead of the store: it sends back what it would have told the store (the
points packed into three arrays), and its readers' and decoders' states. The parent reads
the other half meanwhile, then replays the child's calls into the store and takes over the
states, as if it had read those files itself. A child that fails changes nothing in the
parent: the parent then reads that half itself (:mod:`tui.ingest.forked`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from tui.ingest import forked
from tui.ingest.chunk import TagPoints
from tui.ingest.events import RunDecoder
from tui.ingest.reader import FileReader

PARALLEL_FILES = 256  # files: fewer are read in one process (a fork costs more than it saves)
_NOT_STATE = frozenset({"source", "decoder", "tags"})  # a reader's links, not its state


class _Run(Protocol):
    decoder: RunDecoder
    gone: bool


class Recorder:
    """Stands in for the store in the child: records every call, points packed for the pipe."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._s: list[np.ndarray] = []
        self._w: list[np.ndarray] = []
        self._v: list[np.ndarray] = []

    def append_many(self, run: str, batch: Sequence[tuple[str, object, object, object]],
                    adopt: bool = False, ordered: Sequence[bool] | None = None) -> None:
        items = []
        for tag, s, w, v in batch:
            sa = np.asarray(s, np.int64).ravel()
            self._s.append(sa)
            self._w.append(np.asarray(w, np.float64).ravel())
            self._v.append(np.asarray(v, np.float64).ravel())
            items.append((tag, sa.shape[0]))
        self.calls.append(("append_many", (run, items, adopt, None if ordered is None else list(ordered)), {}))

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))
        return record

    def packed(self) -> tuple[list[tuple[str, tuple[Any, ...], dict[str, Any]]], np.ndarray, np.ndarray, np.ndarray]:
        def cat(parts: list[np.ndarray], dt: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dt)
        return self.calls, cat(self._s, np.int64), cat(self._w, np.float64), cat(self._v, np.float64)


def replay(store: Any, calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]], steps: np.ndarray,
           walls: np.ndarray, values: np.ndarray) -> None:
    """Make the recorded calls on the real store (points as views of the packed arrays)."""
    pos = 0
    for name, args, kwargs in calls:
        if name == "append_many":
            run, items, adopt, ordered = args
            batch = []
            for tag, n in items:
                e = pos + n
                batch.append(TagPoints(tag, steps[pos:e], walls[pos:e], values[pos:e]))
                pos = e
            store.append_many(run, batch, adopt=adopt, ordered=ordered)
        else:
            getattr(store, name)(*args, **kwargs)


def _reader_state(fr: FileReader) -> dict[str, Any]:
    return {k: v for k, v in vars(fr).items() if k not in _NOT_STATE}


def read_split(ing: Any, targets: list[FileReader], runs: Mapping[str, _Run],
               read: Callable[[list[FileReader]], set[str]]) -> set[str]:
    """``read(targets)`` with the files of the last runs (55 % of the files) read by a child.

    Args:
        ing: the ingestor (its ``store`` attribute is swapped for a recorder in the child).
        targets: the files, a run's files together, in reading order.
        runs: the ingestor's runs by name (their decoders and ``gone`` flags travel back).
        read: the ingestor's reading of a list of files into ``ing.store``.
    """
    cut = len(targets) * 9 // 20  # the child a little more: the parent replays its calls after
    while 0 < cut < len(targets) and targets[cut].run == targets[cut - 1].run:
        cut += 1  # a run's files stay together: its decoder reads them in order
    mine, theirs = targets[:cut], targets[cut:]
    if not mine or not theirs:
        return read(targets)
    names = list(dict.fromkeys(fr.run for fr in theirs))

    def child() -> tuple[Any, ...]:
        rec = Recorder()
        ing.store = rec
        changed = read(theirs)
        decoders = {n: (runs[n].decoder.plugins, runs[n].gone) for n in names}
        return rec.packed(), [_reader_state(fr) for fr in theirs], decoders, changed

    with forked.Forked(child) as worker:
        changed = read(mine)
        try:
            (calls, s, w, v), states, decoders, theirs_changed = worker.result()
        except forked.ChildFailed:
            return changed | read(theirs)
    replay(ing.store, calls, s, w, v)
    for fr, state in zip(theirs, states, strict=True):
        fr.__dict__.update(state)
    for n, (plugins, gone) in decoders.items():
        runs[n].decoder.plugins = plugins
        runs[n].gone = gone
    out: set[str] = changed | theirs_changed
    return out
