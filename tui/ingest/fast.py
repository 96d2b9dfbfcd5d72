"""The vectorised fast path: frame, CRC-check and decode whole chunks with numpy.

Writers log the same few tags over and over, so the records of a chunk come in a handful of
byte layouts. The fast path:

1. **frames** by following the lengths: a few records one by one, then, as record lengths
   repeat with a period, whole predicted periods checked at once (without a period: every
   position where a record could start, each one's successor from its length, and the chain
   from the start of the buffer); every length is then checked against its masked CRC32C,
   vectorised;
2. **lays records out as rows**: where the record lengths repeat with a period (the same tags
   logged in the same order) a stretch of the buffer is reshaped into a 2-D array without
   copying, one period per row; other records are gathered by payload length. Each payload
   length gets a block of rows ``[pad | payload | masked CRC]``, 8-byte aligned (the pad is
   the end of the record header, the same for every record of that length);
3. **checks every payload CRC** with a table-driven CRC32C over 8-byte columns (CRC32C is
   affine: ``crc(x) = L(x) ^ crc(zeros(len(x)))``; the pad's share of ``L`` is a constant per
   length), all blocks of one row width together, the rows gathered once, transposed;
4. **decodes** by templates: a row is parsed in Python (a PyTorch / tensorboardX
   ``simple_value`` event, or a TF2 scalar tensor of DT_FLOAT/DT_DOUBLE); the rows of that
   payload length whose structural bytes (field keys, every length byte, the tag, the varint
   continuation bits of the step) equal the template's decode to the same fields, so wall time,
   step and value are read as columns. Rows that fit no template go to ``Event.FromString``.

Anything the fast path can't prove (a corrupt length, a large record, a layout it doesn't know,
a record not starting with ``0x09`` where no period guides the framing) is handed to the plain
path, record by record or for the rest of the chunk, so results are always those of the plain
path (a test holds it to that).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field

import numpy as np

from tui.ingest.crc import TA, TB, crc_linear_t, header_crc_fix, u32_at, u64_at, unmask, zeros_crc
from tui.ingest.events import RunDecoder, Sink
from tui.ingest.templates import Template, template_for
from tui.ingest.tfrecord import FOOTER, HEADER, Frames, frame, masked_crc

MIN_FAST = 4096  # bytes: below this the plain path is as fast and simpler
MAX_FAST_LEN = 240  # payload bytes: longer records (images, graphs…) go the plain way
_MAX_TEMPLATES = 8  # per payload length and row block; rows beyond that go to protobuf
# ---- framing ---------------------------------------------------------------------------------
_Q = struct.Struct("<Q")
_SEQ_STEP = 40  # records followed one by one before (again) looking for a period
_SEQ_MAX = 3 * 64 + 1  # ... up to this many in a row (periods up to 64), then a search


def _chain(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, list[tuple[int, int, int]]]:
    """Record starts and payload lengths of the chain of records from 0; where it stops (the
    end of the last whole record, or the start of an incomplete one, or where the rest is left
    to the plain framer); and its periodic stretches ``(first record, period, rows)``.

    The chain is followed by its lengths: a few records one by one, then, when their lengths
    repeat with a period, the next whole periods are predicted and checked at once (each
    predicted start holds the predicted length, so each predicted successor is the true one);
    from the first record whose length differs, one by one again. Without a period, a search
    over every possible record start takes the rest (:func:`_chain_scan`).

    Every length must match its CRC (predicted ones are checked as they are predicted, the
    others at the end): the first that doesn't ends the trusted chain.
    """
    n = a.shape[0]
    s_parts: list = []
    l_parts: list = []
    unchecked: list = []  # indices into s_parts of the parts whose length CRCs are still unchecked
    segs: list[tuple[int, int, int]] = []
    scanned = None  # the first record found by the search, if it was needed
    nrec = 0
    pos = 0
    hist: list[int] = []  # lengths followed one by one since the last prediction
    unpack = _Q.unpack_from
    while True:
        ss: list[int] = []
        ls: list[int] = []
        p = pos
        want = min(_SEQ_STEP, _SEQ_MAX - len(hist))
        while len(ss) < want and n - p >= HEADER:
            (ln,) = unpack(a, p)
            end = p + HEADER + ln + FOOTER
            if end > n:
                break
            ss.append(p)
            ls.append(ln)
            p = end
        unchecked.append(len(s_parts))
        s_parts.append(np.asarray(ss, np.int64))
        l_parts.append(np.asarray(ls, np.int64))
        nrec += len(ss)
        pos = p
        if len(ss) < want:
            break  # the end of the buffer, or an incomplete record
        hist += ls
        per = _period(hist)
        if per is None:
            if len(hist) < _SEQ_MAX:
                continue
            st, ln_, stop = _chain_scan(a[pos:])
            unchecked.append(len(s_parts))
            s_parts.append(st + pos)
            l_parts.append(ln_)
            scanned = nrec
            pos += stop
            break
        pat = hist[-per:]
        # The stretch began before the last three periods: as far back as they repeat.
        j = len(hist) - 3 * per
        while j >= per and hist[j - per : j] == pat:
            j -= per
        seg_first, seg_rows = nrec - (len(hist) - j), (len(hist) - j) // per
        hist = []
        size = [ln + HEADER + FOOTER for ln in pat]
        whole = sum(size)
        m = (n - pos) // whole  # whole periods that fit
        if not m:
            continue
        # Record k of every predicted period, as strided columns: its length and the length's
        # CRC, compared with what they must be.
        good = m * per
        o = pos
        for k, ln in enumerate(pat):
            ok = np.ndarray((m,), "<u8", buffer=a, offset=o, strides=(whole,)) == ln
            ok &= np.ndarray((m,), "<u4", buffer=a, offset=o + 8, strides=(whole,)) == _length_crc(ln)
            if not ok.all():
                good = min(good, int(np.argmin(ok)) * per + k)
            o += size[k]
        offs = np.cumsum([0, *size[:-1]])
        s_parts.append((pos + np.arange(m, dtype=np.int64)[:, None] * whole + offs).ravel()[:good])
        l_parts.append(np.tile(np.asarray(pat, np.int64), m)[:good])
        nrec += good
        pos += (good // per) * whole + int(offs[good % per]) if good < m * per else m * whole
        seg_rows += good // per
        if seg_rows >= _MIN_ROWS and max(pat) <= MAX_FAST_LEN:
            segs.append((seg_first, per, seg_rows))
    starts = np.concatenate(s_parts) if len(s_parts) > 1 else s_parts[0]
    lengths = np.concatenate(l_parts) if len(l_parts) > 1 else l_parts[0]
    first_bad = None
    st = np.concatenate([s_parts[i] for i in unchecked]) if len(unchecked) > 1 else s_parts[unchecked[0]]
    if st.shape[0]:
        lo = (np.concatenate([l_parts[i] for i in unchecked]) if len(unchecked) > 1
              else l_parts[unchecked[0]]).astype(np.uint32)  # the chain keeps lengths below n
        crc = (TA[lo & 0xFFFF] ^ TB[lo >> 16]) ^ np.uint32(zeros_crc(8))
        bad = np.flatnonzero(unmask(u32_at(a, st + 8)) != crc)
        if bad.shape[0]:
            first_bad = int(st[bad[0]])  # parts are in record order
    stop = pos
    if first_bad is not None:
        f = int(np.searchsorted(starts, first_bad))
        starts, lengths, stop = starts[:f], lengths[:f], first_bad
        segs = [(i, p, min(r, (f - i) // p)) for i, p, r in segs if (f - i) // p >= _MIN_ROWS]
    if scanned is not None and scanned < starts.shape[0]:
        tail = lengths[scanned:]
        segs += [(scanned + i, p, r) for i, p, r in _segments(tail, tail > MAX_FAST_LEN)]
    return starts, lengths, stop, segs


_LENGTH_CRC: dict[int, int] = {}


def _length_crc(ln: int) -> int:
    """The masked CRC that a record header stores for payload length ``ln``."""
    c = _LENGTH_CRC.get(ln)
    if c is None:
        c = _LENGTH_CRC[ln] = masked_crc(_Q.pack(ln))
    return c


def _period(ls: list[int]) -> int | None:
    """The shortest period of the last three periods of ``ls``, if any."""
    k = len(ls)
    for p in range(1, min(_MAX_PERIOD, k // 3) + 1):
        if ls[k - p :] == ls[k - 2 * p : k - p] == ls[k - 3 * p : k - 2 * p]:
            return p
    return None


def _chain_scan(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_chain` for aperiodic records: every position where a record could start (the
    payload of an Event begins with ``0x09``, its ``wall_time``; the high half of the length is
    zero), each one's successor from its length, and the chain of those from 0."""
    n = a.shape[0]
    cand = np.flatnonzero(a[HEADER:] == 0x09)
    if cand.shape[0] == 0 or cand[0] != 0:
        return cand[:0].astype(np.int64), cand[:0].astype(np.int64), 0
    # The 64-bit length at each candidate, read in place (unaligned, overlapping windows).
    head = u64_at(a, cand)
    hi_zero = (head >> np.uint64(32)) == 0
    cand = cand[hi_zero]
    if cand.shape[0] == 0 or cand[0] != 0:
        return cand[:0].astype(np.int64), cand[:0].astype(np.int64), 0
    length = head[hi_zero].astype(np.int64)
    nxt = cand + (HEADER + FOOTER) + length
    # A start's successor is another start, or lies beyond what can be judged in this buffer.
    is_cand = np.zeros(n + 1, bool)
    is_cand[cand] = True
    for _ in range(3):
        hit = is_cand[np.minimum(nxt, n)]
        keep = hit | (nxt + HEADER >= n)
        keep[0] = True
        if keep.all():
            break
        is_cand[cand[~keep]] = False
        cand, length, nxt = cand[keep], length[keep], nxt[keep]
    if cand.shape[0] > 1 and not np.array_equal(cand[1:], nxt[:-1]):
        # Rare: a false candidate still in the set. Follow the chain in Python.
        pos_to_i = {p: i for i, p in enumerate(cand.tolist())}
        nxt_l = nxt.tolist()
        idx = [0]
        k = pos_to_i.get(nxt_l[0])
        while k is not None:
            idx.append(k)
            k = pos_to_i.get(nxt_l[k])
        sel = np.asarray(idx, np.intp)
        cand, length, nxt = cand[sel], length[sel], nxt[sel]
    end = int(nxt[-1])
    if end > n:  # the last record is incomplete
        return cand[:-1], length[:-1], int(cand[-1])
    return cand, length, end


