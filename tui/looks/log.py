"""The look log: one JSON object per line, append-only, in the user's state directory.

Every look at the charts is logged: when it started and ended, why (``trigger``), which logdirs
and runs were watched, and whether it found anything new. Several tbpeek instances (two tmux
panes) may append at once, so each entry is written by a single ``write()`` on a file opened
with ``O_APPEND`` while holding an exclusive ``fcntl`` lock: entries are never lost or torn.

A look is usually written twice under the same ``id``: once when it starts (``end`` is None,
so a crash still leaves a record) and once when it ends. Readers merge by ``id``; the last
entry wins. Other modules only need `read_looks` and `Look`.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from tui.config import state_dir
from tui.vocab import is_url, spec_path

try:  # POSIX only; on other systems O_APPEND alone keeps small single writes whole
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOG_NAME = "looks.jsonl"
TRIGGERS = ("scheduled", "override", "alarm", "budget_off")


class LookLogWarning(UserWarning):
    """A line of the look log could not be read and was skipped."""


def default_path() -> Path:
    """``$TBPEEK_STATE_DIR/looks.jsonl`` (or the XDG state directory)."""
    return state_dir() / LOG_NAME


def _new_id() -> str:
    return os.urandom(8).hex()  # not uuid: it imports `platform`, slow for `tbpeek status`


@dataclass
class Look:
    """One look at the charts.

    Attributes:
        start: when the look began (epoch seconds).
        end: when it ended; None while it lasts (or if tbpeek died during it).
        trigger: "scheduled" (a due look), "override" (early, with a reason), "alarm" (a run
            newly alarmed and broke through) or "budget_off" (a session with ``--no-budget``).
        reason: the person's words for an override; the verdict's reason for an alarm.
        run: the alarmed run, for trigger "alarm".
        logdirs: the logdirs being watched.
        runs: the runs being watched.
        found_new: whether the look found anything new (a verdict change or an alarm since
            the previous look); None if not known.
        id: identifies the look across its start and end entries.
    """

    start: float
    end: float | None = None
    trigger: str = "scheduled"
    reason: str | None = None
    run: str | None = None
    logdirs: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    found_new: bool | None = None
    id: str = field(default_factory=_new_id)

    @property
    def duration(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - self.start)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: Any) -> Look:
        """Build a look from a decoded line.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        start = d.get("start")
        end = d.get("end")
        if not _is_time(start):
            raise ValueError(f"'start' must be a time in epoch seconds, not {_show(start)}")
        if end is not None and not _is_time(end):
            raise ValueError(f"'end' must be a time in epoch seconds or null, not {_show(end)}")
        trigger = d.get("trigger", "scheduled")
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        for key in ("reason", "run"):
            if d.get(key) is not None and not isinstance(d[key], str):
                raise ValueError(f"{key!r} must be a string or null")
        lists = {}
        for key in ("logdirs", "runs"):
            value = d.get(key) or []
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise ValueError(f"{key!r} must be a list of strings")
            lists[key] = value
        found_new = d.get("found_new")
        if found_new is not None and not isinstance(found_new, bool):
            raise ValueError("'found_new' must be true, false or null")
        ident = d.get("id")
        return cls(start=float(start), end=None if end is None else float(end), trigger=trigger,
                   reason=d.get("reason"), run=d.get("run"), found_new=found_new,
                   id=str(ident) if ident else _new_id(), **lists)


# Times outside [1970, 3000) are damage: a clock can't be that wrong, and datetime can't show them.
MAX_TIME = 32503680000.0  # 3000-01-01 UTC


def _is_time(x: Any) -> TypeGuard[int | float]:
    """A number of epoch seconds we can show: finite, from 1970 up to the year 3000."""
    # NaN and infinities fail the comparison; a huge int compares exactly (no float overflow).
    return not isinstance(x, bool) and isinstance(x, (int, float)) and 0 <= x < MAX_TIME


