"""The vectorised fast path gives exactly what the plain path gives, on every layout and damage."""

from __future__ import annotations

import struct

import numpy as np
from eventfiles import scalar_event, text_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2, summary_pb2, types_pb2

from tui.ingest import chain, fast
from tui.ingest.events import RunDecoder
from tui.ingest.tfrecord import encode_record
from tui.store import ProblemKind

T = types_pb2
TAGS = ["loss", "train/policy_entropy", "rollout/ep_rew_mean", "x" * 40, "é/ü"]


def _kinds():
    """Record makers: (name, f(step, tag, wall) -> Event)."""
    def simple(step, tag, wall):
        return scalar_event(tag, step, np.float32(step * 0.37 - 5).item(), wall)

    def tf2(dtype, packed, first=False):
        def make(step, tag, wall):
            return scalar_event("t2/" + tag, step, step * 0.25, wall, style="tf2", first=first,
                                dtype=dtype, packed=packed)
        return make

    def multi(step, tag, wall):
        vals = [summary_pb2.Summary.Value(tag=f"m{k}", simple_value=step + k) for k in range(3)]
        return event_pb2.Event(step=step, wall_time=wall, summary=summary_pb2.Summary(value=vals))

    def hist_meta(step, tag, wall):  # another plugin claims a tensor tag
        ev = scalar_event("t2/" + tag, step, 1.0, wall, style="tf2")
        ev.summary.value[0].metadata.plugin_data.plugin_name = "histograms"
        return ev

    def image(step, tag, wall):
        img = summary_pb2.Summary.Image(height=1, width=1, colorspace=1, encoded_image_string=b"\x89PNG" * 100)
        return event_pb2.Event(step=step, wall_time=wall, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="img", image=img)]))

    return [
        ("simple", simple), ("simple", simple), ("simple", simple),
        ("tf2f", tf2(T.DT_FLOAT, True)), ("tf2fv", tf2(T.DT_FLOAT, False)),
        ("tf2d", tf2(T.DT_DOUBLE, True)), ("tf2dv", tf2(T.DT_DOUBLE, False)),
        ("tf2meta", tf2(T.DT_FLOAT, True, first=True)), ("tf2i", tf2(T.DT_INT64, False)),
        ("multi", multi), ("hist", hist_meta), ("image", image),
        ("text", lambda step, tag, wall: text_event("hp", f"lr {step}", step, wall)),
        ("nowall", lambda step, tag, wall: scalar_event(tag, step, 1.5, 0.0)),
        ("negstep", lambda step, tag, wall: scalar_event(tag, -step - 1, 2.5, wall)),
        ("version", lambda step, tag, wall: event_pb2.Event(wall_time=wall, file_version="brain.Event:2")),
    ]


KINDS = _kinds()


def build(plan: list[tuple[int, int, int]]) -> bytes:
    """plan: (kind index, tag index, step) -> framed records."""
    out = []
    for k, t, step in plan:
        _, make = KINDS[k % len(KINDS)]
        out.append(encode_record(make(step, TAGS[t % len(TAGS)], 1.7e9 + step * 0.5).SerializeToString()))
    return b"".join(out)


def periodic(steps: range, tags: int = 4, kind: int = 0) -> list[tuple[int, int, int]]:
    return [(kind, t, s) for s in steps for t in range(tags)]


def same(buf: bytes) -> None:
    """Fast and plain agree on everything, from fresh decoders and from warmed-up ones."""
    d1, d2 = RunDecoder(), RunDecoder()
    a = fast.process(buf, 1000, d1)
    b = fast.process_plain(buf, 1000, d2)
    assert (a.consumed, a.need, a.damage, a.resync) == (b.consumed, b.need, b.damage, b.resync)
    assert a.bad_offsets == b.bad_offsets
    assert (a.records, a.undecodable) == (b.records, b.undecodable)
    assert a.sink.texts == b.sink.texts and a.sink.file_version == b.sink.file_version
    ga = {tag: (s, w, v) for tag, s, w, v in a.batch}
    gb = {tag: (s, w, v) for tag, s, w, v in b.batch}
    assert sorted(ga) == sorted(gb)
    for tag in ga:
        for x, y in zip(ga[tag], gb[tag], strict=False):
            np.testing.assert_array_equal(x, y, err_msg=tag)
    assert d1.plugins == d2.plugins


def test_periodic_simple_values_across_varint_sizes():
    buf = build(periodic(range(300)) + periodic(range(16380, 16400)))
    assert len(buf) > fast.MIN_FAST
    same(buf)
    d = RunDecoder()
    out = fast.process(buf, 0, d)
    assert out.records == 4 * 320 and not out.bad_offsets
    steps = {t: s for t, s, _, _ in out.batch}["loss"]
    assert steps.tolist() == list(range(300)) + list(range(16380, 16400))


