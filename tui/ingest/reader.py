"""Reading one event file incrementally: offsets, chunks, damage, restarts of the file itself.

A :class:`FileReader` keeps a byte offset (the start of the first record it has not read) and
reads only the bytes past it, in large chunks (memory stays proportional to a chunk, or to one
record of at most 256 MiB). Damage (corrupt or impossible record lengths) is skipped up to the
next valid record and counted; :meth:`FileReader.problems` says what is wrong with the file. It notices when the file was replaced (another
inode, or the 4 bytes just before its offset changed) or shrank, and then reads it again from
the start; the store's restart rule then replaces the old points by the new ones.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple, Protocol

from tui.ingest import fast, problems
from tui.ingest.chunk import TagTable
from tui.ingest.events import RunDecoder
from tui.ingest.problems import DamageTally
from tui.ingest.sources import Stat
from tui.ingest.tfrecord import FOOTER
from tui.store import Problem, ProblemKind, Store

CHUNK = 2 << 20  # bytes per read: amortises numpy's per-call costs, stays in cache
Bytes = bytes | bytearray | memoryview


class Source(Protocol):
    """Where event files are read from (local files, or an fsspec file system)."""

    def stat(self, path: str) -> Stat: ...
    def read(self, path: str, offset: int, size: int) -> bytes: ...
    def is_dir(self, path: str) -> bool: ...


class FileState(NamedTuple):
    """What tbpeek knows about one event file (for ``tbpeek ls`` and the app)."""

    run: str
    path: str
    offset: int  # bytes read and framed
    size: int  # file size at the last poll
    records: int  # good records read
    skipped_records: int  # records skipped: payload checksum mismatch, or not an Event
    damaged: str | None  # what stretches of the file held no valid record, else None
    pending: int = 0  # bytes of an incomplete last record (a writer may be mid-write)
    missing: str | None = None  # why the file can't be read now (vanished…), else None
    problems: tuple[Problem, ...] = ()  # everything wrong with the file, typed


class FileReader:
    """Incremental reader of one event file of one run."""

    def __init__(self, run: str, path: str, source: Source, decoder: RunDecoder, tags: TagTable | None = None) -> None:
        self.run = run
        self.path = path
        self.source = source
        self.decoder = decoder
        self.tags = tags if tags is not None else TagTable()
        self._reset()
        self.size = 0
        self.mtime: float | None = None
        self.missing_kind: ProblemKind | None = None  # why the file can't be read now
        self._why: str | None = None  # ... in the system's words, or how else it went away
        self.reported: tuple[Problem, ...] = ()  # the problems last recorded in the store

    def _reset(self) -> None:
        self.offset = 0
        self.records = 0
        self.skipped = 0
        self.undecodable = 0
        self.first_bad: int | None = None
        self.damage: dict[ProblemKind, DamageTally] = {}
        self.resync = False  # the offset is inside damage: search for the next record
        self._open: DamageTally | None = None  # that damage
        self.ident: tuple[Any, ...] | None = None
        self.tail = b""  # the 4 bytes before `offset`: tells a grown file from a rewritten one
        self.pending = 0

    def state(self) -> FileState:
        ps = self.problems()
        damaged = "; ".join(p.message for p in ps if p.kind in self.damage) or None
        pending = 0 if self.missing or self.resync else max(0, self.size - self.offset)
        return FileState(self.run, self.path, self.offset, self.size, self.records,
                         self.skipped + self.undecodable, damaged, pending, self.missing, ps)

    def problems(self) -> tuple[Problem, ...]:
        """Everything wrong with this file (empty when it is fine)."""
        if not (self.missing_kind or self.damage or self.skipped or self.undecodable):
            return ()
        out: list[Problem] = []
        if self.missing_kind is ProblemKind.UNREADABLE_FILE:
            out.append(problems.unreadable_file(self.path, self._why or "", self.records))
        elif self.missing_kind is ProblemKind.DELETED_FILE:
            out.append(problems.deleted_file(self.path, self.records))
        out += [t.problem(self.path) for t in self.damage.values()]
        if self.skipped:
            out.append(problems.bad_checksum(self.path, self.skipped, self.first_bad or 0))
        if self.undecodable:
            out.append(problems.not_events(self.path, self.undecodable))
        return tuple(replace(p, run=self.run) for p in out)

    def set_missing(self, kind: ProblemKind | None, why: str | None) -> None:
        """Record why the file can't be read now (None, None: it can)."""
        self.missing_kind, self._why = kind, why

    @property
    def missing(self) -> str | None:
        """Why the file can't be read now, in a few words, else None."""
        if self.missing_kind is ProblemKind.UNREADABLE_FILE:
            return f"event file cannot be read: {self._why}"
        if self.missing_kind is ProblemKind.DELETED_FILE:
            return "event file was deleted"
        return self._why

    def check(self) -> int:
        """Stat the file; how many bytes are ready to be read.

        Raises:
            OSError: the file can't be stat'ed (the caller records the problem).
        """
        st = self.source.stat(self.path)
        if self.missing_kind is ProblemKind.DELETED_FILE:
            self.set_missing(None, None)
        if self.ident is not None and (st.ident != self.ident or st.size < self.offset):
            self._reset()  # replaced or truncated: read again from the start
        self._first = self.ident is None
        self.ident = st.ident
        self.size = st.size
        self._mtime_now = st.mtime
        return max(0, st.size - self.offset)

    def touch(self, store: Store, changed: bool) -> None:
        """Tell the store when the run was last written (after a :meth:`check`)."""
        if self._first or changed or self._mtime_now != self.mtime:
            self.mtime = self._mtime_now
            store.set_last_write(self.run, self._mtime_now)

    def poll_checked(self, store: Store) -> bool:
        """Read new bytes into ``store`` (after a :meth:`check`). True if points or texts were added.

        Raises:
            OSError: the file can't be read (the caller records the problem).
        """
        changed = self._read(store, self.size) if self.size > self.offset else False
        self.set_missing(None, None)  # read (or nothing to read): readable
        self.touch(store, changed)
        return changed

    def read_rest(self, into: memoryview | None = None) -> Bytes | None:
        """Everything past the offset in one read (after a :meth:`check`), for a batch; None
        when the bytes before the offset changed (rewritten in place: poll it alone).

        With ``into`` (at least ``self.size - self.offset + 4`` bytes) and a source that can,
        the bytes are read into it and a part of it is returned: a batch reuses one buffer.
        """
        pos = self.offset
        prefix = self.prefix()
        want = self.size - pos + prefix
        read_into = getattr(self.source, "read_into", None) if into is not None and len(into) >= want else None
        data: Bytes
        if read_into is not None and into is not None:
            data = into[: read_into(self.path, pos - prefix, into[:want])]
        else:
            data = self.source.read(self.path, pos - prefix, want)
        if prefix:
            if data[:prefix] != self.tail:
                self._reset()
                return None
            data = data[prefix:]
        return data

    def prefix(self) -> int:
        """Bytes before the offset that a read takes too (to tell a grown file from a rewritten
        one): 4, or 0 at the start of the file."""
        return FOOTER if self.offset >= FOOTER and self.tail else 0

    def take(self, store: Store, buf: Bytes, ch: fast.Chunk) -> bool:
        """Account for the chunk ``ch`` made of ``buf`` (from :meth:`read_rest`)."""
        changed = self._apply(store, ch, self.offset)
        self.set_missing(None, None)
        self._advance(buf, ch.consumed)
        self.touch(store, changed)
        return changed

    def _advance(self, buf: Bytes, consumed: int) -> None:
        """Move the offset past ``buf[:consumed]``, keeping `tail` the bytes just before it (the
        next read checks them: changed bytes mean the file was rewritten in place). A read
        that only skipped a few bytes of damage still moves the tail with it."""
        if consumed >= FOOTER:
            self.tail = bytes(buf[consumed - FOOTER : consumed])
        elif consumed:
            self.tail = (self.tail + bytes(buf[:consumed]))[-FOOTER:]
        self.offset += consumed

    def _read(self, store: Store, size: int) -> bool:
        pos = self.offset
        prefix = FOOTER if pos >= FOOTER and self.tail else 0
        carry = b""
        need = 0
        changed = False
        while True:
            start = pos + len(carry)
            avail = size - start
            if avail <= 0 or (need and len(carry) + avail < need):
                break  # nothing new, or the incomplete record is still incomplete
            want = min(avail, max(CHUNK, need - len(carry)))
            data = self.source.read(self.path, start - prefix, want + prefix)
            if prefix:
                if data[:prefix] != self.tail:
                    # The bytes we had read changed: the file was rewritten in place.
                    self._reset()
                    return self._read(store, size) or True
                data = data[prefix:]
                prefix = 0
            if not data:
                break
            buf = carry + data if carry else data
            ch = fast.process(buf, pos, self.decoder, self.tags, size - pos, self.resync)
            changed |= self._apply(store, ch, pos)
            consumed = ch.consumed
            self._advance(buf, consumed)
            pos += consumed
            carry = buf[consumed:]
            need = ch.need
            if len(data) < want:
                break  # the file is shorter than it said: read the rest next time
        return changed

    def _apply(self, store: Store, ch: fast.Chunk, base: int) -> bool:
        """Count what a chunk held and put its points, texts and file version in the store."""
        if ch.bad_offsets:
            if self.first_bad is None:
                self.first_bad = base + ch.bad_offsets[0]
            self.skipped += len(ch.bad_offsets)
        last = self._open
        for i, d in enumerate(ch.damage):
            if i == 0 and last is not None and d.offset == last.end:
                t = last  # the damage the last read ended in goes on
            else:
                t = self.damage.get(d.kind) or self.damage.setdefault(
                    d.kind, DamageTally(d.kind, first=d.offset, claimed=d.claimed))
                t.count += 1
            t.skipped += d.end - d.offset
            t.end = d.end
            last = t
        self._open = last if ch.resync else None
        for t in self.damage.values():
            t.open = t is self._open
        self.resync = ch.resync
        self.records += ch.records - ch.undecodable
        self.undecodable += ch.undecodable
        sink = ch.sink
        changed = False
        if sink.file_version is not None:
            store.set_file_version(self.run, sink.file_version)
        for tag, step, wall, text in sink.texts:
            store.set_text(self.run, tag, step, wall, text)
            changed = True
        if ch.batch:
            store.append_many(self.run, ch.batch, adopt=True, ordered=ch.ordered)  # fresh arrays, used nowhere else
            changed = True
        return changed
