"""Framing whole buffers with numpy: follow the record lengths, find periodic stretches.

Writers log the same few tags over and over, so record lengths repeat with a period. The chain
of records from the start of a buffer is followed by its lengths: a few records one by one,
then whole predicted periods checked at once (without a period: every position where a record
could start, each one's successor from its length, and the chain from the start of the
buffer). Every length is checked against its masked CRC32C, vectorised.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from tui.ingest.crc import TA, TB, mask, u32_at, u64_at, unmask, zeros_crc
from tui.ingest.tfrecord import FOOTER, HEADER, masked_crc

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    U8 = npt.NDArray[np.uint8]
    U32 = npt.NDArray[np.uint32]

MAX_FAST_LEN = 240  # payload bytes: longer records (images, graphs…) go the plain way
MIN_ROWS = 8  # a periodic stretch must repeat at least this often to be worth a view
MAX_PERIOD = 64
_Q = struct.Struct("<Q")
_I = struct.Struct("<I")
_SEQ_STEP = 40  # records followed one by one before (again) looking for a period
_SEQ_MAX = 3 * 64 + 1  # ... up to this many in a row (periods up to 64), then a search


class Segment(NamedTuple):
    """A periodic stretch: ``rows`` repeats of ``period`` records of the same lengths, from
    record ``first`` of the chain."""

    first: int
    period: int
    rows: int


class Chain(NamedTuple):
    """The chain of records from the start of a buffer.

    Attributes:
        starts: record starts (header positions) in the buffer.
        lengths: their payload lengths.
        stop: where the chain stops: the end of its last record, or where the rest is left to
            the plain framer (an incomplete record, a bad length CRC, a record it can't see).
        segments: its periodic stretches (payloads of at most ``MAX_FAST_LEN`` bytes).
    """

    starts: I64
    lengths: I64
    stop: int
    segments: list[Segment]


def chain(a: U8) -> Chain:
    """Record starts and payload lengths of the chain of records from 0; where it stops (the
    end of the last whole record, or the start of an incomplete one, or where the rest is left
    to the plain framer); and its periodic stretches ``(first record, period, rows)``.

    The chain is followed by its lengths: a few records one by one, then, when their lengths
    repeat with a period, the next whole periods are predicted and checked at once (each
    predicted start holds the predicted length, so each predicted successor is the true one);
    from the first record whose length differs, one by one again. Without a period, a search
    over every possible record start takes the rest (:func:`_chain_scan`).

    Every length must match its CRC, checked as it is followed or predicted: the first that
    doesn't ends the chain (the plain framer takes it from there).
    """
    n = a.shape[0]
    s_parts: list[I64] = []
    l_parts: list[I64] = []
    segs: list[Segment] = []
    scanned: int | None = None  # the first record found by the search, if it was needed
    nrec = 0
    pos = 0
    hist: list[int] = []  # lengths followed one by one since the last prediction
    failed = False  # a prediction failed: predict a few periods at a time from then on
    unpack, crc_at = _Q.unpack_from, _I.unpack_from
    mv = a.data
    while True:
        ss: list[int] = []
        ls: list[int] = []
        p = pos
        want = min(_SEQ_STEP, _SEQ_MAX - len(hist))
        while len(ss) < want and n - p >= HEADER:
            (ln,) = unpack(mv, p)
            end = p + HEADER + ln + FOOTER
            if end > n:
                break
            ss.append(p)
            ls.append(ln)
            p = end
        st, lt = np.asarray(ss, np.int64), np.asarray(ls, np.int64)
        bad = next((i for i, (p_, ln) in enumerate(zip(ss, ls, strict=True))
                    if crc_at(mv, p_ + 8)[0] != length_crc(ln)), None)
        if bad is not None:  # the chain ends at the first length that fails its CRC
            s_parts.append(st[:bad])
            l_parts.append(lt[:bad])
            pos = ss[bad]
            break
        s_parts.append(st)
        l_parts.append(lt)
        nrec += len(ss)
        pos = p
        if len(ss) < want:
            break  # the end of the buffer, or an incomplete record
        hist += ls
        per = _period(hist)
        if per is None:
            if len(hist) < _SEQ_MAX:
                continue
            st, lt, stop = _chain_scan(a[pos:])
            bad = _first_bad_length(a, st + pos, lt)
            if bad is not None:
                st, lt, stop = st[:bad], lt[:bad], int(st[bad])
            s_parts.append(st + pos)
            l_parts.append(lt)
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
        offs = np.cumsum([0, *size[:-1]])
        crcs = [length_crc(ln) for ln in pat]
        # Predict whole periods: all that fit, until a prediction fails; from then on a few at
        # first, then more while they hold: the work stays proportional to the records found,
        # however often the period changes.
        rows_next = _PREDICT_ROWS if failed else n
        while True:
            m = min(rows_next, (n - pos) // whole)  # whole periods that fit
            if not m:
                break
            # Record k of every predicted period, as strided columns: its length and the
            # length's CRC, compared with what they must be.
            good = m * per
            o = pos
            for k, ln in enumerate(pat):
                ok = np.ndarray((m,), "<u8", buffer=a, offset=o, strides=(whole,)) == ln
                ok &= np.ndarray((m,), "<u4", buffer=a, offset=o + 8, strides=(whole,)) == crcs[k]
                if not ok.all():
                    good = min(good, int(np.argmin(ok)) * per + k)
                o += size[k]
            s_parts.append((pos + np.arange(m, dtype=np.int64)[:, None] * whole + offs).ravel()[:good])
            l_parts.append(np.tile(np.asarray(pat, np.int64), m)[:good])
            nrec += good
            pos += (good // per) * whole + int(offs[good % per]) if good < m * per else m * whole
            seg_rows += good // per
            if good < m * per:
                failed = True
                break
            rows_next *= 8
        if seg_rows >= MIN_ROWS and max(pat) <= MAX_FAST_LEN:
            segs.append(Segment(seg_first, per, seg_rows))
    starts = np.concatenate(s_parts) if len(s_parts) > 1 else s_parts[0]
    lengths = np.concatenate(l_parts) if len(l_parts) > 1 else l_parts[0]
    if scanned is not None and scanned < starts.shape[0]:
        tail = lengths[scanned:]
        segs += [Segment(scanned + i, p, r) for i, p, r in segments(tail, tail > MAX_FAST_LEN)]
    return Chain(starts, lengths, pos, segs)


_PREDICT_ROWS = 64  # periods predicted at first (then 8 times more each time they all hold)


def _first_bad_length(a: U8, starts: I64, lengths: I64) -> int | None:
    """Index of the first record whose length fails its CRC (lengths below 2**32), else None."""
    if not starts.shape[0]:
        return None
    lo = lengths.astype(np.uint32)
    crc = (TA[lo & 0xFFFF] ^ TB[lo >> 16]) ^ np.uint32(zeros_crc(8))
    bad = np.flatnonzero(unmask(u32_at(a, starts + 8)) != crc)
    return int(bad[0]) if bad.shape[0] else None


_LENGTH_CRC: dict[int, int] = {}


def length_crc(ln: int) -> int:
    """The masked CRC that a record header stores for payload length ``ln``."""
    c = _LENGTH_CRC.get(ln)
    if c is None:
        c = _LENGTH_CRC[ln] = masked_crc(_Q.pack(ln))
    return c


def _period(ls: list[int]) -> int | None:
    """The shortest period of the last three periods of ``ls``, if any."""
    k = len(ls)
    for p in range(1, min(MAX_PERIOD, k // 3) + 1):
        if ls[k - p :] == ls[k - 2 * p : k - p] == ls[k - 3 * p : k - 2 * p]:
            return p
    return None


def _chain_scan(a: U8) -> tuple[I64, I64, int]:
    """:func:`chain` for aperiodic records: every position where a record could start (the
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




def segments(lengths: I64, big: npt.NDArray[np.bool_]) -> list[Segment]:
    """Stretches ``(first, period, rows)`` where record lengths repeat with a period."""
    out: list[Segment] = []
    m = lengths.shape[0]
    i = 0
    skip = 1
    while m - i >= 2 * MIN_ROWS:
        seg: Segment | None = None
        w = lengths[i : i + 3 * MAX_PERIOD + 1].tolist()  # small: cheaper as a list
        w0 = w[0]
        lim = min(MAX_PERIOD, len(w) - 1) + 1
        p = 0
        while True:
            try:
                p = w.index(w0, p + 1, lim)  # the next length like the first: a period?
            except ValueError:
                break
            if 3 * p > len(w) or (m - i) // p < MIN_ROWS:
                break
            if not (w[:p] == w[p : 2 * p] == w[2 * p : 3 * p]):
                continue
            window = lengths[i : i + p]
            top = (m - i) // p
            eq = (lengths[i : i + top * p].reshape(top, p) == window[:p]).all(axis=1)
            rows = top if eq.all() else int(np.argmin(eq))
            if rows >= MIN_ROWS and not big[i : i + rows * p].any():
                seg = Segment(i, p, rows)
            break
        if seg is None:
            # No period starts here: leave records to the grouped path, more each time in a
            # row, so that aperiodic data costs few attempts.
            i += skip
            skip = min(2 * skip, 4 * MAX_PERIOD)
            continue
        skip = 1
        out.append(seg)
        i += seg.period * seg.rows
    return out


class ManyChains(NamedTuple):
    """Many buffers framed at once (:func:`chain_many`).

    Attributes:
        ok: per buffer: framed here, whole records to its end (else frame it alone).
        starts: record starts (positions in the joined array) of the ok buffers, in order.
        lengths: their payload lengths.
        first: per buffer, where its records begin in ``starts`` (and, at the end, their count).
    """

    ok: npt.NDArray[np.bool_]
    starts: I64
    lengths: I64
    first: I64


def chain_many(a: U8, offs: I64, ends: I64) -> ManyChains:
    """Frame buffers laid end to end in ``a`` (buffer ``b`` is ``a[offs[b]:ends[b]]``, with
    ``offs[b + 1] == ends[b]``), all at once, for many small files.

    Event payloads begin with ``0x09`` (their wall time): every position 12 bytes before such
    a byte whose length passes its CRC is a candidate record start. A buffer is framed when
    its candidates form the chain that following the lengths from its start would find: the
    first at its start, each one's successor the next, the last ending at its end. Anything
    else (a record not starting with ``0x09``, an incomplete last record, damage, a candidate
    inside a payload) leaves the buffer to :func:`chain`, so the outcome is always its.
    """
    nb = offs.shape[0]
    n = a.shape[0]
    if n <= HEADER:
        empty = np.zeros(0, np.int64)
        return ManyChains(np.zeros(nb, bool), empty, empty, np.zeros(nb + 1, np.int64))
    c = np.flatnonzero(a[HEADER:] == 0x09)
    keep, lo = _length_ok(a, c)
    c, ln = c[keep], lo[keep].astype(np.int64)
    nxt = c + (HEADER + FOOTER) + ln
    # The candidates of buffer b are c[first[b] : first[b + 1]] (c is sorted; buffers tile a).
    first = np.empty(nb + 1, np.int64)
    first[:nb] = np.searchsorted(c, offs)
    first[nb] = c.shape[0]
    lo, hi = first[:-1], first[1:]
    has = lo < hi
    bad = ~has
    h = np.flatnonzero(has)
    bad[h] = (c[lo[h]] != offs[h]) | (nxt[hi[h] - 1] != ends[h])
    # Where a candidate's successor isn't the next candidate: fine only from a buffer's last.
    brk = np.flatnonzero(nxt[:-1] != c[1:])
    if brk.shape[0]:
        bb = np.searchsorted(hi, brk, side="right")  # the buffer of each such candidate
        bad[bb[brk + 1 < hi[bb]]] = True
    ok = ~bad
    if ok.all():
        return ManyChains(ok, c, ln, first)
    cnt_ok = np.where(ok, hi - lo, 0)
    first_ok = np.zeros(nb + 1, np.int64)
    np.cumsum(cnt_ok, out=first_ok[1:])
    sel = np.repeat(ok, hi - lo)
    return ManyChains(ok, c[sel], ln[sel], first_ok)


_LEN_TABLE: list[U32] = []  # masked CRCs of the lengths below 2**16, made when first needed


def _length_ok(a: U8, c: I64) -> tuple[npt.NDArray[np.bool_], U32]:
    """Which of the positions ``c`` hold a 64-bit length below 2**32 followed by its masked
    CRC; the low 32 bits of the numbers there."""
    # Each candidate's 12 header bytes gathered at once (as opaque 12-byte items: a copy each,
    # about twice as fast as gathering the two numbers one by one).
    head = np.ndarray((a.shape[0] - HEADER + 1,), f"V{HEADER}", buffer=a, strides=(1,))[c]
    words = head.view("<u4").reshape(-1, 3)
    lo, stored = words[:, 0], words[:, 2]
    if not _LEN_TABLE:
        x = np.arange(1 << 16, dtype=np.uint32)
        _LEN_TABLE.append(mask(TA[x] ^ TB[0] ^ np.uint32(zeros_crc(8))))
    hi_zero = words[:, 1] == 0
    small = lo < (1 << 16)
    ok: npt.NDArray[np.bool_] = _LEN_TABLE[0].take(lo, mode="clip") == stored  # (clip: larger ones are not small)
    ok &= small
    ok &= hi_zero
    mid = np.flatnonzero(hi_zero & ~small)
    if mid.shape[0]:  # rare: longer lengths (large records, or bytes that merely look like one)
        lm = lo[mid]
        ok[mid] = unmask(stored[mid]) == (TA[lm & 0xFFFF] ^ TB[lm >> 16] ^ np.uint32(zeros_crc(8)))
    return ok, lo
