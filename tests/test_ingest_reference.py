"""tbpeek's points equal TensorBoard's EventAccumulator's (steps, wall times, values).

Where they differ on purpose, the test says which documented rule makes tbpeek right:
- data appended to an older event file after a newer one exists (EventAccumulator never goes
  back to an older file, so it loses those points);
- a tag whose step goes back (restart purge: tbpeek drops the kept points with step >= the
  new step; EventAccumulator keeps both for files with file_version >= 2).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from eventfiles import Writer, scalar_event
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import types_pb2
from tensorboard.util import tensor_util

from tui.ingest import Ingestor, load
from tui.store import Store


def reference(run_dir: str | os.PathLike) -> dict[str, tuple[list, list, list]]:
    """EventAccumulator's scalars, and its scalar-shaped tensors, per tag."""
    ea = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    out = {}
    for tag in ea.Tags()["scalars"]:
        ev = ea.Scalars(tag)
        out[tag] = ([e.step for e in ev], [e.wall_time for e in ev], [e.value for e in ev])
    for tag in ea.Tags()["tensors"]:
        ev = ea.Tensors(tag)
        vals = [tensor_util.make_ndarray(e.tensor_proto) for e in ev]
        if all(v.size == 1 and v.dtype.kind in "fiub" for v in vals):
            out[tag] = ([e.step for e in ev], [e.wall_time for e in ev], [float(v.reshape(())) for v in vals])
    return out


def assert_same(store: Store, run: str, ref: dict) -> None:
    snap = store.snapshot(run)
    assert sorted(snap.series) == sorted(ref)
    for tag, (steps, walls, values) in ref.items():
        s = snap.series[tag]
        np.testing.assert_array_equal(s.steps, np.asarray(steps, np.int64), err_msg=tag)
        np.testing.assert_array_equal(s.wall_times, np.asarray(walls, np.float64), err_msg=tag)
        np.testing.assert_array_equal(s.values, np.asarray(values, np.float64), err_msg=tag)


def _curve(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(size=n).cumsum())


@pytest.mark.parametrize("style", ["simple", "tf2"])
def test_tensorboard_writer_matches_reference(tmp_path, style):
    with Writer(tmp_path / "run", style=style) as w:
        for tag_i, tag in enumerate(["loss", "train/entropy", "eval/return"]):
            for step, v in enumerate(_curve(300, tag_i)):
                w.scalar(tag, v, step * 10, 1_700_000_000.0 + step * 0.25)
    store = load([str(tmp_path)])
    assert store.runs() == ["run"]
    ref = reference(tmp_path / "run")
    assert len(ref) == 3
    assert_same(store, "run", ref)


def test_tensorboardx_writer_matches_reference(tmp_path):
    from tensorboardX import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tbx"))
    for step, v in enumerate(_curve(500)):
        w.add_scalar("loss", v, step)
        w.add_scalar("lr", 1e-3 / (1 + step), step)
    w.add_scalar("special", float("nan"), 500)
    w.add_scalar("special", float("inf"), 501)
    w.close()
    store = load([str(tmp_path)])
    ref = reference(tmp_path / "tbx")
    assert set(ref) == {"loss", "lr", "special"}
    assert_same(store, "tbx", ref)
    assert math.isnan(store.series("tbx", "special").values[0])


@pytest.mark.parametrize("dtype,packed", [
    (types_pb2.DT_FLOAT, True), (types_pb2.DT_FLOAT, False),
    (types_pb2.DT_DOUBLE, True), (types_pb2.DT_DOUBLE, False),
    (types_pb2.DT_INT32, False), (types_pb2.DT_INT64, False),
])
def test_tf2_tensor_dtypes_match_reference(tmp_path, dtype, packed):
    run = tmp_path / "tf2"
    with Writer(run, style="tf2") as w:
        for step in range(200):
            w.add_event(scalar_event("x", step, float(step * 3 - 7), 1e9 + step, style="tf2",
                                     first=step == 0, dtype=dtype, packed=packed))
    store = load([str(tmp_path)])
    ref = reference(run)
    assert list(ref) == ["x"] and len(ref["x"][0]) == 200
    assert_same(store, "tf2", ref)


