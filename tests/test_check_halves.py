"""``tbpeek check`` of a tree of many directories scans, reads and judges it in two halves (the
second in a forked worker), each run beside its siblings, all in its own half: it prints
exactly what one process prints (text, ``--json``, review mode; damaged files, directories that
can't be listed; the same exit code), and falls back to one scan where the halves can't give
that (a flat sweep: siblings on both sides of the split; a worker that fails; no runs)."""

from __future__ import annotations

import json
import os

import pytest
from health_many import T0, varied_runs
from test_health_parallel import _write_runs
from testing import break_worker, count_forks, unlistable_and_scans

from tui import cli
from tui.health import parallel
from tui.ingest import Ingestor, split
from tui.report import check
from tui.store import Store

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

UNLISTABLE = "noperm"
RUNS = varied_runs(150, seed=3)  # experiments of 1-3 seed siblings (and one of 30): healthy, collapsed, NaN, stalled


@pytest.fixture
def setup(monkeypatch):
    """Small trees split; forks counted; the scans' parts seen; one directory can't be listed."""
    made = count_forks(monkeypatch)
    monkeypatch.setattr(check, "SPLIT_RUNS", 4)
    monkeypatch.setattr(split, "PARALLEL_FILES", 10**9)  # (the fallback's read in one process)
    monkeypatch.setattr(parallel, "spare_core", lambda: True)
    monkeypatch.setattr("time.time", lambda: T0 + 100)  # ok, info, warn and alarm runs
    parts = unlistable_and_scans(monkeypatch, UNLISTABLE)
    return made, parts


