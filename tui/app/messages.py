"""Messages of the app, named as facts. They carry versions and names, never the data."""

from __future__ import annotations

from textual.message import Message


class StoreChanged(Message):
    """The ingest worker appended to the store; views of `runs` were recomputed.

    Carries complete state (the store version), so a newer one may replace a queued older one.
    """

    def __init__(self, version: int, runs: tuple[str, ...] = (), new_runs: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.version = version
        self.runs = runs
        self.new_runs = new_runs

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged) and not message.new_runs and not self.new_runs


class IngestProblem(Message):
    """Something the person should know about reading the logdirs (shown as a notice)."""

    def __init__(self, text: str, severity: str = "warning") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class WatchModeChanged(Message):
    """The watcher runs in `mode` ("inotify"|"polling"); `reason` says why it fell back."""

    def __init__(self, mode: str, reason: str | None) -> None:
        super().__init__()
        self.mode = mode
        self.reason = reason


class ReviewBuilt(Message):
    """The review worker finished: `review` (a frozen `Review`, built off the UI thread and
    never changed after) or, when it could not be built, `error` (what failed and where)."""

    def __init__(self, review=None, error: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.error = error


class NotesLoaded(Message):
    """The run notes were read from the state directory: run path -> `tui.notes.Note`."""

    def __init__(self, notes: dict) -> None:
        super().__init__()
        self.notes = notes
