"""`tbpeek status`: the line, exit codes, the template, and the incremental cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from testing import write_known_run

from tui.cli import main
from tui.looks.log import Look, append_look
from tui.report import status as status_mod
from tui.report.status import check_template, fields, problem_text
from tui.report.status_cache import RunSummary, Summary

REPO = Path(__file__).resolve().parents[1]


def write_run(d: Path, kind: str, n: int = 200, start: int = 0, end: float | None = None) -> None:
    write_known_run(d, kind, n, start, end, sps=True)


@pytest.fixture()
def logdir(tmp_path) -> Path:
    d = tmp_path / "runs"
    write_run(d / "ppo-a", "healthy")
    write_run(d / "ppo-b", "healthy")
    return d


def status(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["status", *argv])
    out, err = capsys.readouterr()
    return code, out.strip(), err


# ---- the line -------------------------------------------------------------------------------
def test_calm_line_and_exit_0(capsys, logdir):
    code, out, _ = status(capsys, str(logdir))
    assert code == 0
    assert out == "● 2 runs ok · look due"  # no look yet: one is due


def test_alarm_line_names_the_run_and_verdict_without_values(capsys, logdir):
    write_run(logdir / "ppo-seed3", "collapse")
    code, out, _ = status(capsys, str(logdir))
    assert code == 1
    assert out == "▲ ppo-seed3: entropy collapsed"
    assert not any(ch.isdigit() for ch in out.replace("seed3", ""))  # no metric values


def test_fail_on_warn_and_info(capsys, logdir):
    write_run(logdir / "ppo-seed3", "collapse")
    assert status(capsys, str(logdir), "--fail-on", "info")[0] == 1
    code, _, _ = status(capsys, str(logdir / "ppo-a"), "--fail-on", "alarm")
    assert code == 0


def test_next_look_comes_from_the_look_log_and_config(capsys, logdir, monkeypatch, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[looks]\nevery = "30m"\nwindow = "3m"\n')
    started = time.time() - 300
    append_look(Look(start=started, end=started + 180))
    code, out, _ = status(capsys, str(logdir), "--config", str(cfg))
    expected = datetime.fromtimestamp(started + 1800).strftime("%H:%M")
    assert code == 0 and out == f"● 2 runs ok · next look {expected}"
    cfg.write_text("[looks]\nenabled = false\n")
    assert status(capsys, str(logdir), "--config", str(cfg))[1] == "● 2 runs ok"


def test_format_template(capsys, logdir):
    write_run(logdir / "ppo-seed3", "collapse")
    code, out, _ = status(capsys, str(logdir), "--format", "#[fg={color}]{icon} {alarm}/{runs} {run}#[default]")
    assert code == 1 and out == "#[fg=red]▲ 1/3 ppo-seed3#[default]"


@pytest.mark.parametrize("template, message", [
    ("{nope}", "unknown field {nope}"),
    ("{line", "expected '}'"),
])
def test_bad_template_is_a_usage_error(capsys, logdir, template, message):
    code, _, err = status(capsys, str(logdir), "--format", template)
    assert code == 2 and message in err


def test_missing_logdir_is_a_usage_error_with_a_line_for_tmux(capsys, tmp_path):
    code, out, err = status(capsys, str(tmp_path / "nope"))
    assert code == 2 and out.startswith("✗") and "does not exist" in err


def test_no_runs(capsys, tmp_path):
    code, out, err = status(capsys, str(tmp_path))
    assert code == 2 and out == "○ no runs yet" and "no runs" in err


def test_fields_pure():
    runs = [RunSummary("a", 1, 0.0, [("entropy", "healthy", 0, "")]),
            RunSummary("b", 1, 0.0, [("throughput", "slow_decay", 2, "fps 100 -> 90")]),
            RunSummary("c", 1, 0.0, [("entropy", "pinned_at_max", 3, "h 0.99")]),
            RunSummary("d", 1, 0.0, [("throughput", "stalled", 3, "no writes for 40 min")])]
    s = Summary("k", ["/x"], 0.0, runs)
    f = fields(s, next_look=None, now=0.0)
    assert f["line"] == "▲ c: entropy pinned at max (+1 more)" and f["state"] == "alarm"
    s.runs = runs[:2]
    f = fields(s, next_look=100.0, now=0.0)
    assert f["line"].startswith("△ 2 runs · 1 warning · next look ") and f["warn"] == "1" and f["ok"] == "1"
    assert problem_text("throughput", "stalled") == "throughput stalled"
    assert problem_text("entropy", "entropy_spike") == "entropy spike"
    assert problem_text("entropy", "nonfinite") == "entropy is NaN or infinite"
    assert problem_text("explained_variance", "zero") == "explained_variance is zero"
    assert check_template("{line} {next}") is None


def test_runs_that_ended_long_ago_never_alarm_the_status_bar():
    day = 86400.0
    old = RunSummary("old-collapse", 1, 0.0, [("entropy", "collapsed", 3, "h 0.01")], last_write=0.0)
    live = RunSummary("live", 1, 0.0, [("entropy", "healthy", 0, "")], last_write=2 * day - 60)
    s = Summary("k", ["/x"], 0.0, [old, live])
    f = fields(s, next_look=None, now=2 * day)
    assert f["line"] == "● 1 run ok · 1 ended" and f["state"] == "ok" and f["alarm"] == "0"
    f = fields(s, next_look=None, now=0.5 * day)  # the same run while it was live: an alarm
    assert f["line"].startswith("▲ old-collapse: entropy collapsed")
    s.runs = [old]
    assert fields(s, next_look=None, now=2 * day)["line"] == "● 1 run, all ended"


# ---- the cache ------------------------------------------------------------------------------
def test_each_call_reads_only_new_bytes(capsys, logdir, monkeypatch):
    from tui.ingest.sources import LocalSource

    reads: list[tuple[str, int]] = []
    real_read, real_read_into = LocalSource.read, LocalSource.read_into

    def spy(path, offset, size):
        reads.append((path, offset))
        return real_read(path, offset, size)

    def spy_into(path, offset, out):  # files read in a batch share one buffer
        reads.append((path, offset))
        return real_read_into(path, offset, out)

    monkeypatch.setattr(LocalSource, "read", staticmethod(spy))
    monkeypatch.setattr(LocalSource, "read_into", staticmethod(spy_into))
    assert status(capsys, str(logdir), "--wait")[0] == 0
    files = sorted(logdir.rglob("*tfevents*"))
    sizes = {str(p): p.stat().st_size for p in files}
    assert {p for p, _ in reads} == set(sizes) and all(off == 0 for _, off in reads)
    reads.clear()
    write_run(logdir / "ppo-b", "collapse", n=200, start=200)  # a new file in one run
    grown = next(p for p in logdir.rglob("*tfevents*") if str(p) not in sizes)
    code, out, _ = status(capsys, str(logdir), "--wait")
    assert code == 1 and out.startswith("▲ ppo-b")
    assert reads and {p for p, _ in reads} == {str(grown)}  # the old files were not read again
    reads.clear()
    assert status(capsys, str(logdir))[0] == 1  # nothing changed: no read at all
    assert reads == []


def test_new_data_answers_at_once_and_refreshes_in_the_background(capsys, logdir, monkeypatch):
    started: list[list[str]] = []
    monkeypatch.setattr(status_mod, "_refresh_in_background", lambda args, paths: started.append(args.logdirs))
    assert status(capsys, str(logdir))[0] == 0  # first call: waits
    assert started == []
    write_run(logdir / "ppo-c", "collapse")
    code, out, _ = status(capsys, str(logdir))
    assert (code, out) == (0, "● 2 runs ok · look due")  # the previous answer, at once
    assert started == [[str(logdir)]]


def test_the_background_refresher_updates_the_cache(capsys, logdir):
    assert status(capsys, str(logdir))[0] == 0
    write_run(logdir / "ppo-c", "collapse")
    assert status(capsys, str(logdir))[0] == 0  # starts the refresher
    for _ in range(600):  # the refresher is a separate process; wait for its answer
        time.sleep(0.1)
        code, out, _ = status(capsys, str(logdir))
        if code == 1:
            break
    assert (code, out) == (1, "▲ ppo-c: entropy collapsed")


def test_a_damaged_cache_is_rebuilt(capsys, logdir):
    from tui.config import state_dir

    assert status(capsys, str(logdir))[0] == 0
    for p in state_dir().glob("status-*"):
        if p.suffix in (".json", ".pickle"):
            p.write_bytes(b"\x00garbage")
    code, out, _ = status(capsys, str(logdir), "--wait")
    assert (code, out) == (0, "● 2 runs ok · look due")
    (summary,) = state_dir().glob("status-*.json")
    assert len(json.loads(summary.read_text())["runs"]) == 2


def test_an_unchanged_call_loads_neither_numpy_nor_the_ingest_engine(logdir, tmp_path):
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    main(['status', {str(logdir)!r}])\n"
        "print(out.getvalue().strip())\n"
        "print(sorted(m for m in ('numpy', 'tui.ingest', 'tui.health', 'textual', 'importlib.metadata')\n"
        "             if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert first.stdout.splitlines()[0] == "● 2 runs ok · look due"
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert second.stdout.splitlines() == ["● 2 runs ok · look due", "[]"]


def test_hostile_run_names_are_safe_for_tmux(capsys, logdir):
    """A run named ``#(cmd)`` or holding escapes is shown literally in the status line."""
    write_run(logdir / "#(touch pwned)\x1b]0;x\x07", "collapse")
    code, out, _ = status(capsys, str(logdir))
    assert code == 1
    assert out.startswith("▲ ##(touch pwned)\\x1b]0;x\\x07: entropy collapsed")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in out)


def test_severities_are_typed_in_the_cache(logdir):
    from tui.vocab import Severity

    r = RunSummary("a", 1, 0.0, [("entropy", "collapsed", 3, "x")])
    assert r.severity is Severity.ALARM and r.worst is not None and r.worst[2] is Severity.ALARM
    s = Summary.from_json(json.loads(json.dumps(Summary("k", [], 0.0, [r]).to_json())))
    assert s.runs[0].severity is Severity.ALARM
