"""The first read of many runs on two cores (half of them in a forked worker) leaves the store
and the readers exactly as reading them all in one process does; a worker that fails costs
only time."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from eventfiles import scalar_event
from tensorboard.compat.proto import event_pb2
from test_ingest_many import FILE, layouts, sb3_run
from testing import count_forks

from tui import cli
from tui.ingest import Ingestor, forked, split
from tui.ingest.tfrecord import encode_record
from tui.report import ls
from tui.store import Store
from tui.vocab import natural_key

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _plugin_run(first: bool) -> bytes:
    """A float tensor tag claimed by another plugin (metadata on its first value only)."""
    out = []
    for s in range(4):
        ev = scalar_event("pr/curve", s, 0.5 * s, 1.7e9 + s, style="tf2", first=first and s == 0)
        if first and s == 0:
            ev.summary.value[0].metadata.plugin_data.plugin_name = "pr_curves"
        out.append(encode_record(ev.SerializeToString()))
        out.append(encode_record(scalar_event("loss", s, 1.0 / (s + 1), 1.7e9 + s).SerializeToString()))
    return b"".join(out)


def _same_mtimes(root) -> None:
    for p in root.rglob("*tfevents*"):
        os.utime(p, (1.75e9, 1.75e9))


def _write(root, runs: dict[str, bytes]) -> None:
    for name, data in runs.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / FILE).write_bytes(data)
    (root / "plugin/run").mkdir(parents=True)
    (root / "plugin/run" / FILE).write_bytes(
        encode_record(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())
        + _plugin_run(True))
    _same_mtimes(root)


def _grow(root) -> None:
    """New records for every kind of run: completes the half-written one, goes on after the
    damage, and more values of the other plugin's tag (now without metadata)."""
    for i in range(0, 40, 3):
        with open(root / f"exp/seed{i}/PPO_1" / FILE, "ab") as f:
            f.write(b"".join(sb3_run(0, 500 + i, steps=[10**6])[1:]))
    cut = b"".join(sb3_run(12, 96))
    with open(root / "cut/PPO_1" / FILE, "r+b") as f:
        f.seek(len(cut) - 7)
        f.write(cut[-7:])
    with open(root / "damaged/PPO_1" / FILE, "ab") as f:
        f.write(b"".join(sb3_run(0, 7, steps=[10**6])[1:]))
    with open(root / "plugin/run" / FILE, "ab") as f:
        f.write(_plugin_run(False))
    _same_mtimes(root)


def _contents(store: Store, ing: Ingestor) -> dict:
    out = {}
    for name in store.runs():
        snap = store.snapshot(name)
        out[name] = (
            # (by tag name: the order tags come in depends on which tags the ingest saw first)
            {t: (s.steps.tolist(), s.wall_times.tolist(), np.asarray(s.values).tobytes())
             for t, s in sorted(snap.series.items())},
            snap.texts, sorted(snap.restarts, key=repr), snap.problem_items, snap.file_version, snap.last_write, snap.files,
            snap.version)
    return {"runs": out, "files": sorted(ing.file_states(), key=lambda f: f.path),
            "problems": store.problems()}


def _read(root, monkeypatch, workers: str) -> list[dict]:
    monkeypatch.setenv("TBPEEK_WORKERS", workers)
    store = Store()
    ing = Ingestor(store, [str(root)])
    ing.poll()
    first = _contents(store, ing)
    _grow(root)
    ing.poll()
    return [first, _contents(store, ing)]


@pytest.fixture
def forks(monkeypatch):
    """Counts the workers forked (so a test knows the split really happened)."""
    made = count_forks(monkeypatch)
    monkeypatch.setattr(split, "PARALLEL_FILES", 4)
    return made


def _twice(tmp_path, monkeypatch, forks) -> None:
    _write(tmp_path / "a", layouts())
    _write(tmp_path / "b", layouts())
    one = _read(tmp_path / "a", monkeypatch, "1")
    assert not forks
    two = _read(tmp_path / "b", monkeypatch, "2")
    assert len(forks) == 1  # the first poll only: the second reads a few bytes in-process
    for a, b in zip(one, two, strict=True):
        a_text = json.dumps(a, default=repr).replace(str(tmp_path / "a"), "ROOT")
        b_text = json.dumps(b, default=repr).replace(str(tmp_path / "b"), "ROOT")
        assert a_text == b_text


def test_split_read_equals_one_process(tmp_path, monkeypatch, forks):
    _twice(tmp_path, monkeypatch, forks)