def test_tf2_tensors_fast_and_plain_agree():
    for kind in range(3, 9):
        same(build([(7, t, 0) for t in range(4)] + periodic(range(1, 200), kind=kind)))


def test_every_kind_mixed():
    plan = [(k, t, s) for s in range(40) for k in range(len(KINDS)) for t in range(2)]
    same(build(plan))


def test_plugin_change_mid_chunk():
    # Plugin-less tensors are scalars until another plugin claims the tag.
    plan = [*periodic(range(100), tags=1, kind=3), (10, 0, 100), *periodic(range(101, 200), tags=1, kind=3)]
    buf = build(plan)
    same(buf)
    out = fast.process(buf, 0, RunDecoder())
    (_tag, steps, _, _), = out.batch
    assert steps.tolist() == list(range(100))


def test_damage_in_a_large_chunk():
    good = build(periodic(range(400)))
    for pos in (30, len(good) // 2, len(good) - 10):
        for flip in (0x01, 0x80):
            bad = bytearray(good)
            bad[pos] ^= flip
            same(bytes(bad))
    same(good[: len(good) - 7])  # incomplete last record
    same(good + b"\x00" * 5)  # half a header


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.integers(0, len(KINDS) - 1), st.integers(0, 4), st.integers(0, 70000)),
                min_size=1, max_size=30),
       st.integers(5, 60),
       st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), max_size=3),
       st.integers(0, 40))
def test_fast_equals_plain_property(pattern, repeats, flips, cut):
    buf = bytearray(build([(k, t, s + r) for r in range(repeats) for k, t, s in pattern]))
    for pos, x in flips:
        buf[pos % len(buf)] ^= x
    same(bytes(buf[: max(0, len(buf) - cut)]))


def test_header_crc_fails_in_fast_chain():
    recs = [encode_record(scalar_event("loss", s, 1.0, 1e9 + s).SerializeToString()) for s in range(500)]
    r = bytearray(recs[300])
    r[8] ^= 0xFF  # the length's CRC
    recs[300] = bytes(r)
    buf = b"".join(recs)
    same(buf)
    out = fast.process(buf, 0, RunDecoder())
    at = sum(len(x) for x in recs[:300])
    # The chain stops at the bad header; the plain framer skips it to the next record.
    assert [(d.kind, d.offset, d.end) for d in out.damage] == [(ProblemKind.CORRUPT_LENGTH, at, at + len(recs[300]))]
    assert out.records == 499 and out.consumed == len(buf) and not out.resync
    assert struct.unpack("<Q", buf[at : at + 8])[0] == len(recs[300]) - 16


def _chunk_view(c):
    return (c.consumed, c.need, c.damage, c.resync, c.bad_offsets, c.records, c.undecodable, c.sink.texts,
            c.sink.file_version, sorted((t, s.tolist(), w.tolist(), v.tolist()) for t, s, w, v in c.batch))


