"""One run state everywhere: the overview's row (`RunView.state`), `check --json`'s summary state,
the detail's head and the gate all read the state of the same judgement: the one run-state rule
(`tui.vocab.liveness`) with the writer-process evidence. A finished run is `ended`, never
`stalled`, in every one of them."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from testing import sync

import tui.health.lifecycle as lifecycle
from tui.health import HealthOptions, HealthTracker, judge
from tui.live.model import fold_groups, run_state, summary_line
from tui.live.views import Judge
from tui.report.check import to_json
from tui.store import Store
from tui.vocab import RunState
from tui.vocab.runstate import DEFAULT_RULE
from tui.vocab.writer import WriterEvidence

LINUX = os.path.isfile("/proc/stat") and os.path.isfile(f"/proc/{os.getpid()}/stat")
SILENCES = (5.0, 30.0, 119.0, 130.0, 400.0, 700.0, 2000.0, 90000.0)
GAPS = (2.0, 10.0, 60.0)
ALIVE = (None, True, False)


def _store(run: str, gap: float, last: float, n: int = 60) -> Store:
    """A healthy-looking run: `n` points `gap` seconds apart, the last at `last`."""
    store = Store()
    store.ensure_run(run, f"/logs/{run}")
    i = np.arange(n)
    steps = (i + 1).astype(np.int64) * 2048
    walls = last - (n - 1 - i) * gap
    rng = np.random.default_rng(3)
    store.append(run, "losses/entropy", steps, walls, math.log(6) * (0.6 + 0.4 * np.exp(-i / 20)) + rng.normal(0, 0.01, n))
    store.append(run, "charts/episodic_return", steps, walls, -21 + 30 * (1 - np.exp(-i / 20)))
    store.append(run, "global_step", steps, walls, steps.astype(float))
    store.set_last_write(run, float(walls[-1]))
    return store


def _evidence(alive: bool | None) -> WriterEvidence:
    reason = {True: "writer pid 4242 alive", False: "writer pid 4242 exited", None: "written on host 'gpu-0'"}[alive]
    return WriterEvidence(alive, reason, pid=4242 if alive is not None else None)


def test_row_model_and_check_agree_over_silence_gap_and_writer(monkeypatch):
    """Over a grid of (silence, usual gap, writer alive?), the overview's row model and
    ``check --json`` say the same state, and that state is the one rule with the evidence."""
    now = time.time()  # the writer evidence speaks of the present only
    seen: set[str] = set()
    for alive in ALIVE:
        monkeypatch.setattr(lifecycle, "run_writer", lambda path, a=alive: _evidence(a))
        for gap in GAPS:
            for silent in SILENCES:
                store = _store("r", gap, now - silent)
                snap = store.snapshot("r")
                row = Judge(HealthOptions(), clock=lambda: now).update(snap)
                checked = to_json([judge(snap, HealthOptions(), now)])["runs"][0]["summary"]["state"]
                where = (silent, gap, alive)
                assert row.state == checked, where
                # The rule over the same numbers (what the column's `run_state` helper computes).
                assert run_state(silent, usual_gap=row.usual_gap, writer_alive=row.writer_alive) == row.state, where
                asked = silent >= lifecycle.EVIDENCE_AFTER  # the writer is asked after 20 s of silence
                if asked and alive is False:
                    assert row.state == RunState.ENDED, where  # finished: never "stalled"
                elif asked and alive and silent >= DEFAULT_RULE.stalled_at(row.usual_gap):
                    assert row.state == RunState.STALLED, where  # hung, however long
                seen.add(row.state)
    assert seen == {"live", "stalled", "ended"}


def test_the_state_and_the_verdict_change_together_when_a_stalled_run_writes_again():
    """The tracker shows a stall and its end at once, so the row's state and its health
    column (the shown throughput verdict) never disagree, even for one evaluation."""
    now = 1_700_000_000.0
    store = _store("r", 10.0, now - 900)
    tracker = HealthTracker(HealthOptions())
    h = tracker.update(store.snapshot("r"), now=now)
    assert h.state == "stalled" and h.verdict("throughput").kind == "stalled"
    # It writes again: live at once, and the stall verdict goes with it.
    steps = np.arange(61, 100, dtype=np.int64) * 2048
    walls = now - 5 - (len(steps) - 1 - np.arange(len(steps))) * 0.1
    store.append("r", "global_step", steps, walls, steps.astype(float))
    store.append("r", "losses/entropy", steps, walls, np.full(len(steps), 0.9))
    h = tracker.update(store.snapshot("r"), now=now)
    assert h.state == "live"
    assert h.verdict("throughput") is None or h.verdict("throughput").kind not in ("stalled", "ended")


def test_a_folded_group_is_live_while_any_seed_is():
    now = 1_700_000_000.0
    store = Store()
    for k, silent in ((1, 5.0), (2, 900.0), (3, 2 * 86400.0)):
        s = _store(f"ppo_seed{k}", 10.0, now - silent)
        store.ensure_run(f"ppo_seed{k}", f"/logs/ppo_seed{k}")
        for tag, series in s.snapshot(f"ppo_seed{k}").series.items():
            store.append(f"ppo_seed{k}", tag, series.steps, series.wall_times, series.values)
    judge_ = Judge(HealthOptions(), clock=lambda: now)
    views = [judge_.update(store.snapshot(f"ppo_seed{k}")) for k in (1, 2, 3)]
    assert [v.state for v in views] == ["live", "stalled", "ended"]
    folded, _ = fold_groups(views)
    assert len(folded) == 1 and folded[0].state == "live"
    folded, _ = fold_groups(views[1:])
    assert folded[0].state == "stalled"
    assert folded[0].summary_of in ("ppo_seed2", "ppo_seed3")
    assert summary_line(folded[0]).startswith(f"{folded[0].summary_of}: ")


# A trainer that finished ten minutes ago: its records are 10-11 min old (the clock alone says
# "stalled"), then it exits. Its writer's PID is in the event file's name.
FINISHED = textwrap.dedent("""
    import math, random, sys, time
    sys.path.insert(0, sys.argv[2])
    from eventfiles import Writer
    random.seed(1)
    w = Writer(sys.argv[1])
    t = time.time() - 660
    for i in range(60):
        step = 2048 * (i + 1)
        w.scalar("policy_entropy", math.log(6) * (0.5 + 0.5 * math.exp(-i / 15)) + random.gauss(0, 0.01), step, t + i)
        w.scalar("eprewmean", -21 + 30 * (1 - math.exp(-i / 15)) + random.gauss(0, 0.2), step, t + i)
        w.scalar("total_timesteps", float(step), step, t + i)
    w.flush()
