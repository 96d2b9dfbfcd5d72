"""Watching by native notifications: inotify on Linux (FSEvents, kqueue… elsewhere) through
watchdog. Changes are reported within tens of milliseconds.

The only module of the core that imports watchdog (an import-linter contract says so).

Native notifications can fail to start (no inotify, the instance limit ``EMFILE``, the watch
limit ``ENOSPC``): `InotifyWatcher.start` then raises `InotifyUnavailable` with the reason and
what to do about it. The watch limit can also be hit later, as new run directories appear;
watchdog skips such directories silently, so the watcher counts its process's inotify watches
against the directories it should watch, and hands the reason to ``on_limit`` (the
`tui.live.watcher.Watcher` then switches to polling). When the kernel's event queue overflows
(events lost; watchdog only logs it and re-adds its watches), the watcher asks for a rescan,
which reads every file: nothing written meanwhile is missed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from tui.live.watch_base import OnChange, WatcherBase, is_event_file, log

if TYPE_CHECKING:  # watchdog itself loads only when native notifications start
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers.api import BaseObserver, ObservedWatch

ObserverFactory = Callable[[], "BaseObserver"]  # makes the watchdog observer (tests: failing ones)

DEBOUNCE = 0.03  # seconds to gather a burst of events (one flush = several writes)
MAINTENANCE = 1.0  # seconds between checks of missing logdirs and the watch count
WATCHDOG_LOG = "watchdog.observers"  # watchdog's observers log a queue overflow here (inotify_c, inotify)


class InotifyUnavailable(Exception):
    """Native notifications can't be used here; `reason` says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- helpers ---------------------------------------------------------------------------------
def _inotify_watch_count() -> int | None:
    """How many inotify watches this process holds (Linux), or None if unknown."""
    if not sys.platform.startswith("linux"):
        return None
    total, found = 0, False
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as f:
                total += sum(1 for line in f if line.startswith("inotify wd:"))
            found = True
        except OSError:
            continue  # fd closed meanwhile (e.g. the listing's own fd)
    return total if found else None


def _count_dirs(roots: list[str]) -> int:
    n = 0
    for root in roots:
        for dirpath, dirnames, _ in os.walk(root):
            n += 1
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return n


