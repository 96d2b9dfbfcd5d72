"""Issue 12.3 (CLI side): every problem reading the data is reported by ``ls`` and ``check``, in
JSON and in text, and ``check`` exits 3 when data is damaged or unreadable (1 still wins when a
verdict reaches ``--fail-on``)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from eventfiles import Writer, scalar_event
from tensorboard.compat.proto import event_pb2

from tui.cli import main
from tui.ingest import tree as tree_mod
from tui.ingest.tfrecord import encode_record
from tui.vocab import EXIT_DAMAGED, EXIT_OK, EXIT_PROBLEM

REPO = Path(__file__).resolve().parents[1]
FILE = "events.out.tfevents.1700000000.host"


def healthy(d: Path) -> None:
    now = time.time()
    with Writer(d) as w:
        for i in range(120):
            wall = now - (120 - i) * 10
            w.scalar("losses/entropy", math.log(6) * (0.6 + 0.4 * math.exp(-i / 80)) + 0.02 * math.sin(i),
                     i * 2048, wall)
            w.scalar("charts/episodic_return", i / 10 + math.sin(i), i * 2048, wall)


def damaged(d: Path, n: int = 50) -> None:
    """An event file with one record whose payload fails its checksum (the others are read)."""
    t0 = time.time() - n  # written until now: a live run, no stall
    head = event_pb2.Event(wall_time=t0, file_version="brain.Event:2").SerializeToString()
    recs = [encode_record(head)]
    for s in range(n):
        ev = scalar_event("loss", s, 1.0 / (s + 1), t0 + s)
        recs.append(encode_record(ev.SerializeToString()))
    bad = bytearray(recs[20])
    bad[20] ^= 0x55
    recs[20] = bytes(bad)
    d.mkdir(parents=True, exist_ok=True)
    (d / FILE).write_bytes(b"".join(recs))


def test_check_reports_a_damaged_run_and_exits_3(tmp_path, capsys):
    healthy(tmp_path / "ok")
    damaged(tmp_path / "bad")
    assert main(["check", str(tmp_path)]) == EXIT_DAMAGED == 3
    out = capsys.readouterr().out
    bad_block = out[out.index("bad"):]
    assert "! " in bad_block and "checksum" in bad_block
    assert out.strip().splitlines()[-1].endswith("1 run with damaged or unreadable data")
    assert main(["check", str(tmp_path), "--json"]) == EXIT_DAMAGED
    runs = {r["run"]: r for r in json.loads(capsys.readouterr().out)["runs"]}
    assert runs["ok"]["problems"] == []
    (p,) = runs["bad"]["problems"]
    assert p["path"].endswith(FILE) and "checksum" in p["message"]
    assert p["kind"] == "bad-checksum" and p["damage"] is True and p["run"] == "bad" and p["count"] == 1
    assert main(["check", str(tmp_path / "ok")]) == EXIT_OK  # nothing damaged: 0


def test_a_verdict_at_fail_on_still_exits_1_with_damage(tmp_path, capsys):
    from test_cli_robust import write_run

    damaged(tmp_path / "bad")
    write_run(tmp_path / "collapsed", "collapse")  # an alarm
    assert main(["check", str(tmp_path)]) == EXIT_PROBLEM
    assert "checksum" in capsys.readouterr().out  # the damage is still reported


def test_an_unreadable_directory_is_reported_by_check_and_ls(tmp_path, monkeypatch, capsys):
    healthy(tmp_path / "ok")
    locked = tmp_path / "locked"
    healthy(locked / "hidden")
    real = os.scandir

    def scandir(path):  # as if another user's mode-000 directory (root reads those anyway)
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(tree_mod.os, "scandir", scandir)
    assert main(["check", str(tmp_path), "--json"]) == EXIT_DAMAGED
    data = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in data["runs"]] == ["ok"]
    (p,) = data["problems"]
    assert p["kind"] == "unreadable-dir" and p["path"] == str(locked) and "Permission denied" in p["message"]
    assert main(["check", str(tmp_path)]) == EXIT_DAMAGED
    out = capsys.readouterr().out
    assert f"! directory {locked} cannot be read (Permission denied)" in out
    assert "1 directory not readable" in out
    assert main(["ls", str(tmp_path), "--json"]) == 0  # ls lists; it doesn't judge
    assert json.loads(capsys.readouterr().out)["problems"][0]["path"] == str(locked)


def test_every_event_file_garbage_is_exit_3_in_a_process(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / FILE).write_bytes(os.urandom(4096))
    healthy(tmp_path / "ok")
    r = subprocess.run([sys.executable, "-m", "tui", "check", str(tmp_path)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "damaged or unreadable" in r.stdout
