"""Notice when event files change: inotify (via watchdog) with a polling fallback.

The watcher only *marks files dirty*; it never reads them. It calls
``on_change(dirty_event_files, rescan_needed)`` from its own thread, coalescing bursts of
file-system events into one call, and the caller (the app's ingest worker, a benchmark…)
decides what to read.

- ``dirty_event_files``: absolute paths (``os.path.abspath`` of the given logdir joined with
  the relative path, symlinks not resolved) of event files (``*tfevents*``) that grew or were
  created.
- ``rescan_needed``: directories or event files appeared, vanished or moved, a watched logdir
  appeared or vanished, or events may have been missed (the switch to polling): re-discover runs.

Two modes:

- ``"inotify"``: the platform's native notifications (inotify on Linux) through watchdog.
  Changes are reported within tens of milliseconds.
- ``"polling"``: ``os.stat`` of the known event files every ``poll_interval`` seconds (cheap for
  thousands of files), of the known directories less often (a directory's mtime changes when an
  entry is added or removed, so only changed directories are listed), and a full walk more
  rarely still, as a safety net for file systems with coarse or cached mtimes (NFS).

The watcher falls back to polling by itself when native notifications can't start (no
inotify, the instance limit ``EMFILE``, the watch limit ``ENOSPC``) or when the watch limit is
hit later, as new run directories appear (watchdog skips such directories silently, so the
watcher counts its process's inotify watches against the directories it should watch). The
reason, with what to do about it, is in :attr:`Watcher.fallback_reason`.

Start the watcher *before* the first full read of the logdirs: every change after
:meth:`Watcher.start` returns is reported, so nothing written in between is lost.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from typing import Any, Callable

log = logging.getLogger(__name__)

OnChange = Callable[[set[str], bool], None]

DEFAULT_FALLBACK_POLL_INTERVAL = 1.0  # seconds, when inotify is not available
_DEBOUNCE = 0.03  # seconds to gather a burst of events (one flush = several writes)
_MAINTENANCE = 1.0  # seconds between checks of missing logdirs and the watch count
_EVENT_MARK = "tfevents"


def is_event_file(path: str) -> bool:
    """TensorBoard's rule: an event file's name contains ``tfevents``."""
    return _EVENT_MARK in os.path.basename(path)


# ---- polling ---------------------------------------------------------------------------------
class _Tree:
    """What polling knows about the files under the logdirs: stat signatures, by path."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots
        self.dirs: dict[str, tuple[int, int]] = {}  # path -> (inode, mtime_ns)
        self.files: dict[str, tuple[int, int, int]] = {}  # path -> (inode, size, mtime_ns)

    def walk(self, top: str, dirs: dict, files: dict) -> None:
        """Record every directory and event file under `top` (symlinked dirs not followed)."""
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
                with os.scandir(d) as it:
                    entries = list(it)
            except (FileNotFoundError, NotADirectoryError):
                continue  # vanished while walking: the next walk sees the new state
            except PermissionError:
                # Unreadable directory: discovery reports it to the person; nothing to watch.
                continue
            dirs[d] = (st.st_ino, st.st_mtime_ns)
            for e in entries:
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif _EVENT_MARK in e.name:
                        s = e.stat()
                        files[e.path] = (s.st_ino, s.st_size, s.st_mtime_ns)
                except FileNotFoundError:
                    continue

    def full_walk(self) -> tuple[dict, dict]:
        dirs: dict[str, tuple[int, int]] = {}
        files: dict[str, tuple[int, int, int]] = {}
        for root in self.roots:
            self.walk(root, dirs, files)
        return dirs, files

    def baseline(self) -> None:
        self.dirs, self.files = self.full_walk()

    def check_files(self, dirty: set[str]) -> bool:
        """Stat every known event file; returns True if one vanished."""
        rescan = False
        for path, sig in list(self.files.items()):
            try:
                s = os.stat(path)
            except FileNotFoundError:
                del self.files[path]
                rescan = True
                continue
            new = (s.st_ino, s.st_size, s.st_mtime_ns)
            if new != sig:
                self.files[path] = new
                if new[0] != sig[0]:
                    rescan = True  # replaced by another file of the same name
                dirty.add(path)
        return rescan

    def check_dirs(self, dirty: set[str]) -> bool:
        """Stat every known directory (and the roots); list only those that changed."""
        rescan = False
        changed: list[str] = []
        for path, sig in list(self.dirs.items()):
            try:
                s = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                self._forget_dir(path)
                rescan = True
                continue
            if (s.st_ino, s.st_mtime_ns) != sig:
                changed.append(path)
        for root in self.roots:
            if root not in self.dirs and os.path.isdir(root):
                changed.append(root)  # a logdir appeared
        for path in changed:
            if path not in self.dirs and not os.path.isdir(path):
                continue
            dirs: dict[str, tuple[int, int]] = {}
            files: dict[str, tuple[int, int, int]] = {}
            self.walk_one(path, dirs, files)
            rescan |= self._merge(dirs, files, dirty, under=path, recursive=False)
        return rescan

    def walk_one(self, d: str, dirs: dict, files: dict) -> None:
        """One directory's own entries; new subdirectories are walked in full."""
        try:
            st = os.stat(d)
            with os.scandir(d) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        dirs[d] = (st.st_ino, st.st_mtime_ns)
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.path in self.dirs:
                        dirs[e.path] = self.dirs[e.path]  # known: its own stat says if it changed
                    else:
                        self.walk(e.path, dirs, files)
                elif _EVENT_MARK in e.name:
                    s = e.stat()
                    files[e.path] = (s.st_ino, s.st_size, s.st_mtime_ns)
            except FileNotFoundError:
                continue

    def check_all(self, dirty: set[str]) -> bool:
        """A full walk: the safety net for changes that mtimes didn't show."""
        dirs, files = self.full_walk()
        return self._merge(dirs, files, dirty, under=None, recursive=True)

    def _merge(self, dirs: dict, files: dict, dirty: set[str], under: str | None, recursive: bool) -> bool:
        """Fold a (partial) walk into what we know; returns True if the set of paths changed."""
        rescan = False
        for path, sig in files.items():
            old = self.files.get(path)
            if old is None:
                rescan = True
                dirty.add(path)
            elif old != sig:
                dirty.add(path)
            self.files[path] = sig
        for path, sig in dirs.items():
            if path not in self.dirs:
                rescan = True
            self.dirs[path] = sig
        # Entries that the walk should have seen but didn't have vanished.
        if under is None:
            gone_files = [p for p in self.files if p not in files]
            gone_dirs = [p for p in self.dirs if p not in dirs]
        else:
            prefix = under.rstrip(os.sep) + os.sep
            direct = (lambda p: os.path.dirname(p) == under.rstrip(os.sep)) if not recursive else None
            gone_files = [p for p in self.files if p.startswith(prefix) and p not in files
                          and (direct is None or direct(p))]
            gone_dirs = [p for p in self.dirs if p.startswith(prefix) and p not in dirs
                         and (direct is None or direct(p))]
        for p in gone_files:
            self.files.pop(p, None)
            rescan = True
        for p in gone_dirs:
            self._forget_dir(p)
            rescan = True
        return rescan

    def _forget_dir(self, path: str) -> None:
        prefix = path.rstrip(os.sep) + os.sep
        self.dirs.pop(path, None)
        for p in [p for p in self.dirs if p.startswith(prefix)]:
            del self.dirs[p]
        for p in [p for p in self.files if p.startswith(prefix)]:
            del self.files[p]


