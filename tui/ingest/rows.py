"""Checking payload CRCs and decoding fields of many records at once, as rows of bytes.

Records are laid out as rows ``[pad | payload | masked CRC]``, 8-byte aligned (the pad is the
end of the record header, the same for every record of that payload length), in blocks of one
payload length (:class:`Block`), all blocks of one row width together, the rows gathered once,
transposed. Then:

- **rows are matched to templates**: the rows of a payload length whose structural bytes (field
  keys, every length byte, the tag, the varint continuation bits of the step) equal a template's
  decode to the same fields;
- **every payload CRC** is checked with a table-driven CRC32C over 16-bit lanes (CRC32C is
  affine: ``crc(x) = L(x) ^ crc(zeros(len(x)))`` with ``L`` linear; the pad's share of ``L``
  is a constant per length). For a row that fits a template, the lanes made only of bytes the
  template fixes add a constant: only its other lanes are looked up (wall time, step, value),
  each once, in a table of that lane's share from its place in the row. Rows that fit no
  template get all their lanes looked up;
- **fields are read as columns** (wall time, step and value, :class:`Piece`) from the rows that
  fit a template and passed their CRC. Good rows that fit none are left to protobuf
  (``Decoded.slow``), rows that fail their CRC are skipped (``Decoded.bad``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from tui.ingest.chunk import TagTable
from tui.ingest.crc import (
    crc32c_small,
    crc_linear_lanes,
    crc_linear_running,
    crc_linear_t,
    header_crc_fix,
    header_tail,
    unmask,
)
from tui.ingest.templates import Template, template_for

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    I32 = npt.NDArray[np.int32]
    F64 = npt.NDArray[np.float64]
    U8 = npt.NDArray[np.uint8]
    U32 = npt.NDArray[np.uint32]
    U64 = npt.NDArray[np.uint64]
    Bools = npt.NDArray[np.bool_]
    Rows = slice | I64  # rows (columns of the transposed words) to read

MAX_TEMPLATES = 8  # per payload length and row block; rows beyond that go to protobuf


class Block(NamedTuple):
    """Rows ``[pad | payload | CRC]`` of records of one payload length.

    Attributes:
        rows: one row per record (a zero-copy strided view, or a gathered copy).
        idx: each row's record index in the batch.
        template: the template the first row fits, if any (rows of a block are most often one
            tag's).
    """

    rows: U8
    idx: I64
    template: Template | None


class Piece(NamedTuple):
    """Points decoded as columns, one row per record; rows of one field layout.

    Attributes:
        templates: the templates the rows' ``t_of`` index into.
        t_of: each row's template.
        idx: each row's record index (in the batch, or in its buffer once distributed).
        steps, walls, values: the decoded fields.
        gid: each row's tag id (in the ingestor's :class:`~tui.ingest.chunk.TagTable`).
    """

    templates: list[Template]
    t_of: I32
    idx: I64
    steps: I64
    walls: F64
    values: F64
    gid: I64

    def take(self, sel: slice | I64 | Bools, idx_shift: int = 0) -> Piece:
        """The selected rows (record indices shifted down by ``idx_shift``)."""
        idx = self.idx[sel]
        return Piece(self.templates, self.t_of[sel], idx - idx_shift if idx_shift else idx,
                     self.steps[sel], self.walls[sel], self.values[sel], self.gid[sel])


class Decoded:
    """What :func:`check_and_decode` found, by record index of the batch.

    Attributes:
        pieces: points of the rows that fit a template.
        slow: good records no template fits: protobuf decodes them.
        bad: records whose payload CRC failed (arrays of record indices).
    """

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.slow: list[int] = []
        self.bad: list[I64] = []


def check_and_decode(blocks: dict[int, list[Block]], tags: TagTable) -> Decoded:
    """Match the rows of all blocks to templates, check every payload CRC, then decode the good
    rows that fit a template.

    A block of payload length ``ln`` has rows of ``pad`` bytes (the end of the record header),
    the payload, its 4-byte masked CRC; with ``pad = (-ln) % 8`` all lengths with the same
    8-byte word count have the same row width, so they are matched, checked and read together.
    The rows are gathered once, transposed: one contiguous array per word position (``wt``).
    The header bytes' share of the CRC is a constant per length.

    Each block comes with the template its first row fits (rows of a block are most often one
    tag's): the blocks of one template are stacked together and all their rows compared with
    it at once. Rows that don't match it are tried against other templates afterwards (made
    from rows whose CRC is good). A row's CRC is checked whatever it matched: one that fails
    is skipped.
    """
    out = Decoded()
    by_width: dict[int, list[int]] = {}
    for ln in blocks:
        by_width.setdefault(ln + (-ln) % 8, []).append(ln)
    for width, lns in by_width.items():
        # Rows ordered by payload length, then by the template of their block.
        parts: list[Block] = []
        groups: list[tuple[int, Template | None, int]] = []  # (ln, template or None, row count)
        for ln in lns:
            by_t: dict[int, list[Block]] = {}
            for q in blocks[ln]:
                by_t.setdefault(id(q.template), []).append(q)
            for qs in by_t.values():
                parts += qs
                groups.append((ln, qs[0].template, sum(q.idx.shape[0] for q in qs)))
        wts = [q.rows[:, :width].view("<u8").T for q in parts]
        # One row per word position, C-ordered (the CRC and the field reads go along rows).
        wt: U64
        if len(wts) > 1:
            wt = np.empty((wts[0].shape[0], sum(x.shape[1] for x in wts)), np.uint64)
            np.concatenate(wts, axis=1, out=wt)
        else:
            wt = np.ascontiguousarray(wts[0])
        crcs = [q.rows[:, width:].view("<u4")[:, 0] for q in parts]
        stored = np.concatenate(crcs) if len(crcs) > 1 else crcs[0]
        idx_all: I64 = np.concatenate([q.idx for q in parts]) if len(parts) > 1 else parts[0].idx
        spans: list[tuple[int, int, int]] = []  # (ln, first row, end row)
        r = 0
        for ln, _, count in groups:
            if spans and spans[-1][0] == ln:
                spans[-1] = (ln, spans[-1][1], r + count)
            else:
                spans.append((ln, r, r + count))
            r += count
        # Templates first (the CRC of a row that fits one needs only its varying bytes).
        tid = np.full(wt.shape[1], -1, np.int32)
        templates: list[Template] = []
        t_index: dict[int, int] = {}
        r = 0
        unmatched = False
        span_ks: dict[int, list[int]] = {}  # templates of each payload length's rows
        for ln, t, count in groups:
            r0, r = r, r + count
            if t is None:
                unmatched = True
                continue
            same = _match(wt, slice(r0, r), t, width - ln)
            k = t_index.get(id(t))
            if k is None:
                k = t_index[id(t)] = len(templates)
                templates.append(t)
            ks = span_ks.setdefault(ln, [])
            if k not in ks:
                ks.append(k)
            if same.all():
                tid[r0:r] = k
            else:
                tid[r0:r][same] = k
                unmatched = True
        slow: list[I64] = []
        if unmatched:
            slow = _match_rest(wt, width, spans, tid, templates, stored)
            present = _present(tid, spans, len(templates))
        else:
            present = [span_ks[ln] for ln, _, _ in spans]
        # Every payload's CRC; rows that fail it are skipped, whatever template they fit.
        good = unmask(stored) == _crcs(wt, width, spans, tid, templates, present)
        if not good.all():
            out.bad.append(idx_all[~good])
            tid[~good] = -1
            slow = [rows[good[rows]] for rows in slow]
            present = _present(tid, spans, len(templates))
        for rows in slow:
            out.slow.extend(idx_all[rows].tolist())
        if templates:
            _fields(wt, width, spans, tid, templates, present, idx_all, tags, out.pieces)
    return out


def _match(wt: U64, rows: Rows, t: Template, pad: int) -> Bools:
    """Which of the ``rows`` (columns of ``wt``) have the template's structural bytes."""
    mask, expect = t.mask(pad), t.expect(pad)
    same: Bools | None = None
    for j in np.flatnonzero(mask).tolist():
        eq = (wt[j, rows] & mask[j]) == expect[j]
        if same is None:
            same = eq
        else:
            same &= eq
    if same is None:
        same = np.ones(wt[0, rows].shape[0], bool)
    return same