def test_split_read_kept_the_other_plugins_tag_out(tmp_path, monkeypatch, forks):
    _write(tmp_path, {f"a{i}": b"".join(sb3_run(3, i)) for i in range(6)})  # plugin/run: the worker's half
    monkeypatch.setenv("TBPEEK_WORKERS", "2")
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    assert len(forks) == 1
    _grow_plugin = _plugin_run(False)
    with open(tmp_path / "plugin/run" / FILE, "ab") as f:
        f.write(_grow_plugin)
    ing.poll()
    assert store.tags("plugin/run") == ["loss"]  # pr/curve belongs to pr_curves, before and after
    assert [r.tag for r in store.snapshot("plugin/run").restarts] == ["loss"]  # the second file's steps


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_worker_costs_only_time(tmp_path, monkeypatch, forks, how):
    def fail(self):
        if how == "raise":
            raise RuntimeError("worker broke")
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(split.Recorder, "packed", fail)
    _twice(tmp_path, monkeypatch, forks)


def test_ls_split_in_two_prints_what_one_process_prints(tmp_path, monkeypatch, forks, capsys):
    _write(tmp_path, layouts())
    monkeypatch.setattr(ls, "SPLIT_RUNS", 4)
    monkeypatch.setattr(split, "PARALLEL_FILES", 10**9)
    monkeypatch.setattr("time.time", lambda: 1.8e9)
    out = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("TBPEEK_WORKERS", workers)
        for args in (["ls", "--json"], ["ls", "--files"]):
            assert cli.main([*args, str(tmp_path)]) == 0
            out[workers, args[1]] = capsys.readouterr().out
    assert len(forks) == 2
    assert out["1", "--json"] == out["2", "--json"]
    assert out["1", "--files"] == out["2", "--files"]
    runs = json.loads(out["2", "--json"])["runs"]
    assert [r["run"] for r in runs] == sorted([*layouts(), "plugin/run"], key=natural_key)


def test_an_ingestor_pickled_before_the_split_existed_still_polls(tmp_path, monkeypatch, forks):
    _write(tmp_path, {f"a{i}": b"".join(sb3_run(3, i)) for i in range(6)})
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    del ing.__dict__["_polled"]  # as unpickled from status's saved state of the last version
    ing.poll()
    assert not forks  # taken for polled already: one process
    assert len(ing.store.series("a0", "time/fps")) == 3


def test_poll_runs_and_file_states_of_some_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TBPEEK_WORKERS", "1")
    _write(tmp_path, {f"a{i}": b"".join(sb3_run(3, i)) for i in range(4)})
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    assert ing.poll_runs(["a2", "nope", "a0"]) == {"a0", "a2"}
    assert [n for n in store.runs() if store.snapshot(n).points] == ["a0", "a2"]  # the others: not read yet
    states = ing.file_states(["a2", "nope", "a0"])
    assert [s.run for s in states] == ["a2", "a0"] and all(s.records == 1 + 3 * 6 for s in states)
    assert {s.run for s in ing.file_states()} == {"a0", "a1", "a2", "a3", "plugin/run"}


def test_no_worker_beside_other_threads_or_when_told(monkeypatch):
    import threading

    monkeypatch.delenv("TBPEEK_WORKERS", raising=False)
    assert forked.available() == (threading.active_count() == 1)
    monkeypatch.setattr(forked.threading, "active_count", lambda: 2)  # the app's ingest thread, say
    assert not forked.available()
    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    assert forked.available()
    monkeypatch.setenv("TBPEEK_WORKERS", "1")
    assert not forked.available()


def test_a_one_shot_read_of_many_files_keeps_freed_memory(tmp_path, monkeypatch):
    from tui.ingest import memory

    _write(tmp_path, {f"a{i}": b"".join(sb3_run(3, i)) for i in range(6)})
    monkeypatch.setenv("TBPEEK_WORKERS", "1")
    monkeypatch.setattr(split, "PARALLEL_FILES", 4)
    calls = []
    monkeypatch.setattr(memory, "keep_freed", lambda: calls.append(1) or True)
    for threads, want in ((2, []), (1, [1])):  # the app (threads) keeps glibc's defaults
        monkeypatch.setattr(forked.threading, "active_count", lambda threads=threads: threads)
        Ingestor(Store(), [str(tmp_path)]).poll()
        assert calls == want


def test_keep_freed_asks_once():
    from tui.ingest import memory

    memory.keep_freed()
    assert memory._done and memory.keep_freed() is False  # once per process
