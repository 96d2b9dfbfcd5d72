"""TFRecord framing: ``uint64 length | masked CRC32C(length) | payload | masked CRC32C(payload)``.

:func:`frame` splits a buffer of bytes read from some file offset into record payloads. It is
incremental: an incomplete last record is left unconsumed (a writer may be mid-write) and the
caller keeps those bytes for the next read.

Outcomes, and only these (a property test holds the code to it):

- a complete record whose payload CRC matches: its payload position is returned;
- a complete record whose payload CRC fails: skipped and counted (``bad_offsets``), framing goes
  on with the next record (the length was good, so we know where it starts);
- a header whose length CRC fails: framing stops there and ``damaged`` says why; nothing after
  it can be trusted, since the length that would lead to the next record is not;
- fewer bytes than a whole record: framing stops, ``consumed`` points at that record.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import crc32c as _crc32c

HEADER = 12  # uint64 length + uint32 masked crc of the length
FOOTER = 4  # uint32 masked crc of the payload
_MASK_DELTA = 0xA282EAD8
_Q = struct.Struct("<Q")
_I = struct.Struct("<I")
_crc = _crc32c.crc32c


def masked_crc(data: bytes | bytearray | memoryview) -> int:
    """TFRecord's masked CRC32C: rotate right by 15 bits, add a constant."""
    c = _crc(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(payload: bytes) -> bytes:
    """One framed record (used by tests and benchmarks to write files)."""
    head = _Q.pack(len(payload))
    return head + _I.pack(masked_crc(head)) + payload + _I.pack(masked_crc(payload))


@dataclass
class Frames:
    """The result of framing one buffer.

    Attributes:
        starts: payload start positions (relative to the buffer) of good records, in order.
        lengths: their payload lengths.
        consumed: bytes of the buffer fully framed; the rest is an incomplete record or damage.
        bad_offsets: buffer positions of records skipped because their payload CRC failed.
        damaged: why framing had to stop for good at ``consumed`` (corrupt length), else None.
        need: when the buffer ends inside a record whose length is known, the total number of
            bytes (from ``consumed``) that record needs; else 0.
    """

    starts: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    consumed: int = 0
    bad_offsets: list[int] = field(default_factory=list)
    damaged: str | None = None
    need: int = 0


def damaged_message(offset: int) -> str:
    return (f"corrupt record length at byte {offset} (its checksum does not match); "
            "the rest of this file cannot be read. If the file is still being written, "
            "the writer or the disk damaged it")


def frame(buf: bytes | bytearray | memoryview, base: int = 0, start: int = 0, check_crc: bool = True, out: Frames | None = None) -> Frames:
    """Split ``buf[start:]`` into records (the plain, one-record-at-a-time path).

    Args:
        buf: bytes-like object.
        base: file offset of ``buf[0]`` (for messages only).
        start: where in ``buf`` the first record begins.
        check_crc: verify payload CRCs (length CRCs are always verified).
        out: a Frames to append to (its ``consumed`` etc. are overwritten).
    """
    res = out if out is not None else Frames()
    mv = memoryview(buf)
    n = len(mv)
    pos = start
    unpack_q, unpack_i, mcrc = _Q.unpack_from, _I.unpack_from, masked_crc
    starts, lengths, bad = res.starts, res.lengths, res.bad_offsets
    res.need = 0
    while n - pos >= HEADER:
        (length,) = unpack_q(mv, pos)
        if mcrc(mv[pos : pos + 8]) != unpack_i(mv, pos + 8)[0]:
            res.damaged = damaged_message(base + pos)
            break
        end = pos + HEADER + length + FOOTER
        if end > n:
            res.need = end - pos
            break
        p = pos + HEADER
        if check_crc and mcrc(mv[p : p + length]) != unpack_i(mv, p + length)[0]:
            bad.append(pos)
        else:
            starts.append(p)
            lengths.append(length)
        pos = end
    res.consumed = pos
    return res
