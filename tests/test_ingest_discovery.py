"""Logdirs → runs: TensorBoard's naming, name:path specs, several logdirs, incremental rescans."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eventfiles import Writer

from tui.ingest import Ingestor, LogdirError, load
from tui.ingest.discovery import parse_spec
from tui.store import Store


def make_run(path, n=3, tag="loss"):
    with Writer(path) as w:
        w.scalars(tag, [(s, float(s), 1e9 + s) for s in range(n)])


def test_runs_are_directories_with_event_files_named_relative(tmp_path):
    make_run(tmp_path)  # the logdir itself is a run: "."
    make_run(tmp_path / "a")
    make_run(tmp_path / "b" / "c")
    (tmp_path / "empty" / "deeper").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("not a run")
    store = load([str(tmp_path)])
    assert store.runs() == [".", "a", "b/c"]
    assert store.path("b/c") == str(tmp_path / "b" / "c")
    assert len(store.series("b/c", "loss")) == 3


def test_name_path_spec_and_several_logdirs(tmp_path):
    make_run(tmp_path / "x" / "exp1" / "run")
    make_run(tmp_path / "y" / "exp1" / "run")
    make_run(tmp_path / "z")
    store = load([f"first:{tmp_path / 'x'}", str(tmp_path / "y" / "exp1"), str(tmp_path / "z")])
    assert store.runs() == ["exp1/run", "first/exp1/run", "z"]


def test_same_basename_logdirs_get_unique_prefixes(tmp_path):
    make_run(tmp_path / "a" / "logs" / "r")
    make_run(tmp_path / "b" / "logs" / "r")
    store = load([str(tmp_path / "a" / "logs"), str(tmp_path / "b" / "logs")])
    assert store.runs() == ["a/logs/r", "b/logs/r"]


def test_parse_spec_name_path_and_existing_paths(tmp_path):
    weird = tmp_path / "a:b"
    weird.mkdir()
    assert parse_spec(str(weird)).name is None
    s = parse_spec("exp:/some/where")
    assert (s.name, s.path) == ("exp", "/some/where")


def test_missing_or_unreadable_logdir_raises_logdir_error(tmp_path):
    with pytest.raises(LogdirError, match="does not exist"):
        Ingestor(Store(), [str(tmp_path / "nope")])
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(LogdirError, match="not a directory"):
        Ingestor(Store(), [str(f)])


def as_a_user_who_cannot_bypass_permissions(*args: str) -> subprocess.CompletedProcess[str]:
    """``tbpeek ARGS`` in a new process for which file permissions hold.

    Root reads a mode-000 directory anyway; without the capabilities that let it (dropped by
    ``setpriv`` from its bounding set) it can't, just like another user.
    """
    cmd = [sys.executable, "-m", "tui", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions can't be enforced (the test double "
                        "in test_tree.py covers the logic)")
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def problem_entries(doc: object) -> list[dict]:
    """Every entry of a "problems" list anywhere in ls's JSON (wherever the format puts them)."""
    out: list[dict] = []
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            probs = x.get("problems")
            if isinstance(probs, list):
                out += [p for p in probs if isinstance(p, dict)]
            stack += list(x.values())
        elif isinstance(x, list):
            stack += x
    return out


@pytest.fixture
def locked(tmp_path):
    """A logdir with a readable run and a run inside a mode-000 directory."""
    make_run(tmp_path / "ok")
    make_run(tmp_path / "locked" / "hidden")
    (tmp_path / "locked").chmod(0)
    yield tmp_path
    (tmp_path / "locked").chmod(0o755)


def test_unreadable_subdirectory_is_reported_not_silently_dropped(locked):
    r = as_a_user_who_cannot_bypass_permissions("ls", "--json", str(locked))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [x["run"] for x in out["runs"]] == ["ok"]
    found = [p for p in problem_entries(out) if p.get("kind") == "unreadable-dir"]
    assert [p["path"] for p in found] == [str(locked / "locked")]
    assert "Permission denied" in found[0]["message"]
    text = as_a_user_who_cannot_bypass_permissions("ls", str(locked))
    assert f"directory {locked / 'locked'} cannot be read" in text.stderr and "ok" in text.stdout


def test_unreadable_logdir(locked):
    r = as_a_user_who_cannot_bypass_permissions("ls", str(locked / "locked"))
    assert r.returncode == 2 and "cannot be read" in r.stderr and "Traceback" not in r.stderr


def test_rescan_finds_new_runs_and_files_and_maps_paths(tmp_path):
    make_run(tmp_path / "a")
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    assert ing.rescan() == ["a"]
    assert ing.rescan() == []
    ing.poll()
    make_run(tmp_path / "deep" / "b", n=5)
    assert ing.rescan() == ["deep/b"]
    assert ing.poll() == {"deep/b"}
    with Writer(tmp_path / "a", suffix=".second") as w:  # a new file in a known run
        w.scalar("acc", 0.5, 10, 1e9)
    assert ing.rescan() == []
    assert ing.poll() == {"a"}
    assert store.tags("a") == ["acc", "loss"]
    path = next(s.path for s in ing.file_states() if s.run == "deep/b")
    assert ing.run_for_path(path) == "deep/b"
    assert ing.run_for_path(str(tmp_path / "deep" / "b")) == "deep/b"
    assert ing.run_for_path(str(tmp_path / "elsewhere" / "x")) is None
    assert ing.watch_paths() == [str(tmp_path)]


def test_poll_with_an_unknown_new_file_picks_it_up(tmp_path):
    make_run(tmp_path / "a")
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    ing.poll()
    make_run(tmp_path / "fresh", n=4)
    (new_file,) = (tmp_path / "fresh").iterdir()
    assert ing.poll([str(new_file)]) == {"fresh"}
    assert len(store.series("fresh", "loss")) == 4


def test_unchanged_poll_reports_nothing(tmp_path):
    make_run(tmp_path / "a")
    store = Store()
    ing = Ingestor(store, [str(tmp_path)])
    assert ing.poll() == {"a"}
    v = store.version
    assert ing.poll() == set()
    assert store.version == v


def test_a_backslash_in_a_posix_directory_name_is_part_of_the_name(tmp_path):
    import os

    from tui.ingest.discovery import Discovery, parse_spec

    if os.sep != "/":
        pytest.skip("on Windows a backslash separates directories")
    run = tmp_path / "a\\b"
    run.mkdir()
    (run / "events.out.tfevents.1").write_bytes(b"")
    (tmp_path / "\\lead").mkdir()
    (tmp_path / "\\lead" / "events.out.tfevents.1").write_bytes(b"")
    names = sorted(r.name for r in Discovery([parse_spec(str(tmp_path))]).scan())
    assert names == ["\\lead", "a\\b"]
