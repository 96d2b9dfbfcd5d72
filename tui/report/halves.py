"""One-shot commands over a tree of many run directories, on two cores: the tree is split by
name (`tui.ingest.Ingestor.split_point`), this process does the lower half and a forked worker
the upper half, each scanning, reading and answering for its own runs (``ls``, ``check``).

The commands join the halves as one process would print them; where they can't (a worker that
failed, a link both halves followed), they read the whole tree in one process instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tui.ingest import forked
from tui.ingest.tree import TreeProblem

H = TypeVar("H")


def in_halves(half: Callable[[bool], H]) -> tuple[H, H] | None:
    """``half(False)`` here and ``half(True)`` (the upper half) in a forked worker, at once;
    both answers, or None when the worker gave none (it raised, crashed or was killed). An
    exception of this process's half propagates (the worker is killed and reaped)."""
    with forked.Forked(lambda: half(True)) as worker:
        mine = half(False)
        try:
            theirs = worker.result()
        except forked.ChildFailed:
            return None
    return mine, theirs


def merged_problems(mine: list[TreeProblem], theirs: list[TreeProblem]) -> list[TreeProblem]:
    """Both halves' unlistable directories, by path. A directory above the split that can't be
    listed was seen by both halves: once is what one process sees."""
    return list({p.path: p for p in sorted(mine + theirs, key=lambda p: p.path)}.values())
