"""bench/ingest.py still runs (tiny sizes, tbpeek only): it is a script, not a test of speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bench_ingest_runs_at_tiny_size(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "ingest.py"), "--data", str(tmp_path),
                          "--scale", "0.0005", "--repeats", "1", "--tools", "tbpeek", "--sets", "a,c"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(a)" in out.stdout and "(c)" in out.stdout and "incremental" in out.stdout
    assert "expected" not in out.stderr  # every point was read
