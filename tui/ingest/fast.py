"""The vectorised fast path: frame, CRC-check and decode whole chunks with numpy.

Writers log the same few tags over and over, so the records of a chunk come in a handful of
byte layouts. The fast path:

1. **frames** by finding every position where a record could start (the payload of an Event
   begins with ``0x09``, its ``wall_time``; the high half of the length is zero), computing each
   candidate's successor from its length and keeping the chain that starts at the beginning of
   the buffer; every length is then checked against its masked CRC32C, vectorised;
2. **groups** the records by payload length and copies each group into a 2-D array (one row per
   record, through a sliding-window view);
3. **checks every payload CRC** with a table-driven CRC32C over 8-byte columns (CRC32C is
   affine: ``crc(x) = L(x) ^ crc(zeros(len(x)))``, and leading zero bytes don't change ``L``);
4. **decodes** each group by a template: the first row is parsed in Python (a PyTorch /
   tensorboardX ``simple_value`` event, or a TF2 scalar tensor of DT_FLOAT/DT_DOUBLE); the rows
   whose structural bytes (field keys, every length byte, the tag, the varint continuation bits
   of the step) equal the template's decode to the same fields, so wall time, step and value are
   read as columns. Rows that fit no template go to ``Event.FromString``.

Anything the fast path can't prove (a record not starting with ``0x09``, a corrupt length, a
large record, a layout it doesn't know) is handed to the plain path, record by record or for the
rest of the chunk, so results are always those of the plain path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import crc32c as _crc32c
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tui.ingest.events import RunDecoder, Sink
from tui.ingest.tfrecord import FOOTER, HEADER, Frames, frame, masked_crc

MIN_FAST = 4096  # bytes: below this the plain path is as fast and simpler
MAX_FAST_LEN = 240  # payload bytes: longer records (images, graphs…) go the plain way
_MAX_TEMPLATES = 8  # per length group; rows beyond that go to protobuf
_MASK_DELTA = np.uint32(0xA282EAD8)


# ---- CRC32C tables ---------------------------------------------------------------------------
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    poly = np.uint32(0x82F63B78)
    t0 = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t0 = np.where(t0 & 1, (t0 >> 1) ^ poly, t0 >> 1).astype(np.uint32)
    ts = [t0]
    for _ in range(7):
        prev = ts[-1]
        ts.append(((prev >> 8) ^ t0[prev & 0xFF]).astype(np.uint32))
    idx = np.arange(65536, dtype=np.uint32)

    def t16(first: int, second: int) -> np.ndarray:
        return (ts[first][idx & 0xFF] ^ ts[second][idx >> 8]).astype(np.uint32)

    # 8 bytes b0..b7 at once: b0 is followed by 7 more bytes, so it goes through table 7.
    return t16(7, 6), t16(5, 4), t16(3, 2), t16(1, 0)


_TA, _TB, _TC, _TD = _tables()
_K: dict[int, int] = {}  # crc32c(zeros(n)): the affine part of CRC32C for n bytes


def _k(n: int) -> int:
    k = _K.get(n)
    if k is None:
        k = _K[n] = _crc32c.crc32c(bytes(n))
    return k


def _crc_linear(words: np.ndarray) -> np.ndarray:
    """The linear part of CRC32C of each row of little-endian uint64 words."""
    # 16-bit halves, one contiguous row per (word, half), as table indices.
    h = np.ascontiguousarray(words.view("<u2").reshape(words.shape[0], words.shape[1], 4)
                             .transpose(1, 2, 0)).astype(np.intp)
    # Bytes 4..7 of a word don't meet the running CRC: look them up for all words at once.
    upper = _TC.take(h[:, 2]) ^ _TD.take(h[:, 3])
    crc = _TA.take(h[0, 0]) ^ _TB.take(h[0, 1]) ^ upper[0]
    for j in range(1, words.shape[1]):
        crc = _TA.take(h[j, 0] ^ (crc & 0xFFFF)) ^ _TB.take(h[j, 1] ^ (crc >> 16)) ^ upper[j]
    return crc


def _unmask(m: np.ndarray) -> np.ndarray:
    c = (m - _MASK_DELTA).astype(np.uint32)
    return ((c << np.uint32(15)) | (c >> np.uint32(17))).astype(np.uint32)


def _u32_at(a: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return (a[pos].astype(np.uint32) | (a[pos + 1].astype(np.uint32) << 8)
            | (a[pos + 2].astype(np.uint32) << 16) | (a[pos + 3].astype(np.uint32) << 24))


# ---- framing ---------------------------------------------------------------------------------
def _chain(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Record starts and payload lengths of the candidate chain from 0; and where it stops."""
    n = a.shape[0]
    cand = np.flatnonzero(a[HEADER:] == 0x09)
    if cand.shape[0] == 0 or cand[0] != 0:
        return cand[:0], cand[:0], 0
    hi_zero = (a[cand + 4] | a[cand + 5] | a[cand + 6] | a[cand + 7]) == 0
    cand = cand[hi_zero]
    if cand.shape[0] == 0 or cand[0] != 0:
        return cand[:0], cand[:0], 0
    length = _u32_at(a, cand).astype(np.int64)
    nxt = cand + (HEADER + FOOTER) + length
    # A start's successor is another start, or lies beyond what can be judged in this buffer.
    for _ in range(3):
        j = np.searchsorted(cand, nxt)
        hit = cand[np.minimum(j, cand.shape[0] - 1)] == nxt
        keep = hit | (nxt + HEADER >= n)
        keep[0] = True
        if keep.all():
            break
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
@dataclass
class _Template:
    tag: str
    step_cols: tuple[int, ...]  # payload columns of the step varint (empty: step 0)
    value_col: int
    value_size: int  # 4: float32, 8: float64
    tensor: bool
    struct_cols: np.ndarray  # payload columns that must equal the template row's


