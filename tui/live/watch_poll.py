"""Watching by polling: ``os.stat`` of the known event files on a timer.

Cheap for thousands of files: every ``interval`` seconds the known event files are stat'ed;
the known directories less often (a directory's mtime changes when an entry is added or
removed, so only changed directories are listed); a full walk more rarely still, as a safety
net for file systems with coarse or cached mtimes (NFS). Used when asked for (``--poll``) and
when native notifications can't start or run out of watches.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from tui.live.watch_base import EVENT_MARK as _EVENT_MARK
from tui.live.watch_base import OnChange, WatcherBase

DirSigs = dict[str, tuple[int, int]]  # path -> (inode, mtime_ns)
FileSigs = dict[str, tuple[int, int, int]]  # path -> (inode, size, mtime_ns)
FULL_WALK_EVERY = 10  # directory checks between full walks


class _Tree:
    """What polling knows about the files under the logdirs: stat signatures, by path."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = roots
        self.dirs: DirSigs = {}
        self.files: FileSigs = {}

    def walk(self, top: str, dirs: DirSigs, files: FileSigs) -> None:
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

    def full_walk(self) -> tuple[DirSigs, FileSigs]:
        dirs: DirSigs = {}
        files: FileSigs = {}
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
        changed += [root for root in self.roots  # a logdir appeared
                    if root not in self.dirs and os.path.isdir(root)]
        for path in changed:
            if path not in self.dirs and not os.path.isdir(path):
                continue
            dirs: DirSigs = {}
            files: FileSigs = {}
            self.walk_one(path, dirs, files)
            rescan |= self._merge(dirs, files, dirty, under=path, recursive=False)
        return rescan

    def walk_one(self, d: str, dirs: DirSigs, files: FileSigs) -> None:
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

    def _merge(self, dirs: DirSigs, files: FileSigs, dirty: set[str], under: str | None, recursive: bool) -> bool:
        """Fold a (partial) walk into what we know; returns True if the set of paths changed."""
        rescan = False
        for path, fsig in files.items():
            old = self.files.get(path)
            if old is None:
                rescan = True
                dirty.add(path)
            elif old != fsig:
                dirty.add(path)
            self.files[path] = fsig
        for path, dsig in dirs.items():
            if path not in self.dirs:
                rescan = True
            self.dirs[path] = dsig
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
        self._tree = _Tree(self.paths)
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
