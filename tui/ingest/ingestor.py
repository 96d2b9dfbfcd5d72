"""The ingest engine: logdirs → runs → event files → the store.

One writer: an :class:`Ingestor` is used from one thread (the app's ingest worker, or a
command that reads everything once through :func:`load`).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import cast

import numpy as np

from tui.ingest import fast, forked, memory, problems, split
from tui.ingest.chunk import TagTable
from tui.ingest.discovery import Discovery, LogdirSpec, is_event_file_name, parse_spec
from tui.ingest.events import RunDecoder
from tui.ingest.reader import CHUNK, Bytes, FileReader, FileState, Source
from tui.ingest.remote import RemoteError
from tui.ingest.sources import LOCAL
from tui.ingest.tfrecord import FOOTER
from tui.ingest.tree import UNREADABLE_DIR, TreeProblem
from tui.store import Problem, ProblemKind, Store
from tui.vocab import is_url

BATCH_FILE = CHUNK  # bytes: files with at most this much new data are read in batches
BATCH_BYTES = 3 << 20  # bytes per batch: the fast path's working set stays near the L2 cache (faster than 8 MiB)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused (and resumed after, if it ran before).

    Reading thousands of runs, and a command's work over them (judging, listing), makes
    millions of objects, none of them cyclic: the collector's passes over them would cost more
    than the reading itself (about 10 % of `tbpeek check` on a 3 000-run sweep). Reference
    counting still frees everything as usual.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class LogdirError(Exception):
    """A logdir doesn't exist or can't be read (the message says which and why)."""


class _Run:
    def __init__(self, name: str, path: str, source: Source) -> None:
        self.name = name
        self.path = path
        self.source = source
        self.decoder = RunDecoder()
        self.files: list[FileReader] = []  # in name order
        self.listed: tuple[str, ...] = ()  # its event files at the last rescan (what the store was told)
        self.gone = False


class Ingestor:
    """Reads the event files of some logdirs into a store, incrementally.

    Args:
        store: where points go.
        logdirs: paths, ``name:path`` specs or fsspec URLs.

    Raises:
        LogdirError: a logdir doesn't exist or can't be read.
    """

    _polled = True  # (an ingestor pickled by an older tbpeek, without the attribute: polled)

    def __init__(self, store: Store, logdirs: list[str]) -> None:
        if not logdirs:
            raise LogdirError("no logdir given")
        self.store = store
        specs: list[LogdirSpec] = []
        for spec in logdirs:
            try:
                s = parse_spec(spec)
            except RemoteError as e:  # unknown protocol, a missing package: the message says what to do
                raise LogdirError(str(e)) from None
            specs.append(s)
        self._disc = Discovery(specs)
        for s, src in zip(specs, self._disc.sources, strict=False):
            why = src.readable_dir(s.path)
            if why:
                raise LogdirError(why)
        self._runs: dict[str, _Run] = {}
        self._files: dict[str, FileReader] = {}
        self._dirs: dict[str, str] = {}  # run directory → run name
        self._tags = TagTable()  # every tag read, for grouping points by tag
        self._dir_problems: tuple[Problem, ...] = ()
        self._scanned = False
        self._polled = False  # the first poll of many files may use a second process

    # ---- discovery ---------------------------------------------------------------------------
    def split_point(self, min_dirs: int) -> tuple[str, str] | None:
        """For a one-shot read in two processes, of a single local logdir whose tree splits
        into at least ``min_dirs`` directories (`DirTree.split_point`): ``(directory, name)``
        (each process then scans and reads one half, ``rescan(part=(directory, name,
        upper))``); else None."""
        if len(self._disc.trees) != 1:
            return None
        return self._disc.trees[0].split_point(min_dirs)

    def followed_links(self) -> set[str]:
        """The symlinked directories the last scan followed (their real paths). Two halves of a
        split scan that followed the same one would list its runs twice, where one scan lists
        them once: such a split is not to be used."""
        return {p for tree in self._disc.trees for p in tree.links}

    def rescan(self, part: tuple[str, str, bool] | None = None) -> list[str]:
        """Find new runs and new event files (cheap when nothing changed); new run names.

        ``part``: only one half of the runs (see :meth:`split_point`); for a one-shot read.
        """
        self._scanned = True
        new: list[str] = []
        present: set[str] = set()
        for rd in self._disc.scan(part):
            present.add(rd.name)
            run = self._runs.get(rd.name)
            if run is None:
                src = self._disc.sources[0] if len(self._disc.sources) == 1 else self._source_of(rd.path)
                run = self._runs[rd.name] = _Run(rd.name, rd.path, src)
                self._dirs[rd.path] = rd.name
                self.store.ensure_run(rd.name, rd.path)
                new.append(rd.name)
            elif run.gone:
                run.gone = False
                self.store.set_problems(run.name, run.path, [])
            if rd.events != run.listed:
                run.listed = rd.events
                self.store.set_files(run.name, rd.events)
            added = False
            for path in rd.events:
                if path not in self._files:
                    fr = FileReader(run.name, path, run.source, run.decoder, self._tags)
                    self._files[path] = fr
                    run.files.append(fr)
                    added = True
            if added and len(run.files) > 1:
                run.files.sort(key=lambda f: os.path.basename(f.path))
        for name, run in self._runs.items():
            if name not in present and not run.gone and not self._dir_exists(run):
                self._mark_gone(run)
        dirs = tuple(Problem(ProblemKind.UNREADABLE_DIR if p.kind == UNREADABLE_DIR else ProblemKind.REMOTE,
                             p.path, p.advice) for p in self._disc.problems())
        if dirs != self._dir_problems:
            self._dir_problems = dirs
            self.store.set_logdir_problems(dirs)
        return new

    def _source_of(self, path: str) -> Source:
        for spec, src in zip(self._disc.specs, self._disc.sources, strict=False):
            root = spec.path.rstrip("/\\")
            if path == spec.path or path.startswith((root + "/", root + os.sep)):
                return cast(Source, src)
        return LOCAL

    @staticmethod
    def _dir_exists(run: _Run) -> bool:
        try:
            return bool(run.source.is_dir(run.path))
        except OSError:
            return False

    def _mark_gone(self, run: _Run) -> None:
        run.gone = True
        self.store.set_problems(run.name, run.path, [problems.run_gone(run.path)])

    # ---- reading -----------------------------------------------------------------------------
    def poll(self, paths: Iterable[str] | None = None) -> set[str]:
        """Read the new bytes of event files; names of runs whose data changed.

        Args:
            paths: event files to read (others are left alone); None reads all known files.
                An event file not seen before is picked up (a rescan finds its run).

        Never raises for a bad, vanished or damaged file: the problem is recorded in the store
        (``store.set_problem(run, path, message)``) and cleared when the file is fine again.
        """
        with no_cyclic_gc():  # a first poll of thousands of runs: see no_cyclic_gc
            return self._poll(paths)

    def poll_runs(self, names: Iterable[str]) -> set[str]:
        """:meth:`poll` for the files of these runs only (known names; others are ignored)."""
        if not self._scanned:
            self.rescan()
        runs = self._runs
        targets = [f for n in names if n in runs for f in runs[n].files]
        with no_cyclic_gc():
            return self._read(targets)

    def _poll(self, paths: Iterable[str] | None) -> set[str]:
        if not self._scanned:
            self.rescan()
        if paths is None:
            targets = [f for run in self._runs.values() for f in run.files]
        else:
            wanted: list[str] = []
            for p in paths:
                p = self._norm(p)
                if p not in self._files and is_event_file_name(os.path.basename(p)):
                    self.rescan()
                if p in self._files:
                    wanted.append(p)
            runs_order = {name: i for i, name in enumerate(self._runs)}
            targets = sorted({self._files[p] for p in wanted},
                             key=lambda f: (runs_order[f.run], os.path.basename(f.path)))
        first_of_many = paths is None and not self._polled and len(targets) >= split.PARALLEL_FILES
        if first_of_many and forked.single_threaded():
            memory.keep_freed()  # a one-shot read of a sweep (an app has threads)
        if first_of_many and forked.available():
            changed = split.read_split(self, targets, self._runs, self._read)
        else:
            changed = self._read(targets)
        self._polled = True
        return changed

    def _read(self, targets: list[FileReader]) -> set[str]:
        """Read the new bytes of these files (in this order); names of runs whose data changed."""
        changed: set[str] = set()
        batch: list[tuple[FileReader, Bytes]] = []
        size = 0
        # One buffer for the files of every batch of this poll (uninitialised: only the pages
        # written are touched, and reused from batch to batch).
        room = None

        def flush() -> None:
            nonlocal size
            if batch:
                chunks = fast.process_many([fast.Read(data, fr.offset, fr.decoder, len(data), fr.resync)
                                            for fr, data in batch], self._tags)
                for (fr, data), ch in zip(batch, chunks, strict=False):
                    if fr.take(self.store, data, ch):
                        changed.add(fr.run)
                    self._report(fr)
                batch.clear()
                size = 0

        # Files with little new data are read in batches (one pass of the fast path over many
        # files); the others alone, in large chunks. Order is kept: a run's files in name order.
        for fr in targets:
            try:
                avail = fr.check()
                if 0 < avail <= BATCH_FILE:
                    if room is None:
                        room = np.empty(BATCH_BYTES + BATCH_FILE + FOOTER, np.uint8).data
                    before = fr.prefix()  # read into the room just before the data
                    data = fr.read_rest(room[size:])
                    if data is not None:
                        batch.append((fr, data))
                        size += before + len(data)  # files read whole lie end to end: no copy to join them
                        if size >= BATCH_BYTES:
                            flush()
                        continue
                    fr.check()  # rewritten in place: read it again from the start, alone
                flush()
                did = fr.poll_checked(self.store)
                if did:
                    changed.add(fr.run)
                self._report(fr)
            except FileNotFoundError:
                self._unreadable(fr, ProblemKind.DELETED_FILE, "was deleted")
            except OSError as e:
                self._unreadable(fr, ProblemKind.UNREADABLE_FILE, str(e.strerror or e))
        flush()
        return changed

    def _report(self, fr: FileReader) -> None:
        now = fr.problems()
        if now != fr.reported:
            self.store.set_problems(fr.run, fr.path, now)
            fr.reported = now

    def _unreadable(self, fr: FileReader, kind: ProblemKind, why: str) -> None:
        run = self._runs[fr.run]
        if not self._dir_exists(run):
            if not run.gone:
                self._mark_gone(run)
            fr.set_missing(None, "run directory no longer exists")
            return
        fr.set_missing(kind, why)
        self._report(fr)

    # ---- queries -----------------------------------------------------------------------------
    def _norm(self, path: str) -> str:
        return path if is_url(path) else LOCAL.normalize(path)

    def watch_paths(self) -> list[str]:
        """Local directories a file watcher should watch (the logdir roots)."""
        return [s.path for s, src in zip(self._disc.specs, self._disc.sources, strict=False) if src is LOCAL]

    def run_for_path(self, path: str) -> str | None:
        """The run an event file or run directory belongs to, if known."""
        p = self._norm(path)
        fr = self._files.get(p)
        if fr is not None:
            return fr.run
        if p in self._dirs:
            return self._dirs[p]
        return self._dirs.get(os.path.dirname(p))

    def file_states(self, runs: Iterable[str] | None = None) -> list[FileState]:
        """Per event file: run, path, offset, size, records, skipped records, damage (of these
        runs only, if given: known names, in their order)."""
        if runs is None:
            return [f.state() for run in self._runs.values() for f in run.files]
        known = self._runs
        return [f.state() for name in runs if name in known for f in known[name].files]

    def runs(self) -> list[str]:
        return list(self._runs)

    def dir_mtimes(self) -> dict[str, int]:
        """Every local directory under the logdirs, as the last rescan found it: its mtime (ns),
        stat'ed before it was listed (a change after that shows as a newer mtime)."""
        return {d: node.sig[1] for tree in self._disc.trees for d, node in tree.walk() if node.sig is not None}

    def problems(self) -> list[TreeProblem]:
        """Problems outside any run: directories that can't be listed now."""
        return self._disc.problems()


def load(logdirs: list[str], store: Store | None = None) -> Store:
    """Read every event file under ``logdirs`` once; the store holding it all.

    Raises:
        LogdirError: a logdir doesn't exist or can't be read.
    """
    store = store if store is not None else Store()
    ing = Ingestor(store, logdirs)
    ing.rescan()
    ing.poll()
    return store
