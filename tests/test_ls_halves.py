"""``tbpeek ls`` of a logdir with many top-level directories scans and reads them in two halves
(the second in a forked worker, split by name before either looks): it prints exactly what one
process prints, whatever lies where (a run at the root, nested runs, damage, restarts, texts,
names whose natural order differs from their byte order, directories that can't be listed,
links two halves both follow), and a worker that fails costs only time."""

from __future__ import annotations

import json
import os

import pytest
from eventfiles import text_event
from test_ingest_many import FILE, layouts, sb3_run
from testing import break_worker, count_forks, unlistable_and_scans

from tui import cli
from tui.ingest import Ingestor, split
from tui.ingest.tfrecord import encode_record
from tui.report import ls
from tui.store import Store
from tui.vocab import natural_key

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

UNLISTABLE = "noperm"


def _write(root) -> list[str]:
    """A logdir of many top-level directories; the names of its runs."""
    runs = dict(layouts())
    for i in (1, 2, 9, 10, 11, 100):  # natural order (2 before 10) is not byte order
        runs[f"seed{i}/PPO_1"] = b"".join(sb3_run(3 + i % 4, i))
        runs[f"Seed{i}"] = b"".join(sb3_run(2, 50 + i))  # case: byte order puts these first
    runs["deep/a/b/c/run"] = b"".join(sb3_run(4, 77))
    runs["deep/a/sibling"] = b"".join(sb3_run(5, 78))
    hp = sb3_run(3, 79)
    hp.insert(2, encode_record(text_event("hparams", 'lr: "0.1"', 0, 1.7e9).SerializeToString()))
    runs["zz-text"] = b"".join(hp)
    runs["."] = b"".join(sb3_run(6, 80))  # a run at the logdir itself
    for name, data in runs.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / FILE).write_bytes(data)
    (root / UNLISTABLE / "inner").mkdir(parents=True)
    (root / "no-runs-here").mkdir()
    for p in root.rglob("*tfevents*"):
        os.utime(p, (1.75e9, 1.75e9))
    return list(runs)


@pytest.fixture
def setup(monkeypatch):
    """Many top-level directories for a small test; forks counted; the halves' own scans seen."""
    made = count_forks(monkeypatch)
    monkeypatch.setattr(ls, "SPLIT_RUNS", 4)
    monkeypatch.setattr(split, "PARALLEL_FILES", 10**9)
    monkeypatch.setattr("time.time", lambda: 1.8e9)
    parts = unlistable_and_scans(monkeypatch, UNLISTABLE)
    return made, parts


def _both(root, monkeypatch, capsys, args: list[str]) -> tuple[str, str, str, str]:
    """(one process's output, its stderr, the halves' output, their stderr)."""
    out = []
    for workers in ("1", "2"):
        monkeypatch.setenv("TBPEEK_WORKERS", workers)
        assert cli.main([*args, str(root)]) == 0
        got = capsys.readouterr()
        out += [got.out, got.err]
    return out[0], out[1], out[2], out[3]


@pytest.mark.parametrize("args", [["ls", "--json"], ["ls"], ["ls", "--files"]])
def test_halves_print_what_one_process_prints(tmp_path, monkeypatch, capsys, setup, args):
    made, parts = setup
    names = _write(tmp_path)
    one, one_err, two, two_err = _both(tmp_path, monkeypatch, capsys, args)
    assert len(made) == 1
    assert any(p is not None and p[2] is False for p in parts)  # the parent scanned its half only
    assert two == one
    assert two_err == one_err
    if args[1:] == ["--json"]:
        got = json.loads(two)
        assert [r["run"] for r in got["runs"]] == sorted(names, key=natural_key)
        assert [p["path"] for p in got["problems"]] == [str(tmp_path / UNLISTABLE)]
        by = {r["run"]: r for r in got["runs"]}
        assert by["zz-text"]["texts"] == {"hparams": 'lr: "0.1"'}
        assert by["restart/PPO_1"]["restarts"]
        assert by["damaged/PPO_1"]["problems"]


