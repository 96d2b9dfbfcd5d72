"""The words for what can be wrong with an event file or a logdir: one function per kind.

Each message says what is wrong, where, and what it means for the data, in plain words. The
typed :class:`~tui.store.Problem` carries the kind, the file, the offset and the counts too.
"""

from __future__ import annotations

from tui.ingest.tfrecord import MAX_RECORD
from tui.store import Problem, ProblemKind


def _size(n: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n} bytes"


def _claim(n: int) -> str:
    return f"{n:,} bytes" if n < (1 << 40) else f"about 2^{n.bit_length() - 1} bytes"


class DamageTally:
    """Stretches of one kind of damage in one file (see :class:`tui.ingest.tfrecord.Damage`)."""

    def __init__(self, kind: ProblemKind, count: int = 0, first: int = 0, skipped: int = 0, end: int = 0,
                 claimed: int | None = None, open: bool = False) -> None:
        self.kind = kind
        self.count = count
        self.first = first  # file offset of the first
        self.skipped = skipped  # bytes skipped in all
        self.end = end  # file offset where the last one ended
        self.claimed = claimed  # the first impossible length
        self.open = open  # the file ends inside the last one (no valid record after it yet)

    def problem(self, path: str) -> Problem:
        n, at = self.count, self.first
        beyond_file = (self.claimed or 0) <= MAX_RECORD
        if self.kind is ProblemKind.IMPOSSIBLE_LENGTH:
            where = (f"a record header at byte {at} claims {_claim(self.claimed or 0)}"
                     + (", more than the rest of the file holds" if beyond_file else ", over the 256 MiB limit"))
            head = where if n == 1 else f"{n} record headers with impossible lengths (first: {where})"
        else:
            head = (f"corrupt record length at byte {at} (its checksum does not match)" if n == 1
                    else f"{n} corrupt record lengths (first at byte {at}; their checksums do not match)")
        if self.open:
            tail = (f"{_size(self.skipped)} from there to the end of the file hold no valid record "
                    "(zeros or garbage) and were skipped; records appended later will be read")
        else:
            tail = (f"{_size(self.skipped)} skipped up to the next valid record; "
                    "the records after it were read")
        return Problem(self.kind, path, f"{head}: {tail}", at, n, self.skipped)


def bad_checksum(path: str, count: int, first: int) -> Problem:
    return Problem(ProblemKind.BAD_CHECKSUM, path,
                   f"{count} record(s) skipped because their checksum does not match (first at byte {first}); "
                   "the other records were read", first, count)


def not_events(path: str, count: int) -> Problem:
    return Problem(ProblemKind.NOT_EVENTS, path,
                   f"{count} intact record(s) skipped because they are not TensorBoard events", None, count)


def unreadable_file(path: str, why: str, records: int) -> Problem:
    kept = (f"the {records} record(s) read from it before are kept" if records
            else "nothing could be read from it")
    return Problem(ProblemKind.UNREADABLE_FILE, path,
                   f"event file {path} cannot be read: {why}; {kept}. Check its permissions")


def deleted_file(path: str, records: int) -> Problem:
    kept = f"the {records} record(s) read from it are kept" if records else "nothing had been read from it"
    return Problem(ProblemKind.DELETED_FILE, path, f"event file {path} was deleted; {kept}")


def run_gone(path: str) -> Problem:
    return Problem(ProblemKind.RUN_GONE, path,
                   f"run directory {path} no longer exists (deleted or moved?); "
                   "showing the data read before it went away")