# ---- templates -------------------------------------------------------------------------------
# ---- the chunk -------------------------------------------------------------------------------
@dataclass
class Chunk:
    """Everything read from one buffer."""

    consumed: int = 0
    need: int = 0
    damaged: str | None = None
    bad_offsets: list[int] = field(default_factory=list)
    records: int = 0  # good records (payload CRC fine), decodable or not
    undecodable: int = 0
    batch: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    sink: Sink = field(default_factory=Sink)


def process_plain(buf, base: int, decoder: RunDecoder) -> Chunk:
    """The plain path: one record at a time, protobuf decoding."""
    fr = frame(buf, base)
    out = Chunk(fr.consumed, fr.need, fr.damaged, fr.bad_offsets, len(fr.starts))
    mv = memoryview(buf)
    sink = out.sink
    for i, (s, n) in enumerate(zip(fr.starts, fr.lengths)):
        if not decoder.decode(bytes(mv[s : s + n]), sink, i):
            out.undecodable += 1
    decoder.changes.clear()
    out.batch = _group(sink, [])
    return out


def process(buf, base: int, decoder: RunDecoder) -> Chunk:
    """Frame, check and decode ``buf`` (starting at a record boundary at file offset ``base``)."""
    return process_many([(buf, base, decoder)])[0]


