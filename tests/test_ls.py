"""``tbpeek ls``: the listing, --json, damaged files, and exit codes."""

from __future__ import annotations

import json

import pytest
from eventfiles import Writer

from tui.cli import main


def _runs(tmp_path):
    with Writer(tmp_path / "good") as w:
        for s in range(20):
            w.scalar("loss", 1.0 / (s + 1), s, 1e9 + s)
            w.scalar("acc", s / 20, s, 1e9 + s)
        w.text("hparams", "lr: 0.1")
    with Writer(tmp_path / "bad") as w:
        w.scalars("loss", [(s, float(s), 1e9 + s) for s in range(5)])
    (f,) = (tmp_path / "bad").iterdir()
    data = bytearray(f.read_bytes())
    data += b"\x01" * 16  # a corrupt length: the file is damaged from there
    f.write_bytes(bytes(data))


def test_ls_json(tmp_path, capsys):
    _runs(tmp_path)
    assert main(["ls", "--json", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    runs = {r["run"]: r for r in out["runs"]}
    assert set(runs) == {"good", "bad"}
    good = runs["good"]
    assert [(t["tag"], t["points"], t["last_step"]) for t in good["tags"]] == [("acc", 20, 19), ("loss", 20, 19)]
    assert good["tags"][1]["last_value"] == pytest.approx(1.0 / 20, rel=1e-6) and good["problems"] == []
    assert good["texts"] == {"hparams": "lr: 0.1"} and good["last_write_age_s"] >= 0
    bad = runs["bad"]
    assert bad["points"] == 5  # what could be read was read
    (f,) = bad["files"]
    assert f["damaged"] and "corrupt record length" in f["damaged"]
    (problem,) = bad["problems"]
    assert problem["path"] == f["path"] and "corrupt record length" in problem["message"]


def test_ls_text(tmp_path, capsys):
    _runs(tmp_path)
    assert main(["ls", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "loss" in out and "0.05" in out
    assert "! " in out and "corrupt record length" in out


def test_ls_missing_logdir_exits_2(tmp_path, capsys):
    assert main(["ls", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ls_rahtz(rahtz, capsys):
    assert main(["ls", "--json", str(rahtz)]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert len(runs) == 8
    a2c = next(r for r in runs if r["run"] == "pong-original_rewards_7417fd8/a2c")
    assert {t["tag"] for t in a2c["tags"]} >= {"policy_entropy", "fps"}


def test_ls_shows_hostile_names_literally(tmp_path, capsys):
    """Escape sequences in run and tag names never reach the terminal; numbers stay numbers."""
    name = "evil\x1b]0;pwned\x07\x9b2J\r"
    with Writer(tmp_path / name) as w:
        for s in range(3):
            w.scalar("tag\x1b[2J", -3.2, s, 1e9 + s)
    assert main(["ls", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in out)
    assert "evil\\x1b]0;pwned\\x07\\x9b2J\\x0d" in out and "tag\\x1b[2J" in out and "-3.2" in out
