"""Who writes a run, and is it still there? Evidence for the run-state rule (stdlib only).

Event file names carry their writer: ``events.out.tfevents.<time>.<host>.<pid>.<n>`` (PyTorch's
SummaryWriter, TensorBoard's own EventFileWriter, TF2 with a ``.v2`` suffix). tensorboardX and
TF1 write ``events.out.tfevents.<time>.<host>`` only: no PID, no evidence.

When the host is this machine (Linux), the PID says a lot:

- no such process (or a zombie): the writer has *exited*, the run has ended;
- a process with that PID that started after the file was created is someone else (PIDs are
  reused): the writer has exited too;
- otherwise the writer is *alive*: a silent run is then hung, not finished. (Whether the process
  still holds the file open would tell a closed writer from a hung one, but TensorBoard's own
  writer, which PyTorch uses, opens and closes the file at every flush: an open file is no
  evidence either way, so it isn't asked.)

Elsewhere (another host, no PID in the name, no ``/proc``, a URL), there is no evidence and the
clock decides, as before. Process start times come from ``/proc/<pid>/stat`` (clock ticks since
boot) and the boot time in ``/proc/stat``; no dependency is needed.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path  # (a Path is an os.PathLike: pathlib's import is ~3 ms of check's start-up)

_NAME = re.compile(r"^events\.out\.tfevents\.(\d+)\.(.+?)\.(\d+)\.(\d+)(\.v2)?$")
_HOST_ONLY = re.compile(r"^events\.out\.tfevents\.(\d+)\.(.+)$")
SLACK = 2.0  # seconds: file-name times are whole seconds, boot time too


@dataclass(frozen=True)
class WriterName:
    """What an event file's name says about its writer."""

    time: int  # when the writer created the file (epoch seconds, whole)
    host: str
    pid: int | None  # None: the name carries no PID (tensorboardX, TF1)


@functools.lru_cache(maxsize=1 << 16)  # a sweep's files are asked about at every look
def parse_event_file_name(name: str) -> WriterName | None:
    """The writer's creation time, host and PID from an event file's base name, or None."""
    name = os.path.basename(name)
    m = _NAME.match(name)
    if m:
        return WriterName(int(m.group(1)), m.group(2), int(m.group(3)))
    m = _HOST_ONLY.match(name)
    if m:
        return WriterName(int(m.group(1)), m.group(2), None)
    return None


@dataclass(frozen=True)
class WriterEvidence:
    """What can be said about a run's writer process.

    Attributes:
        alive: True: the writer process is running; False: it has exited; None: no evidence
            (the clock decides).
        pid: the writer's PID, when the file name carries one.
        host: the writer's host, when the file name carries one.
        reason: in plain words, e.g. "writer pid 4242 exited", "written on host 'gpu-0'".
        file: the event file the evidence is about.
    """

    alive: bool | None
    reason: str
    pid: int | None = None
    host: str | None = None
    file: str | None = None


NO_EVIDENCE = WriterEvidence(None, "no event file names with a writer")


