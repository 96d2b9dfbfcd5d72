"""The pure core must not import Textual or watchdog (ARCHITECTURE.md)."""

import json
import subprocess
import sys
from pathlib import Path

CORE = ["tui.ingest", "tui.store", "tui.health", "tui.looks", "tui.report", "tui.config", "tui.cli",
        "tui.notes", "tui.groups", "tui.spark", "tui.report.review", "tui.report.status", "tui.report.export",
        "tui.live"]
REPO = Path(__file__).resolve().parents[1]


def test_core_imports_neither_textual_nor_watchdog():
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"for name in {CORE!r}:\n"
        "    mod = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(getattr(mod, '__path__', []), name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(m for m in ('textual', 'watchdog') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_check_and_status_help_do_not_load_textual():
    code = (
        "import sys, contextlib, io\n"
        "from tui.cli import main\n"
        "for cmd in ('check', 'status', 'ls'):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main([cmd, '--help'])\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_a_live_session_runs_end_to_end_without_textual(tmp_path):
    """The live layer (tui/live) reads, judges, feeds the look budget and draws chart text with
    no Textual at all; watchdog loads only when native notifications are asked for."""
    code = f"""
import sys, threading, queue, json
sys.path.insert(0, {str(REPO / "tests")!r})
from eventfiles import Writer
from tui.ingest import Ingestor
from tui.live.chart import ChartSpec, Line, render
from tui.live.session import LiveSession
from tui.live.events import RunsChanged
from tui.live.model import sort_views
from tui.looks.settings import BudgetSettings
from tui.store import Store

class UI:
    def notify(self, *a, **k): pass
    def show_gate(self, info, on_look, on_override): on_look() if info.due else None
    def update_gate(self, info): pass
    def hide_gate(self): pass

logs = {str(tmp_path / "logs")!r}
w = Writer(logs + "/run1")
for step in range(1, 51):
    w.scalar("losses/entropy", 1.5 - step * 0.01, step)
w.flush()
store = Store()
q = queue.Queue()
s = LiveSession(store, Ingestor(store, [logs]), logdirs=[logs], poll=0.05, emit=q.put)
s.start_budget(BudgetSettings(log_path={str(tmp_path / "looks.jsonl")!r}), UI())
s.start_watching()
t = threading.Thread(target=s.ingest_loop, daemon=True)
t.start()
while s.judge.view("run1") is None or s.version == 0:  # judged, and told on "the UI thread"
    s.receive(q.get(timeout=20))
series = store.series("run1", "losses/entropy")
text = render(ChartSpec("entropy", (Line("run1", series.steps, series.wall_times, series.values, (9, 9, 9)),),
                        width=40, height=10))
rows = sort_views(s.judge.views().values(), "worst", 0.0)
s.stop()
t.join(20)
w.close()
print(json.dumps([[r.name for r in rows], len(text.splitlines()), s.version > 0, not t.is_alive(),
                  sorted(m for m in ("textual", "watchdog") if m in sys.modules)]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [["run1"], 10, True, True, []]
