"""Runs beside each other (the directories of one experiment): a run's siblings, and how far its
seed siblings got, for thousands of runs in one directory without looking at every pair.

A sweep often writes every run into one directory (CleanRL's ``runs/<name>``): a list of
siblings per run is then quadratic (3 000 runs: 9 million entries), and so is comparing each
ended run's last step with every sibling's. `Others` is a run's siblings as a view of its group;
`peer_ends` finds, for every run of a group at once, the median last step of the others with the
same tags (sorting the group once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

from tui.store import RunSnapshot

MAX_SIBLINGS = 8
"""A run has at most this many siblings: a directory of more runs is a flat logdir of many
experiments (CleanRL's ``runs/<name>``), not one experiment's seeds, and its runs are judged
alone. The one rule for every command and the app."""


def experiment_size_ok(n: int) -> bool:
    """Whether ``n`` runs in one directory can be one experiment's runs (each other's siblings)."""
    return n <= MAX_SIBLINGS + 1


def parent_of(snap: RunSnapshot) -> str:
    return os.path.dirname(os.path.normpath(snap.path))


class Others(Sequence[RunSnapshot]):
    """The runs of a group but one (a run's siblings), without copying the group."""

    def __init__(self, group: Sequence[RunSnapshot], skip: int) -> None:
        self._group, self._skip = group, skip

    def __len__(self) -> int:
        return len(self._group) - 1

    @overload
    def __getitem__(self, i: int) -> RunSnapshot: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[RunSnapshot]: ...

    def __getitem__(self, i: int | slice) -> RunSnapshot | Sequence[RunSnapshot]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._group[i + 1 if i >= self._skip else i]

    def __iter__(self) -> Iterator[RunSnapshot]:
        for j, r in enumerate(self._group):
            if j != self._skip:
                yield r


def groups(snaps: Sequence[RunSnapshot]) -> list[list[int]]:
    """Indices of the runs in each parent directory (each run of a directory too full to be one
    experiment alone: `experiment_size_ok`)."""
    by_parent: dict[str, list[int]] = {}
    for i, s in enumerate(snaps):
        by_parent.setdefault(parent_of(s), []).append(i)
    out: list[list[int]] = []
    for idx in by_parent.values():
        out.extend([idx] if experiment_size_ok(len(idx)) else [[i] for i in idx])
    return out


PeerEnds = tuple[int, float]  # (how many siblings with the same tags have a last step, their median last step)


def peer_ends(group: Sequence[RunSnapshot]) -> list[PeerEnds | None]:
    """For each run of a group (runs beside each other, names unique): how many of the others
    have the same tags and a last step, and the median of those last steps (None: none).

    The same number as the median of the others' last steps taken run by run: the group's
    last steps are sorted once, and each run's median is read off them with its own left out.
    """
    by_tags: dict[frozenset[str], list[int]] = {}
    for i, s in enumerate(group):
        if s.last_step is not None:
            by_tags.setdefault(frozenset(s.series), []).append(i)
    out: list[PeerEnds | None] = [None] * len(group)
    for idx in by_tags.values():
        m = len(idx) - 1  # the others
        if m < 1:
            continue
        ends = np.asarray([group[i].last_step for i in idx], dtype=np.float64)
        order = np.argsort(ends, kind="stable")
        srt = ends[order]
        pos = np.empty(len(idx), np.int64)
        pos[order] = np.arange(len(idx))
        k = m // 2
        for j, i in enumerate(idx):
            p = int(pos[j])  # the run's own place: the others' t-th smallest is srt[t] before it, srt[t + 1] after
            hi = srt[k] if k < p else srt[k + 1]
            if m % 2:
                out[i] = (m, float(hi))
            else:
                lo = srt[k - 1] if k - 1 < p else srt[k]
                out[i] = (m, float(0.5 * (lo + hi)))
    return out