# ---- inotify helpers -------------------------------------------------------------------------
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
        for _dirpath, dirnames, _ in os.walk(root):
            n += 1
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(_dirpath, d))]
    return n


def _sysctl(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"


def _limit_reason(err: OSError | None, interval: float) -> str:
    every = f"polling every {interval:g} s"
    if err is not None and err.errno == errno.EMFILE:
        return (f"inotify instance limit reached (fs.inotify.max_user_instances="
                f"{_sysctl('max_user_instances')}); {every}. Raise it with "
                "`sudo sysctl fs.inotify.max_user_instances=1024`")
    return (f"inotify watch limit reached (fs.inotify.max_user_watches={_sysctl('max_user_watches')}); "
            f"{every}. Raise it with `sudo sysctl fs.inotify.max_user_watches=524288`")


class _Handler:
    """watchdog event handler: classify, record, wake the dispatcher. Runs on watchdog's thread."""

    def __init__(self, watcher: "Watcher") -> None:
        self._w = watcher

    def dispatch(self, event: Any) -> None:
        kind = event.event_type
        src = os.fsdecode(event.src_path)
        if event.is_directory:
            if kind in ("created", "deleted", "moved"):
                self._w._mark((), rescan=True, dir_created=kind != "deleted")
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
            self._w._mark(dirty, rescan=rescan)


# ---- the watcher -----------------------------------------------------------------------------
class Watcher:
    """Watch logdirs recursively and report changed event files.

    Args:
        paths: logdir directories (need not exist yet; they are picked up when they appear).
        on_change: called as ``on_change(dirty_event_files, rescan_needed)`` from the
            watcher's thread, never concurrently with itself; changes that happen while it runs
            are delivered in the next call. An exception it raises is logged and watching goes on.
        poll_interval: poll every this many seconds instead of using inotify.
        rescan_interval: polling only: seconds between directory checks (default
            ``max(2 × poll_interval, 2)``); a full walk happens every 10 of them.
        observer_factory: makes the watchdog observer (tests inject failing ones).
        fallback_poll_interval: the polling interval used after a fallback.

    Attributes:
        mode: ``"inotify"`` (native notifications) or ``"polling"``.
        fallback_reason: why native notifications are not used, or None. Set when polling was
            not asked for; it can change while running (read it in ``on_change``).
    """

    def __init__(
        self,
        paths: list[str],
        on_change: OnChange,
        poll_interval: float | None = None,
        *,
        rescan_interval: float | None = None,
        observer_factory: Callable[[], Any] | None = None,
        fallback_poll_interval: float = DEFAULT_FALLBACK_POLL_INTERVAL,
    ) -> None:
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(f"poll interval must be a positive number of seconds, not {poll_interval!r}")
        if rescan_interval is not None and not rescan_interval > 0:
            raise ValueError(f"rescan interval must be positive, not {rescan_interval!r}")
        self.paths = [os.path.abspath(os.path.expanduser(p)) for p in paths]
        self.on_change = on_change
        self.poll_interval = poll_interval
        self._rescan_interval = rescan_interval
        self._observer_factory = observer_factory
        self._fallback_interval = fallback_poll_interval
        self.mode: str = "polling" if poll_interval is not None else "inotify"
        self.fallback_reason: str | None = None
        self.errors = 0  # on_change calls that raised

        self._cond = threading.Condition()
        self._dirty: set[str] = set()
        self._rescan = False
        self._dir_created = False
        self._stopping = False
        self._started = False
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._watches: dict[str, Any] = {}  # root -> watchdog ObservedWatch
        self._missing: set[str] = set()
        self._tree: _Tree | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (returns once watching is in place). A second call does nothing."""
        with self._cond:
            if self._started:
                if self._stopping:
                    raise RuntimeError("a stopped Watcher cannot be restarted: make a new one")
                return
            self._started = True
        if self.mode == "inotify":
            self._start_inotify()
        if self.mode == "polling":
            self._start_polling()
        self._thread = threading.Thread(target=self._run, name="tbpeek-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and join the threads. Idempotent; safe to call from ``on_change``."""
        with self._cond:
            self._stopping = True
            self._started = True  # a never-started watcher can't start after stop either
            self._cond.notify_all()
        self._stop_observer()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join()

    def __enter__(self) -> "Watcher":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def interval(self) -> float:
        """The polling interval in use (polling mode)."""
        return self.poll_interval if self.poll_interval is not None else self._fallback_interval

    # ---- inotify -------------------------------------------------------------------------
    def _start_inotify(self) -> None:
        try:
            if self._observer_factory is not None:
                observer = self._observer_factory()
            else:
                from watchdog.observers import Observer

                observer = Observer()
        except (ImportError, OSError) as e:
            self._fall_back(f"native file notifications unavailable ({e}); "
                            f"polling every {self._fallback_interval:g} s", announce=False)
            return
        if type(observer).__name__ == "PollingObserver":
            self._fall_back("no native file notifications on this platform; "
                            f"polling every {self._fallback_interval:g} s", announce=False)
            return
        self._observer = observer
        try:
            for root in self.paths:
                if os.path.isdir(root):
                    self._schedule(root, observer)
                else:
                    self._missing.add(root)
            observer.start()
        except OSError as e:
            self._stop_observer()
            if e.errno in (errno.ENOSPC, errno.EMFILE):
                reason = _limit_reason(e, self._fallback_interval)
            else:
                reason = f"inotify could not start ({e}); polling every {self._fallback_interval:g} s"
            self._fall_back(reason, announce=False)
            return
        if self._watch_limit_hit():
            self._stop_observer()
            self._fall_back(_limit_reason(None, self._fallback_interval), announce=False)

    def _schedule(self, root: str, obs: Any) -> None:
        from watchdog.events import (
            DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent,
            FileDeletedEvent, FileModifiedEvent, FileMovedEvent)

        # No open/access events: our own reads of the files must not wake us up.
        kinds = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
                 DirCreatedEvent, DirDeletedEvent, DirMovedEvent]
        self._watches[root] = obs.schedule(_Handler(self), root, recursive=True, event_filter=kinds)

    def _stop_observer(self) -> None:
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

    def _mark(self, paths, rescan: bool = False, dir_created: bool = False) -> None:
        with self._cond:
            self._dirty.update(paths)
            self._rescan |= rescan
            self._dir_created |= dir_created
            self._cond.notify()

    # ---- polling -------------------------------------------------------------------------
    def _start_polling(self) -> None:
        self._tree = _Tree(self.paths)
        self._tree.baseline()

    def _fall_back(self, reason: str, announce: bool = True) -> None:
        log.warning("tbpeek watcher: %s", reason)
        self.fallback_reason = reason
        self.mode = "polling"
        if announce:  # while running: switch now, and ask for a rescan (events may be lost)
            self._start_polling()
            self._mark((), rescan=True)

    # ---- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        next_maint = time.monotonic() + _MAINTENANCE
        tick = 0
        dir_every = self._rescan_interval or max(2 * self.interval, 2.0)
        next_dirs = time.monotonic() + dir_every
        while True:
            if self.mode == "polling":
                dir_every = self._rescan_interval or max(2 * self.interval, 2.0)
                with self._cond:
                    if not self._stopping and not (self._dirty or self._rescan):
                        self._cond.wait(self.interval)
                    if self._stopping:
                        return
                dirty: set[str] = set()
                tree = self._tree
                assert tree is not None
                rescan = tree.check_files(dirty)
                now = time.monotonic()
                if now >= next_dirs:
                    tick += 1
                    rescan |= tree.check_all(dirty) if tick % 10 == 0 else tree.check_dirs(dirty)
                    next_dirs = now + dir_every
                self._mark(dirty, rescan)
            else:
                with self._cond:
                    if not self._stopping and not (self._dirty or self._rescan):
                        self._cond.wait(max(0.0, next_maint - time.monotonic()))
                    if self._stopping:
                        return
                    burst = bool(self._dirty or self._rescan)
                if burst:
                    time.sleep(_DEBOUNCE)  # let the rest of the burst arrive
                if time.monotonic() >= next_maint:
                    self._maintain()
                    next_maint = time.monotonic() + _MAINTENANCE
            self._deliver()

    def _maintain(self) -> None:
        """inotify mode: pick up logdirs that appeared or vanished; watch for the watch limit."""
        obs = self._observer  # stop() may clear it meanwhile
        if obs is None:
            return
        for root in list(self._missing):
            if os.path.isdir(root):
                try:
                    self._schedule(root, obs)
                except OSError as e:
                    self._stop_observer()
                    self._fall_back(_limit_reason(e, self._fallback_interval)
                                    if e.errno in (errno.ENOSPC, errno.EMFILE)
                                    else f"inotify could not watch {root} ({e}); "
                                         f"polling every {self._fallback_interval:g} s")
                    return
                self._missing.discard(root)
                self._mark((), rescan=True, dir_created=True)
        for root, watch in list(self._watches.items()):
            if not os.path.isdir(root):
                try:
                    obs.unschedule(watch)
                except KeyError:
                    pass  # watchdog already dropped the watch of a deleted directory
                del self._watches[root]
                self._missing.add(root)
                self._mark((), rescan=True)
        with self._cond:
            check, self._dir_created = self._dir_created, False
        if check and self._watch_limit_hit():
            self._stop_observer()
            self._fall_back(_limit_reason(None, self._fallback_interval))

    def _deliver(self) -> None:
        with self._cond:
            dirty, rescan = self._dirty, self._rescan
            if not dirty and not rescan:
                return
            self._dirty, self._rescan = set(), False
        try:
            self.on_change(dirty, rescan)
        except Exception:  # noqa: BLE001 - the watcher must outlive a faulty callback; logged
            self.errors += 1
            log.exception("tbpeek watcher: on_change failed")