@dataclass
class _Job:
    """One buffer of a batch between the shared phase and its own finish."""

    buf: object
    base: int
    decoder: RunDecoder
    starts: np.ndarray
    lengths: np.ndarray
    fr: Frames
    out: Chunk
    first: int  # global index of its first chain record in the batch
    slow: list = field(default_factory=list)
    bad: list = field(default_factory=list)
    pieces: list = field(default_factory=list)


def process_many(items: list[tuple[object, int, RunDecoder]]) -> list[Chunk]:
    """:func:`process` for several buffers (e.g. small files of many runs) at once.

    Framing and the plain parts are per buffer; CRC checks and template decoding run once over
    the records of all buffers, so many small files cost about what one big one does.
    """
    results: list[Chunk | None] = [None] * len(items)
    jobs: list[tuple[int, _Job]] = []
    blocks: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    total = 0
    for j, (buf, base, decoder) in enumerate(items):
        if len(buf) < MIN_FAST:
            results[j] = process_plain(buf, base, decoder)
            continue
        job = _prepare(buf, base, decoder, total, blocks)
        jobs.append((j, job))
        total += job.starts.shape[0]
    if blocks:
        pieces: list = []  # (templates, template of each row, record index, steps, walls, values, tag id)
        slow: list[int] = []
        bad: list[np.ndarray] = []
        _check_and_decode(blocks, pieces, slow, bad)
        _distribute([job for _, job in jobs], total, pieces, slow, bad)
    for j, job in jobs:
        results[j] = _finish(job)
    return results  # type: ignore[return-value]


