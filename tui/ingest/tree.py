"""One directory-tree tracker: what is under a logdir, and what changed since the last look.

Discovery (which directories are runs), the watcher's polling (which event files grew) and the
status cache (did anything change?) all need the same thing, so it lives here once.

- On a local disk, a scan ``stat``s every known directory and lists only those whose
  signature (inode, mtime) changed, or that changed so recently that their mtime may not have
  ticked yet; new subdirectories are listed in full. A rescan of an unchanged tree costs one
  ``stat`` per directory. No recursion: any depth works.
- On an object store (a source with ``list_tree``, see :mod:`tui.ingest.sources`), a scan is
  one recursive, paginated listing of the whole prefix: directories are the keys' prefixes.

A directory that can't be listed (permissions, a failed remote listing) becomes a
:class:`TreeProblem` in :attr:`DirTree.problems`, cleared when it can be listed again. After a failed remote listing the tree keeps what it knew: a network blip does
not make runs vanish.
"""

from __future__ import annotations

import operator
import os
import stat as _stat
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

EVENT_MARK = "tfevents"
RACY = 2.0  # seconds: a directory changed this recently may change again within its mtime tick


def is_event_file_name(name: str) -> bool:
    """TensorBoard's rule: an event file's name contains ``tfevents``."""
    return EVENT_MARK in name


UNREADABLE_DIR = "unreadable-dir"  # a directory under a logdir can't be listed (tui.store.ProblemKind's value)
REMOTE = "remote"  # a remote listing failed (network, credentials, bucket)


class TreeProblem(NamedTuple):
    """A directory that can't be listed: the kind, where, and what is wrong in plain words."""

    kind: str  # UNREADABLE_DIR or REMOTE
    path: str
    message: str  # what is wrong (a remote message also says what to do)

    @property
    def advice(self) -> str:
        """The message with what it means and what to do, for a person."""
        if self.kind == UNREADABLE_DIR:
            return (f"{self.message}; runs inside it, if any, are not shown. Give your user read and execute "
                    "permission on it (chmod u+rx) or run tbpeek as a user who can")
        return f"{self.message} (the runs read before are kept)"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "message": self.advice}


class FileSig(NamedTuple):
    """What tells a grown or replaced file: size, mtime (ns) and identity (inode, device)."""

    size: int
    mtime_ns: int
    ident: tuple[int, ...] = ()


_entry_name = operator.attrgetter("name")
Part = tuple[str, str, bool]  # (directory, name, upper): one of two halves of a tree (DirTree.scan)
SPLIT_DEPTH = 4  # directories with a single subdirectory gone through to find where a tree splits


class DirNode:
    """One directory: its signature, its subdirectories and its matching files (full paths)."""

    def __init__(self, sig: tuple[int, int] | None) -> None:
        self.sig = sig  # (inode, mtime_ns); None on object stores
        self.subdirs: list[str] = []  # in name order
        self.files: dict[str, FileSig | None] = {}  # in name order; None: not stat'ed


class TreeChanges:
    """What a scan found different from the scan before."""

    def __init__(self) -> None:
        self.new_files: set[str] = set()
        self.changed_files: set[str] = set()  # grew, shrank or touched
        self.replaced_files: set[str] = set()  # another file under the same name
        self.gone_files: set[str] = set()
        self.new_dirs: set[str] = set()
        self.gone_dirs: set[str] = set()

    @property
    def dirty(self) -> set[str]:
        """Files with bytes to read: new or changed."""
        return self.new_files | self.changed_files

    @property
    def structure_changed(self) -> bool:
        """Files or directories appeared, vanished or were replaced: runs must be found again."""
        return bool(self.new_files or self.replaced_files or self.gone_files or self.new_dirs or self.gone_dirs)

    def __bool__(self) -> bool:
        return bool(self.structure_changed or self.changed_files)


class RemoteObject(NamedTuple):
    """One object of a recursive listing: its URL, size in bytes and mtime (epoch seconds)."""

    url: str
    size: int
    mtime: float