def test_a_link_both_halves_follow_is_listed_once(tmp_path, monkeypatch, capsys, setup):
    made, _ = setup
    _write(tmp_path / "logs")
    target = tmp_path / "elsewhere"
    (target / "PPO_1").mkdir(parents=True)
    (target / "PPO_1" / FILE).write_bytes(b"".join(sb3_run(3, 5)))
    os.utime(target / "PPO_1" / FILE, (1.75e9, 1.75e9))
    (tmp_path / "logs" / "Alink").symlink_to(target)  # the lower half
    (tmp_path / "logs" / "zlink").symlink_to(target)  # the upper half: the same directory again
    one, _, two, _ = _both(tmp_path / "logs", monkeypatch, capsys, ["ls", "--json"])
    assert len(made) == 2  # the halves (not used), then the read after one scan, as without them
    assert two == one
    runs = [r["run"] for r in json.loads(two)["runs"]]
    assert ("Alink/PPO_1" in runs) != ("zlink/PPO_1" in runs)


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_worker_costs_only_time(tmp_path, monkeypatch, capsys, setup, how):
    made, _ = setup
    _write(tmp_path)
    break_worker(monkeypatch, ls, how)
    one, one_err, two, two_err = _both(tmp_path, monkeypatch, capsys, ["ls", "--json"])
    assert len(made) == 2  # the halves (the worker failed), then the read after one scan
    assert (two, two_err) == (one, one_err)


@pytest.mark.parametrize("below", ["", "sweep", "sweep/2026/ppo"])
def test_split_point_and_parts_cover_the_tree_once(tmp_path, below):
    """The split is at the first directory with several subdirectories (through a chain of
    single ones); runs along that chain belong to the lower half."""
    root = tmp_path / "logs"
    names = [f"{below}/{n}".lstrip("/") if n != "." else (below or ".") for n in _write(root / below)]
    chain = []
    for part in below.split("/") if below else []:
        chain.append(f"{chain[-1]}/{part}" if chain else part)
    for d in [".", *chain[:-1]]:  # a run in each directory above the split
        (root / d / FILE).write_bytes(b"".join(sb3_run(2, 60)))
        names.append(d)
    split = Ingestor(Store(), [str(root)]).split_point(4)
    assert split is not None and split[0] == os.path.normpath(root / below)
    assert Ingestor(Store(), [str(root)]).split_point(10**6) is None
    seen = []
    for upper in (False, True):
        st = Store()
        Ingestor(st, [str(root)]).rescan(part=(*split, upper))
        seen.append(set(st.runs()))
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(names)
    assert {".", *chain} <= seen[0]
    assert seen[1]


def test_a_nested_sweep_is_listed_in_halves_as_in_one_process(tmp_path, monkeypatch, capsys, setup):
    made, parts = setup
    root = tmp_path / "logs"
    _write(root / "sweep" / "2026")
    (root / FILE).write_bytes(b"".join(sb3_run(2, 61)))
    (root / "sweep" / FILE).write_bytes(b"".join(sb3_run(2, 62)))
    one, one_err, two, two_err = _both(root, monkeypatch, capsys, ["ls", "--json"])
    assert len(made) == 1
    assert any(p is not None and p[0] == str(root / "sweep" / "2026") for p in parts)
    assert (two, two_err) == (one, one_err)
    runs = [r["run"] for r in json.loads(two)["runs"]]
    assert {".", "sweep", "sweep/2026", "sweep/2026/seed10/PPO_1"} <= set(runs)


@pytest.mark.parametrize("names", [
    [f"run{i}" for i in range(1, 13)],  # split as strings at run4: in natural order the halves interleave
    [f"{c}{i}" for c in "ab" for i in range(1, 7)],  # a* and b*: the upper half follows the lower
])
def test_halves_come_out_in_natural_order_whether_or_not_they_interleave(tmp_path, monkeypatch, capsys, setup,
                                                                        names):
    made, _ = setup
    for i, name in enumerate(names):
        (tmp_path / name).mkdir()
        (tmp_path / name / FILE).write_bytes(b"".join(sb3_run(2 + i % 3, i)))
    one, _, two, _ = _both(tmp_path, monkeypatch, capsys, ["ls", "--json"])
    assert len(made) == 1 and two == one
    assert [r["run"] for r in json.loads(two)["runs"]] == sorted(names, key=natural_key)