def _match_rest(wt: U64, width: int, spans: list[tuple[int, int, int]], tid: I32,
                templates: list[Template], stored: U32) -> list[I64]:
    """Rows that their block's template didn't fit: the templates of their own rows, a few
    per payload length; the rows beyond those (or that fit none), for protobuf (those whose
    CRC is good). Templates come from rows whose CRC is good (checked one by one here; a
    damaged row is skipped, a few per length)."""
    slow_rows: list[I64] = []
    for ln, r0, r1 in spans:
        pad = width - ln
        remaining = r0 + np.flatnonzero(tid[r0:r1] < 0)
        damaged = 0
        tries = 0
        while tries < MAX_TEMPLATES and remaining.shape[0]:
            first = int(remaining[0])
            payload = wt[:, first].tobytes()[pad:]
            if crc32c_small(payload) != _unmask1(int(stored[first])):
                damaged += 1
                if damaged > MAX_TEMPLATES:
                    break
                slow_rows.append(remaining[:1])  # (its CRC fails again later: skipped then)
                remaining = remaining[1:]
                continue
            tries += 1
            t = template_for(payload)
            if t is None:
                slow_rows.append(remaining[:1])
                remaining = remaining[1:]
                continue
            if 4 * remaining.shape[0] >= r1 - r0:
                # Many left (rows of tags whose names are as long as the block's): compare the
                # whole span, contiguous, and keep the remaining rows (cheaper than gathering).
                hit = np.zeros(r1 - r0, bool)
                hit[remaining - r0] = True
                hit &= _match(wt, slice(r0, r1), t, pad)
                same = hit[remaining - r0]
            else:
                same = _match(wt, remaining, t, pad)
            tid[remaining[same]] = len(templates)
            templates.append(t)
            remaining = remaining[~same]
        slow_rows.append(remaining)
    return slow_rows


