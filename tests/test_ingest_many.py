"""Many small runs read in one batch (framed, checked, decoded and grouped together) give
exactly what reading each file alone with the plain path gives."""

from __future__ import annotations

import numpy as np
from eventfiles import scalar_event, text_event
from tensorboard.compat.proto import event_pb2

from tui.ingest import Ingestor, fast
from tui.ingest.chain import chain_many
from tui.ingest.events import RunDecoder
from tui.ingest.tfrecord import encode_record
from tui.store import Store

TAGS = ["rollout/ep_len_mean", "rollout/ep_rew_mean", "time/fps", "train/approx_kl",
        "train/entropy_loss", "train/value_loss"]
FILE = "events.out.tfevents.1700000000.host.1.0"


def sb3_run(points: int, seed: int, steps: list[int] | None = None) -> list[bytes]:
    """A run as Stable-Baselines3 writes it: one scalar per event, every tag at every dump."""
    rng = np.random.default_rng(seed)
    out = [encode_record(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())]
    for k, step in enumerate(steps if steps is not None else [2048 * (i + 1) for i in range(points)]):
        for tag in TAGS:
            ev = scalar_event(tag, step, float(np.float32(rng.normal())), 1.7e9 + seed + 1.5 * k)
            out.append(encode_record(ev.SerializeToString()))
    return out


def layouts() -> dict[str, bytes]:
    runs = {f"exp/seed{i}/PPO_1": b"".join(sb3_run(20 + i % 7, i)) for i in range(40)}
    runs["restart/PPO_1"] = b"".join(sb3_run(0, 99, steps=[2048, 4096, 6144, 2048, 4096, 8192]))
    hp = sb3_run(10, 98)
    hp.insert(3, encode_record(text_event("hparams", "lr: 0.1", 0, 1.7e9).SerializeToString()))
    runs["text/PPO_1"] = b"".join(hp)
    tf2 = [encode_record(scalar_event("t2/loss", s, s * 0.5, 1.7e9 + s, style="tf2", first=s == 0)
                         .SerializeToString()) for s in range(30)]
    runs["tf2/run"] = b"".join(tf2)
    recs = sb3_run(15, 97)
    bad = bytearray(b"".join(recs))
    bad[sum(len(r) for r in recs[:20]) + 12 + 3] ^= 0x20  # a payload byte: one record skipped
    runs["damaged/PPO_1"] = bytes(bad)
    runs["cut/PPO_1"] = b"".join(sb3_run(12, 96))[:-7]  # an incomplete last record
    runs["tiny/PPO_1"] = b"".join(sb3_run(1, 95)[:2])
    runs["empty/PPO_1"] = b""
    return runs


def reference(data: bytes) -> tuple[dict[str, tuple[list[int], list[float]]], int]:
    """The plain path on the file alone, through a store of its own (restart rule included)."""
    ch = fast.process_plain(data, 0, RunDecoder())
    st = Store()
    st.ensure_run("r", "/r")
    st.append_many("r", ch.batch)
    snap = st.snapshot("r")
    return ({t: (s.steps.tolist(), s.values.tolist()) for t, s in snap.series.items()}, len(snap.restarts))


def test_a_sweep_read_in_one_batch_equals_each_file_alone(tmp_path):
    runs = layouts()
    for name, data in runs.items():
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / FILE).write_bytes(data)
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    for name, data in runs.items():
        want, restarts = reference(data)
        snap = store.snapshot(name)
        got = {t: (s.steps.tolist(), s.values.tolist()) for t, s in snap.series.items()}
        assert got == want, name
        assert len(snap.restarts) == restarts, name
    assert len(store.snapshot("restart/PPO_1").restarts) == len(TAGS)
    assert store.snapshot("restart/PPO_1").series["time/fps"].steps.tolist() == [2048, 4096, 8192]
    assert store.snapshot("text/PPO_1").texts["hparams"].text == "lr: 0.1"
    assert len(store.snapshot("tf2/run").series["t2/loss"]) == 30
    states = {s.run: s for s in ing.file_states()}
    assert states["damaged/PPO_1"].skipped_records == 1
    assert states["cut/PPO_1"].pending > 0 and states["cut/PPO_1"].damaged is None
    # Appending to all of them later: the batch path again, from their offsets.
    for i in range(40):
        with open(tmp_path / f"exp/seed{i}/PPO_1" / FILE, "ab") as f:
            f.write(b"".join(sb3_run(0, 1000 + i, steps=[999_999])[1:]))
    ing.poll()
    for i in range(40):
        assert store.series(f"exp/seed{i}/PPO_1", "time/fps").steps.tolist()[-1] == 999_999


def test_chain_many_frames_what_it_can_and_leaves_the_rest():
    runs = layouts()
    bufs = [runs[k] for k in sorted(runs) if runs[k]]
    sizes = np.asarray([len(b) for b in bufs], np.int64)
    ends = np.cumsum(sizes)
    ok, starts, lengths, first = chain_many(np.frombuffer(b"".join(bufs), np.uint8), ends - sizes, ends)
    names = [k for k in sorted(runs) if runs[k]]
    # An incomplete last record is left to the one-buffer framer; the rest is framed (payload
    # CRCs are checked later, for all records at once).
    assert {n for n, o in zip(names, ok.tolist(), strict=True) if not o} == {"cut/PPO_1"}
    from tui.ingest.tfrecord import frame

    for k, name in enumerate(names):
        if ok[k]:
            fr = frame(runs[name], check_crc=False)
            got = (starts[first[k] : first[k + 1]] - int(ends[k] - sizes[k]) + 12).tolist()
            assert got == fr.starts and lengths[first[k] : first[k + 1]].tolist() == fr.lengths, name


def test_buffers_end_to_end_in_one_array_are_joined_without_a_copy():
    from tui.ingest.fast import _adjacent

    room = np.arange(64, dtype=np.uint8)
    mv = room.data
    bufs = [mv[4:10], mv[10:30], mv[30:31]]
    arrs = [np.frombuffer(b, np.uint8) for b in bufs]
    joined = _adjacent(bufs, arrs, 27)
    assert joined is not None and np.shares_memory(joined, room) and joined.tolist() == list(range(4, 31))
    gap = [mv[4:10], mv[14:30]]  # four bytes between them (a prefix read before the second)
    assert _adjacent(gap, [np.frombuffer(b, np.uint8) for b in gap], 22) is None
    owned = [bytes(mv[4:10]), bytes(mv[10:30])]
    assert _adjacent(owned, [np.frombuffer(b, np.uint8) for b in owned], 26) is None