def _varint(b: bytes, p: int, limit: int) -> tuple[int, int] | None:
    v = shift = 0
    while p < limit and shift < 64:
        c = b[p]
        v |= (c & 0x7F) << shift
        p += 1
        if not c & 0x80:
            return v, p
        shift += 7
    return None


def _template(b: bytes) -> _Template | None:
    """Parse one payload as a single-scalar Event of a known layout."""
    n = len(b)
    if n < 20 or b[0] != 0x09:
        return None
    p = 9
    step_cols: tuple[int, ...] = ()
    if b[p] == 0x10:
        r = _varint(b, p + 1, n)
        if r is None or r[1] - (p + 1) > 9:
            return None  # negative steps take 10 bytes: leave them to protobuf
        step_cols = tuple(range(p + 1, r[1]))
        p = r[1]
    if p >= n or b[p] != 0x2A:
        return None
    r = _varint(b, p + 1, n)
    if r is None or r[1] + r[0] != n:
        return None
    p = r[1]
    if b[p] != 0x0A:
        return None
    r = _varint(b, p + 1, n)
    if r is None or r[1] + r[0] != n:
        return None
    p = r[1]
    if p >= n or b[p] != 0x0A:
        return None
    r = _varint(b, p + 1, n)
    if r is None:
        return None
    tl, t0 = r[0], r[1]
    x = t0 + tl
    if x >= n:
        return None
    try:
        tag = b[t0:x].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if b[x] == 0x15 and x + 5 == n:
        value_col, size, tensor = x + 1, 4, False
    elif b[x] == 0x42 and x + 2 < n:
        tlen = b[x + 1]
        q = x + 2
        if tlen & 0x80 or q + tlen != n or tlen < 10 or b[q] != 0x08 or b[q + 2] != 0x12 or b[q + 3] != 0:
            return None
        dt, key, size = b[q + 1], b[q + 4], b[q + 5]
        if not ((dt == 1 and key in (0x22, 0x2A) and size == 4) or (dt == 2 and key in (0x22, 0x32) and size == 8)):
            return None
        if q + 6 + size != n:
            return None
        value_col, tensor = q + 6, True
    else:
        return None
    free = set(range(1, 9)) | set(step_cols) | set(range(value_col, value_col + size))
    struct_cols = np.asarray([c for c in range(n) if c not in free], np.intp)
    return _Template(tag, step_cols, value_col, size, tensor, struct_cols)


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
    n = len(buf)
    if n < MIN_FAST:
        return process_plain(buf, base, decoder)
    a = np.frombuffer(buf, np.uint8)
    starts, lengths, stop = _chain(a)
    if starts.shape[0]:
        # Every length must match its CRC; the first that doesn't ends the trusted chain.
        stored = _u32_at(a, starts + 8)
        lo = lengths.astype(np.uint32)
        crc = (_TA[lo & 0xFFFF] ^ _TB[lo >> 16]) ^ np.uint32(_k(8))
        bad_len = np.flatnonzero(_unmask(stored) != crc)
        if bad_len.shape[0]:
            f = int(bad_len[0])
            stop = int(starts[f])
            starts, lengths = starts[:f], lengths[:f]
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
    slow: list[int] = []  # chain indices decoded by protobuf
    pieces: list[tuple[_Template, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    bad: list[np.ndarray] = []
    if m:
        big = lengths > MAX_FAST_LEN
        for i in np.flatnonzero(big).tolist():  # large records: their CRCs one by one
            if _crc_one(buf, int(starts[i]) + HEADER + int(lengths[i]), int(lengths[i])):
                slow.append(i)
            else:
                bad.append(np.asarray([i]))
        covered = np.zeros(m, bool)
        covered[big] = True
        # Periodic stretches (the same tags logged in the same order): zero-copy 2-D views;
        # the rest grouped by payload length. Blocks of one length are then checked together.
        blocks: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for first, p, rows in _segments(lengths, big):
            width = int((lengths[first : first + p] + HEADER + FOOTER).sum())
            s0 = int(starts[first])
            view = a[s0 : s0 + rows * width].reshape(rows, width)
            off = 0
            for k in range(p):
                ln = int(lengths[first + k])
                pad = (-ln) % 8
                blk = view[:, off + HEADER - pad : off + HEADER + ln + FOOTER]
                blocks.setdefault(ln, []).append((blk, np.arange(first + k, first + k + p * rows, p)))
                off += ln + HEADER + FOOTER
            covered[first : first + p * rows] = True
        rest = np.flatnonzero(~covered)
        if rest.shape[0]:
            ls = lengths[rest]
            order = rest[np.argsort(ls, kind="stable")]
            ls_sorted = lengths[order]
            cuts = np.flatnonzero(ls_sorted[1:] != ls_sorted[:-1]) + 1
            for grp in np.split(order, cuts):
                ln = int(lengths[grp[0]])
                pad = (-ln) % 8
                blocks.setdefault(ln, []).append((_rows(buf, n, pad + ln + FOOTER, starts[grp] + (HEADER - pad)), grp))
        for ln, parts in blocks.items():
            if len(parts) == 1:
                blk, idx = parts[0]
                blk = np.array(blk)  # a writable copy: its pad bytes get zeroed
            else:
                idx = np.concatenate([q[1] for q in parts])
                order = np.argsort(idx, kind="stable")
                blk = np.concatenate([q[0] for q in parts])[order]
                idx = idx[order]
            _block(blk, (-ln) % 8, ln, idx, pieces, slow, bad)
    if bad:
        bad_idx = np.sort(np.concatenate(bad))
        out.bad_offsets = starts[bad_idx].tolist()
        out.records -= bad_idx.shape[0]
    out.bad_offsets.extend(fr.bad_offsets)
    # Protobuf for the rest, in record order (plugin metadata is remembered as it goes).
    sink = out.sink
    mv = memoryview(buf)
    if slow:
        slow.sort()
        for i in slow:
            s = int(starts[i]) + HEADER
            if not decoder.decode(bytes(mv[s : s + int(lengths[i])]), sink, i):
                out.undecodable += 1
    for k, (s, ln) in enumerate(zip(fr.starts, fr.lengths)):
        if not decoder.decode(bytes(mv[s : s + ln]), sink, m + k):
            out.undecodable += 1
    out.batch = _group(sink, _accept(pieces, decoder))
    return out


_MIN_ROWS = 8  # a periodic stretch must repeat at least this often to be worth a view
_MAX_PERIOD = 64


def _segments(lengths: np.ndarray, big: np.ndarray) -> list[tuple[int, int, int]]:
    """Stretches ``(first, period, rows)`` where record lengths repeat with a period."""
    out = []
    m = lengths.shape[0]
    i = 0
    while m - i >= 2 * _MIN_ROWS:
        seg = None
        window = lengths[i : i + 3 * _MAX_PERIOD + 1]
        for p in (np.flatnonzero(window[1 : _MAX_PERIOD + 1] == window[0]) + 1).tolist():
            if 3 * p > window.shape[0] or (m - i) // p < _MIN_ROWS:
                break
            if not (np.array_equal(window[:p], window[p : 2 * p]) and np.array_equal(window[:p], window[2 * p : 3 * p])):
                continue
            top = (m - i) // p
            eq = (lengths[i : i + top * p].reshape(top, p) == window[:p]).all(axis=1)
            rows = top if eq.all() else int(np.argmin(eq))
            if rows >= _MIN_ROWS and not big[i : i + rows * p].any():
                seg = (i, p, rows)
            break
        if seg is None:
            i += 4 * _MAX_PERIOD  # no period here: leave a stretch to the grouped path
            continue
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


def _block(blk: np.ndarray, pad: int, ln: int, idx: np.ndarray, pieces: list, slow: list[int],
           bad: list) -> None:
    """Check the CRCs of, and decode, records of one payload length.

    ``blk`` rows: ``pad`` bytes (overwritten with zeros), the payload, its 4-byte masked CRC.
    """
    if pad:
        blk[:, :pad] = 0  # leading zeros don't change the linear part of a CRC
    crc = _crc_linear(blk[:, : pad + ln].view("<u8")) ^ np.uint32(_k(ln))
    stored = _unmask(np.ascontiguousarray(blk[:, pad + ln :]).view("<u4")[:, 0])
    good = crc == stored
    payload = blk[:, pad : pad + ln]
    if not good.all():
        bad.append(idx[~good])
        idx, payload = idx[good], payload[good]
    _decode_rows(payload, idx, pieces, slow)


def _decode_rows(payload: np.ndarray, grp: np.ndarray, pieces: list, slow: list[int]) -> None:
    """Template-decode records of one payload length (rows of ``payload``)."""
    remaining = np.arange(grp.shape[0])
    for _ in range(_MAX_TEMPLATES):
        if remaining.shape[0] == 0:
            return
        first = int(remaining[0])
        t = _template(payload[first].tobytes())
        if t is None:
            slow.append(int(grp[first]))
            remaining = remaining[1:]
            continue
        sub = payload if remaining.shape[0] == payload.shape[0] else payload[remaining]
        same = (sub[:, t.struct_cols] == payload[first, t.struct_cols]).all(axis=1)
        for c in t.step_cols:  # the step's bytes may differ, its varint length may not
            same &= (sub[:, c] & 0x80) == (payload[first, c] & 0x80)
        if same.all():
            rows_t, p = remaining, sub
            remaining = remaining[:0]
        else:
            rows_t = remaining[same]
            remaining = remaining[~same]
            p = sub[same]
        walls = np.ascontiguousarray(p[:, 1:9]).view("<f8")[:, 0]
        steps = np.zeros(p.shape[0], np.int64)
        for k, c in enumerate(t.step_cols):
            steps |= (p[:, c].astype(np.int64) & 0x7F) << (7 * k)
        raw = np.ascontiguousarray(p[:, t.value_col : t.value_col + t.value_size])
        values = raw.view("<f4" if t.value_size == 4 else "<f8")[:, 0].astype(np.float64)
        pieces.append((t, grp[rows_t], steps, walls, values))
    slow.extend(grp[remaining].tolist())


def _scalar_plugin(plugin: str | None) -> bool:
    return plugin is None or plugin == "scalars"


def _accept(pieces: list, decoder: RunDecoder) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Fast-decoded pieces that are scalar points (a tensor counts if its tag's plugin allows).

    The plugin in effect for a row is the one its tag had at that record: changes made by
    records decoded with protobuf in this chunk (``decoder.changes``) apply from there on.
    """
    changes: dict[str, list[tuple[int, str | None, str]]] = {}
    for tag, order, old, new in decoder.changes:
        changes.setdefault(tag, []).append((order, old, new))
    decoder.changes.clear()
    out = []
    for t, idx, steps, walls, values in pieces:
        if t.tensor:
            ch = changes.get(t.tag)
            if ch is None:
                if not _scalar_plugin(decoder.plugins.get(t.tag)):
                    continue
            else:
                at = np.asarray([c[0] for c in ch], np.int64)
                allowed = np.asarray([_scalar_plugin(ch[0][1])] + [_scalar_plugin(c[2]) for c in ch])
                keep = allowed[np.searchsorted(at, idx)]
                if not keep.any():
                    continue
                if not keep.all():
                    idx, steps, walls, values = idx[keep], steps[keep], walls[keep], values[keep]
        out.append((t.tag, idx, steps, walls, values))
    return out


def _group(sink: Sink, fast: list) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Points by tag (first-seen order), each in record order, from both paths."""
    by_tag: dict[str, list] = {}
    for tag, idx, steps, walls, values in fast:
        by_tag.setdefault(tag, []).append((idx, steps, walls, values))
    if sink.tags:
        order = np.asarray(sink.order, np.int64)
        steps = np.asarray(sink.steps, np.int64)
        walls = np.asarray(sink.walls, np.float64)
        values = np.asarray(sink.values, np.float64)
        pos: dict[str, list[int]] = {}
        for i, t in enumerate(sink.tags):
            pos.setdefault(t, []).append(i)
        for tag, ii in pos.items():
            a = np.asarray(ii, np.intp)
            by_tag.setdefault(tag, []).append((order[a], steps[a], walls[a], values[a]))
    out = []
    for tag, parts in by_tag.items():
        if len(parts) == 1:
            _, s, w, v = parts[0]
        else:
            idx = np.concatenate([p[0] for p in parts])
            o = np.argsort(idx, kind="stable")
            s = np.concatenate([p[1] for p in parts])[o]
            w = np.concatenate([p[2] for p in parts])[o]
            v = np.concatenate([p[3] for p in parts])[o]
        out.append((tag, s, w, v))
    return out
