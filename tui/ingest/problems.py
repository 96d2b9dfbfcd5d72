"""Problems found while reading logdirs, in one typed form that ``ls``, ``check`` and the app show.

A problem says what kind of trouble it is, where (a path or URL), and, in plain words, what is
wrong and what to do. Discovery reports directories it can't list (permissions, a remote
listing that failed); the message is meant to be shown as it is, after making it safe for the
terminal (paths come from the file system and are untrusted).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ProblemKind(str, Enum):
    """What went wrong (the value is the stable name used in JSON output)."""

    UNREADABLE_DIR = "unreadable-dir"  # a directory under a logdir can't be listed
    UNREADABLE_FILE = "unreadable-file"  # an event file can't be read
    REMOTE = "remote"  # a remote listing failed (network, credentials, bucket)


@dataclass(frozen=True)
class Problem:
    """One problem: its kind, the path (or URL) it is about, and a message saying what to do."""

    kind: ProblemKind
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "path": self.path, "message": self.message}
