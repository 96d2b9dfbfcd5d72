"""Logdirs → runs, by TensorBoard's rule.

A run is a directory that directly holds event files (a file whose name contains
``tfevents``), named by its path relative to the logdir (``"."`` for the logdir itself). A logdir
may be given as ``name:path`` (TensorBoard's ``--logdir_spec`` form); its runs are then named
``name/<relative path>`` (``name`` for the logdir itself). With several unnamed logdirs, run
names are prefixed with each logdir's base name (made unique) so that they can't collide.

Rescans are incremental: a directory is listed again only when its mtime changed (adding or
removing an entry changes it), so a rescan of an unchanged tree costs one ``stat`` per
directory.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from tui.ingest.sources import LOCAL, source_for
from tui.vocab import parse_spec as split_spec

EVENT_MARK = "tfevents"
_RACY = 2.0  # seconds: a directory changed this recently may change again within its mtime tick


def is_event_file_name(name: str) -> bool:
    return EVENT_MARK in name


@dataclass(frozen=True)
class LogdirSpec:
    """One logdir as given on the command line."""

    spec: str
    path: str  # normalized: absolute local path or URL
    name: str | None  # the ``name`` of a ``name:path`` spec


def parse_spec(spec: str) -> LogdirSpec:
    """``path`` or ``name:path`` (`tui.vocab.parse_spec`: a URL, a drive or an existing path
    containing ``:`` stays a path)."""
    name, path = split_spec(spec)
    src = source_for(path)
    return LogdirSpec(spec, src.normalize(path), name)


def prefixes(specs: list[LogdirSpec]) -> list[str | None]:
    """The run-name prefix of each logdir (None: no prefix, the single unnamed logdir)."""
    if len(specs) == 1:
        return [specs[0].name]
    names: set[str] = {s.name for s in specs if s.name}
    parts = [[p for p in s.path.replace("\\", "/").split("/") if p and not p.endswith(":")] for s in specs]
    out: list[str | None] = []
    used: set[str] = set(names)
    for i, s in enumerate(specs):
        if s.name:
            out.append(s.name)
            continue
        # The shortest tail of the path that no other unnamed logdir shares.
        k, cand = 1, s.path
        while k <= len(parts[i]):
            cand = "/".join(parts[i][-k:])
            clash = any(j != i and not specs[j].name and "/".join(parts[j][-k:]) == cand
                        for j in range(len(specs)))
            if not clash and cand not in names:
                break
            k += 1
        base, n = cand, 2
        while cand in used:
            cand = f"{base}#{n}"
            n += 1
        used.add(cand)
        out.append(cand)
    return out


def run_name(prefix: str | None, rel: str) -> str:
    if prefix is None:
        return rel
    return prefix if rel == "." else f"{prefix}/{rel}"


@dataclass
class _Dir:
    mtime: float
    subdirs: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunDir:
    name: str
    path: str
    events: tuple[str, ...]  # event file paths, in name order


class Discovery:
    """Finds runs under a set of logdirs, incrementally."""

    def __init__(self, specs: list[LogdirSpec]) -> None:
        self.specs = specs
        self.prefixes = prefixes(specs)
        self.sources = [source_for(s.path) for s in specs]
        self._dirs: dict[str, _Dir] = {}
        self.errors: dict[str, str] = {}  # directory → why it couldn't be listed

    def scan(self) -> list[RunDir]:
        """All runs now present with their event files (cheap when nothing changed)."""
        runs: list[RunDir] = []
        seen: set[str] = set()
        now = time.time()
        for spec, prefix, src in zip(self.specs, self.prefixes, self.sources):
            self._walk(src, spec.path, spec.path, prefix, runs, seen, now, set())
        for gone in set(self._dirs) - seen:
            del self._dirs[gone]
        return runs

    def _walk(self, src, root: str, path: str, prefix: str | None, runs: list[RunDir], seen: set[str],
              now: float, links: set[str]) -> None:
        seen.add(path)
        d = self._dirs.get(path)
        try:
            mtime = src.dir_mtime(path)
        except OSError:
            self._dirs.pop(path, None)
            return  # vanished (or unreadable): the ingestor notices for runs it knows
        if d is None or mtime != d.mtime or mtime < 0 or now - mtime < _RACY:
            try:
                entries = src.listdir(path)
            except OSError as e:
                self.errors[path] = f"cannot list {path}: {e.strerror or e}"
                self._dirs.pop(path, None)
                return
            self.errors.pop(path, None)
            d = _Dir(mtime)
            for e in sorted(entries, key=lambda e: e.name):
                if e.is_dir:
                    if src is LOCAL and os.path.islink(e.path):
                        real = os.path.realpath(e.path)
                        if real in links or (root + os.sep).startswith(real + os.sep):
                            continue  # a link back up the tree: don't loop
                        links.add(real)
                    d.subdirs.append(e.path)
                elif is_event_file_name(e.name):
                    d.events.append(e.path)
            self._dirs[path] = d
        if d.events:
            rel = "." if path == root else path[len(root):].lstrip("/\\").replace("\\", "/")
            runs.append(RunDir(run_name(prefix, rel), path, tuple(d.events)))
        for sub in d.subdirs:
            self._walk(src, root, sub, prefix, runs, seen, now, links)
