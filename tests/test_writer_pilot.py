"""A run that finishes while `tbpeek watch` is open: its writer process exits, the run has ended,
and its final verdicts (an alarm: pinned at the maximum for its whole life) never break through
the gate nor ring."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from testing import sync, wait_for

from tui.app.app import AppOptions, make_app
from tui.app.screens.gate import GateScreen
from tui.health import Severity
from tui.looks.log import Look, append_look, read_looks
from tui.looks.settings import BudgetSettings

SIZE = (120, 35)
LINUX = os.path.isfile("/proc/stat") and os.path.isfile(f"/proc/{os.getpid()}/stat")

# A trainer that is not learning: entropy at ln 6 (sd 1e-4), reward flat at -21. Its records are
# 30-60 s old, so the app asks about the writer process at once (it does after 20 s of silence).
WRITER = textwrap.dedent("""
    import math, random, sys, time
    sys.path.insert(0, sys.argv[2])
    from eventfiles import Writer
    random.seed(1)
    w = Writer(sys.argv[1])
    t = time.time() - 60
    for i in range(60):
        step = 2048 * (i + 1)
        w.scalar("policy_entropy", math.log(6) - abs(random.gauss(0, 1e-4)), step, t + 0.5 * i)
        w.scalar("eprewmean", -21 + random.gauss(0, 0.2), step, t + 0.5 * i)
        w.scalar("total_timesteps", float(step), step, t + 0.5 * i)
    w.flush()
    print("written", flush=True)
    sys.stdin.readline()  # until the test lets the trainer finish
""")


@pytest.mark.skipif(not LINUX, reason="writer evidence needs Linux's /proc")
@sync
async def test_a_run_whose_writer_exits_while_watched_does_not_break_through(tmp_path):
    logdir = tmp_path / "logs"
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(logdir / "pinned"), here],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        log = tmp_path / "looks.jsonl"
        now = time.time()
        append_look(Look(start=now - 60, end=now - 30, found_new=False), log)  # the gate is up
        app = make_app([str(logdir)], AppOptions(budget=BudgetSettings(log_path=log, every=1800, window=180)))
        rang: list[bool] = []
        app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.judge.health("pinned") is not None)
            h = app.judge.health("pinned")
            assert h.state == "live" and h.writer_alive is True  # silent 30 s, its writer running
            assert h.verdict("entropy").kind == "pinned_at_max"
            assert h.verdict("entropy").severity <= Severity.INFO  # 30 s pinned: early, while live
            assert isinstance(app.screen, GateScreen)

            proc.stdin.write("\n")  # training is over: the trainer exits
            proc.stdin.flush()
            proc.wait(timeout=30)
            await pilot.pause(1.1)  # a live writer is looked at again after a second
            # The app's periodic re-judge of idle runs (REJUDGE_EVERY), now rather than in 30 s.
            app.session.rejudge_all()
            await pilot.pause(0.3)

            h = app.judge.health("pinned")
            assert h.state == "ended" and h.writer_alive is False
            end = h.verdict("throughput")
            assert end.kind == "ended" and end.severity == Severity.INFO
            assert "finished at step 122880" in end.reason and "exited" in end.reason
            final = h.verdict("entropy")  # judged as a whole now: a real alarm...
            assert final.severity == Severity.ALARM and "whole life" in final.reason
            assert isinstance(app.screen, GateScreen)  # ...that never breaks through,
        assert rang == []  # never rings,
        assert not [k for k in read_looks(log) if k.trigger == "alarm"]  # and logs no alarm look
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
