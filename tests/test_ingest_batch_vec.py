"""The vectorised batch path's shortcuts give what the plain path gives: length CRCs from a
table (and the long way for long lengths), grouping by (buffer, tag) without going through
record order when the pieces allow it, and the way back to record order when they don't."""

from __future__ import annotations

import struct

import numpy as np
from eventfiles import scalar_event, text_event

from tui.ingest import fast
from tui.ingest.chain import _length_ok, chain_many
from tui.ingest.events import RunDecoder
from tui.ingest.tfrecord import encode_record, frame, masked_crc


def _recs(plan: list[tuple[str, int, float]]) -> bytes:
    return b"".join(encode_record(scalar_event(tag, s, v, 1.7e9 + i).SerializeToString())
                    for i, (tag, s, v) in enumerate(plan))


def _view(c: fast.Chunk) -> tuple[object, ...]:
    return (c.consumed, c.need, c.damage, c.resync, c.bad_offsets, c.records, c.undecodable,
            sorted((t, s.tolist(), w.tolist(), v.tolist()) for t, s, w, v in c.batch))


def test_lengths_and_their_crcs_checked_like_the_plain_way():
    rng = np.random.default_rng(3)
    lens = [0, 1, 9, 255, 65535, 65536, 65537, 1 << 20, (1 << 32) - 1, 1 << 32, (1 << 40) + 5, 1 << 63]
    lens += rng.integers(0, 1 << 17, 200).tolist()
    heads = []
    want = []
    for k, ln in enumerate(lens):
        crc = masked_crc(struct.pack("<Q", ln))
        if k % 3 == 2:
            crc ^= 1 << int(rng.integers(0, 32))  # a wrong CRC
        heads.append(struct.pack("<QI", ln, crc))
        want.append(k % 3 != 2 and ln < 1 << 32)
    a = np.frombuffer(b"".join(heads) + b"\x09", np.uint8)
    ok, lo = _length_ok(a, np.arange(len(lens), dtype=np.int64) * 12)
    assert ok.tolist() == want
    assert lo[ok].tolist() == [ln for ln, w in zip(lens, want, strict=True) if w]


def test_chain_many_with_large_records_and_stray_record_like_bytes():
    # Values whose float bytes hold 0x09, tags with 0x09 in them, a record longer than 2**16.
    plan = [("a\tb", s, float(np.frombuffer(b"\x09\x09\x00\x41", "<f4")[0])) for s in range(40)]
    small = _recs(plan)
    big = encode_record(text_event("notes", "x" * 70_000, 3, 1.7e9).SerializeToString())
    bufs = [small, small[:-3], big + small, small + big, b"\x00" * 40, small]
    sizes = np.asarray([len(b) for b in bufs], np.int64)
    ends = np.cumsum(sizes)
    ok, starts, lengths, first = chain_many(np.frombuffer(b"".join(bufs), np.uint8), ends - sizes, ends)
    assert ok.tolist() == [True, False, True, True, False, True]
    for k, b in enumerate(bufs):
        if ok[k]:
            fr = frame(b, check_crc=False)
            got = (starts[first[k] : first[k + 1]] - int(ends[k] - sizes[k]) + 12).tolist()
            assert got == fr.starts and lengths[first[k] : first[k + 1]].tolist() == fr.lengths


def test_a_tags_rows_out_of_record_order_across_payload_lengths():
    """Steps crossing 128 back and forth: a tag's records change payload length (the step's
    varint) and the rows of one length are not all before the other's."""
    steps = [5, 300, 6, 400, 7, 20000, 8, 130, 127, 128]
    bufs = []
    for f in range(12):
        plan = [(tag, s + f, 0.25 * k) for k, s in enumerate(steps * 3) for tag in ("loss", "lr/x")]
        if f % 3 == 1:
            plan = [(t, s, v) for t, s, v in plan if s < 128 or t == "loss"]  # mostly one length
        bufs.append(_recs(plan))
    bufs.append(_recs([("mono", s, 1.0) for s in range(100, 200)]))  # in order, lengths grow
    alone = [fast.process(b, 0, RunDecoder()) for b in bufs]
    room = np.frombuffer(b"".join(bufs), np.uint8)  # end to end: joined without a copy
    mv = room.data
    ends = np.cumsum([len(b) for b in bufs]).tolist()
    together = fast.process_many([(mv[e - len(b) : e], 0, RunDecoder()) for b, e in zip(bufs, ends, strict=True)])
    for x, y in zip(alone, together, strict=True):
        assert _view(x) == _view(y)
        assert y.ordered is not None and len(y.ordered) == len(y.batch)
        for tp, o in zip(y.batch, y.ordered, strict=True):
            assert o == bool((np.diff(tp.steps) >= 0).all()), tp.tag
    assert together[-1].ordered == [True]
    assert together[0].ordered == [False, False]


def test_crc_of_some_lanes_equals_the_crc_with_the_others_zero():
    from tui.ingest.crc import MAX_REACH, crc_linear_lanes, crc_linear_running, crc_linear_t

    rng = np.random.default_rng(5)
    for n_words in (1, 2, 3, 6, MAX_REACH, MAX_REACH + 3):
        wt = rng.integers(0, 1 << 63, size=(n_words, 300), dtype=np.int64).view(np.uint64)
        for trial in range(6):
            fixed = (rng.random(4 * n_words) < (0, 0.3, 0.7, 0.95, 1, 0.5)[trial]).astype(np.uint8)
            zeroed = (wt.view(np.uint16) * np.repeat(1 - fixed.reshape(n_words, 4), 300, axis=1)
                      .reshape(n_words, 4, 300).transpose(0, 2, 1).reshape(n_words, -1)).view(np.uint64)
            want = crc_linear_t(zeroed)
            rows = np.sort(rng.choice(300, 40, replace=False)).astype(np.int64)
            for f in (crc_linear_lanes, crc_linear_running):
                assert (f(wt, slice(0, 300), fixed.tobytes()) == want).all(), (n_words, trial, f)
                assert (f(wt, rows, fixed.tobytes()) == want[rows]).all(), (n_words, trial, f)
        assert (crc_linear_lanes(wt, slice(0, 300), b"") == crc_linear_t(wt)).all()


def test_every_payload_byte_is_under_the_crc_check():
    """A flipped bit anywhere in a payload (the fields a template reads, or the bytes it
    fixes) fails that record's CRC, in a batch of files as alone."""
    for tag in ("a", "train/value_loss", "x" * 60):
        plan = [(t, s, s * 0.5) for s in range(1, 40) for t in (tag, tag + "2", "zz")]
        recs = [_recs([p]) for p in plan]
        good = b"".join(recs)
        k = 33  # a record of the first tag
        at = sum(len(r) for r in recs[:k])
        for byte in range(12, len(recs[k]) - 4):
            bad = bytearray(good)
            bad[at + byte] ^= 1 << (byte % 8)
            bufs = [good, bytes(bad), good]
            alone = [fast.process(b, 0, RunDecoder()) for b in bufs]
            together = fast.process_many([(b, 0, RunDecoder()) for b in bufs])
            assert together[1].bad_offsets == [at] and together[1].records == len(plan) - 1, (tag, byte)
            for x, y in zip(alone, together, strict=True):
                assert _view(x) == _view(y)
