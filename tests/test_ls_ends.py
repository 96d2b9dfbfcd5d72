"""``ls`` lists runs from `Store.ends` (each tag's point count and last point, no views, no
snapshot): its JSON, compact or as a dict, and its table are the same, byte for byte, as the
listing made from the run's `RunSnapshot` the way it was made before (the reference below),
on runs with NaN and infinite values, tags without points, texts, restarts, problems and
hostile names."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import pytest
from eventfiles import Writer

from tui.cli import main
from tui.ingest.reader import FileState
from tui.report.ls import _print, render_text, run_json, run_json_text
from tui.store import Problem, ProblemKind, RunEnds, RunSnapshot, Store, last_write_time
from tui.store.buffer import TagBuffer
from tui.vocab import fmt_num, natural_key

HOSTILE = ["loss", 'q"uote\\back', "ünï/cødé", "ctl\x1b[31m\x00", "", "100% %s %(x)d", "tab\there", "\u2028"]
NUMBERS = [0.5, -0.0, 0.0, 1e-300, -3.5e300, 123456789.0, 7.0, 1 / 3, -2.25e-12, math.nan, math.inf, -math.inf]


def reference_run_json(snap: RunSnapshot, files: list[FileState], now: float) -> dict[str, Any]:
    """A run's object as ``ls --json`` made it from a snapshot's series (before `Store.ends`)."""
    tags = []
    for tag in sorted(snap.series, key=natural_key):
        s = snap.series[tag]
        n = s.steps.shape[0]
        if n:
            v, w = float(s.values[n - 1]), float(s.wall_times[n - 1])
            tags.append({"tag": tag, "points": n, "last_step": int(s.steps[n - 1]),
                         "last_value": v if math.isfinite(v) else None, "last_value_text": fmt_num(v),
                         "last_wall_time": w if math.isfinite(w) else None})
        else:
            tags.append({"tag": tag, "points": 0, "last_step": None, "last_value": None,
                         "last_value_text": None, "last_wall_time": None})
    act = snap.last_activity
    return {
        "run": snap.name, "path": snap.path, "points": snap.points, "last_step": snap.last_step,
        "last_write": act, "last_write_age_s": None if act is None else round(now - act, 3),
        "file_version": snap.file_version, "tags": tags,
        "texts": {k: t.text for k, t in snap.texts.items()},
        "restarts": [{"tag": r.tag, "step": r.step, "wall_time": r.wall_time, "dropped": r.dropped}
                     for r in sorted(snap.restarts, key=lambda r: (r.wall_time, r.tag, r.step))],
        "problems": [dict(p.to_json()) for p in snap.problem_items],
        "files": [{"path": f.path, "size": f.size, "offset": f.offset, "records": f.records,
                   "skipped_records": f.skipped_records, "damaged": f.damaged,
                   "pending_bytes": f.pending, "missing": f.missing} for f in files],
    }


def _varied() -> Store:
    st = Store()
    for k, name in enumerate(HOSTILE):
        run = f"run{k}/{name}"
        st.ensure_run(run, f"/logs/{name}\"")
        for j, tag in enumerate(HOSTILE[: k + 2]):
            v = NUMBERS[(k + j) % len(NUMBERS)]
            wall = 1.7e9 + (0.125 * j if k % 2 else 0.0)  # odd runs: every tag its own wall time
            st.append(run, tag, [0, 2 ** 40 + j], [1.7e9, wall], [1.0, v])
    st.ensure_run("empty", "/e")  # a run that has no points yet
    st.ensure_run("restarts", "/r")
    st.append("restarts", "b", [0, 1, 2], [1.7e9] * 3, [1.0] * 3)
    st.append("restarts", "b", [1], [1.7e9 + 5], [2.0])
    st.append("restarts", "a", [5, 6], [1.7e9 + 1] * 2, [1.0, math.nan])
    st.append("restarts", "a", [2], [1.7e9 + 2], [3.0])
    st.set_text("restarts", "hparams", 0, 1.7e9, "lr: 0.1 \"ü\" \x1b[2J")
    st.set_file_version("restarts", "brain.Event:2")
    st.set_last_write("restarts", 1.7e9 + 3)
    st.set_problems("restarts", "/r/f", [Problem(ProblemKind.BAD_CHECKSUM, "/r/f", "1 record \x1b skipped",
                                                 offset=12, count=1)])
    st.ensure_run("no points", "/n")
    st.append("no points", "x", [3], [1.7e9], [1.0])
    st._runs["no points"].tags["dropped"] = TagBuffer(st.max_points)  # a tag whose points are all gone
    st.ensure_run("zero walls", "/z")  # -0.0 and 0.0 compare equal: each keeps its own text
    for tag, w in [("a", 0.0), ("b", -0.0), ("c", -0.0), ("d", 0.0), ("e", 5e-324), ("f", 5e-324)]:
        st.append("zero walls", tag, [1], [w], [w])
    st.ensure_run("nan wall", "/w")  # a NaN wall time among finite ones: the run's last write as before
    st.append("nan wall", "b", [1], [math.nan], [1.0])
    st.append("nan wall", "a", [1], [1.7e9], [1.0])
    return st


FILES = [FileState("r", "/logs/r/f", 120, 130, 7, 1, "damaged: ü", 10, None),
         FileState("r", "/logs/r/g\u2028\"", 0, 0, 0, 0, None, 0, "event file was deleted")]


def test_ends_list_what_the_snapshots_listed():
    st = _varied()
    names = sorted(st.runs(), key=natural_key)
    ends = list(st.ends(names))
    assert [e.name for e in ends] == names
    for e in ends:
        snap = st.snapshot(e.name)
        assert repr(RunEnds.of(snap)) == repr(e)  # (repr: NaN != NaN)
        for files in ([], FILES):
            want = reference_run_json(snap, files, 1.8e9)
            try:
                text = json.dumps(want, allow_nan=False)
            except ValueError:  # a NaN wall time reaches the run's last write: no JSON for it
                with pytest.raises(ValueError):
                    run_json_text(e, files, 1.8e9)
                continue
            assert run_json_text(e, files, 1.8e9) == text
            assert run_json_text(snap, files, 1.8e9) == text
            assert json.dumps(run_json(e, files, 1.8e9), indent=2, allow_nan=False) == json.dumps(want, indent=2)
            assert render_text([run_json(e, files, 1.8e9)], show_files=True) == render_text([want], show_files=True)


def test_a_runs_last_step_wall_time_and_activity_follow_the_snapshots_rules():
    st = _varied()
    for e in st.ends(st.runs()):
        snap = st.snapshot(e.name)
        assert (e.last_step, e.points) == (snap.last_step, snap.points)
        assert repr((e.last_wall_time, e.last_activity)) == repr((snap.last_wall_time, snap.last_activity))
    (e,) = st.ends(["nan wall"])
    assert math.isnan(e.last_wall_time) and e.last_activity is not None  # max() keeps the first when NaN leads
    (e,) = st.ends(["empty"])
    assert (e.last_step, e.last_wall_time, e.last_activity, e.points, e.ends) == (None, None, None, 0, {})


def test_ends_are_frozen_at_the_time_they_were_taken():
    st = Store()
    st.ensure_run("r", "/r")
    st.append("r", "t", [1, 2], [1.0, 2.0], [0.5, 0.25])
    (before,) = st.ends(["r"])
    st.append("r", "t", [3], [3.0], [0.125])
    st.set_text("r", "x", 0, 0.0, "later")
    (after,) = st.ends(["r"])
    assert before.ends == {"t": (2, 2, 0.25, 2.0)} and before.texts == {}
    assert after.ends == {"t": (3, 3, 0.125, 3.0)} and after.points == 3 and after.version > before.version
    with pytest.raises(KeyError):
        list(st.ends(["nope"]))


def _logdir(root) -> None:
    with Writer(root / "a run \x1b[31m") as w:
        for s in range(30):
            w.scalar("loss", 1.0 / (s + 1), s, 1e9 + s)
            w.scalar("q\"uote/100%", float("nan") if s == 29 else s * 1e-7, s, 1e9 + s)
        for s in range(5):  # the writer restarted from step 5
            w.scalar("loss", -float(s), 5 + s, 1e9 + 40 + s)
        w.text("hparams", "lr: 0.1 \x1b[2J")
    with Writer(root / "b") as w:
        w.scalars("x", [(s, float("inf") if s == 4 else 2.5, 1e9 + s) for s in range(5)])
    (f,) = (root / "b").iterdir()
    f.write_bytes(f.read_bytes() + b"\x01" * 16)  # damaged from there


def test_the_printed_listings_agree(tmp_path, monkeypatch, capsys):
    """``ls --json`` for a program (compact), for a person (indented: a terminal) and the
    table: the same runs, the indented one exactly ``json.dumps(..., indent=2)`` of the compact."""
    _logdir(tmp_path)
    assert main(["ls", "--json", str(tmp_path)]) == 0
    compact = capsys.readouterr().out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["ls", "--json", str(tmp_path)]) == 0
    pretty = capsys.readouterr().out
    monkeypatch.undo()
    back = json.loads(compact)
    for r in back["runs"]:
        r["last_write_age_s"] = None  # (the two listings ran at different times)
    again = json.loads(pretty)
    for r in again["runs"]:
        r["last_write_age_s"] = None
    assert back == again and pretty.rstrip("\n") == json.dumps(json.loads(pretty), indent=2)
    runs = {r["run"]: r for r in back["runs"]}
    a = runs["a run \x1b[31m"]
    assert [(t["tag"], t["points"], t["last_value_text"]) for t in a["tags"]] == [
        ("loss", 10, "-4"), ("q\"uote/100%", 30, "nan")]
    assert a["restarts"] and a["texts"] == {"hparams": "lr: 0.1 \x1b[2J"} and a["last_step"] == 29
    assert runs["b"]["tags"][0]["last_value"] is None and runs["b"]["problems"]
    assert main(["ls", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "\x1b" not in table and "-4" in table and "nan" in table and "restart" in table


def test_last_write_time_is_the_older_of_what_is_known():
    """The rule as it was written (a list of what is known, its min), for every pair, NaN too."""
    def plain(mtime, wall):
        known = [t for t in (mtime, wall) if t is not None]
        return min(known) if known else None

    some = [None, 0.0, -0.0, 1.7e9, 1.7e9 + 1, math.nan, math.inf, -math.inf]
    for a in some:
        for b in some:
            assert repr(last_write_time(a, b)) == repr(plain(a, b)), (a, b)


@pytest.mark.parametrize("parts", [[], ["{\"run\": \"a\"}"], ["{\"run\": \"a\"}", "{\"run\": \"b\"}, {\"run\": \"c\"}"]])
def test_the_listing_is_written_a_part_at_a_time_as_one_string_would_be(parts, capsys):
    assert _print(argparse.Namespace(json=True, logdirs=["x"]), parts, []) == 0
    assert capsys.readouterr().out == '{"runs": [' + ", ".join(parts) + '], "problems": []}\n'
    assert _print(argparse.Namespace(json=False, logdirs=["x"]), parts, []) == 0
    out = capsys.readouterr()
    assert out.out == ("\n\n".join(parts) + "\n" if parts else "") and ("no runs under x" in out.err) == (not parts)