def _prepare(buf, base: int, decoder: RunDecoder, first: int, blocks: dict) -> _Job:
    """Frame a buffer and lay its records out as blocks (record indices offset by ``first``)."""
    n = len(buf)
    a = np.frombuffer(buf, np.uint8)
    starts, lengths, stop, segments = _chain(a)  # every length's CRC checked
    out = Chunk()
    fr = Frames()
    if stop < n:
        # The chain stopped early (incomplete record, a record the chain can't see, damage):
        # the plain framer takes it from there.
        frame(buf, base, start=stop, out=fr)
        out.consumed, out.need, out.damaged = fr.consumed, fr.need, fr.damaged
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
            blocks.setdefault(ln, []).append((blk, np.arange(g0, g0 + p * rows, p), t))
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
                (_rows(buf, n, pad + ln + FOOTER, starts[grp] + (HEADER - pad)), grp + first,
                 template_for(bytes(buf[s1 : s1 + ln]))))
    return job


def _distribute(jobs: list[_Job], total: int, pieces: list, slow: list[int], bad: list) -> None:
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
        for k, x in zip(which.tolist(), g.tolist()):
            jobs[k].slow.append(x - jobs[k].first)
    for arr in bad:
        which = np.searchsorted(bounds, arr, side="right") - 1
        for k in np.unique(which).tolist():
            jobs[k].bad.append(arr[which == k] - jobs[k].first)
    small = len(jobs) < 65536
    for templates, t_of, idx, steps, walls, values, gid in pieces:
        # Rows to their buffers (a buffer's rows keep their order; its _group sorts them).
        which = np.searchsorted(bounds, idx, side="right") - 1
        if which.shape[0] > 1 and not (which[1:] >= which[:-1]).all():
            o = np.argsort(which.astype(np.uint16) if small else which, kind="stable")
            idx, t_of, steps, walls, values, gid = idx[o], t_of[o], steps[o], walls[o], values[o], gid[o]
        cut = [0, *np.cumsum(np.bincount(which, minlength=len(jobs))).tolist()]
        for k, job in enumerate(jobs):
            a, b = cut[k], cut[k + 1]
            if b > a:
                job.pieces.append((templates, t_of[a:b], idx[a:b] - job.first, steps[a:b], walls[a:b],
                                   values[a:b], gid[a:b]))


def _finish(job: _Job) -> Chunk:
    """Bad records, protobuf for the rest, plugin filtering and grouping by tag, for one buffer."""
    out, decoder, starts, lengths, fr = job.out, job.decoder, job.starts, job.lengths, job.fr
    m = starts.shape[0]
    if job.bad:
        bad_idx = np.sort(np.concatenate(job.bad))
        out.bad_offsets = starts[bad_idx].tolist()
        out.records -= bad_idx.shape[0]
    out.bad_offsets.extend(fr.bad_offsets)
    # Protobuf for the rest, in record order (plugin metadata is remembered as it goes).
    sink = out.sink
    mv = memoryview(job.buf)
    for i in sorted(job.slow):
        s = int(starts[i]) + HEADER
        if not decoder.decode(bytes(mv[s : s + int(lengths[i])]), sink, i):
            out.undecodable += 1
    for k, (s, ln) in enumerate(zip(fr.starts, fr.lengths)):
        if not decoder.decode(bytes(mv[s : s + ln]), sink, m + k):
            out.undecodable += 1
    out.batch = _group(sink, _accept(job.pieces, decoder))
    return out


_MIN_ROWS = 8  # a periodic stretch must repeat at least this often to be worth a view
_MAX_PERIOD = 64


