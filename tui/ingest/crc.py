"""CRC32C for numpy: TFRecord's masked CRCs of many records at once.

CRC32C is affine: ``crc(x) = L(x) ^ crc(zeros(len(x)))`` with ``L`` linear, and leading zero
bytes don't change ``L``. So rows of payloads, left-padded with zeros to a multiple of 8
bytes, are checked column by column with 16-bit lookup tables (8 bytes per step).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    U32 = npt.NDArray[np.uint32]
    U64 = npt.NDArray[np.uint64]

MASK_DELTA = np.uint32(0xA282EAD8)


def _tables() -> tuple[U32, U32, U32, U32]:
    poly = np.uint32(0x82F63B78)
    t0 = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t0 = np.where(t0 & 1, (t0 >> 1) ^ poly, t0 >> 1).astype(np.uint32)
    ts = [t0]
    for _ in range(7):
        prev = ts[-1]
        ts.append(((prev >> 8) ^ t0[prev & 0xFF]).astype(np.uint32))

    def t16(first: int, second: int) -> U32:
        # entry (high << 8) | low: one XOR of the two byte tables' outer product (at import:
        # three times faster than gathering through a 65 536-entry index)
        t: U32 = np.bitwise_xor.outer(ts[second], ts[first]).ravel()
        return t

    # 8 bytes b0..b7 at once: b0 is followed by 7 more bytes, so it goes through table 7.
    return t16(7, 6), t16(5, 4), t16(3, 2), t16(1, 0)


TA, TB, TC, TD = _tables()
# The byte table: the last 16-bit table's entries for a high byte alone (its low byte zero).
_BYTE: list[int] = TD[::256].tolist()


def crc32c_small(data: bytes) -> int:
    """CRC32C of a few bytes in plain Python (constants of the vectorised check: the
    ``crc32c`` package is imported only where a record is checked the plain way)."""
    c = 0xFFFFFFFF
    table = _BYTE
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

_K: dict[int, int] = {}  # crc32c(zeros(n)): the affine part of CRC32C for n bytes


def zeros_crc(n: int) -> int:
    """CRC32C of ``n`` zero bytes (cached)."""
    k = _K.get(n)
    if k is None:
        k = _K[n] = crc32c_small(bytes(n))
    return k


def crc_linear_t(wt: U64) -> U32:
    """The linear part of CRC32C of each column of ``wt`` (one row per 8-byte little-endian word
    position, a column per payload, left-padded with zeros to whole words)."""
    return crc_linear_running(np.ascontiguousarray(wt), slice(None), b"")


def crc_linear_running(wt: U64, rows: slice | npt.NDArray[np.int64], fixed: bytes) -> U32:
    """:func:`crc_linear_t` of the selected columns of ``wt`` with some 16-bit lanes taken as
    zero: lane ``4 * j + k`` (bits ``16 * k`` on of word ``j``) where ``fixed`` says 1 (empty
    ``fixed``: none). Those lanes are not looked up (a zero lane adds nothing to the linear part),
    nor are the words before the first lane that isn't."""
    crc: U32 | None = None
    for j in range(wt.shape[0]):
        f = fixed[4 * j : 4 * j + 4] if fixed else b"\0\0\0\0"
        if crc is None and all(f):
            continue
        r = wt[j, rows].view(np.uint16)  # four 16-bit lanes per word (strided views)
        lanes: list[npt.NDArray[np.uint16] | None] = [None if f[k] else r[k::4] for k in range(4)]
        if crc is not None:  # bytes 0..3 meet the running CRC
            c16 = crc.view(np.uint16)
            for k in (0, 1):
                lane = lanes[k]
                lanes[k] = c16[k::2] if lane is None else lane ^ c16[k::2]
        new: U32 | None = None
        for table, lane in zip((TA, TB, TC, TD), lanes, strict=True):
            if lane is not None:
                x = table.take(lane)
                if new is None:
                    new = x
                else:
                    new ^= x
        crc = new
    if crc is None:  # no word, or every lane fixed: nothing adds to the linear part
        return np.zeros(np.empty(wt.shape[1], np.bool_)[rows].shape[0], np.uint32)
    return crc


MAX_REACH = 16  # words: lanes further from the end of their row are looked up the running way
_REACH: dict[tuple[int, int], U32] = {}


