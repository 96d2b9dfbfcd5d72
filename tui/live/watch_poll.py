"""Watching by polling: ``os.stat`` of the known event files on a timer.

Cheap for thousands of files: every ``interval`` seconds the known event files are stat'ed;
the known directories less often (a directory's mtime changes when an entry is added or
removed, so only changed directories are listed); a full walk more rarely still, as a safety
net for file systems with coarse or cached mtimes (NFS). Used when asked for (``--poll``) and
when native notifications can't start or run out of watches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from tui.ingest.tree import PollTrees
from tui.live.watch_base import OnChange, WatcherBase

FULL_WALK_EVERY = 10  # directory checks between full walks


class PollWatcher(WatcherBase):
    """Watch by polling.

    Args:
        paths: logdir directories (need not exist yet).
        on_change: see `WatcherBase`.
        interval: seconds between stats of the known event files.
        rescan_interval: seconds between directory checks (default ``max(2 × interval, 2)``);
            a full walk happens every `FULL_WALK_EVERY` of them.
    """

    mode = "polling"

    def __init__(self, paths: Iterable[str], on_change: OnChange, interval: float, *,
                 rescan_interval: float | None = None) -> None:
        if not interval > 0:
            raise ValueError(f"poll interval must be a positive number of seconds, not {interval!r}")
        if rescan_interval is not None and not rescan_interval > 0:
            raise ValueError(f"rescan interval must be positive, not {rescan_interval!r}")
        super().__init__(paths, on_change)
        self.interval = interval
        self.rescan_interval = rescan_interval or max(2 * interval, 2.0)
        self._tree = PollTrees(self.paths)  # the one directory-tree tracker (discovery and status use it too)
        self._checks = 0
        self._next_dirs = 0.0

    def _setup(self) -> None:
        self._tree.baseline()  # before start() returns: every later change is seen
        self._next_dirs = time.monotonic() + self.rescan_interval

    def _step(self) -> bool:
        if not self._wait(self.interval):
            return False
        dirty: set[str] = set()
        tree = self._tree
        rescan = tree.check_files(dirty)
        now = time.monotonic()
        if now >= self._next_dirs:
            self._checks += 1
            rescan |= tree.check_all(dirty) if self._checks % FULL_WALK_EVERY == 0 else tree.check_dirs(dirty)
            self._next_dirs = now + self.rescan_interval
        self.mark(dirty, rescan)
        return True
