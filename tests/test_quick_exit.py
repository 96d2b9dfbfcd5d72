"""One-shot commands end their process without tearing the interpreter down (tui.cli.entry):
their whole output still arrives, their exit code is kept, and the app exits the usual way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testing import write_known_run

from tui import cli

REPO = Path(__file__).resolve().parents[1]
# Block-buffered output, as a user's shell gives it (PYTHONUNBUFFERED would hide a lost flush).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"PYTHONPATH": str(REPO)}


def tbpeek(*argv: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, timeout=120,
                          env={**ENV, "TBPEEK_WORKERS": "1"}, **kw)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    root = tmp_path / "sweep"
    for i in range(40):
        write_known_run(root / f"seed{i:02d}", "collapse" if i == 7 else "healthy", n=60)
    return root


def test_a_long_listing_arrives_whole_through_a_pipe(sweep):
    r = tbpeek("ls", "--json", str(sweep))
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)["runs"]  # the last byte made it: the JSON closes
    assert [x["run"] for x in runs] == [f"seed{i:02d}" for i in range(40)]
    assert all(x["points"] == 120 for x in runs)


def test_a_long_listing_arrives_whole_into_a_file(sweep, tmp_path):
    out = tmp_path / "ls.txt"
    with out.open("w") as f:
        r = subprocess.run([sys.executable, "-m", "tui", "ls", str(sweep)], stdout=f, stderr=subprocess.PIPE,
                           text=True, timeout=120, env=ENV)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    heads = [line.split()[0] for line in text.splitlines() if line.startswith("seed")]
    assert heads == [f"seed{i:02d}" for i in range(40)]
    assert text.rstrip().splitlines()[-1].split()[0] == "losses/entropy"  # seed39's last tag line


def test_a_short_listing_arrives(sweep):
    """A few lines stay in the output buffer until the end: the quick exit flushes them."""
    r = tbpeek("ls", str(sweep / "seed03"))
    assert r.returncode == 0 and "seed03" in r.stdout and "losses/entropy" in r.stdout, r.stderr
    r = tbpeek("check", str(sweep / "seed07"))
    assert r.returncode == 1 and "entropy collapsed" in r.stdout and "1 run: 1 alarm" in r.stdout, r.stderr


def test_exit_codes_survive_the_quick_exit(sweep, tmp_path):
    assert tbpeek("check", str(sweep)).returncode == 1  # seed07's entropy collapsed: an alarm
    assert tbpeek("check", str(tmp_path / "missing")).returncode == 2
    assert tbpeek("ls", "--no-such-flag", str(sweep)).returncode == 2


def test_the_app_is_not_in_the_quick_exit_list():
    """watch and demo leave through Textual's own exit (it restores the terminal)."""
    assert "watch" not in cli.QUICK_EXIT and "demo" not in cli.QUICK_EXIT
    assert cli.QUICK_EXIT.issubset(cli.COMMANDS)