def _present(tid: I32, spans: list[tuple[int, int, int]], n_templates: int) -> list[list[int]]:
    """Per payload length (span of rows), the templates its rows fit (-1: rows none fits)."""
    return [(np.flatnonzero(np.bincount(tid[r0:r1] + 1, minlength=n_templates + 1)) - 1).tolist()
            for _, r0, r1 in spans]


def _unmask1(m: int) -> int:
    c = (m - 0xA282EAD8) & 0xFFFFFFFF
    return ((c << 15) | (c >> 17)) & 0xFFFFFFFF


def _crcs(wt: U64, width: int, spans: list[tuple[int, int, int]], tid: I32, templates: list[Template],
          present_by_span: list[list[int]]) -> U32:
    """The CRC32C of every row's payload. Rows that fit a template share its fixed bytes: the
    16-bit lanes made only of those (and of the header bytes before the payload) add a constant
    per template, so only the other lanes are looked up (:func:`crc_linear_lanes`): for a
    payload length, the lanes some template present there doesn't fix. Rows no template fits
    get all their lanes looked up."""
    out: U32 = np.empty(wt.shape[1], np.uint32)
    for (ln, r0, r1), present in zip(spans, present_by_span, strict=True):
        pad = width - ln
        t_span = tid[r0:r1]
        ks = [k for k in present if k >= 0]
        loose = r0 + np.flatnonzero(t_span < 0) if ks and ks != present else None
        if loose is not None and 4 * loose.shape[0] >= r1 - r0:
            ks, loose = [], None  # many rows fit no template: all lanes, all rows
        fixed = bytes(np.bitwise_and.reduce([np.frombuffer(_fixed(templates[k], pad)[0], np.uint8) for k in ks])) if ks else b""
        c = crc_linear_lanes(wt, slice(r0, r1), fixed) if fixed else crc_linear_running(wt, slice(r0, r1), b"")
        if not ks:
            c ^= np.uint32(header_crc_fix(ln, pad))
        elif len(present) == 1:
            c ^= np.uint32(_fixed(templates[ks[0]], pad, fixed)[1])
        else:
            consts = np.zeros(len(templates) + 1, np.uint32)
            for k in ks:
                consts[k + 1] = _fixed(templates[k], pad, fixed)[1]
            c ^= consts[t_span + 1]
        out[r0:r1] = c
        if loose is not None:  # a few rows no template fits
            out[loose] = crc_linear_running(wt, loose, b"") ^ np.uint32(header_crc_fix(ln, pad))
    return out


