"""Shared fixtures: real runs from ../shared/data (read in place, never copied)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/eventfiles.py

SHARED_DATA = Path(os.environ.get("TBPEEK_SHARED_DATA", REPO.parent / "shared" / "data"))
RAHTZ = SHARED_DATA / "rahtz"


@pytest.fixture(scope="session")
def rahtz() -> Path:
    """Matthew Rahtz's real A2C runs (see ../shared/data/rahtz/README.md)."""
    if not RAHTZ.is_dir():
        pytest.skip(f"real runs not found at {RAHTZ}: clone tbpeek beside its shared/ folder, "
                    "or set TBPEEK_SHARED_DATA")
    return RAHTZ


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's config or state directories from a test."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("TBPEEK_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("TBPEEK_STATE_DIR", str(base / "state"))