def _segments(lengths: np.ndarray, big: np.ndarray) -> list[tuple[int, int, int]]:
    """Stretches ``(first, period, rows)`` where record lengths repeat with a period."""
    out = []
    m = lengths.shape[0]
    i = 0
    skip = 1
    while m - i >= 2 * _MIN_ROWS:
        seg = None
        w = lengths[i : i + 3 * _MAX_PERIOD + 1].tolist()  # small: cheaper as a list
        w0 = w[0]
        lim = min(_MAX_PERIOD, len(w) - 1) + 1
        p = 0
        while True:
            try:
                p = w.index(w0, p + 1, lim)  # the next length like the first: a period?
            except ValueError:
                break
            if 3 * p > len(w) or (m - i) // p < _MIN_ROWS:
                break
            if not (w[:p] == w[p : 2 * p] == w[2 * p : 3 * p]):
                continue
            window = lengths[i : i + p]
            top = (m - i) // p
            eq = (lengths[i : i + top * p].reshape(top, p) == window[:p]).all(axis=1)
            rows = top if eq.all() else int(np.argmin(eq))
            if rows >= _MIN_ROWS and not big[i : i + rows * p].any():
                seg = (i, p, rows)
            break
        if seg is None:
            # No period starts here: leave records to the grouped path, more each time in a
            # row, so that aperiodic data costs few attempts.
            i += skip
            skip = min(2 * skip, 4 * _MAX_PERIOD)
            continue
        skip = 1
        out.append(seg)
        i += seg[1] * seg[2]
    return out


def _rows(buf, n: int, width: int, at: np.ndarray) -> np.ndarray:
    """Copies of ``buf[at[i] : at[i] + width]`` as the rows of a 2-D array."""
    win = np.ndarray((n - width + 1, width), np.uint8, buffer=buf, strides=(1, 1))
    return win[at]


def _crc_one(buf, end: int, ln: int) -> bool:
    """Whether the payload ending at ``end`` has a good CRC (the plain way)."""
    mv = memoryview(buf)
    return masked_crc(mv[end - ln : end]) == int.from_bytes(mv[end : end + 4], "little")


def _check_and_decode(blocks: dict[int, list[tuple[np.ndarray, np.ndarray, Template | None]]], pieces: list,
                      slow: list[int], bad: list) -> None:
    """Check the payload CRCs of all blocks, then decode the good rows by templates.

    A block of payload length ``ln`` has rows of ``pad`` bytes (the end of the record header),
    the payload, its 4-byte masked CRC; with ``pad = (-ln) % 8`` all lengths with the same
    8-byte word count have the same row width, so their CRCs are checked, and their fields
    read, together. The rows are gathered once, transposed: one contiguous array per word
    position (``wt``). The header bytes' share of the CRC is a constant per length.

    Each block comes with the template its first row fits (rows of a block are most often one
    tag's): the blocks of one template are stacked together and all their rows compared with
    it at once. Rows that don't match it are tried against other templates afterwards.
    """
    by_width: dict[int, list[int]] = {}
    for ln in blocks:
        by_width.setdefault(ln + (-ln) % 8, []).append(ln)
    for width, lns in by_width.items():
        # Rows ordered by payload length, then by the template of their block.
        parts = []
        groups = []  # (ln, template or None, row count)
        for ln in lns:
            by_t: dict[int, list] = {}
            for q in blocks[ln]:
                by_t.setdefault(id(q[2]), []).append(q)
            for qs in by_t.values():
                parts += qs
                groups.append((ln, qs[0][2], sum(q[1].shape[0] for q in qs)))
        wts = [q[0][:, :width].view("<u8").T for q in parts]
        wt = np.concatenate(wts, axis=1) if len(wts) > 1 else np.ascontiguousarray(wts[0])
        crcs = [q[0][:, width:].view("<u4")[:, 0] for q in parts]
        stored = np.concatenate(crcs) if len(crcs) > 1 else crcs[0]
        idx_all = np.concatenate([q[1] for q in parts]) if len(parts) > 1 else parts[0][1]
        spans = []  # (ln, first row, end row)
        r = 0
        for ln, _, count in groups:
            if spans and spans[-1][0] == ln:
                spans[-1] = (ln, spans[-1][1], r + count)
            else:
                spans.append((ln, r, r + count))
            r += count
        ks = [np.full(r1 - r0, header_crc_fix(ln, width - ln), np.uint32) for ln, r0, r1 in spans]
        kvec = ks[0] if len(ks) == 1 else np.concatenate(ks)
        good = unmask(stored) == (crc_linear_t(wt) ^ kvec)
        all_good = bool(good.all())
        if not all_good:
            bad.append(idx_all[~good])
        tid = np.full(wt.shape[1], -1, np.int32)
        templates: list[Template] = []
        t_index: dict[int, int] = {}
        r = 0
        unmatched = False
        for ln, t, count in groups:
            r0, r = r, r + count
            if t is None:
                unmatched = True
                continue
            same = _match(wt, slice(r0, r), t, width - ln)
            if not all_good:
                same &= good[r0:r]
            k = t_index.get(id(t))
            if k is None:
                k = t_index[id(t)] = len(templates)
                templates.append(t)
            if same.all():
                tid[r0:r] = k
            else:
                tid[r0:r][same] = k
                unmatched = True
        if unmatched or not all_good:
            _match_rest(wt, width, spans, good, tid, templates, idx_all, slow)
        if templates:
            _fields(wt, width, spans, tid, templates, idx_all, pieces)


