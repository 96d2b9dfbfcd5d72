"""Run notes: the question a run is meant to answer and what the person expects (pure).

Notes live in the user's state directory (``tui.config.state_dir() / "notes"``), one small JSON
file per run, named by a hash of the run's absolute path. tbpeek never writes into a logdir,
which may be read-only or shared with others.

Saving is atomic: the note is written to a temporary file in the same directory, flushed and
fsynced, then renamed over the old file with ``os.replace``. A process killed at any moment
therefore leaves either the old note or the new one, never a torn file; the temporary file a
SIGKILL leaves behind is removed by a later save once it is an hour old (`STALE_TMP`). One file per run means
two tbpeek instances editing notes of different runs never overwrite each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.config import state_dir

_SUFFIX = ".json"
_TMP_PREFIX = ".tmp-"
STALE_TMP = 3600.0  # seconds: a temporary file this old is left from a killed save (a save takes ms)


@dataclass(frozen=True)
class Note:
    """What a person wrote about one run.

    Attributes:
        run_path: the run directory's absolute path (the key).
        question: the question this run is meant to answer.
        expectation: what the person expects to see.
        outcome: what actually happened (often written at review time).
        updated: when the note was last saved (epoch seconds).
    """

    run_path: str
    question: str = ""
    expectation: str = ""
    outcome: str = ""
    updated: float = 0.0

    @property
    def empty(self) -> bool:
        return not (self.question.strip() or self.expectation.strip() or self.outcome.strip())

    def to_json(self) -> dict[str, Any]:
        return {"run_path": self.run_path, "question": self.question, "expectation": self.expectation,
                "outcome": self.outcome, "updated": self.updated}

    @classmethod
    def from_json(cls, data: Any) -> Note:
        if not isinstance(data, dict) or not isinstance(data.get("run_path"), str):
            raise ValueError("a note must be a JSON object with a 'run_path' string")

        def text(key: str) -> str:
            v = data.get(key, "")
            return v if isinstance(v, str) else str(v)

        updated = data.get("updated", 0.0)
        return cls(data["run_path"], text("question"), text("expectation"), text("outcome"),
                   float(updated) if isinstance(updated, (int, float)) else 0.0)


def run_key(run_path: str | os.PathLike[str]) -> str:
    """The absolute, normalised form of a run's path: the key of its note."""
    return os.path.abspath(os.fspath(run_path))


class NoteStore:
    """Notes of all runs, stored under ``root`` (default: the state directory's ``notes/``).

    Args:
        root: directory for the note files; created on the first save.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else state_dir() / "notes"

    def file_for(self, run_path: str | os.PathLike[str]) -> Path:
        digest = hashlib.sha256(run_key(run_path).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.root / f"{digest}{_SUFFIX}"

    def get(self, run_path: str | os.PathLike[str]) -> Note | None:
        """The run's note, or None when it has none (or its file is unreadable: warns)."""
        path = self.file_for(run_path)
        note = self._read(path)
        # Guard against a hash collision: the file names the run it belongs to.
        return note if note is not None and note.run_path == run_key(run_path) else None

    def save(self, note: Note, now: float | None = None) -> Note:
        """Save atomically (tempfile + fsync + os.replace) and return the note as saved.

        Raises:
            OSError: the state directory can't be written (the message names it).
        """
        note = replace(note, run_path=run_key(note.run_path), updated=time.time() if now is None else now)
        self.root.mkdir(parents=True, exist_ok=True)
        self.clean_stale()
        target = self.file_for(note.run_path)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=_SUFFIX, dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(note.to_json(), f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            # Don't leave the temp file behind; the old note (if any) is untouched.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._fsync_dir()
        return note

    def delete(self, run_path: str | os.PathLike[str]) -> bool:
        """Remove the run's note; True if there was one."""
        try:
            self.file_for(run_path).unlink()
        except FileNotFoundError:
            return False
        return True

    def clean_stale(self, max_age: float = STALE_TMP, now: float | None = None) -> int:
        """Remove temporary files of saves killed midway (older than `max_age` seconds; a
        younger one may be another process's save under way). Returns how many were removed;
        a file that can't be removed is left for next time."""
        now = time.time() if now is None else now
        removed = 0
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return 0
        for path in entries:
            if not path.name.startswith(_TMP_PREFIX):
                continue
            try:
                if now - path.lstat().st_mtime > max_age:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def all(self) -> dict[str, Note]:
        """Every saved note, by run path (temporary files of interrupted saves are ignored, and
        removed once stale)."""
        out: dict[str, Note] = {}
        self.clean_stale()
        try:
            entries = sorted(self.root.iterdir())
        except FileNotFoundError:
            return out
        for path in entries:
            if path.name.startswith(_TMP_PREFIX) or path.suffix != _SUFFIX:
                continue
            note = self._read(path)
            if note is not None:
                out[note.run_path] = note
        return out

    def _read(self, path: Path) -> Note | None:
        try:
            with open(path, encoding="utf-8") as f:
                return Note.from_json(json.load(f))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
            warnings.warn(f"note file {path} can't be read ({e}); ignoring it. "
                          "Delete it if it is damaged.", stacklevel=3)
            return None

    def _fsync_dir(self) -> None:
        # Make the rename itself durable (POSIX); not possible on every platform.
        if not hasattr(os, "O_DIRECTORY"):
            return
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass  # some filesystems refuse fsync on a directory; the data itself is synced
        finally:
            os.close(fd)