def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def append_look(look: Look, path: str | os.PathLike[str] | None = None) -> None:
    """Append one entry to the log (creating the file and its directory if needed).

    Safe with several processes: one ``write()`` of a whole line, ``O_APPEND``, under an
    exclusive lock.

    Raises:
        OSError: the log can't be written (the caller tells the person where and why).
    """
    p = Path(path) if path is not None else default_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(look.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    fd = os.open(p, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A crash left a torn last line: end it, so this entry stays readable on its own.
            data = b"\n" + data
        view = memoryview(data)
        while view:  # a short write is rare on a regular file; finish it under the lock
            n = os.write(fd, view)
            view = view[n:]
    finally:
        os.close(fd)  # closing releases the lock


def parse_lines(lines: Iterable[bytes], source: str = "look log", first_lineno: int = 1) -> list[Look]:
    """Decode log lines into entries (not merged); damaged lines are skipped with a warning."""
    out: list[Look] = []
    for i, raw in enumerate(lines, first_lineno):
        line = raw.strip()
        if not line:
            continue
        try:
            out.append(Look.from_json(json.loads(line.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError) as e:  # json.JSONDecodeError is a ValueError
            # A warning, not a log record: the CLI prints it, the app shows it as a notice.
            warnings.warn(f"{source}, line {i}: skipped a damaged entry ({e})", LookLogWarning, stacklevel=3)
    return out


def merge(entries: Iterable[Look]) -> list[Look]:
    """One look per id (the last entry wins), ordered by start time."""
    by_id: dict[str, Look] = {}
    for e in entries:
        by_id[e.id] = e
    return sorted(by_id.values(), key=lambda look: look.start)


def read_looks(path: str | os.PathLike[str] | None = None, since: float | None = None) -> list[Look]:
    """All looks in the log, merged and ordered by start; a missing log has none.

    Args:
        path: the log; default `default_path()`.
        since: only looks that started at or after this time (epoch seconds), or that were
            still open at it.

    Raises:
        OSError: the log exists but can't be read.
    """
    p = Path(path) if path is not None else default_path()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return []
    looks = merge(parse_lines(data.split(b"\n"), source=str(p)))
    if since is not None:
        looks = [k for k in looks if k.start >= since or (k.end is not None and k.end >= since)]
    return looks


class LogFollower:
    """Reads a look log incrementally: each `poll()` reads only bytes appended since the last.

    Used by the look budget so that looks taken in another tbpeek (another tmux pane) count.
    A partial last line (another process mid-write is impossible with the lock, but a crash
    can leave one) is kept for the next poll.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, tail_bytes: int | None = None) -> None:
        """Args:
            path: the log; default `default_path()`.
            tail_bytes: read at most this many bytes from the end on the first poll (a
                budget needs only the last days; years of looks needn't be read each time).
        """
        self.path = Path(path) if path is not None else default_path()
        self.tail_bytes = tail_bytes
        self._offset = 0
        self._lineno = 1
        self._skip_partial = False
        self._entries: list[Look] = []

    def poll(self) -> list[Look]:
        """All looks so far, merged; re-reads only new bytes.

        Raises:
            OSError: the log exists but can't be read.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return merge(self._entries)
        if size < self._offset:  # truncated or replaced: start over
            self._offset, self._lineno, self._entries = 0, 1, []
        if self._offset == 0 and self.tail_bytes is not None and size > self.tail_bytes:
            self._offset, self._lineno, self._skip_partial = size - self.tail_bytes, 0, True
        if size > self._offset:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read(size - self._offset)
            if self._skip_partial:  # started mid-file: the first (partial) line isn't ours
                cut = chunk.find(b"\n") + 1
                if not cut:
                    return merge(self._entries)
                chunk, self._offset, self._skip_partial = chunk[cut:], self._offset + cut, False
            end = chunk.rfind(b"\n") + 1
            if end:
                lines = chunk[:end].split(b"\n")[:-1]
                self._entries.extend(parse_lines(lines, str(self.path), self._lineno))
                self._lineno += len(lines)
                self._offset += end
        return merge(self._entries)


def logdir_key(spec: str) -> str:
    """How a look names a logdir in the log: its absolute, resolved path (``name:path`` by its
    path; a URL as written, without a trailing ``/``), so that a review run from another
    directory still finds it."""
    path = spec_path(spec)
    if is_url(path):
        return path.rstrip("/")
    return os.path.realpath(os.path.expanduser(path.removeprefix("file://")))


def _overlap(a: str, b: str) -> bool:
    """The same directory, or one inside the other (``/x`` and ``/x/ppo`` overlap)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    sep = "/" if is_url(short) else os.sep
    return long.startswith(short.rstrip(sep) + sep)


def about_logdirs(looks: Iterable[Look], logdirs: Iterable[str]) -> list[Look]:
    """The looks that watched any of `logdirs` (or a directory inside or around one of them).

    A look taken on another project's runs is left out, and so is a look that names no
    logdir (nothing ties it to these runs). Logdirs are compared as absolute, resolved paths
    (``name:path`` specs by their path; URLs as written, without a trailing ``/``).
    """
    wanted = [logdir_key(ld) for ld in logdirs]
    return [lk for lk in looks
            if any(_overlap(logdir_key(ld), w) for ld in lk.logdirs for w in wanted)]
