"""Hostile bytes through the framer, the fast path and the reader: never an exception, memory
proportional to the bytes, and every valid record after damage recovered."""

from __future__ import annotations

import struct
import tracemalloc

from eventfiles import scalar_event
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.ingest import Ingestor, fast
from tui.ingest.events import RunDecoder
from tui.ingest.tfrecord import HEADER, MAX_RECORD, encode_record, frame, masked_crc
from tui.store import ProblemKind, Store

FILE = "events.out.tfevents.1700000000.fuzz"
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def recs(n: int, start: int = 0, tag: str = "loss") -> list[bytes]:
    return [encode_record(scalar_event(tag, s, s * 0.5, 1.7e9 + s).SerializeToString())
            for s in range(start, start + n)]


def header(length: int) -> bytes:
    """A record header whose length passes its CRC."""
    head = struct.pack("<Q", length)
    return head + struct.pack("<I", masked_crc(head))


def steps_of(ch: fast.Chunk) -> list[int]:
    out: list[int] = []
    for tp in ch.batch:
        out += tp.steps.tolist()
    return sorted(out)


def bounded(fn, n: int):
    """Run ``fn``; its peak traced memory must stay within a constant times ``n`` bytes."""
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 48 * n + (16 << 20), (peak, n)
    return out


def both_paths(buf: bytes, file_left: int | None = None, measure: bool = True) -> fast.Chunk:
    """Fast and plain paths: no exception, bounded memory, the same outcome."""
    def run(fn):
        return bounded(fn, len(buf)) if measure else fn()

    a = run(lambda: fast.process(buf, 0, RunDecoder(), file_left=file_left))
    b = run(lambda: fast.process_plain(buf, 0, RunDecoder(), file_left=file_left))
    assert (a.consumed, a.need, a.damage, a.resync, a.bad_offsets, a.records) == \
           (b.consumed, b.need, b.damage, b.resync, b.bad_offsets, b.records)
    assert steps_of(a) == steps_of(b)
    assert 0 <= a.consumed <= len(buf)
    last = 0
    for d in a.damage:  # in order, not overlapping
        assert last <= d.offset < d.end <= len(buf)
        last = d.end
    return a


@FUZZ
@given(st.binary(max_size=1 << 14))
def test_random_bytes(data):
    both_paths(data)
    both_paths(data, file_left=len(data))
    fr = frame(data, resync=True)
    assert 0 <= fr.consumed <= len(data)


@FUZZ
@given(st.integers(0, 40), st.integers(0, 300_000), st.integers(0, 40), st.sampled_from([0, 1, 0xFF]))
def test_a_run_of_one_byte_between_records_is_skipped(before, run, after, fill):
    """A run of zeros (or another byte) between valid records: the records after it are read,
    the run is one stretch of damage, memory stays linear."""
    good_a, good_b = recs(before), recs(after, start=before)
    buf = b"".join(good_a) + bytes([fill]) * run + b"".join(good_b)
    ch = both_paths(buf, file_left=len(buf))
    assert steps_of(ch) == list(range(before + after))
    at = sum(len(r) for r in good_a)
    if run >= HEADER:
        (d,) = ch.damage
        end = at + run if after else max(at + 1, len(buf) - HEADER + 1)
        assert d.offset == at and d.end == end and d.kind in (ProblemKind.CORRUPT_LENGTH,
                                                                   ProblemKind.IMPOSSIBLE_LENGTH)
    if after and run:
        assert ch.consumed == len(buf) and not ch.resync


def test_two_mib_of_zeros_is_linear_in_memory_and_time():
    """The case of issue 12.1: a file ending in 2 MiB of zeros (860 MB for 1 MiB before)."""
    buf = b"".join(recs(100)) + bytes(2 << 20)
    ch = both_paths(buf, file_left=len(buf))
    assert steps_of(ch) == list(range(100)) and ch.resync
    (d,) = ch.damage
    assert d.end == len(buf) - HEADER + 1  # searched to the last place a header could start


@FUZZ
@given(st.integers(1, 60), st.integers(1, 60),
       st.one_of(st.integers(MAX_RECORD + 1, (1 << 64) - 1), st.integers(200_000, MAX_RECORD)))
def test_an_absurd_length_with_a_valid_checksum_is_damage(before, after, length):
    """A header with a valid CRC claiming more than 256 MiB, or more than the file holds: the
    records after it are recovered and the header is reported, not left as 'pending'."""
    a, b = recs(before), recs(after, start=before)
    buf = b"".join(a) + header(length) + b"".join(b)
    ch = both_paths(buf, file_left=len(buf))
    assert steps_of(ch) == list(range(before + after))
    (d,) = ch.damage
    assert d.kind is ProblemKind.IMPOSSIBLE_LENGTH and d.claimed == length
    assert d.offset == sum(len(r) for r in a) and d.end == d.offset + HEADER
    assert ch.consumed == len(buf) and ch.need == 0


