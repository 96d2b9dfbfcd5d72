"""The run notes a live session shows: read once at start, kept up to date by saves.

`tui.notes.NoteStore` is the state directory's copy; this is the session's cache of it, keyed
by run path (`tui.notes.run_key`), with the names of the noted runs cached until the notes or
the runs change (the overview asks for them on every redraw).
"""

from __future__ import annotations

from collections.abc import Mapping

from tui.notes import Note, run_key
from tui.store import Store


class RunNotes:
    """Notes by run path, for the runs of `store`.

    Attributes:
        version: moves whenever the notes change.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.notes: dict[str, Note] = {}
        self.version = 0
        self._noted: tuple[tuple[int, int], frozenset[str]] = ((-1, -1), frozenset())

    def loaded(self, notes: Mapping[str, Note]) -> None:
        """The notes read from the state directory (a note saved meanwhile is newer)."""
        self.notes = {**notes, **self.notes}
        self.version += 1

    def saved(self, note: Note) -> None:
        self.notes[note.run_path] = note
        self.version += 1

    def note_for(self, run: str) -> Note | None:
        """The run's note, or None (no note, an empty one, or not a run of the store)."""
        if run not in self.store:
            return None
        note = self.notes.get(run_key(self.store.path(run)))
        return None if note is None or note.empty else note

    def noted_runs(self) -> frozenset[str]:
        """Names of the runs with a (non-empty) note."""
        key = (self.version, len(self.store))
        if self._noted[0] != key:
            paths = {p for p, n in self.notes.items() if not n.empty}
            runs = frozenset(r for r in self.store.runs() if run_key(self.store.path(r)) in paths) if paths \
                else frozenset()
            self._noted = (key, runs)
        return self._noted[1]