def _reach(k: int, d: int) -> U32:
    """The share of lane ``k`` of a word in the linear CRC of that word followed by ``d`` words
    of zeros, for each 16-bit value of the lane (a table; the shares of single bits XORed,
    built by doubling)."""
    t = _REACH.get((k, d))
    if t is not None:
        return t
    first = (TA, TB, TC, TD)[k]
    t = np.zeros(1 << 16, np.uint32)
    for b in range(16):
        c = int(first[1 << b])
        for _ in range(d):  # through a zero word: only the CRC's own lanes
            c = int(TA[c & 0xFFFF]) ^ int(TB[c >> 16])
        np.bitwise_xor(t[: 1 << b], np.uint32(c), out=t[1 << b : 2 << b])
    _REACH[(k, d)] = t
    return t


def crc_linear_lanes(wt: U64, rows: slice | npt.NDArray[np.int64], fixed: bytes) -> U32:
    """:func:`crc_linear_t` of the selected columns of ``wt`` with some 16-bit lanes taken as
    zero: lane ``4 * j + k`` (bits ``16 * k`` on of word ``j``) where ``fixed`` says 1 (empty
    ``fixed``: none). A zero lane adds nothing to the linear part, so only the others are looked up, each once, in a
    table of its lane's share from where it is (lanes within ``MAX_REACH`` words of the end;
    else the running way, :func:`crc_linear_running`)."""
    n_words = wt.shape[0]
    lanes = [(j, k) for j in range(n_words) for k in range(4) if not (fixed and fixed[4 * j + k])]
    if not lanes or n_words - 1 - lanes[0][0] >= MAX_REACH:
        return crc_linear_running(wt, rows, fixed)
    crc: U32 | None = None
    for j, k in lanes:
        x = _reach(k, n_words - 1 - j).take(wt[j, rows].view(np.uint16)[k::4])
        if crc is None:
            crc = x
        else:
            crc ^= x
    assert crc is not None
    return crc


def header_tail(ln: int, pad: int) -> bytes:
    """The last ``pad`` bytes of the record header of a payload of ``ln`` bytes (its length and
    the length's masked CRC)."""
    head = struct.pack("<Q", ln)
    c = crc32c_small(head)
    masked = ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    return (head + struct.pack("<I", masked))[12 - pad:] if pad else b""


def header_crc_fix(ln: int, pad: int) -> int:
    """What to XOR with the linear CRC of ``[pad header bytes | payload]`` to get the payload's
    CRC32C. The ``pad`` bytes just before a payload are the end of its record header (length
    and the length's masked CRC): the same for every trusted record of that length, so their
    share of the linear part is a constant."""
    k = _FIX.get((ln, pad))
    if k is not None:
        return k
    p = header_tail(ln, pad)
    k = _FIX[(ln, pad)] = crc32c_small(p + bytes(ln)) ^ zeros_crc(pad + ln) ^ zeros_crc(ln)
    return k


_FIX: dict[tuple[int, int], int] = {}


def unmask(m: U32) -> U32:
    """TFRecord's stored (masked) CRCs back to plain CRC32C values."""
    c = (m - MASK_DELTA).astype(np.uint32)
    out: U32 = ((c << np.uint32(15)) | (c >> np.uint32(17))).astype(np.uint32)
    return out


def mask(c: U32) -> U32:
    """Plain CRC32C values to TFRecord's stored (masked) form."""
    out: U32 = ((c >> np.uint32(15)) | (c << np.uint32(17))).astype(np.uint32)
    out += MASK_DELTA
    return out


def u32_at(a: npt.NDArray[np.uint8], pos: npt.NDArray[np.int64], shift: int = 0) -> U32:
    """Little-endian uint32 at each byte position ``pos + shift`` of the byte array ``a``."""
    out: U32 = _at(a, pos, "<u4", shift)
    return out


def u64_at(a: npt.NDArray[np.uint8], pos: npt.NDArray[np.int64]) -> U64:
    """Little-endian uint64 at each byte position ``pos`` of the byte array ``a``."""
    out: U64 = _at(a, pos, "<u8")
    return out


def _at(a: npt.NDArray[np.uint8], pos: npt.NDArray[np.int64], dtype: str, shift: int = 0) -> Any:
    """Gather through overlapping windows of the (contiguous) byte array: element i of the
    window array is bytes ``a[shift + i : shift + i + size]``."""
    n = a.shape[0] - shift - np.dtype(dtype).itemsize + 1
    if n <= 0:
        return np.zeros(pos.shape[0], dtype)  # pos must be empty: nothing fits
    return np.ndarray((n,), dtype, buffer=a, offset=shift, strides=(1,))[pos]
