"""What the person chose to see on the overview: the sort, the runs picked for overlays, the
seed groups folded, and each picked run's colour slot. Headless; `version` moves on every
change, so screens redraw when it does (the live data's own counter is the session's)."""

from __future__ import annotations

from tui.live.model import SORTS


class ViewState:
    """The overview's choices.

    Attributes:
        sort: one of `tui.live.model.SORTS`.
        selected: runs picked for overlays, in picking order (a dict used as an ordered set).
        fold_groups: runs that differ only by seed are shown as one row.
        version: moves on every change.
    """

    def __init__(self) -> None:
        self.sort = "worst"
        self.selected: dict[str, None] = {}
        self.fold_groups = False
        self.version = 0
        self._slots: dict[str, int] = {}  # run -> colour slot, stable for the session

    def set_sort(self, key: str) -> None:
        """Sort by `key` ("worst", "name", "age"); an unknown key is ignored."""
        if key in SORTS and key != self.sort:
            self.sort = key
            self.version += 1

    def next_sort(self) -> str:
        """Sort by the next key of `SORTS`; returns it."""
        self.set_sort(SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)])
        return self.sort

    def toggle_selected(self, run: str) -> bool:
        """Pick or unpick `run` for overlays; returns whether it is now picked."""
        self.version += 1
        if run in self.selected:
            del self.selected[run]
            return False
        self.selected[run] = None
        self.color_slot(run)
        return True

    def clear_selection(self) -> None:
        self.selected.clear()
        self.version += 1

    def toggle_fold(self) -> bool:
        """Fold or unfold seed groups; returns whether they are now folded."""
        self.fold_groups = not self.fold_groups
        self.version += 1
        return self.fold_groups

    def color_slot(self, run: str) -> int:
        """`run`'s colour slot in overlays: handed out in order of first use, never changed."""
        return self._slots.setdefault(run, len(self._slots))