def _match(wt: np.ndarray, rows, t: Template, pad: int) -> np.ndarray:
    """Which of the ``rows`` (columns of ``wt``) have the template's structural bytes."""
    mask, expect = t.mask(pad), t.expect(pad)
    same = None
    for j in np.flatnonzero(mask).tolist():
        eq = (wt[j, rows] & mask[j]) == expect[j]
        if same is None:
            same = eq
        else:
            same &= eq
    if same is None:
        same = np.ones(wt[0, rows].shape[0], bool)
    return same


def _match_rest(wt: np.ndarray, width: int, spans: list, good: np.ndarray, tid: np.ndarray,
                templates: list, idx_all: np.ndarray, slow: list[int]) -> None:
    """Good rows that their block's template didn't fit: the templates of their own rows, a few
    per payload length; rows beyond those (or that fit none) go to protobuf."""
    slow_rows: list[np.ndarray] = []
    for ln, r0, r1 in spans:
        pad = width - ln
        remaining = r0 + np.flatnonzero(good[r0:r1] & (tid[r0:r1] < 0))
        for _ in range(_MAX_TEMPLATES):
            if remaining.shape[0] == 0:
                break
            first = int(remaining[0])
            t = template_for(wt[:, first].tobytes()[pad:])
            if t is None:
                slow_rows.append(remaining[:1])
                remaining = remaining[1:]
                continue
            same = _match(wt, remaining, t, pad)
            tid[remaining[same]] = len(templates)
            templates.append(t)
            remaining = remaining[~same]
        slow_rows.append(remaining)
    for rows in slow_rows:
        slow.extend(idx_all[rows].tolist())


def _field(wt: np.ndarray, rows, at: int, size: int) -> np.ndarray:
    """The ``size`` (<= 8) bytes at byte ``at`` of the selected rows, as little-endian uint64."""
    j, o = divmod(at, 8)
    v = wt[j, rows]
    if o:
        v = v >> np.uint64(8 * o)
        if o + size > 8:
            v |= wt[j + 1, rows] << np.uint64(64 - 8 * o)
    if size < 8:
        v = v & np.uint64((1 << (8 * size)) - 1)
    elif not o and isinstance(rows, slice):
        v = v.copy()  # not a view of wt: points must not keep the whole batch alive
    return v


def _fields(wt: np.ndarray, width: int, spans: list, tid: np.ndarray, templates: list,
            idx_all: np.ndarray, pieces: list) -> None:
    """Wall time, step and value of every row that matched a template, as columns of the rows
    of one payload length and one field layout at a time."""
    geom = [(len(t.step_cols), t.value_col, t.value_size) for t in templates]
    tag_ids = np.asarray([tag_id(t.tag) for t in templates], np.int64)
    for ln, r0, r1 in spans:
        pad = width - ln
        t_span = tid[r0:r1]
        counts = np.bincount(t_span + 1, minlength=len(templates) + 1)
        present = (np.flatnonzero(counts) - 1).tolist()  # -1: rows no template fits
        shapes = {geom[k] for k in present if k >= 0}
        for g in shapes:
            ks = [k for k in present if k >= 0 and geom[k] == g]
            if len(ks) == len(present):
                rows = slice(r0, r1)
                t_of = t_span
            else:
                table = np.zeros(len(templates) + 1, bool)
                table[np.asarray(ks) + 1] = True
                sel = np.flatnonzero(table[t_span + 1])
                rows = r0 + sel
                t_of = t_span[sel]
            step_len, vcol, size = g
            walls = _field(wt, rows, pad + 1, 8).view("<f8")
            if step_len:
                steps = (_field(wt, rows, pad + 10, 1) & np.uint64(0x7F)).view(np.int64)
                for k in range(1, step_len):
                    steps = steps | ((_field(wt, rows, pad + 10 + k, 1) & np.uint64(0x7F))
                                     << np.uint64(7 * k)).view(np.int64)
            else:
                steps = np.zeros(walls.shape[0], np.int64)
            v = _field(wt, rows, pad + vcol, size)
            values = (v.astype(np.uint32).view("<f4") if size == 4 else v.view("<f8")).astype(np.float64)
            pieces.append((templates, t_of, idx_all[rows], steps, walls, values, tag_ids[t_of]))


