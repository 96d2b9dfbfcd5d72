"""What reading one buffer of an event file gives, the tag-id table, and the plain path.

The plain path frames one record at a time (:func:`tui.ingest.tfrecord.frame`) and decodes
each with protobuf. The vectorised path (:mod:`tui.ingest.fast`) must give exactly what it
gives (a test holds it to that); both end in :func:`group`, which puts a buffer's points in
order, tag by tag.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

import numpy as np

from tui.ingest.events import RunDecoder, Sink
from tui.ingest.tfrecord import Damage, frame

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    F64 = npt.NDArray[np.float64]
    U8 = npt.NDArray[np.uint8]
Buffer = bytes | bytearray | memoryview


class TagPoints(NamedTuple):
    """One tag's points from one buffer, in record order."""

    tag: str
    steps: I64
    walls: F64
    values: F64


class TagTable:
    """Tag names <-> small integers, to group points by tag with numpy.

    One table per ingestor (or per call of the fast path when none is given): it holds the
    tags that ingestor has seen, so it grows with the data it reads, no further.
    """

    __slots__ = ("_ids", "names")

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.names: list[str] = []

    def id(self, tag: str) -> int:
        i = self._ids.get(tag)
        if i is None:
            i = self._ids[tag] = len(self.names)
            self.names.append(tag)
        return i

    def __len__(self) -> int:
        return len(self.names)


class Read(NamedTuple):
    """A buffer to frame and decode.

    Attributes:
        buf: the bytes, from a record boundary (or, with ``resync``, from inside damage).
        base: file offset of ``buf[0]``.
        decoder: the run's decoder (remembers each tag's plugin).
        file_left: bytes of the file from ``buf[0]`` on, if known (a record claiming more
            while whole records follow it is damage, not an incomplete last record).
        resync: ``buf`` continues damage: search it for the first valid record.
    """

    buf: Buffer
    base: int
    decoder: RunDecoder
    file_left: int | None = None
    resync: bool = False


class FastRows(Protocol):
    """Points the vectorised path decoded for one buffer (see :class:`tui.ingest.rows.Piece`)."""

    @property
    def idx(self) -> I64: ...
    @property
    def steps(self) -> I64: ...
    @property
    def walls(self) -> F64: ...
    @property
    def values(self) -> F64: ...
    @property
    def gid(self) -> I64: ...


class Chunk:
    """Everything read from one buffer.

    Attributes:
        consumed: bytes of the buffer fully framed (whole records, and damage skipped).
        need: when the buffer ends inside a record whose length is known, the bytes (from
            ``consumed``) that record needs; else 0.
        damage: stretches of bytes that held no valid record (corrupt or impossible lengths),
            in file order; framing went on after each at the next valid record.
        resync: the buffer ended inside damage: the next read must search for a record start.
        bad_offsets: buffer positions of records skipped because their payload CRC failed.
        records: good records (payload CRC fine), decodable or not.
        undecodable: good records that are not Events.
    """

    def __init__(self, consumed: int = 0, need: int = 0, damage: list[Damage] | None = None, resync: bool = False,
                 bad_offsets: list[int] | None = None, records: int = 0) -> None:
        self.consumed = consumed
        self.need = need
        self.damage: list[Damage] = [] if damage is None else damage
        self.resync = resync
        self.bad_offsets: list[int] = [] if bad_offsets is None else bad_offsets
        self.records = records
        self.undecodable = 0
        self.batch: list[TagPoints] = []
        self.ordered: list[bool] | None = None  # per item of batch: its steps never go back, if known
        self.sink = Sink()


def process_plain(buf: Buffer, base: int, decoder: RunDecoder, tags: TagTable | None = None,
                  file_left: int | None = None, resync: bool = False) -> Chunk:
    """The plain path: one record at a time, protobuf decoding.

    Args:
        buf: bytes starting at a record boundary.
        base: file offset of ``buf[0]`` (for messages).
        decoder: the run's decoder (remembers each tag's plugin).
        tags: the tag-id table to group by (a fresh one when None).
        file_left, resync: see :class:`Read`.
    """
    fr = frame(buf, base, file_left=file_left, resync=resync)
    out = Chunk(fr.consumed, fr.need, fr.damage, fr.resync, fr.bad_offsets, len(fr.starts))
    mv = memoryview(buf)
    sink = out.sink
    for i, (s, n) in enumerate(zip(fr.starts, fr.lengths, strict=False)):
        if not decoder.decode(bytes(mv[s : s + n]), sink, i):
            out.undecodable += 1
    decoder.changes.clear()
    out.batch = group(sink, [], tags if tags is not None else TagTable())
    return out


def group(sink: Sink, fast: Sequence[FastRows], tags: TagTable) -> list[TagPoints]:
    """Points by tag, each in record order, from both paths."""
    g_parts: list[I64] = []
    i_parts: list[I64] = []
    s_parts: list[I64] = []
    w_parts: list[F64] = []
    v_parts: list[F64] = []
    for p in fast:
        if not p.idx.shape[0]:
            continue
        g_parts.append(p.gid)
        i_parts.append(p.idx)
        s_parts.append(p.steps)
        w_parts.append(p.walls)
        v_parts.append(p.values)
    if sink.tags:
        tid = tags.id
        g_parts.append(np.asarray([tid(t) for t in sink.tags], np.int64))
        i_parts.append(np.asarray(sink.order, np.int64))
        s_parts.append(np.asarray(sink.steps, np.int64))
        w_parts.append(np.asarray(sink.walls, np.float64))
        v_parts.append(np.asarray(sink.values, np.float64))
    if not g_parts:
        return []
    gid, idx = _cat(g_parts), _cat(i_parts)
    steps, walls, values = _cat(s_parts), _cat(w_parts), _cat(v_parts)
    names = tags.names
    g0 = int(gid[0])
    if (gid == g0).all():
        if idx.shape[0] > 1 and not (idx[1:] > idx[:-1]).all():
            o = np.argsort(idx, kind="stable")
            steps, walls, values = steps[o], walls[o], values[o]
        return [TagPoints(names[g0], steps, walls, values)]
    # By tag, then record order (stable: the values of one record stay in their order).
    o = np.argsort(gid * (int(idx.max()) + 1) + idx, kind="stable")
    g = gid[o]
    steps, walls, values = steps[o], walls[o], values[o]
    cuts = (np.flatnonzero(g[1:] != g[:-1]) + 1).tolist()
    bounds = [0, *cuts, g.shape[0]]
    return [TagPoints(names[int(g[a])], steps[a:b], walls[a:b], values[a:b])
            for a, b in itertools.pairwise(bounds)]


_T = TypeVar("_T", bound=np.generic)


def _cat(parts: list[npt.NDArray[_T]]) -> npt.NDArray[_T]:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
