"""What the live session tells its user interface, named as facts.

The session emits these from its ingest thread (the Textual app wraps each in one message,
`tui.app.messages.LiveUpdate`, which is thread-safe to post) and takes them back on the UI
thread with `tui.live.session.LiveSession.receive`. They carry names and versions, never data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RunsChanged:
    """Runs were judged anew (new points, a file problem, or the clock moved their verdicts).

    The one way to say "these runs changed". Which runs is kept by the session until the UI
    thread takes them (`LiveSession.receive`), so the event carries complete state: a newer
    one may replace a queued older one without losing a run.

    Attributes:
        store_version: the store's version when the runs were judged.
    """

    store_version: int


@dataclass(frozen=True)
class IngestProblem:
    """Something the person should know about reading the logdirs (shown as a notice)."""

    text: str
    severity: Literal["warning", "error"] = "warning"


@dataclass(frozen=True)
class WatchModeChanged:
    """The watcher runs in `mode` ("inotify" | "polling"); `reason` says why it fell back."""

    mode: str
    reason: str | None


LiveEvent = RunsChanged | IngestProblem | WatchModeChanged
