"""The app never dies silently (issue 12.9/12.12): an unexpected exception ends it with a
non-zero exit, one line on stderr naming the error and a crash log in the state directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tui.app.crash import crash_line, write_crash_log

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from app_fixtures import NOW, fixed_store
    from tui.app.app import AppOptions, make_app
    from tui.app.screens.overview import OverviewScreen

    def boom(self):
        raise ValueError("math domain error in zz[/] \\x1b]0;pwned\\x07")

    OverviewScreen.action_cycle_sort = boom  # stands for any bug a key can reach
    app = make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW))

    async def auto(pilot):
        await pilot.pause()
        await pilot.press("o")

    sys.exit(app.run(headless=True, auto_pilot=auto))
""")


def test_a_crash_exits_non_zero_with_one_line_and_a_crash_log(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "TBPEEK_STATE_DIR": str(state), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=str(REPO / "tests"))],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, proc.stderr  # one line, not a page of traceback
    line = lines[0]
    assert line.startswith("tbpeek: crashed") and "ValueError: math domain error" in line
    assert "\x1b" not in proc.stderr and "\\x1b]0;pwned\\x07" in line  # the message is made safe
    logs = sorted(state.glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in line
    text = logs[0].read_text()
    assert "Traceback" in text and "boom" in text and "ValueError" in text and "\x1b" not in text


def test_crash_log_falls_back_to_the_temp_dir(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TBPEEK_STATE_DIR", str(blocker / "state"))  # can't be created
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    try:
        raise RuntimeError("x")
    except RuntimeError as e:
        path = write_crash_log(e)
    assert path is not None and path.parent == tmp_path / "tmp" and "RuntimeError" in path.read_text()
    assert "no crash log" in crash_line(RuntimeError("y"), None)