def _both(root, monkeypatch, capsys, args: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(one process's exit code, output, stderr), (the same from the halves)."""
    out = []
    for workers in ("1", "2"):
        monkeypatch.setenv("TBPEEK_WORKERS", workers)
        code = cli.main(["check", *args, str(root)])
        got = capsys.readouterr()
        out.append((code, got.out, got.err))
    return out[0], out[1]


def _split(root) -> tuple[str, str]:
    got = Ingestor(Store(), [str(root)]).split_point(4)
    assert got is not None and got[0] == str(root / "logs")
    return got


def _nested(root) -> None:
    """``logs/expNNNN/seedN`` (seed siblings in one directory), damaged files, a run at ``logs``
    itself, a directory that can't be listed."""
    _write_runs(root, RUNS)
    _write_runs(root / "logs", RUNS[:1])  # (its parent is the logdir: no siblings)
    os.replace(root / "logs" / "logs" / "exp0000" / "seed0" / "events.out.tfevents.1700000000.host.1.0",
               root / "logs" / "events.out.tfevents.1700000000.host.1.0")
    (root / "logs" / UNLISTABLE / "inner").mkdir(parents=True)
    long = root / "logs" / "zz-a-name-longer-than-the-others" / "PPO_1"  # the upper half's: all names padded to it
    long.mkdir(parents=True)
    (root / "logs" / "exp0000" / "seed13" / "events.out.tfevents.1700000000.host.1.0").rename(
        long / "events.out.tfevents.1700000000.host.1.0")


@pytest.mark.parametrize("args", [[], ["--json"], ["--mode", "review"], ["--json", "--mode", "review"],
                                  ["--fail-on", "warn"], ["--fail-on", "info"]])
@pytest.mark.parametrize("now", [T0 + 100, T0 + 30000, T0 + 1e7])  # live; stalled; all ended (against seed siblings)
def test_halves_print_what_one_process_prints(tmp_path, monkeypatch, capsys, setup, args, now):
    made, parts = setup
    monkeypatch.setattr("time.time", lambda: now)
    _nested(tmp_path)
    one, two = _both(tmp_path, monkeypatch, capsys, args)
    assert len(made) == 1  # the halves' worker only: no read or judging split inside a half
    assert parts[-1] == (*_split(tmp_path), False)  # the parent scanned its half only
    assert two == one
    assert one[0] in (1, 3)
    if "--json" in args:
        got = json.loads(two[1])
        assert len(got["runs"]) == len(RUNS) + 1
        assert [p["path"] for p in got["problems"]] == [str(tmp_path / "logs" / UNLISTABLE)]
        assert sum(bool(r["problems"]) for r in got["runs"]) >= 4  # the damaged files, from both halves
        severities = {v["severity"] for r in got["runs"] for v in r["verdicts"]}
        assert {"alarm", "warn"} <= severities
    else:
        assert two[1].splitlines()[-1].startswith(f"{len(RUNS) + 1} runs: ")
        assert f"  {'logs':<43}  " in two[1]


def test_halves_in_colour_print_what_one_process_prints(tmp_path, monkeypatch, capsys, setup):
    made, _ = setup
    monkeypatch.setattr(check.Paint, "for_stream", classmethod(lambda cls, stream: cls(True)))
    _nested(tmp_path)
    one, two = _both(tmp_path, monkeypatch, capsys, [])
    assert len(made) == 1
    assert two == one
    assert "\x1b[" in one[1]


@pytest.mark.parametrize("fail_on,severity", [("alarm", "alarm"), ("warn", "warn")])
def test_exit_code_from_the_workers_half(tmp_path, monkeypatch, capsys, setup, fail_on, severity):
    """Verdicts at ``--fail-on`` in the worker's half only: the exit code still says so."""
    made, _ = setup
    _nested(tmp_path)
    cut = _split(tmp_path)[1]
    got = json.loads(_both(tmp_path, monkeypatch, capsys, ["--json"])[1][1])
    level = ["ok", "info", "warn", "alarm"].index(severity)
    for r in got["runs"]:  # the lower half keeps only its runs below the level
        top = max((["ok", "info", "warn", "alarm"].index(v["severity"]) for v in r["verdicts"]), default=-1)
        if r["run"].split("/")[1:2] < [cut] and top >= level:
            for f in (tmp_path / r["run"]).glob("*tfevents*"):
                f.unlink()
    made.clear()
    one, two = _both(tmp_path, monkeypatch, capsys, ["--fail-on", fail_on])
    assert len(made) == 1
    assert two == one
    assert one[0] == 1
    lower = [line for line in one[1].splitlines() if line.startswith(("ALARM", "WARN", "INFO", "OK", "-"))
             and line.split()[1].split("/")[1:2] < [cut]]
    assert lower  # the parent's half has runs, none at the level
    assert not any(line.startswith((severity.upper(), "ALARM")) for line in lower)


def test_a_flat_sweep_is_checked_in_halves(tmp_path, monkeypatch, capsys, setup):
    """``runs/<name>``: a directory too full to be one experiment, its runs judged alone (in each
    half as in the whole): halves as for a nested tree."""
    made, parts = setup
    flat = [s for s in RUNS if s.name.endswith(("seed0", "seed1"))][:60]
    _write_runs(tmp_path, flat)
    for s in flat:
        os.replace(tmp_path / s.path.lstrip("/"), tmp_path / s.name.replace("/", "-"))
    for args in (["--json"], []):
        made.clear()
        one, two = _both(tmp_path, monkeypatch, capsys, args)
        assert len(made) == 1
        assert parts[-1] is not None and parts[-1][2] is False
        assert two == one
    assert len(json.loads(_both(tmp_path, monkeypatch, capsys, ["--json"])[0][1])["runs"]) == len(flat)


def test_siblings_on_both_sides_of_the_split_fall_back(tmp_path, monkeypatch, capsys, setup):
    """19 runs in one directory, 9 below the split (alone: one experiment's seeds, siblings), 10
    above it: the halves would judge the 9 together, one process judges all 19 alone (too many
    to be one experiment). The halves are not used."""
    made, parts = setup
    picked = [s for s in RUNS if s.name.endswith("seed0")][:20]
    _write_runs(tmp_path, picked)
    names = [f"a{i}" for i in range(10)] + [f"z{i}" for i in range(10)]
    for s, name in zip(picked, names, strict=True):
        os.replace(tmp_path / s.path.lstrip("/"), tmp_path / name)
    (tmp_path / "m" / "PPO_1").mkdir(parents=True)  # the split's name: not a run itself
    os.replace(tmp_path / "a0" / "events.out.tfevents.1700000000.host.1.0",
               tmp_path / "m" / "PPO_1" / "events.out.tfevents.1700000000.host.1.0")
    os.rmdir(tmp_path / "a0")
    assert Ingestor(Store(), [str(tmp_path)]).split_point(4) == (str(tmp_path), "m")
    one, two = _both(tmp_path, monkeypatch, capsys, [])
    assert len(made) == 1
    assert any(p is not None for p in parts) and parts[-1] is None  # halves tried, then one scan
    assert two == one
    assert one[1].splitlines()[-1].startswith("20 runs: ")


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_worker_costs_only_time(tmp_path, monkeypatch, capsys, setup, how):
    made, parts = setup
    _nested(tmp_path)
    break_worker(monkeypatch, check, how)
    monkeypatch.setattr(parallel, "PARALLEL_RUNS", 4)  # (the fallback's judging split: today's path)
    one, two = _both(tmp_path, monkeypatch, capsys, ["--json"])
    assert len(made) == 2  # the halves (the worker failed), then judging split after one scan
    assert parts[-1] is None
    assert two == one


def test_no_runs_in_either_half(tmp_path, monkeypatch, capsys, setup):
    for i in range(10):
        (tmp_path / f"d{i}" / "inner").mkdir(parents=True)
    one, two = _both(tmp_path, monkeypatch, capsys, [])
    assert two == one
    assert one[0] == 2 and "no runs" in one[2]
