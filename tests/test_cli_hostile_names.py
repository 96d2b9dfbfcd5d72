"""Hostile names through every CLI output (issue 12.2 / 12.10, the CLI's half).

Run directories, tags and text summaries are drawn from an alphabet of control characters (C0,
C1, ESC sequences, an OSC title, an OSC 52 clipboard write, CR, the 8-bit CSI), markup Rich or
Textual would parse, tmux's ``#(...)``, RTL and zero-width characters, and formula starters.
They go through ``ls``, ``ls --json``, ``check``, ``check --json``, ``status``, ``review`` (text,
Markdown, HTML) and ``export`` (CSV). Nothing may crash, no raw control character may reach the
output, and every name must stay identifiable: shown in its escaped form, and exact in JSON and
in the CSV file.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventfiles import Writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.cli import main
from tui.report.export import read_csv, write_csv
from tui.report.render_md import md
from tui.vocab import safe_terminal, safe_tmux

REPO = Path(__file__).resolve().parents[1]
# Every C0 control but the line feed our own output ends lines with, DEL, and every C1 control.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
FORMULA = ("=", "+", "-", "@", "\t", "\r")

PIECES = [
    "\x1b[2J", "\x1b]0;pwned\x07", "\x1b]52;c;cHduZWQ=\x07", "\x1b[31m", "\x1bc", "\r", "\x9b31m", "\x9d0;t\x9c",
    "\x07", "\x08", "\x7f", "\x85", "\t", "\n", "\x00",
    "[/]", '[link="x]', "[bold red]", "[/bold red]", "[@click=quit]",
    "#(touch pwned)", "#[fg=red]", "##",
    "\u202e", "\u200f", "\u200b", "\u2066", "\ufeff", "\u0301",
    "=cmd|' /C calc'!A0", "+1", "-2", "@x", "<script>alert(1)</script>", "&amp;", "|", "*_`~", "\\", "'", '"',
    "{line}", "%s", "ü", "漢字", "🙂", "->",
]
CHARS = [chr(c) for c in range(1, 0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)] + list("ab-_.[]#()=+@<>&|*`~{}%$ ")


def _piece_text(min_size: int = 1, max_size: int = 5) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(PIECES), st.sampled_from(CHARS)),
                    min_size=min_size, max_size=max_size).map("".join)


def _dir_name_ok(name: str) -> bool:
    # No backslash: discovery names runs with "\\" read as a separator (Windows paths), so a
    # POSIX directory "a\\b" is the run "a/b" (an ingest rule, reported; tags keep theirs).
    return ("/" not in name and "\\" not in name and "\x00" not in name and name not in (".", "..") and "tfevents" not in name
            and 0 < len(name.encode()) <= 200)


DIR_NAMES = _piece_text().filter(_dir_name_ok)
TAGS = _piece_text(1, 4).filter(lambda t: 0 < len(t.encode()) <= 200)


def _write(run_dir: Path, collapse: bool, extra_tags: list[str], text: str) -> None:
    now = time.time()
    with Writer(run_dir) as w:
        for i in range(120):
            wall = now - (120 - i) * 10
            if collapse:  # entropy collapsed early, the reward never improved: an alarm
                h, r = math.log(6) * max(0.001, math.exp(-i / 10)), -21 + math.sin(i)
            else:
                h, r = math.log(6) * (0.6 + 0.4 * math.exp(-i / 80)) + 0.02 * math.sin(i), i / 10 + math.sin(i)
            w.scalar("losses/entropy", h, i * 2048, wall)
            w.scalar("charts/episodic_return", r, i * 2048, wall)
            if i % 20 == 0:
                for k, tag in enumerate(extra_tags):
                    w.scalar(tag, -1.5 * (k + 1), i * 2048, wall)  # negative values: numbers, not formulas
        w.text("hostile/text", text)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _no_raw_control(*texts: str) -> None:
    for text in texts:
        m = RAW_CONTROL.search(text)
        assert m is None, f"raw control {m.group()!r} in output near {text[max(0, m.start() - 40):m.end() + 40]!r}"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(DIR_NAMES, min_size=2, max_size=2, unique=True),
       tags=st.lists(TAGS, min_size=1, max_size=2, unique=True),
       text=_piece_text(1, 6))
def test_hostile_names_through_every_cli_output(names, tags, text):
    bad, good = names
    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(tmp) / "logs"
        _write(logdir / bad, True, tags, text)
        _write(logdir / good, False, tags, text)
        ld = str(logdir)

        code, out, err = _run("ls", ld)
        assert code == 0
        _no_raw_control(out, err)
        for name in names:
            assert f"{safe_terminal(name)}  ({safe_terminal(str(logdir / name))})" in out
        for tag in tags:
            assert safe_terminal(tag) in out

        code, out, err = _run("ls", ld, "--json")
        assert code == 0
        _no_raw_control(out, err)
        runs = json.loads(out)["runs"]
        assert {r["run"] for r in runs} == set(names)  # exact: JSON round-trips
        for r in runs:
            assert set(tags) <= {t["tag"] for t in r["tags"]}
            assert r["texts"]["hostile/text"] == text

        code, out, err = _run("check", ld)
        assert code == 1  # the collapsed run is an alarm
        _no_raw_control(out, err)
        assert f"ALARM  {safe_terminal(bad)}" in out
        assert safe_terminal(good) in out

        code, out, err = _run("check", ld, "--json")
        assert code == 1
        _no_raw_control(out, err)
        assert {r["run"] for r in json.loads(out)["runs"]} == set(names)

        code, out, err = _run("status", ld, "--wait")
        assert code == 1
        _no_raw_control(out, err)
        line = out.strip()
        assert line == f"▲ {safe_tmux(bad)}: entropy collapsed"
        assert "#" not in line.replace("##", "")  # every # doubled: tmux expands nothing

        for fmt in ("text", "md", "html"):
            code, out, err = _run("review", ld, "--format", fmt, "--no-looks")
            assert code == 0
            _no_raw_control(out, err)
            for name in names:
                shown = {"text": safe_terminal(name), "md": md(name),
                         "html": html.escape(safe_terminal(name), quote=True)}[fmt]
                assert shown in (out.replace("<wbr>", "") if fmt == "html" else out)
            if fmt != "text":  # no HTML from a name is live, in the page or in Markdown
                assert "<script>alert" not in out

        code, out, err = _run("export", ld)
        assert code == 0
        _no_raw_control(err)
        rows = read_csv(out)  # a pipe or a file gets the names exactly, formula starters defused
        assert {r[0] for r in rows} == set(names) and set(tags) <= {r[1] for r in rows}
        assert all(r[4] < 0 for r in rows if r[1] in tags)
        for cells in list(csv.reader(io.StringIO(out)))[1:]:  # the text cells, as a spreadsheet reads them
            assert not cells[0].startswith(FORMULA) and not cells[1].startswith(FORMULA)

        from tui.ingest import load

        term = io.StringIO()
        write_csv(load([ld]), term, terminal=True)  # to a terminal: no control character either
        _no_raw_control(term.getvalue())


def test_hostile_names_in_a_real_process(tmp_path):
    """The process's own bytes, a few names: stdout and stderr carry no raw control character."""
    names = ["a\x1b]0;pwned\x07b", "c\x1b[2J\rd\x9b31m", "#(touch pwned)[/]"]
    logdir = tmp_path / "logs"
    for i, name in enumerate(names):
        _write(logdir / name, i == 0, ["\x1b]52;c;cHduZWQ=\x07tag"], "t\x1b[2Jx")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for argv in (["ls", str(logdir)], ["check", str(logdir)], ["status", "--wait", str(logdir)],
                 ["review", str(logdir), "--no-looks"], ["chek\x1b[2J"]):
        r = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, env=env, timeout=120)
        out, err = r.stdout.decode(), r.stderr.decode()
        assert r.returncode in (0, 1, 2) and "Traceback" not in err
        _no_raw_control(out, err)
        if argv[0] != "chek\x1b[2J":
            assert safe_terminal(names[0]).replace("#", "") in out.replace("#", "")