""")


def _cell(table, run: str, column: str) -> str:
    return str(table.get_cell(run, column).plain)


@pytest.mark.skipif(not LINUX, reason="writer evidence needs Linux's /proc")
@sync
async def test_a_finished_run_reads_ended_in_the_overview_the_detail_and_check(tmp_path):
    from tui.app.app import AppOptions, make_app
    from tui.app.screens.detail import DetailScreen
    from tui.app.screens.overview import OverviewScreen
    from tui.report.check import render_text

    logdir = tmp_path / "logs"
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, "-c", FINISHED, str(logdir / "finished"), here], check=True, timeout=60)
    app = make_app([str(logdir)], AppOptions())
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(200):
            if app.judge.health("finished") is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        h = app.judge.health("finished")
        assert h is not None and h.writer_alive is False and h.state == "ended"
        screen = app.screen
        assert isinstance(screen, OverviewScreen)
        screen.redraw()
        assert _cell(screen.table, "finished", "state") == "ended"  # not "stalled": its writer exited
        line = str(screen.query_one("#run-summary").render())
        assert line.startswith(h.summary.text[:40])
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen)
        head = str(app.screen.query_one("#detail-head").render())
        first, second = head.splitlines()[:2]
        assert first.startswith("finished  ended · step 123k")
        assert second and h.summary.text.startswith(second.rstrip())
    # check, now, says the same
    from tui.ingest import load

    snap = load([str(logdir)]).snapshot("finished")
    checked = judge(snap, HealthOptions(), time.time())
    assert checked.state == "ended" and to_json([checked])["runs"][0]["summary"]["state"] == "ended"
    assert "finished at step 122880" in render_text([checked])


def test_the_summary_line_is_plain_safe_text():
    """Run names and reasons come from event files: the line escapes control characters and
    keeps markup as text."""
    from tui.health.summary import RunSummary
    from tui.health.verdict import Severity
    from tui.live.model import RunView

    hostile = RunSummary(Severity.WARN, "broken", "broken: [bold red]x[/] was nan\x1b]0;pwned\x07")
    line = summary_line(RunView("r", 1, summary=hostile))
    assert "\x1b" not in line and "\x07" not in line
    assert line == "broken: [bold red]x[/] was nan\\x1b]0;pwned\\x07"
    group = RunView("g", 1, summary=hostile, members=("a\x1b_seed1", "a\x1b_seed2"), summary_of="a\x1b_seed2")
    assert summary_line(group).startswith("a\\x1b_seed2: broken: [bold red]x[/]")
    assert summary_line(None) == "" and summary_line(RunView("r", 1)) == "no verdicts yet"


@sync
async def test_the_overview_shows_the_highlighted_runs_summary_literally():
    """The line above the status line follows the cursor, names a folded group's member, and
    shows untrusted names as text."""
    from app_fixtures import NOW, T0

    from tui.app.app import AppOptions, make_app

    store = Store()
    names = ["[bold red]X[/]_seed1", "[bold red]X[/]_seed2", "calm"]
    for k, name in enumerate(names):
        store.ensure_run(name, f"/logs/{name}")
        n = 40
        i = np.arange(n)
        steps = (i + 1).astype(np.int64) * 2048
        walls = T0 + i * 10.0
        reward = np.full(n, -21.0) + 0.01 * np.sin(i) if k < 2 else -21 + 30 * (1 - np.exp(-i / 10))
        store.append(name, "charts/episodic_return", steps, walls, reward)
        store.append(name, "losses/entropy", steps, walls, np.linspace(1.7, 1.0, n))
        store.set_last_write(name, float(walls[-1]))
    app = make_app(store=store, options=AppOptions(clock=lambda: NOW))
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#runs")
        line = screen.query_one("#run-summary")
        shown_lines = set()
        for row, key in enumerate(table.row_keys):
            table.move_cursor(row=row)
            await pilot.pause()
            shown = str(line.render())
            assert len(shown) <= 100 and summary_line(app.judge.view(key)).startswith(shown.rstrip("…")), key
            shown_lines.add(shown)
        assert len(shown_lines) == 2  # the calm run's line is not the seeds' line
        await pilot.press("g")  # fold the two seeds
        await pilot.pause(0.2)
        rows = table.row_keys
        group = next(r for r in rows if r != "calm")
        table.move_cursor(row=rows.index(group))
        await pilot.pause()
        shown = str(line.render())
        assert shown.startswith("[bold red]X[/]_seed") and ": " in shown
