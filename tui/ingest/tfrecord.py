"""TFRecord framing: ``uint64 length | masked CRC32C(length) | payload | masked CRC32C(payload)``.

:func:`frame` splits a buffer of bytes read from some file offset into record payloads. It is
incremental: an incomplete last record is left unconsumed (a writer may be mid-write) and the
caller keeps those bytes for the next read.

Outcomes, and only these (a property test holds the code to it):

- a complete record whose payload CRC matches: its payload position is returned;
- a complete record whose payload CRC fails: skipped and counted (``bad_offsets``), framing goes
  on with the next record (the length was good, so we know where it starts);
- a header whose length CRC fails (``corrupt-length``), or whose length is impossible: over
  ``MAX_RECORD``, or past the end of the file while whole records follow it
  (``impossible-length``): the bytes from there to the next valid record are damage
  (:class:`Damage`), and framing goes on at that record. A valid record is a header whose
  length passes its CRC and whose payload passes its CRC (or, at the end of the buffer, a
  header whose record is not complete yet). When no valid record follows in the buffer, the
  damage runs to the last position a header could start at and ``resync`` is set: the next
  buffer (its continuation) is searched from its start;
- fewer bytes than a whole record: framing stops, ``consumed`` points at that record.

Memory and time are linear in the buffer whatever its bytes (a test holds it to that).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

from tui.ingest.crc import TA, TB, u32_at, unmask, zeros_crc
from tui.store import ProblemKind

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the payload
MAX_RECORD = 256 << 20  # payload bytes: a longer length is damage, not a record
_MASK_DELTA = 0xA282EAD8
_Q = struct.Struct("<Q")
_I = struct.Struct("<I")
Bytes = bytes | bytearray | memoryview


def _crc(data: Bytes) -> int:
    """CRC32C (the ``crc32c`` package, imported at the first use: a read that the vectorised
    path takes whole never needs it, and it costs a start-up 20 ms)."""
    global _crc
    from crc32c import crc32c

    _crc = crc32c
    return crc32c(data)


def masked_crc(data: Bytes) -> int:
    """TFRecord's masked CRC32C: rotate right by 15 bits, add a constant."""
    c = _crc(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(payload: bytes) -> bytes:
    """One framed record (used by tests and benchmarks to write files)."""
    head = _Q.pack(len(payload))
    return head + _I.pack(masked_crc(head)) + payload + _I.pack(masked_crc(payload))


class Damage(NamedTuple):
    """Bytes of a file that held no valid record.

    Attributes:
        kind: ``CORRUPT_LENGTH`` or ``IMPOSSIBLE_LENGTH`` (the header at ``offset``).
        offset: file offset of the bad header.
        end: file offset of the next valid record (or where the search stopped, with
            ``Frames.resync``).
        claimed: the length the header claimed (impossible lengths), else None.
    """

    kind: ProblemKind
    offset: int
    end: int
    claimed: int | None = None


class Frames:
    """The result of framing one buffer.

    Attributes:
        starts: payload start positions (relative to the buffer) of good records, in order.
        lengths: their payload lengths.
        consumed: bytes of the buffer fully framed; the rest is an incomplete record (or fewer
            bytes than a header, after damage).
        bad_offsets: buffer positions of records skipped because their payload CRC failed.
        damage: stretches skipped because no valid record starts there, in order.
        resync: the buffer ends inside damage: search the continuation for a record start.
        need: when the buffer ends inside a record whose length is known, the total number of
            bytes (from ``consumed``) that record needs; else 0.
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.lengths: list[int] = []
        self.consumed = 0
        self.bad_offsets: list[int] = []
        self.damage: list[Damage] = []
        self.resync = False
        self.need = 0


def frame(buf: Bytes, base: int = 0, start: int = 0, check_crc: bool = True, out: Frames | None = None,
          file_left: int | None = None, resync: bool = False) -> Frames:
    """Split ``buf[start:]`` into records (the plain, one-record-at-a-time path).

    Args:
        buf: bytes-like object.
        base: file offset of ``buf[0]``.
        start: where in ``buf`` the first record begins.
        check_crc: verify payload CRCs (length CRCs are always verified).
        out: a Frames to append to (its ``consumed`` etc. are overwritten).
        file_left: bytes of the file from ``buf[0]`` on, if known: a record that would end past
            them while whole records follow it is damage, not an incomplete last record.
        resync: ``buf[start:]`` continues damage: search it for the first valid record.
    """
    res = out if out is not None else Frames()
    mv = memoryview(buf)
    n = len(mv)
    pos = start
    unpack_q, unpack_i, mcrc = _Q.unpack_from, _I.unpack_from, masked_crc
    starts, lengths, bad = res.starts, res.lengths, res.bad_offsets
    res.need = 0
    res.resync = False
    if resync:
        nxt = find_record(mv, pos)
        if nxt is None:
            stop = max(pos, n - HEADER + 1)
            if stop > pos:
                res.damage.append(Damage(ProblemKind.CORRUPT_LENGTH, base + pos, base + stop))
            res.consumed = stop
            res.resync = True
            return res
        if nxt > pos:
            res.damage.append(Damage(ProblemKind.CORRUPT_LENGTH, base + pos, base + nxt))
        pos = nxt
    while n - pos >= HEADER:
        (length,) = unpack_q(mv, pos)
        claimed: int | None = None
        if mcrc(mv[pos : pos + 8]) != unpack_i(mv, pos + 8)[0]:
            kind = ProblemKind.CORRUPT_LENGTH
        elif length > MAX_RECORD:
            kind, claimed = ProblemKind.IMPOSSIBLE_LENGTH, length
        else:
            end = pos + HEADER + length + FOOTER
            if end <= n:
                p = pos + HEADER
                if check_crc and mcrc(mv[p : p + length]) != unpack_i(mv, p + length)[0]:
                    bad.append(pos)
                else:
                    starts.append(p)
                    lengths.append(length)
                pos = end
                continue
            if file_left is None or end <= file_left or find_record(mv, pos + HEADER, complete=True) is None:
                res.need = end - pos  # an incomplete last record: wait for the rest
                break
            kind, claimed = ProblemKind.IMPOSSIBLE_LENGTH, length
        # Damage: on to the next valid record.
        nxt = find_record(mv, pos + 1)
        if nxt is None:
            stop = max(pos + 1, n - HEADER + 1)
            res.damage.append(Damage(kind, base + pos, base + stop, claimed))
            res.resync = True
            pos = stop
            break
        res.damage.append(Damage(kind, base + pos, base + nxt, claimed))
        pos = nxt
    res.consumed = pos
    return res


_WINDOW = 1 << 16  # positions searched at once, at first (doubling up to _WINDOW_MAX)
_WINDOW_MAX = 1 << 18


def find_record(buf: Bytes, start: int, complete: bool = False) -> int | None:
    """The first position at or after ``start`` where a valid record starts, else None.

    Valid: the header's length is at most ``MAX_RECORD`` and passes its CRC, and the payload
    passes its CRC; or (unless ``complete``) the record is not complete in ``buf`` yet (it
    may be the last record, still being written). Searched with numpy, a window of positions at a time: memory
    stays small whatever the bytes.
    """
    mv = memoryview(buf)
    n = len(mv)
    a = np.frombuffer(mv, np.uint8)
    k8 = np.uint32(zeros_crc(8))
    q = start
    w = _WINDOW
    while n - q >= HEADER:
        cnt = min(w, n - HEADER + 1 - q)
        # The length at each position (unaligned, overlapping windows, no copy); a valid one
        # is at most MAX_RECORD, so its high half is zero.
        lens = np.ndarray((cnt,), "<u8", buffer=a, offset=q, strides=(1,))
        cand = np.flatnonzero(lens <= MAX_RECORD)
        if cand.shape[0]:
            lo = lens[cand].astype(np.uint32)
            crc = TA[lo & 0xFFFF] ^ TB[lo >> 16] ^ k8
            cand = cand[unmask(u32_at(a, cand + (q + 8))) == crc]
            for c in cand.tolist():
                p = q + c
                (length,) = _Q.unpack_from(mv, p)
                end = p + HEADER + length + FOOTER
                if end > n:
                    if not complete:
                        return int(p)
                    continue
                body = p + HEADER
                if masked_crc(mv[body : body + length]) == _I.unpack_from(mv, body + length)[0]:
                    return int(p)
        q += cnt
        w = min(2 * w, _WINDOW_MAX)
    return None
