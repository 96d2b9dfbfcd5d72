"""Damaged, half-written, rewritten and vanishing files: documented outcomes, never a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from eventfiles import scalar_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2

from tui.ingest import Ingestor, load
from tui.ingest.events import RunDecoder, Sink
from tui.ingest.tfrecord import encode_record, frame
from tui.store import ProblemKind, Store

FILE = "events.out.tfevents.1700000000.host"


def records(n: int, tag: str = "loss", start: int = 0, style: str = "simple") -> list[bytes]:
    head = event_pb2.Event(wall_time=1e9, file_version="brain.Event:2").SerializeToString()
    out = [encode_record(head)] if start == 0 else []
    for s in range(start, start + n):
        ev = scalar_event(tag, s, float(s) * 0.5, 1e9 + s, style=style, first=s == 0)
        out.append(encode_record(ev.SerializeToString()))
    return out


def write(path: Path, recs: list[bytes], mode: str = "wb") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as f:
        f.write(b"".join(recs))


def test_flipped_payload_byte_skips_that_record_only(tmp_path):
    recs = records(100)
    bad = bytearray(recs[40])
    bad[20] ^= 0x55  # inside the payload
    recs[40] = bytes(bad)
    write(tmp_path / "r" / FILE, recs)
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    s = store.series("r", "loss")
    assert len(s) == 99
    assert 39 not in s.steps.tolist() and s.steps[-1] == 99  # records after it were kept
    (state,) = ing.file_states()
    assert state.skipped_records == 1 and state.damaged is None and state.records == 100
    (msg,) = store.snapshot("r").problems.values()
    assert "1 record(s) skipped" in msg and "checksum" in msg


def test_corrupt_length_is_skipped_to_the_next_record_and_reported(tmp_path):
    recs = records(100)
    bad = bytearray(recs[60])
    bad[0] ^= 0x01  # the length field: its CRC no longer matches
    recs[60] = bytes(bad)
    write(tmp_path / "bad" / FILE, recs)
    write(tmp_path / "good" / FILE, records(10))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    assert ing.poll() == {"bad", "good"}
    steps = store.series("bad", "loss").steps.tolist()
    assert steps == [s for s in range(100) if s != 59]  # only the damaged record is lost
    assert len(store.series("good", "loss")) == 10
    st_bad = next(s for s in ing.file_states() if s.run == "bad")
    offset = sum(len(r) for r in recs[:60])
    assert st_bad.damaged and f"byte {offset}" in st_bad.damaged and st_bad.offset == st_bad.size
    (p,) = st_bad.problems
    assert p.kind is ProblemKind.CORRUPT_LENGTH and p.offset == offset and p.count == 1
    assert p.skipped_bytes == len(recs[60]) and p.run == "bad" and p.kind.damage
    assert "corrupt record length" in p.message and "records after it were read" in p.message
    assert store.problems() == [p] and store.snapshot("bad").problem_items == (p,)
    # More data later is read as usual.
    write(tmp_path / "bad" / FILE, records(5, start=100), mode="ab")
    assert ing.poll() == {"bad"}
    assert store.series("bad", "loss").steps.tolist()[-5:] == list(range(100, 105))
    write(tmp_path / "bad" / FILE, records(20))  # rewritten (shorter): read again, problem gone
    assert ing.poll() == {"bad"}
    assert store.snapshot("bad").problems == {} and store.problems() == []
    assert store.series("bad", "loss").steps.tolist() == list(range(20))


def test_record_cut_in_half_is_read_once_when_complete(tmp_path):
    recs = records(10)
    path = tmp_path / "r" / FILE
    whole = b"".join(recs)
    cut = len(whole) - len(recs[-1]) // 2
    write(path, [whole[:cut]])
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    assert len(store.series("r", "loss")) == 9
    (state,) = ing.file_states()
    assert state.pending == cut - state.offset > 0 and state.damaged is None
    assert ing.poll() == set()  # still incomplete: nothing new, no error
    write(path, [whole[cut:]], mode="ab")
    assert ing.poll() == {"r"}
    assert store.series("r", "loss").steps.tolist() == list(range(10))
    assert ing.poll() == set()
    assert store.series("r", "loss").steps.tolist() == list(range(10))  # never twice
    write(path, records(2, start=10), mode="ab")
    ing.poll()
    assert store.series("r", "loss").steps.tolist() == list(range(12))


def test_header_cut_in_the_middle(tmp_path):
    recs = records(3)
    path = tmp_path / "r" / FILE
    whole = b"".join(recs)
    write(path, [whole + records(1, start=3)[0][:5]])
    store = load([str(tmp_path)])
    assert len(store.series("r", "loss")) == 3


def test_truncated_and_rewritten_file_is_read_again(tmp_path):
    path = tmp_path / "r" / FILE
    write(path, records(50))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    write(path, records(10, tag="loss"))  # shorter: truncated and rewritten
    assert ing.poll() == {"r"}
    assert store.series("r", "loss").steps.tolist() == list(range(10))
    # Rewritten in place with *more* bytes than before: the bytes before the offset changed.
    extra = encode_record(event_pb2.Event(wall_time=5.0, file_version="brain.Event:2 again").SerializeToString())
    write(path, [extra, *records(80)])
    assert ing.poll() == {"r"}
    assert store.series("r", "loss").steps.tolist() == list(range(80))


def test_run_directory_deleted_while_watched(tmp_path):
    write(tmp_path / "keep" / FILE, records(5))
    write(tmp_path / "gone" / FILE, records(7))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    shutil.rmtree(tmp_path / "gone")
    assert ing.poll() == set()
    ing.rescan()
    assert len(store.series("gone", "loss")) == 7  # data kept
    problems = store.snapshot("gone").problems
    assert len(problems) == 1 and "no longer exists" in next(iter(problems.values()))
    assert store.snapshot("keep").problems == {}
    # It comes back: the problem is cleared.
    write(tmp_path / "gone" / FILE, records(9))
    ing.rescan()
    ing.poll()
    assert store.snapshot("gone").problems == {}
    assert len(store.series("gone", "loss")) == 9


def test_deleted_file_is_reported_and_its_data_kept(tmp_path):
    write(tmp_path / "r" / FILE, records(5))
    write(tmp_path / "r" / (FILE + ".2"), records(5, tag="other"))
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    (tmp_path / "r" / FILE).unlink()
    assert ing.poll() == set()
    assert len(store.series("r", "loss")) == 5
    (msg,) = store.snapshot("r").problems.values()
    assert "was deleted" in msg and "the 6 record(s) read from it are kept" in msg
    (p,) = store.problems()
    assert p.kind is ProblemKind.DELETED_FILE and not p.kind.damage


def test_non_event_payload_is_counted(tmp_path):
    write(tmp_path / "r" / FILE, [*records(3), encode_record(b"\xff\xff\xff\xff")])
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    (state,) = ing.file_states()
    assert state.skipped_records == 1 and len(store.series("r", "loss")) == 3


# ---- property: random and mutated bytes → only documented outcomes ---------------------------
_GOOD = b"".join(records(6) + records(3, tag="t2", style="tf2"))


def _check_outcomes(data: bytes) -> None:
    fr = frame(data)
    assert 0 <= fr.consumed <= len(data)
    # Every good record lies inside the consumed bytes; nothing overlaps.
    last_end = 0
    for s, n in zip(fr.starts, fr.lengths, strict=False):
        assert s >= last_end + 12 and s + n + 4 <= fr.consumed
        last_end = s + n + 4
    if not fr.damage and fr.need == 0:
        assert len(data) - fr.consumed < 12 or fr.consumed == len(data)
    dec = RunDecoder()
    sink = Sink()
    for s, n in zip(fr.starts, fr.lengths, strict=False):
        dec.decode(bytes(data[s : s + n]), sink)
    assert len(sink.steps) == len(sink.values) == len(sink.walls)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data):
    _check_outcomes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_GOOD) - 1), st.integers(0, 255)), max_size=4),
       st.integers(0, len(_GOOD)))
def test_mutated_files_only_documented_outcomes(tmp_path_factory, mutations, cut):
    data = bytearray(_GOOD)
    for pos, val in mutations:
        data[pos] = val
    data = bytes(data[:cut])
    _check_outcomes(data)
    d = tmp_path_factory.mktemp("p")
    write(d / "r" / FILE, [data])
    store = Store()
    ing = Ingestor(store, [str(d)])
    ing.poll()  # never raises
    (state,) = ing.file_states()
    n_points = sum(len(store.series("r", t)) for t in store.tags("r"))
    assert n_points <= 9
    if not mutations:
        assert state.skipped_records == 0 and state.damaged is None
    assert state.offset <= len(data)
    if state.damaged is None:
        assert len(data) - state.offset == state.pending
    # The same bytes through the incremental path, fed in two halves, give the same points.
    d2 = tmp_path_factory.mktemp("q")
    write(d2 / "r" / FILE, [data[: len(data) // 2]])
    store2 = Store()
    ing2 = Ingestor(store2, [str(d2)])
    ing2.poll()
    write(d2 / "r" / FILE, [data[len(data) // 2 :]], mode="ab")
    ing2.poll()
    if state.damaged is None and "r" in store2:
        for t in store.tags("r"):
            np.testing.assert_array_equal(store.series("r", t).values, store2.series("r", t).values)


def test_unreadable_event_file_is_reported_and_others_listed(tmp_path):
    import os

    write(tmp_path / "ok" / FILE, records(3))
    (tmp_path / "weird").mkdir()
    os.mkfifo(tmp_path / "weird" / FILE)  # an "event file" that can't be read like one
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    assert ing.poll() == {"ok"}
    (msg,) = store.snapshot("weird").problems.values()
    assert "cannot be read" in msg and "not a regular file" in msg
    # Its own words: not "an incomplete last record", not "the data read from it is kept".
    assert "nothing could be read from it" in msg and "kept" not in msg and "incomplete" not in msg
    (p,) = store.snapshot("weird").problem_items
    assert p.kind is ProblemKind.UNREADABLE_FILE and p.kind.damage and p.run == "weird"
    state = next(s for s in ing.file_states() if s.run == "weird")
    assert state.pending == 0 and state.missing and state.problems == (p,)
    assert len(store.series("ok", "loss")) == 3


def test_unlistable_directory_is_a_problem_of_the_logdir(tmp_path, monkeypatch):
    """Directories the tree can't list reach the store as typed problems that belong to no run
    (root reads anything, so the listing itself is made to fail), and go away when the
    directory can be listed again."""
    import os

    from tui.ingest import tree as tree_mod

    write(tmp_path / "ok" / FILE, records(3))
    write(tmp_path / "locked" / "inner" / FILE, records(3))
    real = os.scandir
    locked = str(tmp_path / "locked")
    deny = [True]

    def scandir(path):
        if deny[0] and os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(tree_mod.os, "scandir", scandir)
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    (p,) = store.problems()
    assert p.kind is ProblemKind.UNREADABLE_DIR and p.run is None and p.path == locked and p.kind.damage
    assert "Permission denied" in p.message and "not shown" in p.message
    assert p.to_json()["kind"] == "unreadable-dir" and p.to_json()["damage"] is True
    assert store.runs() == ["ok"]
    deny[0] = False
    os.utime(locked)  # listed again once it changes
    ing.rescan()
    ing.poll()
    assert store.problems() == [] and store.runs() == ["locked/inner", "ok"]
