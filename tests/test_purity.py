"""The pure core must not import Textual or watchdog (ARCHITECTURE.md)."""

import json
import subprocess
import sys

CORE = ["tui.ingest", "tui.store", "tui.health", "tui.looks", "tui.report", "tui.config", "tui.cli",
        "tui.notes", "tui.groups", "tui.spark", "tui.report.review", "tui.report.status", "tui.report.export"]


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