def _sysctl(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"


def limit_reason(err: OSError | None, interval: float) -> str:
    """Which inotify limit was hit, and the command that raises it."""
    every = f"polling every {interval:g} s"
    if err is not None and err.errno == errno.EMFILE:
        return (f"inotify instance limit reached (fs.inotify.max_user_instances="
                f"{_sysctl('max_user_instances')}); {every}. Raise it with "
                "`sudo sysctl fs.inotify.max_user_instances=1024`")
    return (f"inotify watch limit reached (fs.inotify.max_user_watches={_sysctl('max_user_watches')}); "
            f"{every}. Raise it with `sudo sysctl fs.inotify.max_user_watches=524288`")


class _Handler:
    """watchdog event handler: classify, record, wake the watcher. Runs on watchdog's thread."""

    def __init__(self, watcher: InotifyWatcher) -> None:
        self._w = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        src = os.fsdecode(event.src_path)
        if event.is_directory:
            if kind in ("created", "deleted", "moved"):
                self._w.note_dirs(created=kind != "deleted")
            return
        dirty: list[str] = []
        rescan = False
        if kind in ("modified", "closed"):
            if is_event_file(src):
                dirty.append(src)
        elif kind == "created":
            if is_event_file(src):
                dirty.append(src)
                rescan = True
        elif kind == "deleted":
            rescan = is_event_file(src)
        elif kind == "moved":
            dest = os.fsdecode(event.dest_path)
            rescan = is_event_file(src) or is_event_file(dest)
            if is_event_file(dest):
                dirty.append(dest)
        if dirty or rescan:
            self._w.mark(dirty, rescan=rescan)


class _Overflow(logging.Handler):
    """Hears watchdog say that the kernel's inotify queue overflowed (events were lost: its only
    sign of it, a warning in its log), and asks the watcher for a rescan, so nothing is missed."""

    def __init__(self, watcher: InotifyWatcher) -> None:
        super().__init__(logging.WARNING)
        self._w = watcher

    def emit(self, record: logging.LogRecord) -> None:
        if "queue overflow" in str(record.msg).lower():
            self._w.overflowed()


class InotifyWatcher(WatcherBase):
    """Watch by native notifications.

    Args:
        paths: logdir directories (need not exist yet; they are watched when they appear).
        on_change: see `WatcherBase`.
        on_limit: called on the watcher's thread with the reason when the watch limit is hit
            while running (pending changes are delivered first; the watcher then stops).
            None: log it and go on watching what is watched.
        observer_factory: makes the watchdog observer (tests inject failing ones).
        fallback_interval: the polling interval named in the reasons ("polling every 1 s").
    """

    mode = "inotify"

    def __init__(self, paths: Iterable[str], on_change: OnChange, *,
                 on_limit: Callable[[str], None] | None = None,
                 observer_factory: ObserverFactory | None = None,
                 fallback_interval: float = 1.0) -> None:
        super().__init__(paths, on_change)
        self.on_limit = on_limit
        self._observer_factory = observer_factory
        self._fallback_interval = fallback_interval
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}  # root -> its watch
        self._missing: set[str] = set()
        self._dir_created = False
        self._next_maint = 0.0
        self._overflow = _Overflow(self)
        self.overflows = 0  # times the kernel's queue overflowed (each answered by a rescan)

    # ---- setting up ----------------------------------------------------------------------
    def _setup(self) -> None:
        """Raises `InotifyUnavailable` when native notifications can't be used."""
        every = f"polling every {self._fallback_interval:g} s"
        try:
            if self._observer_factory is not None:
                observer = self._observer_factory()
            else:
                from watchdog.observers import Observer

                observer = Observer()
        except (ImportError, OSError) as e:
            raise InotifyUnavailable(f"native file notifications unavailable ({e}); {every}") from e
        if type(observer).__name__ == "PollingObserver":
            raise InotifyUnavailable(f"no native file notifications on this platform; {every}")
        self._observer = observer
        logging.getLogger(WATCHDOG_LOG).addHandler(self._overflow)
        try:
            for root in self.paths:
                if os.path.isdir(root):
                    self._schedule(root, observer)
                else:
                    self._missing.add(root)
            observer.start()
        except RecursionError as e:  # watchdog walks the tree recursively: a very deep tree
            self._stop_observer()
            raise InotifyUnavailable(f"the logdir tree is too deep for native notifications; {every}") from e
        except OSError as e:
            self._stop_observer()
            if e.errno in (errno.ENOSPC, errno.EMFILE):
                raise InotifyUnavailable(limit_reason(e, self._fallback_interval)) from e
            raise InotifyUnavailable(f"inotify could not start ({e}); {every}") from e
        if self._watch_limit_hit():
            self._stop_observer()
            raise InotifyUnavailable(limit_reason(None, self._fallback_interval))
        self._next_maint = time.monotonic() + MAINTENANCE

    def _schedule(self, root: str, obs: BaseObserver) -> None:
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
        )

        # No open/access events: our own reads of the files must not wake us up.
        kinds = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
                 DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        handler = cast("FileSystemEventHandler", _Handler(self))  # watchdog only calls dispatch()
        self._watches[root] = obs.schedule(handler, root, recursive=True, event_filter=kinds)

    def _teardown(self) -> None:
        self._stop_observer()

    def _stop_observer(self) -> None:
        logging.getLogger(WATCHDOG_LOG).removeHandler(self._overflow)
        obs, self._observer = self._observer, None
        if obs is None:
            return
        try:
            obs.stop()
            if obs.is_alive() and obs is not threading.current_thread():
                obs.join()
        except RuntimeError:
            pass  # never started: nothing to join

    def _watch_limit_hit(self) -> bool:
        """True if this process holds fewer inotify watches than directories to watch.

        watchdog skips subdirectories it can't watch without a word, so count: a process
        holding fewer watches than there are directories under the logdirs has hit the limit.
        """
        count = _inotify_watch_count()
        if count is None:
            return False
        roots = [r for r in self.paths if os.path.isdir(r)]
        return count < _count_dirs(roots)

    def note_dirs(self, created: bool) -> None:
        """A directory appeared, vanished or moved (watchdog's thread): rescan; count watches."""
        with self._cond:
            self._dir_created |= created
        self.mark((), rescan=True)

    def overflowed(self) -> None:
        """The kernel dropped events (watchdog's thread): rescan and read every file, as after a
        directory change (watchdog re-adds the watches itself)."""
        with self._cond:
            self.overflows += 1
            self._dir_created = True
        log.warning("tbpeek watcher: the inotify queue overflowed; rescanning the logdirs")
        self.mark((), rescan=True)

    # ---- the thread ----------------------------------------------------------------------
    def _step(self) -> bool:
        if not self._wait(self._next_maint - time.monotonic()):
            return False
        if self._pending():
            time.sleep(DEBOUNCE)  # let the rest of the burst arrive
        if time.monotonic() >= self._next_maint:
            reason = self._maintain()
            self._next_maint = time.monotonic() + MAINTENANCE
            if reason is not None:
                return self._limit_hit(reason)
        return True

    def _limit_hit(self, reason: str) -> bool:
        if self.on_limit is None:
            log.warning("tbpeek watcher: %s", reason)
            return True
        self._stop_observer()
        self.deliver()  # what was seen before the limit, then the caller takes over
        self.on_limit(reason)
        self.stop()
        return False

    def _maintain(self) -> str | None:
        """Pick up logdirs that appeared or vanished; watch for the watch limit.

        Returns:
            None, or why native notifications can't go on.
        """
        obs = self._observer  # stop() may clear it meanwhile
        if obs is None:
            return None
        for root in list(self._missing):
            if os.path.isdir(root):
                try:
                    self._schedule(root, obs)
                except OSError as e:
                    if e.errno in (errno.ENOSPC, errno.EMFILE):
                        return limit_reason(e, self._fallback_interval)
                    return f"inotify could not watch {root} ({e}); polling every {self._fallback_interval:g} s"
                self._missing.discard(root)
                with self._cond:
                    self._dir_created = True
                self.mark((), rescan=True)
        for root, watch in list(self._watches.items()):
            if not os.path.isdir(root):
                with contextlib.suppress(KeyError):  # watchdog already dropped a deleted directory's watch
                    obs.unschedule(watch)
                del self._watches[root]
                self._missing.add(root)
                self.mark((), rescan=True)
        with self._cond:
            check, self._dir_created = self._dir_created, False
        if check and self._watch_limit_hit():
            return limit_reason(None, self._fallback_interval)
        return None