def test_many_buffers_at_once_equal_one_by_one():
    """Batches share CRC checks and templates across buffers (many small files of many runs)."""
    bufs = [build(periodic(range(150), kind=k % 9)) for k in range(6)]
    damaged = bytearray(bufs[2])
    damaged[len(damaged) // 3] ^= 0x40
    bufs[2] = bytes(damaged)
    bufs.append(b"".join([bufs[0][:100]]))  # small: the plain path, inside a batch
    bufs.append(bufs[1][:-9])  # incomplete last record
    alone = [fast.process(b, 77, RunDecoder()) for b in bufs]
    together = fast.process_many([(b, 77, RunDecoder()) for b in bufs])
    for x, y in zip(alone, together, strict=False):
        assert _chunk_view(x) == _chunk_view(y)


def _records(plan: list[tuple[str, int]]) -> list[bytes]:
    return [encode_record(scalar_event(tag, s, s * 0.5, 1.7e9 + s).SerializeToString()) for tag, s in plan]


def test_a_block_of_several_templates():
    """Rows of one periodic column aren't all one tag's (same lengths, tags swap places), and
    the row a block's template comes from may be the damaged one."""
    plan = [(tag, s) for s in range(1, 200) for tag in (("aaaa", "bb", "cccc") if s < 90 else ("cccc", "bb", "aaaa"))]
    plan += [(tag, s) for s in range(200, 260) for tag in ("dddd", "bb", "aaaa")]
    recs = _records(plan)
    same(b"".join(recs))
    for at in (0, 1, 2, 3 * 89, 3 * 89 + 2, 3 * 199):
        bad = [bytearray(r) for r in recs]
        bad[at][-8] ^= 0x01  # a byte of the value: the payload CRC fails
        bad[at][-10] ^= 0x02  # the tag's last byte too: its template (if parsed) is another
        buf = b"".join(bytes(r) for r in bad)
        same(buf)
        out = fast.process(buf, 0, RunDecoder())
        assert len(out.bad_offsets) == 1 and out.records == len(recs) - 1


def test_batch_of_files_with_templates_in_other_orders():
    """Files of a batch whose columns hold other tags than the same column of other files."""
    a = b"".join(_records([(tag, s) for s in range(1, 150) for tag in ("aaaa", "bb", "cccc")]))
    b = b"".join(_records([(tag, s) for s in range(1, 150) for tag in ("cccc", "bb", "aaaa")]))
    c = b"".join(_records([(tag, s) for s in range(1, 150) for tag in ("dddd", "bb", "cccc", "aaaa")]))
    bufs = [a, b, c, a]
    alone = [fast.process(x, 0, RunDecoder()) for x in bufs]
    together = fast.process_many([(x, 0, RunDecoder()) for x in bufs])
    for x, y in zip(alone, together, strict=False):
        assert _chunk_view(x) == _chunk_view(y)
    for x in bufs:
        same(x)


def test_crc_of_rows_that_start_with_header_bytes():
    """The header bytes before a payload add a constant per length to the linear CRC."""
    import crc32c

    from tui.ingest.crc import crc_linear_t, header_crc_fix

    rng = np.random.default_rng(1)
    for ln in (1, 7, 8, 9, 33, 40, 239):
        pad = (-ln) % 8
        rec = encode_record(rng.integers(0, 256, ln, dtype=np.uint8).tobytes())
        row = np.frombuffer(rec[12 - pad : 12 + ln], np.uint8)  # header tail + payload
        wt = np.ascontiguousarray(row.view("<u8")[:, None])
        got = int(crc_linear_t(wt)[0]) ^ header_crc_fix(ln, pad)
        assert got == crc32c.crc32c(rec[12 : 12 + ln]), ln


def test_chain_follows_lengths_like_the_plain_framer():
    """Framing by predicted periods (short, long, changing, none) finds exactly the records
    the plain framer finds, and stops where it must."""
    from tui.ingest.tfrecord import frame

    rng = np.random.default_rng(3)
    tags20 = [f"t{'x' * (k % 7)}{k}" for k in range(20)]
    plans = {
        "period 4": [("abcd"[k % 4] * (1 + k % 4), s) for s in range(1, 300) for k in range(4)],
        "period 20": [(t, s) for s in range(1, 200) for t in tags20],
        "changes": [(t, s) for s in range(1, 120) for t in tags20[: 3 + s // 40]],
        "none": [("x" * int(rng.integers(1, 30)), s) for s in range(3000)],
    }
    for name, plan in plans.items():
        buf = b"".join(_records(plan))
        for cut in (0, 1, 13, 40):
            b = buf[: len(buf) - cut]
            a = np.frombuffer(b, np.uint8)
            starts, lengths, stop, segs = chain.chain(a)
            ref = frame(b, check_crc=False)
            assert (starts + 12).tolist() == ref.starts and lengths.tolist() == ref.lengths, name
            assert stop == ref.consumed, name
            covered = np.zeros(len(starts), int)
            for first, period, rows in segs:  # whole periods of equal lengths, not overlapping
                assert rows >= chain.MIN_ROWS and first + period * rows <= len(starts)
                ls = lengths[first : first + period * rows].reshape(rows, period)
                assert (ls == ls[0]).all(), name
                covered[first : first + period * rows] += 1
            assert covered.max(initial=0) <= 1
            if name != "none" and cut == 0:
                assert covered.sum() > 0.9 * len(starts), name
            same(b)


def test_a_changed_length_inside_a_predicted_period():
    """A length that differs from the period's guess (its CRC still good, or not) ends the
    guess there; the damaged one is found by its length CRC."""
    recs = _records([(t, s) for s in range(1, 300) for t in ("aa", "bbbb", "c")])
    for at in (5, 150, 600):
        for fix_crc in (True, False):
            bad = bytearray(b"".join(recs))
            pos = sum(len(r) for r in recs[:at])
            (ln,) = struct.unpack_from("<Q", bad, pos)
            struct.pack_into("<Q", bad, pos, ln + 3)
            if fix_crc:
                from tui.ingest.tfrecord import masked_crc

                struct.pack_into("<I", bad, pos + 8, masked_crc(bytes(bad[pos : pos + 8])))
            same(bytes(bad))


def test_plain_python_crc32c_agrees_with_the_library():
    import os as _os

    import crc32c

    from tui.ingest.crc import crc32c_small

    for n in (0, 1, 7, 8, 9, 63, 100, 300):
        data = _os.urandom(n)
        assert crc32c_small(data) == crc32c.crc32c(data), n
    assert crc32c_small(b"123456789") == 0xE3069283  # the CRC-32C check value
