"""What can be wrong with a run's data, typed: a kind, where, and a message in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ProblemKind(str, Enum):
    """What is wrong with a run's data (each kind has its own wording, see :class:`Problem`)."""

    CORRUPT_LENGTH = "corrupt-length"  # a record header whose length fails its checksum
    IMPOSSIBLE_LENGTH = "impossible-length"  # a length over 256 MiB, or past the file's end
    BAD_CHECKSUM = "bad-checksum"  # whole records whose payload fails its checksum
    NOT_EVENTS = "not-events"  # whole, intact records that are not TensorBoard events
    UNREADABLE_FILE = "unreadable-file"  # an event file that can't be opened or read
    DELETED_FILE = "deleted-file"  # an event file that vanished (its data is kept)
    RUN_GONE = "run-gone"  # the run's directory vanished (its data is kept)
    UNREADABLE_DIR = "unreadable-dir"  # a directory under a logdir that can't be listed
    REMOTE = "remote"  # a remote logdir's listing failed (network, credentials, bucket)
    OTHER = "other"

    @property
    def damage(self) -> bool:
        """Data that exists could not be read (as opposed to data that went away)."""
        return self not in (ProblemKind.DELETED_FILE, ProblemKind.RUN_GONE, ProblemKind.OTHER)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a run's data, in plain words.

    Attributes:
        kind: what is wrong (see :class:`ProblemKind`; ``kind.damage`` tells damage from loss).
        path: the event file or directory concerned.
        message: one line for a person: what is wrong, where, and what it means for the data.
        offset: the byte offset in the file of the first occurrence, when it has one.
        count: how many times it occurred (records skipped, damaged stretches...).
        skipped_bytes: bytes of the file that could not be read because of it.
        run: the run it belongs to; None for a directory outside every run.
    """

    kind: ProblemKind
    path: str
    message: str
    offset: int | None = None
    count: int = 1
    skipped_bytes: int = 0
    run: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "run": self.run, "path": self.path, "offset": self.offset,
                "count": self.count, "skipped_bytes": self.skipped_bytes, "damage": self.kind.damage,
                "message": self.message}
