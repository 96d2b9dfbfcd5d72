"""Snapshot tests (pytest-textual-snapshot) of the overview, detail and compact layouts.

Fixed data (tests/app_fixtures.py: fixed wall times, seeded noise), a frozen clock (ages don't
move), fixed terminal sizes, one dark and one light theme. Update with
``pytest tests/test_snapshots.py --snapshot-update`` after an intended change, and look at the
report before committing the SVGs.
"""

from __future__ import annotations

import pytest
from app_fixtures import NOW, fixed_store
from layout_helpers import GateApp, gate_info, long_store

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


# ---- issue 14: the sizes a newcomer uses (a wide pane, a laptop, 80x24, a 12-line split) ----
SIZES = {"80x24": (80, 24), "100x30": (100, 30), "120x35": (120, 35), "100x12": (100, 12)}


@pytest.mark.parametrize("size", list(SIZES))
def test_overview_sizes(snap_compare, size):
    """Long names under one prefix: names stay whole words and unambiguous; sparklines give
    way first; step and age stay on screen; the footer keeps whole keys."""
    app = make_app(store=long_store(), options=AppOptions(clock=lambda: NOW, theme="tbpeek-dark"))
    assert snap_compare(app, terminal_size=SIZES[size])


@pytest.mark.parametrize("size", list(SIZES))
def test_gate_sizes(snap_compare, size):
    """The gate with four alarms: its keys and its bottom border on screen at every size."""
    assert snap_compare(GateApp(gate_info(4)), terminal_size=SIZES[size])
