"""The look log: round trip, merging by id, damaged lines, concurrent appends."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui.looks.log import LogFollower, Look, LookLogWarning, append_look, default_path, read_looks

REPO = Path(__file__).resolve().parents[1]


def test_round_trip_and_default_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TBPEEK_STATE_DIR", str(tmp_path / "state"))
    look = Look(start=100.0, end=280.0, trigger="override", reason="checking the new lr",
                logdirs=["/runs"], runs=["a", "b"], found_new=False)
    append_look(look)  # creates the directory
    assert default_path() == tmp_path / "state" / "looks.jsonl"
    (got,) = read_looks()
    assert got == look
    assert got.duration == 180.0


def test_start_and_end_entries_merge_by_id(tmp_path):
    p = tmp_path / "looks.jsonl"
    look = Look(start=10.0, trigger="alarm", run="ppo", reason="entropy collapsed")
    append_look(look, p)
    look.end, look.found_new = 70.0, True
    append_look(look, p)
    append_look(Look(start=5.0), p)
    looks = read_looks(p)
    assert [k.start for k in looks] == [5.0, 10.0]  # ordered by start
    assert looks[1].end == 70.0 and looks[1].found_new is True
    assert len(p.read_text().splitlines()) == 3  # append-only: nothing rewritten


def test_since_keeps_recent_and_open_looks(tmp_path):
    p = tmp_path / "looks.jsonl"
    for start, end in [(0.0, 10.0), (95.0, 105.0), (200.0, None)]:
        append_look(Look(start=start, end=end), p)
    assert [k.start for k in read_looks(p, since=100.0)] == [95.0, 200.0]


def test_damaged_lines_are_skipped_with_a_warning(tmp_path):
    p = tmp_path / "looks.jsonl"
    append_look(Look(start=1.0), p)
    with open(p, "ab") as f:
        f.write(b'{"start": "yesterday"}\n')  # wrong type
        f.write(b"\xff\xfe not json\n")  # garbage bytes
        f.write(b'{"start": 3.0, "trigger": "peeking"}\n')  # unknown trigger
        f.write(b'{"start": 2.0, "end"')  # torn last line (a crash)
    append_look(Look(start=4.0), p)
    with pytest.warns(LookLogWarning) as caught:
        looks = read_looks(p)
    assert [str(w.message).split(",")[1].split(":")[0].strip() for w in caught] == \
        ["line 2", "line 3", "line 4", "line 5"]
    assert [k.start for k in looks] == [1.0, 4.0]


def test_missing_log_has_no_looks(tmp_path):
    assert read_looks(tmp_path / "nope.jsonl") == []


def test_follower_reads_only_new_complete_lines(tmp_path):
    p = tmp_path / "looks.jsonl"
    f = LogFollower(p)
    assert f.poll() == []
    append_look(Look(start=1.0), p)
    assert [k.start for k in f.poll()] == [1.0]
    with open(p, "ab") as fh:
        fh.write(b'{"start": 2.0, "id": "x"')  # half a line: not yet
    assert [k.start for k in f.poll()] == [1.0]
    with open(p, "ab") as fh:
        fh.write(b"}\n")
    assert [k.start for k in f.poll()] == [1.0, 2.0]


WRITER = textwrap.dedent("""
    import sys
    from tui.looks.log import Look, append_look
    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()  # start together
    for i in range(n):
        # long entries: a torn or interleaved write would break the JSON
        append_look(Look(start=float(i), trigger="override", reason=who * 3000,
                         runs=[f"{who}-{i}"], id=f"{who}-{i}"), path)
""")


def test_two_processes_appending_at_once_lose_and_tear_nothing(tmp_path):
    p = tmp_path / "looks.jsonl"
    n = 300
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(p), who, str(n)], cwd=REPO,
                              stdin=subprocess.PIPE, text=True) for who in ("a", "b")]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.stdin.close()
        assert proc.wait(timeout=120) == 0
    lines = p.read_bytes().split(b"\n")
    assert lines[-1] == b""
    decoded = [json.loads(line) for line in lines[:-1]]  # every line is whole JSON
    assert len(decoded) == 2 * n
    for d in decoded:
        assert d["reason"] == d["id"][0] * 3000  # no bytes of the other writer inside
    assert {d["id"] for d in decoded} == {f"{w}-{i}" for w in "ab" for i in range(n)}
    assert len(read_looks(p)) == 2 * n


def test_follower_can_start_near_the_end_of_a_long_log(tmp_path):
    p = tmp_path / "looks.jsonl"
    for i in range(200):
        append_look(Look(start=float(i), id=f"look-{i}"), p)
    f = LogFollower(p, tail_bytes=2000)
    looks = f.poll()
    assert looks and looks[-1].start == 199.0 and len(looks) < 200
    assert [k.start for k in looks] == [float(i) for i in range(200 - len(looks), 200)]  # no torn first line
    append_look(Look(start=200.0), p)
    assert f.poll()[-1].start == 200.0
