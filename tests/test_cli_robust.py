"""Issue 12 (CLI side): user regexes, CSV injection, damaged state files, a deleted run in the
status cache, an unusable state directory; issue 14: the review's looks and formats."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from testing import write_known_run

from tui.cli import main
from tui.config import Config, ConfigError, load_config
from tui.groups import compile_pattern
from tui.looks.log import Look, about_logdirs, append_look, logdir_key, read_looks
from tui.notes import Note, NoteStore
from tui.report.export import neutralise, read_csv, restore, write_csv
from tui.store import Store
from tui.vocab import PatternError, compile_regex, regex_error

HUGE = "x{99999999999}"


def write_run(d: Path, kind: str = "healthy", n: int = 120, end: float | None = None) -> None:
    write_known_run(d, kind, n, end=end, suffix="")


# ---- 12.8 / 12.11: one compile helper for user regexes ------------------------------------------
@pytest.mark.parametrize("pattern, reason", [
    (HUGE, "a repeat count is too large"),
    ("(" * 3000 + ")" * 3000, "nested too deeply"),
    ("[", "unterminated character set"),
])
def test_compile_regex_turns_every_failure_into_one_clear_error(pattern, reason):
    with pytest.raises(PatternError) as e:
        compile_regex(pattern, "--tags")
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("--tags ") and "is not a valid regular expression" in str(e.value)
    assert reason in str(e.value) and e.value.pattern == pattern
    assert regex_error(pattern, "filter") is not None and regex_error("a.*b", "filter") is None
    assert compile_regex("A", flags=re.IGNORECASE).search("a")


def test_seed_pattern_in_the_config_and_in_groups(tmp_path):
    with pytest.raises(ConfigError, match=r"\[groups\] seed_pattern .* repeat count is too large"):
        Config.from_dict({"groups": {"seed_pattern": HUGE}})
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[groups]\nseed_pattern = '{HUGE}'\n")
    with pytest.raises(ConfigError):
        load_config(cfg)
    with pytest.raises(ValueError, match="seed pattern"):
        compile_pattern(HUGE)


def test_export_and_review_reject_a_huge_repeat_with_exit_2(tmp_path, capsys):
    write_run(tmp_path / "runs" / "a")
    assert main(["export", str(tmp_path / "runs"), "--tags", HUGE]) == 2
    assert "--tags 'x{99999999999}' is not a valid regular expression" in capsys.readouterr().err
    assert main(["review", str(tmp_path / "runs"), "--seed-pattern", HUGE]) == 2
    assert "--seed-pattern 'x{99999999999}' is not a valid" in capsys.readouterr().err


# ---- 12.7: CSV injection ---------------------------------------------------------------------
def test_csv_neutralises_formula_names_but_never_numbers():
    st = Store()
    evil_run, evil_tag = "=cmd|' /C calc'!A0", "@SUM(A1)"
    for run in (evil_run, "+1", "-2", "\tx", "\rx", "'q", "plain"):
        st.ensure_run(run, f"/exp/{len(run)}")
        st.append(run, evil_tag if run == evil_run else "loss", [0, 1], [1.7e9, 1.7e9 + 1], [-3.5, -1e-9])
    buf = io.StringIO()
    write_csv(st, buf)
    text = buf.getvalue()
    rows = list(__import__("csv").reader(io.StringIO(text)))[1:]
    for run, tag, step, _wall, value in rows:
        assert not run.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert not tag.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert float(value) < 0 and value.startswith("-")  # a negative number stays a number
        assert step.isdigit()
    assert "'=cmd|' /C calc'!A0" in text and "'@SUM(A1)" in text and "''q" in text
    back = read_csv(text)  # the quote comes off again: names round-trip exactly
    assert {r[0] for r in back} == {evil_run, "+1", "-2", "\tx", "\rx", "'q", "plain"}
    assert {r[1] for r in back} == {evil_tag, "loss"}
    raw = io.StringIO()
    write_csv(st, raw, raw=True)
    assert "\n=cmd|' /C calc'!A0,@SUM(A1)," in raw.getvalue()
    assert {r[0] for r in read_csv(raw.getvalue(), raw=True)} == {r[0] for r in back}
    for name in ("=x", "-1", "'", "", "a=b"):
        assert restore(neutralise(name)) == name


def test_export_cli_raw_flag(tmp_path, capsys):
    write_run(tmp_path / "runs" / "=HYPERLINK(1)")
    assert main(["export", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "\n'=HYPERLINK(1)," in out and "\n=HYPERLINK" not in out
    assert main(["export", str(tmp_path / "runs"), "--raw"]) == 0
    assert "\n=HYPERLINK(1)," in capsys.readouterr().out


# ---- 12.5: the look log tolerates anything ------------------------------------------------------
@pytest.mark.parametrize("line", [
    b'{"start": 1e12, "trigger": "scheduled"}',
    b'{"start": 1e308}',
    b'{"start": Infinity}',
    b'{"start": -Infinity}',
    b'{"start": NaN}',
    b'{"start": 1700000000, "end": 1e308}',
    b'{"start": 1' + b"0" * 400 + b"}",
    b'{"start": -5}',
])
def test_look_log_skips_absurd_times_with_a_warning(tmp_path, capsys, line):
    log = tmp_path / "looks.jsonl"
    now = time.time()
    append_look(Look(now - 60, now - 30, logdirs=["/runs"]), log)
    with open(log, "ab") as f:
        f.write(line + b"\n")
    with pytest.warns(UserWarning, match="line 2: skipped a damaged entry"):
        looks = read_looks(log)
    assert len(looks) == 1
    assert main(["looks", "--log", str(log)]) == 0  # no crash
    err = capsys.readouterr().err
    assert "line 2: skipped a damaged entry" in err and "Traceback" not in err
    assert main(["looks", "--log", str(log), "--json"]) == 0
    assert sum(d["looks"] for d in json.loads(capsys.readouterr().out)["days"]) == 1  # the good look counts


# ---- 12.5: stale temporary note files -----------------------------------------------------------
def test_stale_tmp_files_of_killed_note_saves_are_removed(tmp_path):
    root = tmp_path / "notes"
    root.mkdir()
    stale, fresh = root / ".tmp-abc.json", root / ".tmp-def.json"
    stale.write_text("{half")
    fresh.write_text("{half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    store = NoteStore(root)
    store.save(Note(str(tmp_path / "run"), question="why?"))
    assert not stale.exists()
    assert fresh.exists()  # another process's save may be under way
    assert list(store.all()) == [str(tmp_path / "run")]
    assert store.clean_stale(max_age=0, now=time.time() + 1) == 1 and not fresh.exists()


# ---- 12.8: status forgets a deleted run; 12.5: an unusable state dir -----------------------------
def test_status_forgets_a_deleted_run_at_once(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs / "ok")
    write_run(runs / "bad", "collapse")
    assert main(["status", str(runs)]) == 1
    assert "bad: entropy collapsed" in capsys.readouterr().out
    shutil.rmtree(runs / "bad")
    assert main(["status", str(runs)]) == 0  # the cached answer, without the deleted run
    assert capsys.readouterr().out.strip() == "● 1 run ok · look due"
    assert main(["status", "--wait", str(runs)]) == 0  # and after the refresh too
    assert capsys.readouterr().out.strip() == "● 1 run ok · look due"


def test_status_answers_uncached_when_the_state_dir_is_unusable(tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    write_run(runs / "bad", "collapse")
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("TBPEEK_STATE_DIR", str(blocked))
    assert main(["status", str(runs)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == "▲ bad: entropy collapsed"
    assert "answering without it" in err
    assert blocked.read_text() == "not a directory"


# ---- 14.8 / 14.10: the review's looks, formats and Markdown ------------------------------------
def test_review_lists_only_looks_at_the_reviewed_logdirs(tmp_path, capsys):
    mine, other, empty = tmp_path / "mine", tmp_path / "other", tmp_path / "empty"
    write_run(mine / "a")
    empty.mkdir()
    now = time.time()
    append_look(Look(now - 300, now - 200, "override", reason="checking my own runs", logdirs=[str(mine)]))
    append_look(Look(now - 100, now - 50, "override", reason="another project entirely",
                     logdirs=[str(other)]))
    assert main(["review", str(mine)]) == 0
    out = capsys.readouterr().out
    assert "checking my own runs" in out and "another project" not in out
    assert "1 look ·" in out
    assert main(["review", str(mine / "a")]) == 0  # a run inside a watched logdir overlaps it
    assert "checking my own runs" in capsys.readouterr().out
    main(["review", str(empty)])
    assert "another project" not in capsys.readouterr().out


def test_about_logdirs_compares_resolved_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    looks = [Look(1, logdirs=["runs"]), Look(2, logdirs=[f"ppo:{tmp_path}/runs/ppo"]),
             Look(3, logdirs=[f"{tmp_path}/runs-old"]), Look(4, logdirs=[]),
             Look(5, logdirs=["s3://b/x/"])]
    assert [lk.start for lk in about_logdirs(looks, [str(tmp_path / "runs")])] == [1, 2]
    assert [lk.start for lk in about_logdirs(looks, ["s3://b/x/y"])] == [5]
    assert logdir_key("runs") == str(tmp_path / "runs") and logdir_key("s3://b/x/") == "s3://b/x"


def test_review_output_format_from_the_extension(tmp_path, capsys):
    write_run(tmp_path / "runs" / "a")
    pdf = tmp_path / "r.pdf"
    assert main(["review", str(tmp_path / "runs"), "-o", str(pdf)]) == 2
    assert "can't tell the format" in capsys.readouterr().err and not pdf.exists()
    assert main(["review", str(tmp_path / "runs"), "-o", str(pdf), "--format", "text"]) == 0
    assert pdf.read_text().startswith("tbpeek review")
    for name, start in (("r.txt", "tbpeek review"), ("r.md", "# tbpeek review"), ("R.HTML", "<!DOCTYPE html>"),
                        ("noext", "tbpeek review")):
        assert main(["review", str(tmp_path / "runs"), "-o", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_text().startswith(start)


def test_markdown_review_keeps_a_literal_arrow(tmp_path):
    from tui.report.render_md import md

    assert md("44.7 -> 38.2 steps/s") == "44.7 -> 38.2 steps/s"
    assert md("<script>x</script> & [a](b)") == "&lt;script>x&lt;/script> &amp; \\[a\\](b)"



def test_status_with_a_read_only_state_dir_in_a_process(tmp_path):
    """A real read-only state directory (mode 555; as root, without the capability that
    ignores permissions): the answer comes uncached, exit code as usual."""
    import subprocess
    import sys

    runs = tmp_path / "runs"
    write_run(runs / "bad", "collapse")
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o555)
    cmd = [sys.executable, "-m", "tui", "status", str(runs)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root without setpriv can write anywhere (the state-is-a-file test covers the logic)")
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "TBPEEK_STATE_DIR": str(state), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    finally:
        state.chmod(0o755)
    assert r.returncode == 1, r.stderr
    assert r.stdout.strip() == "▲ bad: entropy collapsed"
    assert "answering without it" in r.stderr and list(state.iterdir()) == []


def test_looks_log_logdirs_as_absolute_paths(tmp_path, monkeypatch):
    """A look taken on `tbpeek runs` from one directory is found by a review run elsewhere."""
    from testing import Clock

    from tui.looks.policy import LookBudget
    from tui.looks.settings import BudgetSettings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    log = tmp_path / "looks.jsonl"
    b = LookBudget(BudgetSettings(), logdirs=["runs", "ppo:runs/ppo"], clock=Clock(1.7e9), log_path=log)
    b.begin()
    b.start_look("scheduled")
    (look,) = read_looks(log)
    assert look.logdirs == [str(tmp_path / "runs"), str(tmp_path / "runs" / "ppo")]
    monkeypatch.chdir("/")
    assert about_logdirs([look], [str(tmp_path / "runs" / "ppo")]) == [look]


# ---- durations: a config or flag can't overflow the clock -------------------------------------
@pytest.mark.parametrize("value", ["1e400", "nan", "inf", "99999999999d", "true"])
def test_absurd_durations_are_clear_errors_not_crashes(tmp_path, capsys, value):
    from tui.config import parse_duration

    write_run(tmp_path / "runs" / "a")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[looks]\nevery = {value if value in ('true', 'nan', 'inf') else repr(value)}\n")
    assert main(["status", "--config", str(cfg), str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "config [looks]: every" in err and "Traceback" not in err
    assert main(["review", "--since", value, str(tmp_path / "runs")]) == 2
    assert "can't read --since" in capsys.readouterr().err
    with pytest.raises(ValueError):
        parse_duration(True if value == "true" else value)


def test_review_since_a_date_out_of_range(tmp_path, capsys):
    write_run(tmp_path / "runs" / "a")
    assert main(["review", "--since", "0001-01-01", str(tmp_path / "runs")]) == 2
    assert "can't use --since '0001-01-01': the date is out of range" in capsys.readouterr().err