def test_a_long_record_still_being_written_is_pending_not_damage():
    """The same header at the end of the file, nothing after it: an incomplete last record."""
    a = recs(30)
    payload = bytes(300_000)
    buf = b"".join(a) + header(len(payload)) + payload[:1000]
    ch = both_paths(buf, file_left=len(buf))
    assert not ch.damage and ch.need == HEADER + len(payload) + 4
    assert ch.consumed == sum(len(r) for r in a)


def test_truncation_at_every_offset():
    rs = recs(40) + recs(3, start=40, tag="a much longer tag name for another layout")
    buf = b"".join(rs)
    ends = [0]
    for r in rs:
        ends.append(ends[-1] + len(r))
    for cut in range(len(buf) + 1):
        part = buf[:cut]
        ch = both_paths(part, file_left=cut, measure=cut % 97 == 0)
        whole = max(i for i, e in enumerate(ends) if e <= cut)
        assert steps_of(ch) == list(range(whole)), cut
        assert ch.consumed == ends[whole] and not ch.damage and not ch.bad_offsets, cut
        left = cut - ends[whole]
        assert ch.need == (len(rs[whole]) if left >= HEADER else 0), cut


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3000), st.binary(min_size=1, max_size=64)), max_size=4),
       st.lists(st.integers(1, 5000), min_size=1, max_size=6))
# A read that only skipped 1 byte of damage left the bytes-before-the-offset check stale: the
# next read took the file for rewritten and read it again from the start (step 0 twice).
@example(inserts=[(21, b"\x00")], pieces=[40, 12])
def test_damage_read_in_pieces_equals_read_at_once(tmp_path_factory, inserts, pieces):
    """Garbage inserted between records of a file that grows in pieces: never an exception,
    every record outside the garbage read once, the same as reading the whole file at once."""
    rs = recs(120)
    body = bytearray(b"".join(rs))
    ends = {0}
    e = 0
    for r in rs:
        e += len(r)
        ends.add(e)
    bounds = sorted(ends)
    for pos, junk in sorted(inserts, reverse=True):  # at record boundaries only
        at = bounds[min(range(len(bounds)), key=lambda i: abs(bounds[i] - pos))]
        body[at:at] = junk
    data = bytes(body)
    whole = tmp_path_factory.mktemp("w")
    (whole / "r").mkdir()
    (whole / "r" / FILE).write_bytes(data)
    s1 = Store()
    Ingestor(s1, [str(whole)]).poll()
    grown = tmp_path_factory.mktemp("g")
    (grown / "r").mkdir()
    path = grown / "r" / FILE
    path.write_bytes(b"")
    s2 = Store()
    ing = Ingestor(s2, [str(grown)])
    at = 0
    for k in pieces:
        with open(path, "ab") as f:
            f.write(data[at : at + k])
        at += k
        ing.poll()
    with open(path, "ab") as f:
        f.write(data[at:])
    ing.poll()
    got1 = s1.series("r", "loss").steps.tolist()
    got2 = s2.series("r", "loss").steps.tolist()
    # Junk may, rarely, eat the record it was inserted before (a short junk can look like the
    # start of a header): never more than one record per insert, never a record twice.
    assert len(got1) == len(set(got1)) >= 120 - len(inserts)
    assert got2 == got1


def test_absurd_length_mid_file_is_reported_and_the_rest_read(tmp_path):
    """Issue 12.5: 2^62 bytes claimed mid-file; the 10 000 records after it were 'pending'."""
    a, b = recs(100), recs(10_000, start=100)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / FILE).write_bytes(b"".join(a) + header(1 << 62) + b"".join(b))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    assert store.series("r", "loss").steps.tolist() == list(range(10_100))
    (state,) = ing.file_states()
    assert state.pending == 0 and state.offset == state.size
    (p,) = store.problems()
    assert p.kind is ProblemKind.IMPOSSIBLE_LENGTH and p.kind.damage and p.run == "r"
    assert p.offset == sum(len(r) for r in a) and p.skipped_bytes == HEADER
    assert "claims" in p.message and "256 MiB" in p.message and "records after it were read" in p.message


def test_file_ending_in_zeros_through_the_ingestor(tmp_path):
    """Issue 12.1: ``head -c 2097152 /dev/zero >> events``; bounded memory, reported, and a
    writer that appends afterwards is read."""
    (tmp_path / "r").mkdir()
    path = tmp_path / "r" / FILE
    path.write_bytes(b"".join(recs(50)) + bytes(2 << 20))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    bounded(ing.poll, 2 << 20)
    assert store.series("r", "loss").steps.tolist() == list(range(50))
    (p,) = store.problems()
    assert p.kind is ProblemKind.CORRUPT_LENGTH and "no valid record" in p.message
    (state,) = ing.file_states()
    assert state.pending == 0  # zeros are not "an incomplete last record"
    with open(path, "ab") as f:
        f.write(b"".join(recs(5, start=50)))
    ing.poll()
    assert store.series("r", "loss").steps.tolist() == list(range(55))
    (p,) = store.problems()
    assert p.count == 1 and p.skipped_bytes == 2 << 20 and "records after it were read" in p.message
