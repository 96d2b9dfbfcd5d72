"""The overview's row order, kept between redraws: only the views that changed are placed again.

The judge replaces a run's `RunView` whole when it judges the run again and never edits one,
so a view that *is* the one sorted last time sorts where it did. With 30 of 3 000 runs writing,
a redraw removes those 30 and inserts them again by bisection instead of sorting 3 000 views
(30 000 views: a few ms instead of about 100 ms on every redraw). Pure: no Textual.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable

from tui.live.model import RunView, sort_key

RESORT_FRACTION = 8  # more than 1/8 of the views changed: one full sort is cheaper


class SortedViews:
    """Orders views by a sort key (`tui.live.model.sort_key`), remembering the last order.

    Attributes:
        full_sorts: how many times every view was sorted (the key changed, or many views).
        placed: how many views were placed by bisection.
    """

    def __init__(self) -> None:
        self._key: str | None = None
        self._views: dict[str, RunView] = {}
        self._order: list[RunView] = []
        self.full_sorts = 0
        self.placed = 0

    def order(self, views: Iterable[RunView], key: str) -> list[RunView]:
        """`views` sorted by `key` ("worst", "name", "age"): the same list `sorted` gives.

        Raises:
            ValueError: an unknown sort key.
        """
        keyf = sort_key(key)
        new = {v.name: v for v in views}
        old = self._views
        changed = [v for name, v in new.items() if old.get(name) is not v]
        gone = old.keys() - new.keys()
        if key != self._key or len(changed) + len(gone) > max(16, len(new) // RESORT_FRACTION):
            order = sorted(new.values(), key=keyf)
            self.full_sorts += 1
        else:
            moved = gone | {v.name for v in changed}
            order = [v for v in self._order if v.name not in moved] if moved else list(self._order)
            for v in changed:
                insort(order, v, key=keyf)
            self.placed += len(changed)
        self._key, self._views, self._order = key, new, order
        return list(order)