def _fixed(t: Template, pad: int, lanes: bytes | None = None) -> tuple[bytes, int]:
    """For rows ``[pad header bytes | payload]`` that fit ``t``: which 16-bit lanes hold only
    fixed bytes (1 per lane), and what to XOR with the linear CRC of the other lanes to get the
    payload's CRC32C (the fixed lanes' share, and the header's, :func:`header_crc_fix`); or the
    latter for some of those lanes only (``lanes``)."""
    key = (pad, lanes)
    got = t.lanes.get(key)
    if got is not None:
        return got
    if lanes is None:
        m = np.concatenate([np.full(pad, 0xFF, np.uint8), t.mask_bytes()]).view("<u2")
        fixed = (m == 0xFFFF).astype(np.uint8)
    else:
        fixed = np.frombuffer(lanes, np.uint8)
    row = np.frombuffer(header_tail(t.length, pad) + t.payload, np.uint16) * fixed
    k = int(crc_linear_t(row.view("<u8")[:, None])[0]) ^ header_crc_fix(t.length, pad)
    got = t.lanes[key] = (fixed.tobytes(), k)
    return got


def _field(wt: U64, rows: Rows, at: int, size: int) -> U64:
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


def _in_place(wt: U64, rows: Rows, at: int, dtype: str) -> npt.NDArray[np.generic] | None:
    """The field of type ``dtype`` at byte ``at`` of the selected rows, read in place when it
    lies inside one 8-byte word (a strided view of ``wt``, gathered for index rows)."""
    size = np.dtype(dtype).itemsize
    j, o = divmod(at, 8)
    if o + size > 8:
        return None
    n = wt.shape[1]
    v: npt.NDArray[np.generic] = np.ndarray((n,), dtype, buffer=wt, offset=(j * n) * 8 + o, strides=(8,))
    return v[rows]


def _byte(wt: U64, rows: Rows, at: int) -> U8:
    """Byte ``at`` of the selected rows."""
    v = _in_place(wt, rows, at, "u1")
    assert v is not None
    return v.view(np.uint8)


def _float(wt: U64, rows: Rows, at: int, size: int) -> F64:
    """The little-endian float32 (``size`` 4) or float64 at byte ``at`` of the selected rows,
    as float64 (a copy)."""
    dtype = "<f4" if size == 4 else "<f8"
    v = _in_place(wt, rows, at, dtype)
    if v is None:
        u = _field(wt, rows, at, size)
        v = u.astype(np.uint32).view("<f4") if size == 4 else u.view("<f8")
    out: F64 = v.astype(np.float64)
    return out


def _fields(wt: U64, width: int, spans: list[tuple[int, int, int]], tid: I32, templates: list[Template],
            present_by_span: list[list[int]], idx_all: I64, tags: TagTable, pieces: list[Piece]) -> None:
    """Wall time, step and value of every row that matched a template, as columns of the rows
    of one payload length and one field layout at a time."""
    geom = [(len(t.step_cols), t.value_col, t.value_size) for t in templates]
    tag_ids = np.asarray([tags.id(t.tag) for t in templates], np.int64)
    for (ln, r0, r1), present in zip(spans, present_by_span, strict=True):
        pad = width - ln
        t_span = tid[r0:r1]
        shapes = {geom[k] for k in present if k >= 0}
        for g in shapes:
            ks = [k for k in present if k >= 0 and geom[k] == g]
            rows: Rows
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
                # The step's varint, byte by byte (read in place; every byte but the last has its
                # continuation bit set, as the template said).
                steps = _byte(wt, rows, pad + 10 + step_len - 1).astype(np.int64)
                for k in range(step_len - 2, -1, -1):
                    steps <<= 7
                    steps |= _byte(wt, rows, pad + 10 + k) & 0x7F
            else:
                steps = np.zeros(walls.shape[0], np.int64)
            values = _float(wt, rows, pad + vcol, size)
            pieces.append(Piece(templates, t_of, idx_all[rows], steps, walls, values, tag_ids[t_of]))
