"""Templates: the byte layouts of single-scalar events that the fast path decodes as columns.

A template is parsed from one record (a PyTorch / tensorboardX ``simple_value`` event, or a
TF2 scalar tensor of DT_FLOAT/DT_DOUBLE). Records of the same length whose structural bytes
(field keys, every length byte, the tag, the varint continuation bits of the step) equal the
template's decode to the same fields at the same places.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy.typing is for annotations only (importing it: ~0.5 ms of start-up)
    import numpy.typing as npt

    U64 = npt.NDArray[np.uint64]


class Template:
    """Where a layout's fields are, and which bytes make the layout."""

    def __init__(self, tag: str, step_cols: tuple[int, ...], value_col: int, value_size: int, tensor: bool,
                 struct_cols: npt.NDArray[np.intp], length: int = 0, payload: bytes = b"") -> None:
        self.tag = tag
        self.step_cols = step_cols  # payload columns of the step varint (empty: step 0)
        self.value_col = value_col
        self.value_size = value_size  # 4: float32, 8: float64
        self.tensor = tensor
        self.struct_cols = struct_cols  # payload columns that must equal the template row's
        self.length = length
        self.payload = payload  # the record it was parsed from
        self._masks: dict[int, U64] = {}
        self._expects: dict[int, U64] = {}
        self.lanes: dict[tuple[int, bytes | None], tuple[bytes, int]] = {}  # see rows._fixed

    def mask_bytes(self) -> npt.NDArray[np.uint8]:
        """Per payload byte: what a record must share with the template to decode like it."""
        b = np.zeros(self.length, np.uint8)
        b[self.struct_cols] = 0xFF
        b[list(self.step_cols)] = 0x80  # the step's varint continuation bits
        return b

    def mask(self, pad: int) -> U64:
        """:meth:`mask_bytes` after ``pad`` zero bytes, as 64-bit words."""
        m = self._masks.get(pad)
        if m is None:
            m = self._masks[pad] = np.concatenate([np.zeros(pad, np.uint8), self.mask_bytes()]).view("<u8")
        return m

    def expect(self, pad: int) -> U64:
        """The template record's bytes under :meth:`mask` (what a matching row shows there)."""
        e = self._expects.get(pad)
        if e is None:
            row = np.concatenate([np.zeros(pad, np.uint8), np.frombuffer(self.payload, np.uint8)]).view("<u8")
            e = self._expects[pad] = row & self.mask(pad)
        return e


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


def parse_template(b: bytes) -> Template | None:
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
    return Template(tag, step_cols, value_col, size, tensor, struct_cols, n, bytes(b))


_CACHE: dict[int, list[tuple[int, int, Template]]] = {}  # payload length → known templates


def template_for(payload: bytes) -> Template | None:
    """A known template that ``payload`` fits, else a freshly parsed one (or None)."""
    n = len(payload)
    x = int.from_bytes(payload, "little")
    known = _CACHE.setdefault(n, [])
    for m, v, t in known:
        if x & m == v:
            return t
    parsed = parse_template(payload)
    if parsed is not None:
        m = int.from_bytes(parsed.mask_bytes().tobytes(), "little")
        if len(known) >= 64:
            del known[0]
        known.append((m, x & m, parsed))
    return parsed
