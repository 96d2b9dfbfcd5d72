"""Messages of the app, named as facts. They carry versions and names, never the data."""

from __future__ import annotations

from collections.abc import Mapping

from textual.message import Message

from tui.live.events import LiveEvent, RunsChanged
from tui.live.session import ReviewResult
from tui.notes import Note


class LiveUpdate(Message):
    """The live session said something (`tui.live.events`); posted from its ingest thread,
    handed back to `LiveSession.receive` on the UI thread.

    A `RunsChanged` carries complete state (the session keeps which runs changed), so a newer
    one may replace a queued older one.
    """

    def __init__(self, event: LiveEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (isinstance(message, LiveUpdate) and isinstance(message.event, RunsChanged)
                and isinstance(self.event, RunsChanged))


class ReviewBuilt(Message):
    """The review worker finished: a frozen `Review`, or the error that stopped it."""

    def __init__(self, result: ReviewResult) -> None:
        super().__init__()
        self.result = result


class NotesLoaded(Message):
    """The run notes were read from the state directory: run path -> `tui.notes.Note`."""

    def __init__(self, notes: Mapping[str, Note]) -> None:
        super().__init__()
        self.notes = notes
