"""Snapshot tests (pytest-textual-snapshot) of the overview, detail and compact layouts.

Fixed data (tests/app_fixtures.py: fixed wall times, seeded noise), a frozen clock (ages don't
move), fixed terminal sizes, one dark and one light theme. Update with
``pytest tests/test_snapshots.py --snapshot-update`` after an intended change, and look at the
report before committing the SVGs.
"""

from __future__ import annotations

import pytest
from app_fixtures import NOW, fixed_store

from tui.app.app import AppOptions, make_app

THEMES = ["tbpeek-dark", "tbpeek-light"]


def app_for(theme: str):
    return make_app(store=fixed_store(), options=AppOptions(clock=lambda: NOW, theme=theme))


@pytest.mark.parametrize("theme", THEMES)
def test_overview(snap_compare, theme):
    assert snap_compare(app_for(theme), terminal_size=(120, 24))


@pytest.mark.parametrize("theme", THEMES)
def test_detail(snap_compare, theme):
    assert snap_compare(app_for(theme), press=["enter"], terminal_size=(110, 40))


@pytest.mark.parametrize("theme", THEMES)
def test_compact(snap_compare, theme):
    assert snap_compare(app_for(theme), terminal_size=(60, 12))


def test_overlay_detail(snap_compare):
    assert snap_compare(app_for("tbpeek-dark"), press=["space", "j", "space", "enter"], terminal_size=(110, 40))
