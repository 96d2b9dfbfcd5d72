"""The ingest engine: logdirs → runs → event files → the store.

One writer: an :class:`Ingestor` is used from one thread (the app's ingest worker, or a
command that reads everything once through :func:`load`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from tui.ingest import fast
from tui.ingest.discovery import Discovery, LogdirSpec, is_event_file_name, parse_spec
from tui.ingest.events import RunDecoder
from tui.ingest.reader import CHUNK, FileReader, FileState
from tui.ingest.remote import RemoteError
from tui.ingest.sources import LOCAL, is_url
from tui.ingest.tfrecord import FOOTER
from tui.ingest.tree import TreeProblem
from tui.store import Store


BATCH_FILE = CHUNK  # bytes: files with at most this much new data are read in batches
BATCH_BYTES = 4 * CHUNK  # bytes per batch


class LogdirError(Exception):
    """A logdir doesn't exist or can't be read (the message says which and why)."""


@dataclass
class _Run:
    name: str
    path: str
    source: object
    decoder: RunDecoder = field(default_factory=RunDecoder)
    files: list[FileReader] = field(default_factory=list)  # in name order
    gone: bool = False


class Ingestor:
    """Reads the event files of some logdirs into a store, incrementally.

    Args:
        store: where points go.
        logdirs: paths, ``name:path`` specs or fsspec URLs.

    Raises:
        LogdirError: a logdir doesn't exist or can't be read.
    """

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
        for s, src in zip(specs, self._disc.sources):
            why = src.readable_dir(s.path)
            if why:
                raise LogdirError(why)
        self._runs: dict[str, _Run] = {}
        self._files: dict[str, FileReader] = {}
        self._dirs: dict[str, str] = {}  # run directory → run name
        self._scanned = False

    # ---- discovery ---------------------------------------------------------------------------
    def rescan(self) -> list[str]:
        """Find new runs and new event files (cheap when nothing changed); new run names."""
        self._scanned = True
        new: list[str] = []
        present: set[str] = set()
        for rd in self._disc.scan():
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
                self.store.set_problem(run.name, run.path, None)
            added = False
            for path in rd.events:
                if path not in self._files:
                    fr = FileReader(run.name, path, run.source, run.decoder)
                    self._files[path] = fr
                    run.files.append(fr)
                    added = True
            if added:
                run.files.sort(key=lambda f: os.path.basename(f.path))
        for name, run in self._runs.items():
            if name not in present and not run.gone and not self._dir_exists(run):
                self._mark_gone(run)
        return new

    def _source_of(self, path: str):
        for spec, src in zip(self._disc.specs, self._disc.sources):
            if path == spec.path or path.startswith(spec.path.rstrip("/\\") + "/") or \
                    path.startswith(spec.path.rstrip("/\\") + os.sep):
                return src
        return LOCAL

    @staticmethod
    def _dir_exists(run: _Run) -> bool:
        try:
            return bool(run.source.is_dir(run.path))
        except OSError:
            return False

    def _mark_gone(self, run: _Run) -> None:
        run.gone = True
        self.store.set_problem(run.name, run.path,
                               f"run directory {run.path} no longer exists (deleted or moved?); "
                               "showing the data read before it went away")

    # ---- reading -----------------------------------------------------------------------------
    def poll(self, paths: Iterable[str] | None = None) -> set[str]:
        """Read the new bytes of event files; names of runs whose data changed.

        Args:
            paths: event files to read (others are left alone); None reads all known files.
                An event file not seen before is picked up (a rescan finds its run).

        Never raises for a bad, vanished or damaged file: the problem is recorded in the store
        (``store.set_problem(run, path, message)``) and cleared when the file is fine again.
        """
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
        changed: set[str] = set()
        batch: list[tuple[FileReader, bytes]] = []
        size = 0
        # One buffer for the files of every batch of this poll (uninitialised: only the pages
        # written are touched, and reused from batch to batch).
        room = None

        def flush() -> None:
            nonlocal size
            if batch:
                chunks = fast.process_many([(data, fr.offset, fr.decoder) for fr, data in batch])
                for (fr, data), ch in zip(batch, chunks):
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
                        room = memoryview(np.empty(BATCH_BYTES + BATCH_FILE + FOOTER, np.uint8)).cast("B")
                    data = fr.read_rest(room[size:])
                    if data is not None:
                        batch.append((fr, data))
                        size += len(data) + FOOTER  # and the bytes before it, if it read them
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
                self._missing(fr, "was deleted")
            except OSError as e:
                self._missing(fr, f"cannot be read: {e.strerror or e}")
        flush()
        return changed

    def _report(self, fr: FileReader) -> None:
        now = fr.problem()
        if now != fr.reported:
            self.store.set_problem(fr.run, fr.path, now)
            fr.reported = now

    def _missing(self, fr: FileReader, why: str) -> bool:
        run = self._runs[fr.run]
        if not self._dir_exists(run):
            if not run.gone:
                self._mark_gone(run)
            fr.missing = "run directory no longer exists"
            return False
        fr.missing = f"event file {why}"
        msg = f"event file {fr.path} {why}; the data read from it is kept"
        if msg != fr.reported:
            self.store.set_problem(fr.run, fr.path, msg)
            fr.reported = msg
        return False

    # ---- queries -----------------------------------------------------------------------------
    def _norm(self, path: str) -> str:
        return path if is_url(path) else LOCAL.normalize(path)

    def watch_paths(self) -> list[str]:
        """Local directories a file watcher should watch (the logdir roots)."""
        return [s.path for s, src in zip(self._disc.specs, self._disc.sources) if src is LOCAL]

    def run_for_path(self, path: str) -> str | None:
        """The run an event file or run directory belongs to, if known."""
        p = self._norm(path)
        fr = self._files.get(p)
        if fr is not None:
            return fr.run
        if p in self._dirs:
            return self._dirs[p]
        return self._dirs.get(os.path.dirname(p))

    def file_states(self) -> list[FileState]:
        """Per event file: run, path, offset, size, records, skipped records, damage."""
        return [f.state() for run in self._runs.values() for f in run.files]

    def runs(self) -> list[str]:
        return list(self._runs)

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
