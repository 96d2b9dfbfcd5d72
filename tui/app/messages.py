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
