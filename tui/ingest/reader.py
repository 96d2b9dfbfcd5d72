"""Reading one event file incrementally: offsets, chunks, damage, restarts of the file itself.

A :class:`FileReader` keeps a byte offset (the start of the first record it has not read) and
reads only the bytes past it, in large chunks. It notices when the file was replaced (another
inode, or the 4 bytes just before its offset changed) or shrank, and then reads it again from
the start; the store's restart rule then replaces the old points by the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tui.ingest import fast
from tui.ingest.chunk import TagTable
from tui.ingest.events import RunDecoder
from tui.ingest.sources import Stat
from tui.ingest.tfrecord import FOOTER
from tui.store import Store

CHUNK = 2 << 20  # bytes per read: amortises numpy's per-call costs, stays in cache
Bytes = bytes | bytearray | memoryview


class Source(Protocol):
    """Where event files are read from (local files, or an fsspec file system)."""

    def stat(self, path: str) -> Stat: ...
    def read(self, path: str, offset: int, size: int) -> bytes: ...
    def is_dir(self, path: str) -> bool: ...


@dataclass(frozen=True)
class FileState:
    """What tbpeek knows about one event file (for ``tbpeek ls`` and the app)."""

    run: str
    path: str
    offset: int  # bytes read and framed
    size: int  # file size at the last poll
    records: int  # good records read
    skipped_records: int  # records skipped: payload checksum mismatch, or not an Event
    damaged: str | None  # why the rest of the file can't be read (corrupt length), else None
    pending: int = 0  # bytes of an incomplete last record (a writer may be mid-write)
    missing: str | None = None  # why the file can't be read now (vanished…), else None


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
        self.missing: str | None = None
        self.reported: str | None = None  # the problem last recorded in the store

    def _reset(self) -> None:
        self.offset = 0
        self.records = 0
        self.skipped = 0
        self.undecodable = 0
        self.first_bad: int | None = None
        self.damaged: str | None = None
        self.ident: tuple[Any, ...] | None = None
        self.tail = b""  # the 4 bytes before `offset`: tells a grown file from a rewritten one
        self.pending = 0

    def state(self) -> FileState:
        return FileState(self.run, self.path, self.offset, self.size, self.records,
                         self.skipped + self.undecodable, self.damaged,
                         max(0, self.size - self.offset) if not self.damaged else 0, self.missing)

    def problem(self) -> str | None:
        """The message to show for this file, or None when it is fine."""
        parts = []
        if self.damaged:
            parts.append(self.damaged)
        if self.skipped:
            parts.append(f"{self.skipped} record(s) skipped because their checksum does not match "
                         f"(first at byte {self.first_bad}); the other records were read")
        if self.undecodable:
            parts.append(f"{self.undecodable} record(s) skipped because they are not TensorBoard events")
        return "; ".join(parts) or None

    def check(self) -> int:
        """Stat the file; how many bytes are ready to be read (0 when none, or damaged).

        Raises:
            OSError: the file can't be stat'ed (the caller records the problem).
        """
        st = self.source.stat(self.path)
        self.missing = None
        if self.ident is not None and (st.ident != self.ident or st.size < self.offset):
            self._reset()  # replaced or truncated: read again from the start
        self._first = self.ident is None
        self.ident = st.ident
        self.size = st.size
        self._mtime_now = st.mtime
        return 0 if self.damaged else max(0, st.size - self.offset)

    def touch(self, store: Store, changed: bool) -> None:
        """Tell the store when the run was last written (after a :meth:`check`)."""
        if self._first or changed or self._mtime_now != self.mtime:
            self.mtime = self._mtime_now
            store.set_last_write(self.run, self._mtime_now)

    def poll(self, store: Store) -> bool:
        """Read new bytes into ``store``. True if points or texts were added.

        Raises:
            OSError: the file can't be stat'ed or read (the caller records the problem).
        """
        self.check()
        return self.poll_checked(store)

    def poll_checked(self, store: Store) -> bool:
        """:meth:`poll` after a :meth:`check`."""
        changed = self._read(store, self.size) if self.size > self.offset and not self.damaged else False
        self.touch(store, changed)
        return changed

    def read_rest(self, into: memoryview | None = None) -> Bytes | None:
        """Everything past the offset in one read (after a :meth:`check`), for a batch; None
        when the bytes before the offset changed (rewritten in place: poll it alone).

        With ``into`` (at least ``self.size - self.offset + 4`` bytes) and a source that can,
        the bytes are read into it and a part of it is returned: a batch reuses one buffer.
        """
        pos = self.offset
        prefix = FOOTER if pos >= FOOTER and self.tail else 0
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

    def take(self, store: Store, buf: Bytes, ch: fast.Chunk) -> bool:
        """Account for the chunk ``ch`` made of ``buf`` (from :meth:`read_rest`)."""
        changed = self._apply(store, ch, self.offset)
        if ch.consumed >= FOOTER:
            self.tail = bytes(buf[ch.consumed - FOOTER : ch.consumed])
        self.offset += ch.consumed
        self.touch(store, changed)
        return changed

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
            ch = fast.process(buf, pos, self.decoder, self.tags)
            changed |= self._apply(store, ch, pos)
            consumed = ch.consumed
            if consumed >= FOOTER:
                self.tail = bytes(buf[consumed - FOOTER : consumed])
            pos += consumed
            self.offset = pos
            carry = buf[consumed:]
            if self.damaged:
                break
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
        if ch.damaged:
            self.damaged = ch.damaged
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
            store.append_many(self.run, ch.batch, adopt=True)  # fresh arrays, used nowhere else
            changed = True
        return changed