class Proc:
    """Reads what the evidence needs from a ``/proc`` file system (a class, so tests can point it
    at a fake tree)."""

    def __init__(self, root: str = "/proc") -> None:
        self.root = root
        self._boot: float | None = None

    def available(self) -> bool:
        return os.path.isfile(os.path.join(self.root, "stat"))

    def boot_time(self) -> float | None:
        if self._boot is None:
            try:
                with open(os.path.join(self.root, "stat"), encoding="ascii", errors="replace") as f:
                    for line in f:
                        if line.startswith("btime "):
                            self._boot = float(line.split()[1])
                            break
            except (OSError, ValueError, IndexError):
                return None
        return self._boot

    def start_time(self, pid: int) -> tuple[str, float | None] | None:
        """(state letter, start time in epoch seconds or None), or None when there is no such process."""
        try:
            with open(os.path.join(self.root, str(pid), "stat"), encoding="ascii", errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except OSError:
            return ("?", None)
        # "pid (comm) state ppid ... starttime(22nd field) ...": comm may hold spaces and parens.
        rest = text[text.rfind(")") + 2:].split()
        if len(rest) < 20:
            return ("?", None)
        boot = self.boot_time()
        try:
            ticks = float(rest[19])
            hz = float(os.sysconf("SC_CLK_TCK"))
        except (ValueError, OSError, AttributeError):
            return (rest[0], None)
        return (rest[0], boot + ticks / hz if boot is not None and hz > 0 else None)


_SYSTEM: list[Proc] = []


def _system_proc() -> Proc:
    """This machine's ``/proc`` (one reader: the boot time is read once)."""
    if not _SYSTEM:
        _SYSTEM.append(Proc())
    return _SYSTEM[0]


@functools.cache
def this_host() -> str:
    """This machine's host name (as ``socket.gethostname``; ``os.uname`` spares importing
    socket, ~7 ms of a command's start), read once per process (a sweep's check asks per run)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket

    return socket.gethostname()


def file_evidence(path: str, *, host: str | None = None, proc: Proc | None = None) -> WriterEvidence:
    """The evidence one event file gives about its writer.

    The writer started before it created the file (the time in its name, which comes before the
    file's first record): a process with that PID that started later is someone else.
    """
    w = parse_event_file_name(path)
    if w is None:
        return WriterEvidence(None, "not an event file name", file=path)
    if w.pid is None:
        return WriterEvidence(None, "the file name carries no writer PID", host=w.host, file=path)
    host = this_host() if host is None else host
    if w.host != host:
        return WriterEvidence(None, f"written on host {w.host!r}, not this one", w.pid, w.host, path)
    proc = proc or _system_proc()
    if not proc.available():
        return WriterEvidence(None, "process start times can't be read here (no /proc)", w.pid, w.host, path)
    st = proc.start_time(w.pid)
    if st is None:
        return WriterEvidence(False, f"writer pid {w.pid} exited", w.pid, w.host, path)
    state, started = st
    if state in ("Z", "X"):
        return WriterEvidence(False, f"writer pid {w.pid} exited", w.pid, w.host, path)
    if started is None:
        return WriterEvidence(None, f"pid {w.pid} exists, its start time can't be read", w.pid, w.host, path)
    if started > w.time + SLACK:
        return WriterEvidence(False, f"writer pid {w.pid} exited (that pid is now another process)",
                              w.pid, w.host, path)
    return WriterEvidence(True, f"writer pid {w.pid} alive", w.pid, w.host, path)


def event_files(run_dir: str) -> list[str]:
    """The event files directly in a local run directory ([] for URLs and unreadable paths)."""
    try:
        names = os.listdir(run_dir)
    except (OSError, TypeError, ValueError):
        return []
    return [os.path.join(run_dir, n) for n in names if ".tfevents." in n]


def run_writer(run_dir: str | Path | Iterable[str], *, host: str | None = None,
               proc: Proc | None = None) -> WriterEvidence:
    """The evidence about a run's writer, from its event files' names (a directory, or the files).

    Each file's writer is checked; the run's writer is alive if any file's writer is (a run
    written by two processes is live while either is); it has exited when every file with
    evidence says so (the newest file's reason is reported). Files without evidence are ignored
    unless no file has any (then None: the clock decides).
    """
    if isinstance(run_dir, (str, os.PathLike)):
        files = event_files(str(run_dir))
    else:
        files = [str(f) for f in run_dir]
    if not files:
        return NO_EVIDENCE
    host = this_host() if host is None else host
    if len(files) == 1:  # most runs: one file, nothing to order
        found = [file_evidence(files[0], host=host, proc=proc)]
    else:
        proc = proc or _system_proc()

        def created(f: str) -> tuple[int, str]:
            w = parse_event_file_name(f)
            return (w.time if w else 0, os.path.basename(f))

        found = [file_evidence(f, host=host, proc=proc) for f in sorted(files, key=created, reverse=True)]
    alive = [e for e in found if e.alive]
    if alive:
        return alive[0]
    gone = [e for e in found if e.alive is False]
    if gone:
        return gone[0]
    return found[0]
