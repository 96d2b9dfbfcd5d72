"""Issue 14 (CLI): conventions people bring. A near-miss command, ``--logdir``, bare ``tbpeek``,
colour on a terminal only, natural tag order and plurals, ``demo`` checking its flags first.

What belongs to the process (exit codes, a terminal or a pipe, NO_COLOR) is run as a process.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eventfiles import Writer

from tui.cli import has_runs, main, suggest

REPO = Path(__file__).resolve().parents[1]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def tbpeek(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True,
                          cwd=cwd, env=full, timeout=timeout, stdin=subprocess.DEVNULL)


def on_a_terminal(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str]:
    """Run tbpeek with its stdout on a pseudo-terminal; (exit code, what it printed there)."""
    main_fd, child_fd = pty.openpty()
    full = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", **(env or {})}
    if "NO_COLOR" not in (env or {}):
        full.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "tui", *argv], stdout=child_fd, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=full)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main_fd)
    code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """One healthy run and one whose entropy collapsed (an alarm), with numbered tags."""
    root = tmp_path_factory.mktemp("runs")
    now = time.time()
    for name, collapse in (("ppo_seed2", False), ("ppo_seed10", True)):
        with Writer(root / name) as w:
            for i in range(120):
                wall = now - (120 - i) * 10
                if collapse:  # entropy collapsed early, reward never improved: an alarm
                    w.scalar("losses/entropy", 1.79 * max(0.001, 2.718 ** (-i / 10)), i * 2048, wall)
                    w.scalar("charts/episodic_return", -21 + (i % 3), i * 2048, wall)
                    continue
                w.scalar("losses/entropy", 1.79 * (0.6 + 0.4 * 2.718 ** (-i / 80)), i * 2048, wall)
                for k in (10, 2, 1):
                    w.scalar(f"orig_reward_{k}", float(i), i * 2048, wall)
    return root


# ---- a near-miss command ------------------------------------------------------------------------
def test_a_typo_of_a_command_gets_a_suggestion_and_exit_2(tmp_path):
    r = tbpeek("chek", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2
    assert "did you mean `check`?" in r.stderr and "does not exist" not in r.stderr
    assert [suggest(w) for w in ("stauts", "reveiw", "exprot", "dmeo", "lss", "zzzzzz", "./chek", "a/chek")] == \
        ["status", "review", "export", "demo", "ls", None, None, None]


def test_an_existing_path_named_like_a_command_is_still_a_logdir(tmp_path, capsys, monkeypatch):
    (tmp_path / "chek").mkdir()
    monkeypatch.chdir(tmp_path)
    # `tbpeek chek` is `tbpeek watch chek` when ./chek exists: a logdir without runs
    from tui.app import cli as app_cli

    seen = []
    monkeypatch.setattr(app_cli, "run_watch", lambda logdirs, args: seen.append(logdirs) or 0)
    assert main(["chek"]) == 0 and seen == [["chek"]]


# ---- --logdir -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["ls", "check", "status", "review", "export"])
def test_logdir_flag_is_an_alias_of_the_positional_logdirs(command, logdir, capsys):
    extra = ["--wait"] if command == "status" else []
    a = main([command, *extra, str(logdir)])
    out_a = capsys.readouterr().out
    b = main([command, *extra, "--logdir", str(logdir)])
    out_b = capsys.readouterr().out
    assert a == b and a in (0, 1)
    def strip(text: str) -> str:  # the clock moves between the two calls
        return re.sub(r"until \S+ \S+|written \S+( \S+)? ago", "", text)

    assert strip(out_a) == strip(out_b) and out_a


def test_logdir_flag_for_watch_and_missing_logdirs(logdir, monkeypatch, capsys):
    from tui.app import cli as app_cli

    seen = []
    monkeypatch.setattr(app_cli, "run_watch", lambda logdirs, args: seen.append(logdirs) or 0)
    assert main(["--logdir", str(logdir)]) == 0  # the TensorBoard habit, without a command
    assert main(["watch", "a", "--logdir", "b"]) == 0
    assert seen == [[str(logdir)], ["a", "b"]]
    assert main(["check"]) == 2
    assert "give at least one LOGDIR (or --logdir DIR)" in capsys.readouterr().err


# ---- bare tbpeek --------------------------------------------------------------------------------
def test_bare_tbpeek_prints_the_commands_and_a_hint(tmp_path, logdir):
    r = tbpeek(cwd=tmp_path)
    assert r.returncode == 2
    for name in ("watch", "demo", "ls", "check", "status", "looks", "review", "export"):
        assert re.search(rf"^  {name}\s+\S", r.stdout, re.M)
    assert r.stdout.strip().splitlines()[-1].startswith("No runs here") and "tbpeek demo" in r.stdout
    r = tbpeek(cwd=logdir)
    assert r.returncode == 2 and "`tbpeek .` watches them" in r.stdout
    assert has_runs(str(logdir)) and not has_runs(str(tmp_path))


# ---- colour -------------------------------------------------------------------------------------
def test_colour_on_a_terminal_with_severity_in_words(logdir):
    code, out = on_a_terminal("check", str(logdir))
    assert code == 1
    assert SGR.search(out), "a terminal gets colour"
    plain = SGR.sub("", out)
    assert "ALARM" in plain and "alarm" in plain  # the word is there, not only the colour
    assert "\x1b[1;31mALARM" in out  # alarm in bold red
    code, out = on_a_terminal("status", "--wait", str(logdir))
    assert code == 1 and "\x1b[" in out and "entropy collapsed" in SGR.sub("", out)
    code, out = on_a_terminal("ls", str(logdir))
    assert code == 0 and SGR.search(out)


def test_no_colour_when_piped_or_with_no_color(logdir):
    r = tbpeek("check", str(logdir))
    assert r.returncode == 1 and "ALARM" in r.stdout and "\x1b" not in r.stdout
    code, out = on_a_terminal("check", str(logdir), env={"NO_COLOR": "1"})
    assert code == 1 and "ALARM" in out and "\x1b" not in out


def test_piped_check_does_not_import_rich(logdir):
    code = ("import sys, io, contextlib\nfrom tui.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()): main(['check', {str(logdir)!r}])\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('rich', 'textual')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert out.strip().splitlines()[-1] == "[]"


# ---- ls: natural order and plurals ----------------------------------------------------------------
def test_ls_sorts_naturally_and_counts_in_words(logdir, tmp_path, capsys):
    assert main(["ls", str(logdir)]) == 0
    out = capsys.readouterr().out
    assert out.index("ppo_seed2") < out.index("ppo_seed10")
    section = out[out.index("ppo_seed2"):]
    assert section.index("orig_reward_1 ") < section.index("orig_reward_2") < section.index("orig_reward_10")
    assert main(["ls", str(logdir), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run"] for r in runs] == ["ppo_seed2", "ppo_seed10"]
    assert [t["tag"] for t in runs[0]["tags"]] == ["losses/entropy", "orig_reward_1", "orig_reward_2",
                                                    "orig_reward_10"]
    with Writer(tmp_path / "one") as w:
        w.scalar("loss", 1.0, 0, time.time())
    assert main(["ls", str(tmp_path / "one")]) == 0
    out = capsys.readouterr().out
    assert "1 tag, 1 point," in out and "1 tags" not in out


# ---- demo: flags first ------------------------------------------------------------------------------
def test_demo_rejects_a_bad_flag_before_starting_the_trainers(tmp_path):
    d = tmp_path / "demo"
    r = tbpeek("demo", "--every", "2x", "--dir", str(d), timeout=60)
    assert r.returncode == 2
    assert "--every" in r.stderr and "2x" in r.stderr
    assert "trainers are writing" not in r.stderr and not d.exists()


def test_output_into_a_closed_pipe_is_quiet(logdir):
    """`tbpeek --help | head -1`: no traceback when the reader has gone away."""
    for argv in (["--help"], ["check", "--help"], ["ls", str(logdir)]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before anything is written
        r = subprocess.run([sys.executable, "-m", "tui", *argv], stdout=write_end, stderr=subprocess.PIPE,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
        os.close(write_end)
        err = r.stderr.decode()
        assert r.returncode == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_colour_only_adds_escape_codes(logdir, capsys, monkeypatch):
    """Painted output, with its escape codes taken out, is the plain output letter for letter:
    colour never moves a column or drops a word."""
    from tui.report import colour

    plain = {}
    for argv in (["check", str(logdir)], ["ls", str(logdir)], ["review", str(logdir), "--no-looks"]):
        main(argv)
        plain[argv[0]] = capsys.readouterr().out
    monkeypatch.setattr(colour, "wants_colour", lambda stream: True)
    for argv in (["check", str(logdir)], ["ls", str(logdir)], ["review", str(logdir), "--no-looks"]):
        main(argv)
        painted = capsys.readouterr().out
        assert SGR.search(painted), argv[0]
        assert _no_clock(SGR.sub("", painted)) == _no_clock(plain[argv[0]]), argv[0]


def _no_clock(text: str) -> str:
    """`text` without the parts that change with the clock between two calls."""
    return re.sub(r"written \S+( \S+)? ago|until \S+ \S+", "", text)