def test_every_rahtz_run_matches_reference(rahtz):
    store = load([str(rahtz)])
    runs = store.runs()
    assert len(runs) == 8
    for run in runs:
        ref = reference(store.path(run))
        assert ref, run
        assert_same(store, run, ref)
        snap = store.snapshot(run)
        assert snap.problems == {} and snap.restarts == ()
        assert snap.file_version == "brain.Event:2"


def test_several_files_of_a_run_read_in_name_order(tmp_path):
    run = tmp_path / "r"
    with Writer(run, suffix=".a") as w:
        w.scalars("loss", [(s, float(s), 100.0 + s) for s in range(50)])
    with Writer(run, suffix=".b") as w:
        w.scalars("loss", [(s, float(s), 200.0 + s) for s in range(50, 80)])
    store = load([str(tmp_path)])
    assert_same(store, "r", reference(run))
    assert len(store.series("r", "loss")) == 80


def test_data_appended_to_older_file_is_not_lost(tmp_path):
    """Documented difference: EventAccumulator never returns to an older file; tbpeek does."""
    run = tmp_path / "r"
    old = Writer(run, suffix=".1old")
    old.scalars("a", [(s, float(s), 100.0 + s) for s in range(10)])
    old.flush()
    with Writer(run, suffix=".2new") as new:
        new.scalars("b", [(s, float(s), 100.0 + s) for s in range(10)])
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ea = EventAccumulator(str(run), size_guidance={"scalars": 0})
    ing.poll()
    ea.Reload()
    old.scalars("a", [(s, float(s), 100.0 + s) for s in range(10, 20)])
    old.close()
    assert ing.poll() == {"r"}
    ea.Reload()
    assert len(store.series("r", "a")) == 20  # tbpeek: all of them
    assert len(ea.Scalars("a")) == 10  # the reference lost the 10 appended to the older file


def test_restart_purge_differs_from_reference_on_purpose(tmp_path):
    """Documented difference: step going back drops kept points with step >= new step."""
    run = tmp_path / "r"
    with Writer(run) as w:
        w.scalars("loss", [(s, float(s), 100.0 + s) for s in range(100)])
        w.scalars("loss", [(s, -float(s), 300.0 + s) for s in range(60, 120)])  # resumed at 60
    store = load([str(tmp_path)])
    s = store.series("r", "loss")
    assert s.steps.tolist() == list(range(120))
    assert s.values[59] == 59.0 and s.values[60] == -60.0
    (restart,) = store.snapshot("r").restarts
    assert (restart.tag, restart.step, restart.dropped, restart.wall_time) == ("loss", 60, 40, 360.0)
    ref = reference(run)
    assert len(ref["loss"][0]) == 160  # the reference keeps both histories, interleaved


def test_many_runs_read_in_batches_match_reference(tmp_path):
    """Many small files are read in one fast-path batch; each run still equals the reference."""
    for r in range(12):
        with Writer(tmp_path / f"run{r:02d}", style="tf2" if r % 3 == 0 else "simple") as w:
            for step, v in enumerate(_curve(150, r)):
                w.scalar("loss", v, step, 1e9 + step)
                w.scalar(f"only_in_{r % 4}", -v, step, 1e9 + step)
    store = load([str(tmp_path)])
    assert len(store.runs()) == 12
    for run in store.runs():
        assert_same(store, run, reference(tmp_path / run))


def test_appends_to_many_runs_read_in_one_batch_match_reference(tmp_path):
    """Polls of many grown files: one batch (one shared read buffer), each file's new bytes
    checked against the 4 bytes read before them; half a record left for the next poll."""
    writers = [Writer(tmp_path / f"run{r:02d}", style="tf2" if r % 2 else "simple") for r in range(9)]
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    curves = [_curve(400, r) for r in range(9)]
    for lo, hi in ((0, 50), (50, 51), (51, 300), (300, 400)):
        for r, w in enumerate(writers):
            for step in range(lo, hi):
                w.scalar("loss", curves[r][step], step, 1e9 + step)
                w.scalar(f"x{r % 3}", -curves[r][step], step, 1e9 + step)
            w.flush()
        path = next((tmp_path / "run03").iterdir())
        with open(path, "ab") as f:
            f.write(b"\x10\x00\x00")  # the start of a record's header: not ready yet
        ing.poll()
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 3)
    for w in writers:
        w.close()
    ing.poll()
    assert not any(st.skipped_records or st.damaged for st in ing.file_states())
    for run in store.runs():
        assert_same(store, run, reference(tmp_path / run))