class TreeLister(Protocol):
    """A source that lists a whole prefix at once (object stores)."""

    def list_tree(self, root: str) -> list[RemoteObject]:
        """Every object under ``root``, with one recursive listing.

        Raises:
            RemoteError: the listing failed (its message says what to do).
        """
        ...


class DirTree:
    """The directories and matching files under one root, kept up to date by :meth:`scan`.

    Args:
        root: a normalized local directory or URL.
        lister: for an object store, the source that lists a whole prefix; None for a local disk.
        match: which file names are tracked (event files by default).
        stat_files: local disk only: also keep each file's :class:`FileSig` (what a poller
            needs to see a file grow; discovery doesn't need it and saves the ``stat``).
        follow_links: follow symlinked directories (links back up the tree are skipped).
        racy: relist a directory whose mtime is this recent (seconds).
        clock: the time now, as epoch seconds.
    """

    def __init__(self, root: str, lister: TreeLister | None = None, *,
                 match: Callable[[str], bool] = is_event_file_name, stat_files: bool = False,
                 follow_links: bool = True, racy: float = RACY, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.lister = lister
        self.match = match
        self.stat_files = stat_files
        self.follow_links = follow_links
        self.racy = racy
        self.clock = clock
        self.nodes: dict[str, DirNode] = {}
        self.problems: dict[str, TreeProblem] = {}  # directory -> why it can't be listed
        self._order: list[str] = []  # the directories of the last scan, parents first
        self.links: set[str] = set()  # the symlinked directories the last scan followed (real paths)

    # ---- queries -------------------------------------------------------------------------
    def walk(self) -> Iterator[tuple[str, DirNode]]:
        """Every known directory, parents before children, siblings in name order."""
        nodes = self.nodes
        for d in self._order:  # the last scan visited them in that order
            node = nodes.get(d)
            if node is not None:
                yield d, node

    def files(self) -> dict[str, FileSig | None]:
        """Every tracked file, by path."""
        out: dict[str, FileSig | None] = {}
        for node in self.nodes.values():
            out.update(node.files)
        return out

    # ---- scans ---------------------------------------------------------------------------
    def scan(self, full: bool = False, part: Part | None = None) -> TreeChanges:
        """Bring the tree up to date; what changed.

        Args:
            full: list every directory, not only those whose signature changed (a safety
                net for file systems with coarse or cached mtimes, such as NFS).
            part: local disk only, for a one-shot read in two processes (see
                :meth:`split_point`): ``(directory, name, upper)`` visits, of that directory's
                subdirectories, only those named at or after ``name`` (upper) or before it; the
                two parts of one split are disjoint and cover the tree (the directories above
                the split are visited by both). A later scan without a part forgets the
                directories this one left out, and lists them again.
        """
        if self.lister is not None:
            if part is not None:
                raise ValueError("a part of a scan is for a local disk")
            return self._scan_listing()
        return self._scan_local(full, part)

    def split_point(self, min_dirs: int) -> tuple[str, str] | None:
        """Local disk only: where the tree splits in two halves (for :meth:`scan`'s ``part``):
        the first directory from the root down with several subdirectories (through a few that
        hold a single real one, as in ``logs/sweep/<runs>``), and the name that halves them;
        None where that directory has fewer than ``min_dirs``."""
        if self.lister is not None:
            return None
        d = self.root
        for _ in range(SPLIT_DEPTH):
            try:
                with os.scandir(d) as it:
                    subs = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in it if e.is_dir())
            except OSError:
                return None
            if len(subs) == 1 and subs[0][1]:  # a real directory (a scan always goes into it)
                d = os.path.join(d, subs[0][0])
                continue
            return (d, subs[len(subs) // 2][0]) if len(subs) >= max(2, min_dirs) else None
        return None

    def check_files(self) -> TreeChanges:
        """``stat`` every tracked file (not the directories): which grew, were replaced or vanished.

        Cheap for thousands of files; only meaningful with ``stat_files`` on a local disk.
        """
        ch = TreeChanges()
        for node in self.nodes.values():
            for path, old in list(node.files.items()):
                try:
                    sig = _file_sig(path)
                except OSError:
                    del node.files[path]
                    ch.gone_files.add(path)
                    continue
                if sig != old:
                    node.files[path] = sig
                    if old is not None and sig.ident != old.ident:
                        ch.replaced_files.add(path)
                    ch.changed_files.add(path)
        return ch

    def _scan_local(self, full: bool, part: Part | None = None) -> TreeChanges:
        ch = TreeChanges()
        now, racy = self.clock(), self.racy
        nodes, problems = self.nodes, self.problems
        order: list[str] = []  # directories kept, parents first (depth-first, name order)
        visited: set[str] = set()  # every directory looked at, readable or not
        links: set[str] = set()
        root_prefix = self.root.rstrip(os.sep) + os.sep
        stack = [self.root]
        while stack:
            d = stack.pop()
            if d in visited:
                continue
            visited.add(d)
            try:
                st = os.stat(d)
            except (FileNotFoundError, NotADirectoryError):
                self._drop(d, ch)  # vanished (or never was)
                continue
            except OSError as e:
                self._drop(d, ch)
                self._unreadable(d, e)
                continue
            old = nodes.get(d)
            sig = (st.st_ino, st.st_mtime_ns)
            if full or old is None or old.sig != sig or now - st.st_mtime < racy:
                try:
                    if not _stat.S_ISDIR(st.st_mode):
                        raise NotADirectoryError(d)
                    node = self._list(d, sig, old, ch, links, root_prefix)
                except (FileNotFoundError, NotADirectoryError):
                    self._drop(d, ch)
                    continue
                except OSError as e:
                    self._drop(d, ch)
                    self._unreadable(d, e)
                    continue
                if problems:
                    problems.pop(d, None)
                nodes[d] = node
                if old is None:
                    ch.new_dirs.add(d)
            else:
                node = old
            order.append(d)
            if node.subdirs:
                subs = node.subdirs
                if part is not None and d == part[0]:
                    _, name, upper = part
                    subs = [s for s in subs if (os.path.basename(s) >= name) == upper]
                stack.extend(reversed(subs))
        if len(order) != len(nodes):
            for d in [d for d in nodes if d not in visited]:
                self._drop(d, ch)
        for d in [d for d in problems if d not in visited]:
            del problems[d]  # gone, or no longer under a readable directory
        self._order = order
        self.links = links
        return ch

    def _drop(self, d: str, ch: TreeChanges) -> None:
        self.problems.pop(d, None)
        node = self.nodes.pop(d, None)
        if node is not None:
            ch.gone_dirs.add(d)
            ch.gone_files.update(node.files)

    def _list(self, d: str, sig: tuple[int, int], old: DirNode | None, ch: TreeChanges, links: set[str],
              root_prefix: str) -> DirNode:
        with os.scandir(d) as it:
            entries = list(it)
        if len(entries) > 1:
            entries.sort(key=_entry_name)
        node = DirNode(sig)
        before = old.files if old is not None else {}
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    node.subdirs.append(e.path)
                elif e.is_symlink() and self.follow_links and e.is_dir():
                    real = os.path.realpath(e.path)
                    if real in links or root_prefix.startswith(real.rstrip(os.sep) + os.sep):
                        continue  # a link back up the tree (or seen already): don't loop
                    links.add(real)
                    node.subdirs.append(e.path)
                elif self.match(e.name):
                    fsig = None
                    if self.stat_files:
                        s = e.stat()
                        fsig = FileSig(s.st_size, s.st_mtime_ns, (s.st_ino, s.st_dev))
                    node.files[e.path] = fsig
            except OSError:
                continue  # vanished between listing and looking: the next scan decides
        if not before:
            ch.new_files.update(node.files)
            return node
        for path, fsig in node.files.items():
            prev = before.get(path, _ABSENT)
            if prev is _ABSENT:
                ch.new_files.add(path)
            elif fsig != prev:
                ch.changed_files.add(path)
                if isinstance(prev, FileSig) and fsig is not None and fsig.ident != prev.ident:
                    ch.replaced_files.add(path)
        ch.gone_files.update(p for p in before if p not in node.files)
        return node

    def _unreadable(self, d: str, e: OSError) -> None:
        self.problems[d] = TreeProblem(UNREADABLE_DIR, d, f"directory {d} cannot be read ({e.strerror or e})")

    def _scan_listing(self) -> TreeChanges:
        from tui.ingest.remote import RemoteError

        assert self.lister is not None
        try:
            objects = self.lister.list_tree(self.root)
        except RemoteError as e:
            self.problems[self.root] = TreeProblem(REMOTE, self.root, str(e))
            return TreeChanges()  # keep what we knew: the next poll tries again
        self.problems.pop(self.root, None)
        nodes: dict[str, DirNode] = {self.root: DirNode(None)}
        prefix = self.root.rstrip("/") + "/"
        for obj in sorted(objects, key=lambda o: o.url):
            if not obj.url.startswith(prefix):
                continue
            rel = obj.url[len(prefix):]
            parent, _, name = rel.rpartition("/")
            d = self.root
            if parent:
                for part in parent.split("/"):
                    sub = f"{d.rstrip('/')}/{part}"
                    if sub not in nodes:
                        nodes[sub] = DirNode(None)
                        nodes[d].subdirs.append(sub)
                    d = sub
            if name and self.match(name):
                nodes[d].files[obj.url] = FileSig(obj.size, int(obj.mtime * 1e9))
        for node in nodes.values():
            node.subdirs.sort()
        ch = TreeChanges()
        before = self.files()
        after: dict[str, FileSig | None] = {}
        for node in nodes.values():
            after.update(node.files)
        for path, fsig in after.items():
            prev = before.get(path, _ABSENT)
            if prev is _ABSENT:
                ch.new_files.add(path)
            elif prev != fsig:
                ch.changed_files.add(path)
        ch.gone_files.update(p for p in before if p not in after)
        ch.new_dirs.update(d for d in nodes if d not in self.nodes)
        ch.gone_dirs.update(d for d in self.nodes if d not in nodes)
        self.nodes = nodes
        order, stack = [], [self.root]
        while stack:
            d = stack.pop()
            order.append(d)
            stack.extend(reversed(nodes[d].subdirs))
        self._order = order
        return ch


_ABSENT = object()


def _file_sig(path: str) -> FileSig:
    s = os.stat(path)
    return FileSig(s.st_size, s.st_mtime_ns, (s.st_ino, s.st_dev))


class PollTrees:
    """The trees of several logdirs, with the polling watcher's interface.

    Each check adds the event files with new bytes to ``dirty`` and returns True when runs
    must be found again (files or directories appeared, vanished or were replaced). A logdir
    that doesn't exist yet is picked up when it appears.

    Args:
        roots: local logdir directories.
        follow_links: follow symlinked directories (discovery does; inotify doesn't).
    """

    def __init__(self, roots: list[str], *, follow_links: bool = False) -> None:
        self.roots = list(roots)
        self.trees = [DirTree(r, stat_files=True, follow_links=follow_links) for r in self.roots]

    @property
    def dirs(self) -> dict[str, tuple[int, int] | None]:
        """Every known directory and its signature."""
        return {d: n.sig for t in self.trees for d, n in t.nodes.items()}

    @property
    def files(self) -> dict[str, FileSig | None]:
        """Every known event file and its signature."""
        return {p: s for t in self.trees for p, s in t.files().items()}

    def baseline(self) -> None:
        """Learn the trees as they are now (nothing is reported)."""
        for t in self.trees:
            t.scan(full=True)

    @staticmethod
    def _fold(changes: list[TreeChanges], dirty: set[str]) -> bool:
        for ch in changes:
            dirty |= ch.dirty
        return any(ch.structure_changed for ch in changes)

    def check_files(self, dirty: set[str]) -> bool:
        """``stat`` every known event file (cheap: no directory is listed)."""
        return self._fold([t.check_files() for t in self.trees], dirty)

    def check_dirs(self, dirty: set[str]) -> bool:
        """``stat`` every known directory; list only those that changed."""
        return self._fold([t.scan() for t in self.trees], dirty)

    def check_all(self, dirty: set[str]) -> bool:
        """List every directory: the safety net for changes that mtimes didn't show (NFS)."""
        return self._fold([t.scan(full=True) for t in self.trees], dirty)