def _scalar_plugin(plugin: str | None) -> bool:
    return plugin is None or plugin == "scalars"


def _accept(pieces: list, decoder: RunDecoder) -> list:
    """Drop fast-decoded tensor rows whose tag belongs to another plugin.

    The plugin in effect for a row is the one its tag had at that record: changes made by
    records decoded with protobuf in this chunk (``decoder.changes``) apply from there on.
    """
    changes: dict[str, list[tuple[int, str | None, str]]] = {}
    for tag, order, old, new in decoder.changes:
        changes.setdefault(tag, []).append((order, old, new))
    decoder.changes.clear()
    out = []
    for templates, t_of, idx, steps, walls, values, gid in pieces:
        keep = None
        for k, t in enumerate(templates):
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
        if keep is not None:
            t_of, idx, steps, walls, values, gid = (t_of[keep], idx[keep], steps[keep], walls[keep],
                                                    values[keep], gid[keep])
        out.append((templates, t_of, idx, steps, walls, values, gid))
    return out


_TAG_IDS: dict[str, int] = {}  # tag → a process-wide number (for grouping points by tag)
_TAG_NAMES: list[str] = []
_TAG_LOCK = threading.Lock()


def tag_id(tag: str) -> int:
    i = _TAG_IDS.get(tag)
    if i is None:
        with _TAG_LOCK:
            i = _TAG_IDS.get(tag)
            if i is None:
                i = len(_TAG_NAMES)
                _TAG_NAMES.append(tag)
                _TAG_IDS[tag] = i
    return i


def _group(sink: Sink, fast: list) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Points by tag, each in record order, from both paths."""
    g_parts, i_parts, s_parts, w_parts, v_parts = [], [], [], [], []
    for templates, t_of, idx, steps, walls, values, gid in fast:
        if not t_of.shape[0]:
            continue
        g_parts += [gid]
        i_parts += [idx]
        s_parts += [steps]
        w_parts += [walls]
        v_parts += [values]
    if sink.tags:
        g_parts.append(np.asarray([tag_id(t) for t in sink.tags], np.int64))
        i_parts.append(np.asarray(sink.order, np.int64))
        s_parts.append(np.asarray(sink.steps, np.int64))
        w_parts.append(np.asarray(sink.walls, np.float64))
        v_parts.append(np.asarray(sink.values, np.float64))
    if not g_parts:
        return []
    cat = (lambda parts: parts[0] if len(parts) == 1 else np.concatenate(parts))
    gid, idx, steps, walls, values = cat(g_parts), cat(i_parts), cat(s_parts), cat(w_parts), cat(v_parts)
    g0 = int(gid[0])
    if (gid == g0).all():
        if idx.shape[0] > 1 and not (idx[1:] > idx[:-1]).all():
            o = np.argsort(idx, kind="stable")
            steps, walls, values = steps[o], walls[o], values[o]
        return [(_TAG_NAMES[g0], steps, walls, values)]
    # By tag, then record order (stable: the values of one record stay in their order).
    o = np.argsort(gid * (int(idx.max()) + 1) + idx, kind="stable")
    g = gid[o]
    steps, walls, values = steps[o], walls[o], values[o]
    cuts = (np.flatnonzero(g[1:] != g[:-1]) + 1).tolist()
    bounds = [0, *cuts, g.shape[0]]
    names = _TAG_NAMES
    return [(names[int(g[a])], steps[a:b], walls[a:b], values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
