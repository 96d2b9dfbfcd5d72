"""``tbpeek status`` on many runs: what makes a cold call cheap keeps the answer right.

- a run that has ended is counted but not judged (its verdicts never reach the line), and is
  judged again as soon as it writes;
- the cache's state (all points, pickled with each tag's points as bytes) loads back to the
  very points a fresh read gives, and keeps growing correctly;
- the state is written after the answer, by a child that holds the lock until it is done.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from test_status import REPO, status, write_run

import tui.health.engine
from tui.report import status as status_mod
from tui.report.status_cache import FORMAT, Paths, _load_state, load_summary

DAY = 86400.0


@pytest.fixture()
def judged(monkeypatch) -> list[str]:
    """The names of the runs judged (tui.health.engine.judge_some, the cache's batch, instrumented)."""
    names: list[str] = []
    real = tui.health.engine.judge_some

    def spy(snaps, idx, *a, **k):
        names.extend(snaps[i].name for i in idx)
        return real(snaps, idx, *a, **k)

    monkeypatch.setattr(tui.health.engine, "judge_some", spy)
    return names


def _paths() -> Paths:
    from tui.config import state_dir

    (summary,) = state_dir().glob("status-*.json")
    return Paths(state_dir(), summary.stem.removeprefix("status-"))


def test_ended_runs_are_counted_not_judged_and_judged_again_when_they_write(capsys, tmp_path, judged):
    d = tmp_path / "runs"
    write_run(d / "old-collapse", "collapse", end=time.time() - 3 * DAY)
    write_run(d / "old-ok", "healthy", end=time.time() - 3 * DAY)
    write_run(d / "live", "healthy")
    code, out, _ = status(capsys, str(d), "--wait")
    assert (code, out) == (0, "● 1 run ok · 2 ended · look due")
    assert judged == ["live"]
    summary = load_summary(_paths().summary)
    assert summary is not None and {r.run: r.verdicts == [] for r in summary.runs} == {
        "old-collapse": True, "old-ok": True, "live": False}
    judged.clear()
    write_run(d / "old-collapse", "collapse", n=100, start=200)  # it writes again: live, and collapsed
    code, out, _ = status(capsys, str(d), "--wait")
    assert (code, out) == (1, "▲ old-collapse: entropy collapsed")
    assert judged == ["old-collapse"]  # "live" is unchanged and was judged a moment ago


def test_the_state_loads_back_to_the_points_a_fresh_read_gives(capsys, tmp_path, monkeypatch):
    from tui.ingest import Ingestor
    from tui.store import Store

    d = tmp_path / "runs"
    for i in range(3):
        write_run(d / f"r{i}", "healthy", n=150 + i)

    def fresh() -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        store = Store()
        ing = Ingestor(store, [str(d)])
        ing.rescan()
        ing.poll()
        return _points(store)

    assert status(capsys, str(d), "--wait")[0] == 0
    paths = _paths()
    _wait_for_lock(paths)
    state = _load_state(paths, paths.summary.stem.removeprefix("status-"))
    assert state is not None and state["format"] == FORMAT
    _same(_points(state["store"]), fresh())
    # A second file of r1, appended to the adopted (read-only) arrays. Its name must sort after
    # the first's, as a later file's does: the writer names files by the second and then by a
    # per-process counter (".9" sorts after ".10" within one second), so it is made a second later.
    later = time.time() + 2
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: later)
        write_run(d / "r1", "healthy", n=40, start=151)
    assert status(capsys, str(d), "--wait")[0] == 0
    _wait_for_lock(paths)
    state = _load_state(paths, paths.summary.stem.removeprefix("status-"))
    assert state is not None
    grown = _points(state["store"])
    _same(grown, fresh())
    assert len(grown["r1"]["losses/entropy"][0]) == 151 + 40


def test_a_cold_call_answers_and_a_child_writes_the_state_under_the_lock(tmp_path):
    d = tmp_path / "runs"
    write_run(d / "a", "healthy")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "tui", "status", str(d)], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=120)
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "● 1 run ok · look due", "")
    paths = _paths()
    assert load_summary(paths.summary) is not None  # the summary is written before the answer
    _wait_for_lock(paths)  # the child lets go of the lock once the state is on disk
    assert _load_state(paths, paths.summary.stem.removeprefix("status-")) is not None


def test_without_detaching_the_state_is_written_before_returning(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(status_mod, "DETACH_SAVE", False)
    d = tmp_path / "runs"
    write_run(d / "a", "healthy")
    pid = os.getpid()
    assert status(capsys, str(d))[0] == 0
    assert os.getpid() == pid
    paths = _paths()
    assert paths.state.exists()  # no lock to wait for: written in this process
    assert _load_state(paths, paths.summary.stem.removeprefix("status-")) is not None


def _wait_for_lock(paths: Paths) -> None:
    fd = os.open(paths.lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


def _points(store) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    out = {}
    for snap in store.snapshots():
        out[snap.name] = {t: (s.steps, s.wall_times, s.values) for t, s in snap.series.items()}
    return out


def _same(a, b) -> None:
    assert a.keys() == b.keys()
    for run in a:
        assert a[run].keys() == b[run].keys()
        for tag in a[run]:
            for x, y in zip(a[run][tag], b[run][tag], strict=True):
                np.testing.assert_array_equal(x, y)


def test_version_is_looked_up_only_when_asked(capsys):
    """``--version`` still prints on stdout; the lookup (importlib.metadata) is lazy."""
    from importlib.metadata import version

    from tui.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tbpeek {version('tbpeek')}\n"
    with pytest.raises(SystemExit) as e:  # argparse's own path (the top parser's action)
        from tui.cli import _top_parser

        _top_parser().parse_args(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"tbpeek {version('tbpeek')}\n"
