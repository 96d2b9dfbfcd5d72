"""The vectorised fast path: frame, CRC-check and decode whole chunks with numpy.

Writers log the same few tags over and over, so the records of a chunk come in a handful of
byte layouts. The fast path, for a batch of buffers (the new bytes of one or many files):

1. **frames** each buffer by following its lengths (:mod:`tui.ingest.chain`);
2. **lays records out as rows**: where the record lengths repeat with a period (the same tags
   logged in the same order) a stretch of the buffer is reshaped into a 2-D array without
   copying, one period per row; other records are gathered by payload length
   (:class:`~tui.ingest.rows.Block`);
3. **checks every payload CRC and decodes by templates**, once for all the buffers' rows
   (:mod:`tui.ingest.rows`);
4. **assembles** each buffer's result: the rows back to their buffers, protobuf for what no
   template fits, plugin filtering, grouping by tag (:func:`tui.ingest.chunk.group`).

Anything the fast path can't prove (a corrupt length, a large record, a layout it doesn't know,
a record not starting with ``0x09`` where no period guides the framing) is handed to the plain
path, record by record or for the rest of the chunk, so results are always those of the plain
path (a test holds it to that).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from tui.ingest.chain import MAX_FAST_LEN, chain, chain_many
from tui.ingest.chunk import Buffer, Chunk, Read, TagPoints, TagTable, group, process_plain
from tui.ingest.events import RunDecoder
from tui.ingest.rows import Block, Piece, check_and_decode
from tui.ingest.templates import template_for
from tui.ingest.tfrecord import FOOTER, HEADER, Frames, frame, masked_crc

__all__ = ["MIN_FAST", "Chunk", "Read", "TagTable", "process", "process_many", "process_plain"]

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    U8 = npt.NDArray[np.uint8]

_T = TypeVar("_T", bound=np.generic)

MIN_FAST = 4096  # bytes: below this the plain path is as fast and simpler (for a buffer alone)
MAX_JOINED = 1 << 18  # bytes: buffers up to this size are framed together, however many


def process(buf: Buffer, base: int, decoder: RunDecoder, tags: TagTable | None = None,
            file_left: int | None = None, resync: bool = False) -> Chunk:
    """Frame, check and decode ``buf`` (starting at a record boundary at file offset ``base``;
    ``file_left`` and ``resync``: see :class:`~tui.ingest.chunk.Read`)."""
    return process_many([Read(buf, base, decoder, file_left, resync)], tags)[0]


class _Job:
    """One buffer of a batch between the shared phase and its own finish."""

    __slots__ = ("bad", "base", "buf", "decoder", "first", "fr", "grouped", "lengths", "ordered", "out", "pieces",
                 "slow", "starts")

    def __init__(self, buf: Buffer, base: int, decoder: RunDecoder, starts: I64, lengths: I64, fr: Frames | None, out: Chunk,
                 first: int) -> None:
        self.buf = buf
        self.base = base
        self.decoder = decoder
        self.starts = starts
        self.lengths = lengths
        self.fr = fr  # what the plain framer took (None: nothing, as for files framed together)
        self.out = out
        self.first = first  # global index of its first chain record in the batch
        self.slow: list[int] = []
        self.bad: list[I64] = []
        self.pieces: list[Piece] = []
        self.grouped: list[TagPoints] | None = None  # its points, when grouped with other buffers'
        self.ordered: list[bool] | None = None  # ... and whether each tag's steps never go back


def process_many(items: Sequence[Read | tuple[Buffer, int, RunDecoder]], tags: TagTable | None = None) -> list[Chunk]:
    """:func:`process` for several buffers (e.g. small files of many runs) at once.

    Framing and the plain parts are per buffer; CRC checks and template decoding run once over
    the records of all buffers, so many small files cost about what one big one does.

    Args:
        items: the buffers (:class:`~tui.ingest.chunk.Read`, or ``(buffer, file offset of its
            first byte, the run's decoder)``).
        tags: the tag-id table of the caller (an ingestor keeps one); a fresh one when None.
    """
    table = tags if tags is not None else TagTable()
    reads = [item if isinstance(item, Read) else Read(*item) for item in items]
    results: list[Chunk | None] = [None] * len(items)
    jobs: list[tuple[int, _Job]] = []
    blocks: dict[int, list[Block]] = {}
    # Small buffers first, all framed at once; those that framing can't take go on alone.
    small = [j for j, r in enumerate(reads) if HEADER < len(r.buf) <= MAX_JOINED and not r.resync]
    alone = set(range(len(reads))).difference(_prepare_joined(reads, small, jobs, blocks)) if small else None
    total = jobs[-1][1].first + jobs[-1][1].starts.shape[0] if jobs else 0
    for j, (buf, base, decoder, file_left, resync) in enumerate(reads):
        if alone is not None and j not in alone:
            continue
        if len(buf) < MIN_FAST or resync:
            results[j] = process_plain(buf, base, decoder, table, file_left, resync)
            continue
        job = _prepare(buf, base, decoder, total, blocks, file_left)
        jobs.append((j, job))
        total += job.starts.shape[0]
    if blocks:
        dec = check_and_decode(blocks, table)
        js = [job for _, job in jobs]
        _distribute(js, total, [], dec.slow, dec.bad)
        for job in js:
            _protobuf(job)
        _distribute(js, total, _group_jobs(js, total, dec.pieces, table), [], [])
    else:
        for _, job in jobs:
            _protobuf(job)
    for j, job in jobs:
        results[j] = _finish(job, table)
    return [r for r in results if r is not None]


def _prepare_joined(reads: list[Read], small: list[int], jobs: list[tuple[int, _Job]],
                    blocks: dict[int, list[Block]]) -> list[int]:
    """Frame the small buffers ``reads[j] for j in small`` at once (:func:`chain_many`) and lay
    out all their records as blocks by payload length; the jobs of the ones it framed."""
    sizes = np.asarray([len(reads[j].buf) for j in small], np.int64)
    ends = np.cumsum(sizes)
    offs = ends - sizes
    arrs = [np.frombuffer(reads[j].buf, np.uint8) for j in small]
    joined = _adjacent([reads[j].buf for j in small], arrs, int(ends[-1]))
    if joined is None:
        joined = np.empty(int(ends[-1]), np.uint8)
        for a, o, e in zip(arrs, offs.tolist(), ends.tolist(), strict=True):
            joined[o:e] = a
    ok, starts, lengths, first = chain_many(joined, offs, ends)
    done: list[int] = []
    fl = first.tolist()
    framed = np.flatnonzero(ok)
    # Each record's start in its own buffer (all at once: thousands of buffers).
    own = starts - np.repeat(offs[framed], np.diff(first)[framed])
    for k in framed.tolist():
        j = small[k]
        buf, base, decoder, _, _ = reads[j]
        a, b = fl[k], fl[k + 1]
        jobs.append((j, _Job(buf, base, decoder, own[a:b], lengths[a:b], None,
                             Chunk(consumed=len(buf), records=b - a), a)))
        done.append(j)
    m = starts.shape[0]
    if not m:
        return done
    big = np.flatnonzero(lengths > MAX_FAST_LEN)
    if big.shape[0]:  # large records: their CRCs one by one, protobuf for the good ones
        by_first = {job.first: job for _, job in jobs}
        owner = np.searchsorted(first[1:], big, side="right")
        for i, k in zip(big.tolist(), owner.tolist(), strict=True):
            job = by_first[fl[k]]
            s, ln = int(starts[i]), int(lengths[i])
            if _crc_one(joined.data, s + HEADER + ln, ln):
                job.slow.append(i - job.first)
            else:
                job.bad.append(np.asarray([i - job.first]))
    fits = np.flatnonzero(lengths <= MAX_FAST_LEN)
    order = fits[np.argsort(lengths[fits].astype(np.uint8), kind="stable")]  # a radix sort
    ls_sorted = lengths[order]
    cuts = np.flatnonzero(ls_sorted[1:] != ls_sorted[:-1]) + 1
    n = joined.shape[0]
    for grp in np.split(order, cuts) if order.shape[0] else []:
        ln = int(lengths[grp[0]])
        pad = (-ln) % 8
        s1 = int(starts[grp[0]]) + HEADER
        blocks.setdefault(ln, []).append(
            Block(_rows(joined, n, pad + ln + FOOTER, starts[grp] + (HEADER - pad)), grp,
                  template_for(joined[s1 : s1 + ln].tobytes())))
    return done


def _prepare(buf: Buffer, base: int, decoder: RunDecoder, first: int, blocks: dict[int, list[Block]],
             file_left: int | None) -> _Job:
    """Frame a buffer and lay its records out as blocks (record indices offset by ``first``)."""
    n = len(buf)
    a = np.frombuffer(buf, np.uint8)
    starts, lengths, stop, segments = chain(a)  # every length's CRC checked
    out = Chunk()
    fr = Frames()
    if stop < n:
        # The chain stopped early (incomplete record, a record the chain can't see, damage):
        # the plain framer takes it from there.
        frame(buf, base, start=stop, out=fr, file_left=file_left)
        out.consumed, out.need, out.damage, out.resync = fr.consumed, fr.need, fr.damage, fr.resync
    else:
        out.consumed = n
    m = starts.shape[0]
    out.records = m + len(fr.starts)
    job = _Job(buf, base, decoder, starts, lengths, fr, out, first)
    if not m:
        return job
    big = lengths > MAX_FAST_LEN
    for i in np.flatnonzero(big).tolist():  # large records: their CRCs one by one
        if _crc_one(buf, int(starts[i]) + HEADER + int(lengths[i]), int(lengths[i])):
            job.slow.append(i)
        else:
            job.bad.append(np.asarray([i]))
    covered = np.zeros(m, bool)
    covered[big] = True
    # Periodic stretches (the same tags logged in the same order): zero-copy 2-D views;
    # the rest grouped by payload length.
    for seg_first, p, rows in segments:
        width = int((lengths[seg_first : seg_first + p] + HEADER + FOOTER).sum())
        s0 = int(starts[seg_first])
        view = a[s0 : s0 + rows * width].reshape(rows, width)
        off = 0
        for k in range(p):
            ln = int(lengths[seg_first + k])
            pad = (-ln) % 8
            blk = view[:, off + HEADER - pad : off + HEADER + ln + FOOTER]
            g0 = first + seg_first + k
            t = template_for(bytes(buf[s0 + off + HEADER : s0 + off + HEADER + ln]))
            blocks.setdefault(ln, []).append(Block(blk, np.arange(g0, g0 + p * rows, p), t))
            off += ln + HEADER + FOOTER
        covered[seg_first : seg_first + p * rows] = True
    rest = np.flatnonzero(~covered)
    if rest.shape[0]:
        ls = lengths[rest]
        order = rest[np.argsort(ls, kind="stable")]
        ls_sorted = lengths[order]
        cuts = np.flatnonzero(ls_sorted[1:] != ls_sorted[:-1]) + 1
        for grp in np.split(order, cuts):
            ln = int(lengths[grp[0]])
            pad = (-ln) % 8
            s1 = int(starts[grp[0]]) + HEADER
            blocks.setdefault(ln, []).append(
                Block(_rows(a, n, pad + ln + FOOTER, starts[grp] + (HEADER - pad)), grp + first,
                      template_for(bytes(buf[s1 : s1 + ln]))))
    return job


def _distribute(jobs: list[_Job], total: int, pieces: list[Piece], slow: list[int], bad: list[I64]) -> None:
    """Hand the batch's results back to each buffer, with its own record indices."""
    if len(jobs) == 1:
        (job,) = jobs
        job.pieces.extend(pieces)
        job.slow.extend(slow)
        job.bad.extend(bad)
        return
    bounds = np.asarray([job.first for job in jobs] + [total], np.int64)
    if slow:
        g = np.asarray(slow, np.int64)
        which = np.searchsorted(bounds, g, side="right") - 1
        for k, x in zip(which.tolist(), g.tolist(), strict=False):
            jobs[k].slow.append(x - jobs[k].first)
    for arr in bad:
        which = np.searchsorted(bounds, arr, side="right") - 1
        for k in np.unique(which).tolist():
            jobs[k].bad.append(arr[which == k] - jobs[k].first)
    small = len(jobs) < 65536
    for piece in pieces:
        # Rows to their buffers (a buffer's rows keep their order; its group() sorts them).
        which = np.searchsorted(bounds, piece.idx, side="right") - 1
        if which.shape[0] > 1 and not (which[1:] >= which[:-1]).all():
            o = np.argsort(which.astype(np.uint16) if small else which, kind="stable")
            piece = piece.take(o)
        cut = [0, *np.cumsum(np.bincount(which, minlength=len(jobs))).tolist()]
        for k, job in enumerate(jobs):
            a, b = cut[k], cut[k + 1]
            if b > a:
                job.pieces.append(piece.take(slice(a, b), job.first))


def _protobuf(job: _Job) -> None:
    """Bad records, and protobuf for the records no template fits, for one buffer."""
    out, decoder, starts, lengths, fr = job.out, job.decoder, job.starts, job.lengths, job.fr
    if not (job.bad or job.slow or fr):
        return  # every record checked and decoded by templates (the common case)
    m = starts.shape[0]
    if job.bad:
        bad_idx = np.sort(np.concatenate(job.bad))
        out.bad_offsets = starts[bad_idx].tolist()
        out.records -= bad_idx.shape[0]
    if fr is not None:
        out.bad_offsets.extend(fr.bad_offsets)
    # Protobuf for the rest, in record order (plugin metadata is remembered as it goes).
    sink = out.sink
    mv = memoryview(job.buf)
    for i in sorted(job.slow):
        s = int(starts[i]) + HEADER
        if not decoder.decode(bytes(mv[s : s + int(lengths[i])]), sink, i):
            out.undecodable += 1
    for k, (s, ln) in enumerate(zip(fr.starts, fr.lengths, strict=False) if fr is not None else ()):
        if not decoder.decode(bytes(mv[s : s + ln]), sink, m + k):
            out.undecodable += 1


def _finish(job: _Job, tags: TagTable) -> Chunk:
    """Plugin filtering and grouping by tag, for one buffer (after :func:`_protobuf`)."""
    out = job.out
    if job.grouped is not None:
        out.batch, out.ordered = job.grouped, job.ordered
        job.decoder.changes.clear()
    else:
        out.batch = group(out.sink, _accept(job.pieces, job.decoder), tags)
    return out


def _group_jobs(jobs: list[_Job], total: int, pieces: list[Piece], tags: TagTable) -> list[Piece]:
    """Group the points of many buffers by buffer and tag at once (one sort for the batch).

    Buffers whose points all come from templates (protobuf found none, and no plugin claims
    a tensor tag) get their points here (``job.grouped``); the pieces of the others are
    returned.
    """
    if len(jobs) < 2 or not pieces:
        return pieces
    tensor_tags = {t.tag for p in pieces for t in p.templates if t.tensor}
    simple = np.asarray([not job.out.sink.tags and not job.decoder.changes
                         and all(_scalar_plugin(job.decoder.plugins.get(t)) for t in tensor_tags)
                         for job in jobs])
    if not simple.any():
        return pieces
    bounds = np.asarray([job.first for job in jobs] + [total], np.int64)
    mine: list[Piece] = []
    rest: list[Piece] = []
    if simple.all():
        mine = pieces
    else:
        for p in pieces:
            sel = simple[np.searchsorted(bounds, p.idx, side="right") - 1]
            if sel.all():
                mine.append(p)
            elif sel.any():
                mine.append(p.take(sel))
                rest.append(p.take(~sel))
            else:
                rest.append(p)
    if not mine:
        return rest
    # A stable sort by (buffer, tag) of the rows, piece after piece: a radix sort of small
    # keys. Each piece's rows are in record order, and a tag's rows of one buffer are in record
    # order when its pieces follow each other in the buffer (its payload length grew with its
    # steps, as the step's varint does); when they don't, record order first.
    g = len(tags) + 1
    top = len(jobs) * g
    kt = np.uint16 if top < 1 << 16 else np.uint32 if top < 1 << 32 else np.int64
    job_g = np.repeat(np.arange(0, top, g, dtype=np.int64), np.diff(bounds))
    key = _cat([job_g[p.idx] + p.gid for p in mine]).astype(kt)
    m = key.shape[0]
    if not m:
        return pieces
    order = np.argsort(key, kind="stable")
    jg = key[order].astype(np.int64)
    if len(mine) > 1:
        idx = _cat([p.idx for p in mine])[order]
        if ((idx[1:] < idx[:-1]) & (jg[1:] == jg[:-1])).any():
            order = order[np.argsort(idx, kind="stable")]  # record order, then by key again
            order = order[np.argsort(key[order], kind="stable")]
            jg = key[order].astype(np.int64)
    steps = _cat([p.steps for p in mine])[order]
    walls = _cat([p.walls for p in mine])[order]
    values = _cat([p.values for p in mine])[order]
    cuts = np.flatnonzero(jg[1:] != jg[:-1]) + 1
    starts = [0, *cuts.tolist()]
    ends = [*cuts.tolist(), m]
    keys = jg[starts]
    # Whether a tag's steps go back somewhere inside its stretch (the store checks those).
    drops = np.flatnonzero(steps[1:] < steps[:-1])  # step i + 1 below step i
    ordered = (np.searchsorted(drops, np.asarray(ends) - 1) == np.searchsorted(drops, starts)).tolist()
    names = tags.names
    new = tuple.__new__  # TagPoints without its Python-level __new__ (thousands of tags)
    # Each buffer's stretches are together (sorted by buffer first): one list per buffer.
    ks = (keys // g).tolist()
    ts = (keys % g).tolist()
    by_job = [0, *(np.flatnonzero(np.diff(keys // g)) + 1).tolist(), len(ks)]
    for k, job_ in enumerate(jobs):
        if simple[k]:
            job_.grouped, job_.ordered = [], []
    for i, j in itertools.pairwise(by_job):
        job_ = jobs[ks[i]]
        job_.grouped = [new(TagPoints, (names[t], steps[a:b], walls[a:b], values[a:b]))
                        for t, a, b in zip(ts[i:j], starts[i:j], ends[i:j], strict=True)]
        job_.ordered = ordered[i:j]
    return rest


def _cat(parts: list[npt.NDArray[_T]]) -> npt.NDArray[_T]:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _adjacent(bufs: list[Buffer], arrs: list[U8], total: int) -> U8 | None:
    """The buffers as one array without a copy, when they lie end to end in one numpy array
    (an ingestor reads a batch's files into one buffer, one after the other); else None."""
    first = bufs[0]
    base = first.obj if isinstance(first, memoryview) else None
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous:
        return None
    if any(not isinstance(b, memoryview) or b.obj is not base for b in bufs):
        return None
    import ctypes  # (imported already where a sweep is read: memory.keep_freed)

    try:  # each buffer's address (writable buffers: an ingestor's room)
        at = [ctypes.addressof(ctypes.c_char.from_buffer(b)) for b in bufs]
    except (TypeError, ValueError):
        return None
    if any(at[k] + arrs[k].shape[0] != at[k + 1] for k in range(len(at) - 1)):
        return None
    whole = base.reshape(-1).view(np.uint8)
    start = at[0] - whole.__array_interface__["data"][0]
    if start < 0 or start + total > whole.shape[0]:
        return None
    out: U8 = whole[start : start + total]
    return out


def _rows(a: U8, n: int, width: int, at: I64) -> U8:
    """Copies of ``a[at[i] : at[i] + width]`` as the rows of a 2-D array."""
    # Gathered as opaque items of ``width`` bytes: faster than rows of bytes.
    win = np.ndarray((n - width + 1,), f"V{width}", buffer=a, strides=(1,))
    out: U8 = win[at].view(np.uint8).reshape(-1, width)
    return out


def _crc_one(buf: Buffer, end: int, ln: int) -> bool:
    """Whether the payload ending at ``end`` has a good CRC (the plain way)."""
    mv = memoryview(buf)
    return masked_crc(mv[end - ln : end]) == int.from_bytes(mv[end : end + 4], "little")


def _scalar_plugin(plugin: str | None) -> bool:
    return plugin is None or plugin == "scalars"


def _accept(pieces: list[Piece], decoder: RunDecoder) -> list[Piece]:
    """Drop fast-decoded tensor rows whose tag belongs to another plugin.

    The plugin in effect for a row is the one its tag had at that record: changes made by
    records decoded with protobuf in this chunk (``decoder.changes``) apply from there on.
    """
    changes: dict[str, list[tuple[int, str | None, str]]] = {}
    for tag, order, old, new in decoder.changes:
        changes.setdefault(tag, []).append((order, old, new))
    decoder.changes.clear()
    out: list[Piece] = []
    for piece in pieces:
        t_of, idx = piece.t_of, piece.idx
        keep: npt.NDArray[np.bool_] | None = None
        for k, t in enumerate(piece.templates):
            if not t.tensor:
                continue
            ch = changes.get(t.tag)
            if ch is None and _scalar_plugin(decoder.plugins.get(t.tag)):
                continue
            if keep is None:
                keep = np.ones(t_of.shape[0], bool)
            rows_k = np.flatnonzero(t_of == k)
            if ch is None:
                keep[rows_k] = False
            else:
                at = np.asarray([c[0] for c in ch], np.int64)
                allowed = np.asarray([_scalar_plugin(ch[0][1])] + [_scalar_plugin(c[2]) for c in ch])
                keep[rows_k] = allowed[np.searchsorted(at, idx[rows_k])]
        out.append(piece if keep is None else piece.take(keep))
    return out
