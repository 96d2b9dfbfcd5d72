"""What every watch strategy shares: the dirty set, the delivery thread, start and stop.

A strategy only *marks files dirty*; it never reads them. It calls
``on_change(dirty_event_files, rescan_needed)`` from its own thread, coalescing bursts of
changes into one call, and the caller (the live session's ingest loop, a benchmark…) decides
what to read.

- ``dirty_event_files``: absolute paths (``os.path.abspath`` of the given logdir joined with
  the relative path, symlinks not resolved) of event files (``*tfevents*``) that grew or were
  created.
- ``rescan_needed``: directories or event files appeared, vanished or moved, a watched logdir
  appeared or vanished, or events may have been missed: re-discover runs.

The strategies (as in toolong's ``WatcherBase`` / ``PollWatcher`` / ``SelectorWatcher``):
`tui.live.watch_inotify.InotifyWatcher` (native notifications through watchdog) and
`tui.live.watch_poll.PollWatcher` (``os.stat`` on a timer). `tui.live.watcher.Watcher` picks
one and falls back from the first to the second.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import ClassVar

log = logging.getLogger("tui.live.watcher")

OnChange = Callable[[set[str], bool], None]

EVENT_MARK = "tfevents"


def is_event_file(path: str) -> bool:
    """TensorBoard's rule: an event file's name contains ``tfevents``."""
    return EVENT_MARK in os.path.basename(path)


class WatcherBase(ABC):
    """One way of noticing changes under some logdirs.

    Args:
        paths: logdir directories (need not exist yet; they are picked up when they appear).
        on_change: called as ``on_change(dirty_event_files, rescan_needed)`` from the
            watcher's thread, never concurrently with itself; changes that happen while it runs
            are delivered in the next call. An exception it raises is logged and watching goes on.

    Attributes:
        mode: the strategy's name, shown to the person ("inotify", "polling").
        errors: how many ``on_change`` calls raised.
    """

    mode: ClassVar[str]

    def __init__(self, paths: Iterable[str], on_change: OnChange) -> None:
        self.paths = [os.path.abspath(os.path.expanduser(p)) for p in paths]
        self.on_change = on_change
        self.errors = 0
        self._cond = threading.Condition()
        self._dirty: set[str] = set()
        self._rescan = False
        self._stopping = False
        self._started = False
        self._thread: threading.Thread | None = None

    # ---- what a strategy implements ------------------------------------------------------
    @abstractmethod
    def _setup(self) -> None:
        """Put watching in place (on the caller's thread, before `start` returns)."""

    @abstractmethod
    def _step(self) -> bool:
        """Wait for (or look for) changes and `_mark` them; False once stopping."""

    def _teardown(self) -> None:  # noqa: B027 - optional: most strategies hold nothing to release
        """Release what `_setup` took (called by `stop`, on any thread)."""

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (returns once watching is in place). A second call does nothing."""
        with self._cond:
            if self._started:
                if self._stopping:
                    raise RuntimeError("a stopped watcher cannot be restarted: make a new one")
                return
            self._started = True
        self._setup()
        self._thread = threading.Thread(target=self._loop, name="tbpeek-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and join the thread. Idempotent; safe to call from ``on_change``."""
        with self._cond:
            self._stopping = True
            self._started = True  # a never-started watcher can't start after stop either
            self._cond.notify_all()
        self._teardown()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join()

    @property
    def running(self) -> bool:
        """The watcher's thread is alive."""
        t = self._thread
        return t is not None and t.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stopping

    # ---- the thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while self._step():
            self.deliver()

    def _wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` unless changes are pending; False once stopping."""
        with self._cond:
            if not self._stopping and not (self._dirty or self._rescan):
                self._cond.wait(max(0.0, timeout))
            return not self._stopping

    def _pending(self) -> bool:
        with self._cond:
            return bool(self._dirty or self._rescan)

    def mark(self, paths: Iterable[str] = (), rescan: bool = False) -> None:
        """Record dirty event files (any thread) and wake the watcher's thread."""
        with self._cond:
            self._dirty.update(paths)
            self._rescan |= rescan
            self._cond.notify()

    def deliver(self) -> None:
        """Hand what is pending to ``on_change`` (the watcher's thread)."""
        with self._cond:
            dirty, rescan = self._dirty, self._rescan
            if not dirty and not rescan:
                return
            self._dirty, self._rescan = set(), False
        try:
            self.on_change(dirty, rescan)
        except Exception:  # the watcher must outlive a faulty callback; logged
            self.errors += 1
            log.exception("tbpeek watcher: on_change failed")

    def __enter__(self) -> WatcherBase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
