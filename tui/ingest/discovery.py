"""Logdirs → runs, by TensorBoard's rule.

A run is a directory that directly holds event files (a file whose name contains
``tfevents``), named by its path relative to the logdir (``"."`` for the logdir itself). A logdir
may be given as ``name:path`` (TensorBoard's ``--logdir_spec`` form); its runs are then named
``name/<relative path>`` (``name`` for the logdir itself). With several unnamed logdirs, run
names are prefixed with each logdir's base name (made unique) so that they can't collide.

Rescans are incremental (see :mod:`tui.ingest.tree`): on a local disk a directory is listed
again only when its mtime changed (adding or removing an entry changes it), so a rescan of an
unchanged tree costs one ``stat`` per directory; on an object store a rescan is one listing of
the whole prefix. Directories that can't be listed are reported by :meth:`Discovery.problems`.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from tui.ingest.sources import FsspecSource, source_for
from tui.ingest.tree import EVENT_MARK, DirTree, Part, TreeProblem, is_event_file_name
from tui.vocab import parse_spec as split_spec

__all__ = ["EVENT_MARK", "Discovery", "LogdirSpec", "RunDir", "is_event_file_name", "parse_spec", "prefixes",
           "run_name"]


class LogdirSpec(NamedTuple):
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


def _posix_rel(rel: str) -> str:
    """A run's path below its logdir with "/" between parts. Only the platform's own separator
    is one: on POSIX a backslash is an ordinary character of a directory name."""
    rel = rel.lstrip("/" + os.sep)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


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


def _above(root: str, d: str) -> set[str]:
    """The directories from ``root`` down to ``d`` (below it), both included."""
    out = {root, d}
    while len(d) > len(root):
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
        out.add(d)
    return out


class RunDir(NamedTuple):
    name: str
    path: str
    events: tuple[str, ...]  # event file paths, in name order


class Discovery:
    """Finds runs under a set of logdirs, incrementally (one :class:`DirTree` per logdir)."""

    def __init__(self, specs: list[LogdirSpec]) -> None:
        self.specs = specs
        self.prefixes = prefixes(specs)
        self.sources = [source_for(s.path) for s in specs]
        self.trees = [DirTree(s.path, src if isinstance(src, FsspecSource) else None)
                      for s, src in zip(specs, self.sources, strict=True)]

    def scan(self, part: Part | None = None) -> list[RunDir]:
        """All runs now present with their event files (cheap when nothing changed).

        ``part`` (a single local logdir): only the runs of one half of the tree
        (`DirTree.scan`); runs in the directories above the split, and in the one it splits,
        belong to the lower half.
        """
        if part is not None and len(self.trees) != 1:
            raise ValueError("a part of a scan needs a single logdir")
        runs: list[RunDir] = []
        for spec, prefix, tree in zip(self.specs, self.prefixes, self.trees, strict=True):
            tree.scan(part=part)
            root = spec.path
            above = _above(root, part[0]) if part is not None and part[2] else set()
            for path, node in tree.walk():
                if node.files and path not in above:
                    rel = "." if path == root else _posix_rel(path[len(root):])
                    runs.append(RunDir(run_name(prefix, rel), path, tuple(node.files)))
        return runs

    def problems(self) -> list[TreeProblem]:
        """Directories that can't be listed now (unreadable, a failed remote listing), in path order."""
        return sorted((p for tree in self.trees for p in tree.problems.values()), key=lambda p: p.path)

    @property
    def errors(self) -> dict[str, str]:
        """Directory -> why it can't be listed now (the messages of :meth:`problems`)."""
        return {p.path: p.message for p in self.problems()}
