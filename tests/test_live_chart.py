"""Chart text without a terminal, and the one door to plotext's private figure API."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from tui.live.chart import ChartSpec, Line, render
from tui.live.plotext_figure import PRIVATE_NAMES, PlotextChanged, new_figure


def test_plotext_still_has_the_private_figure_api_we_use():
    """Fails loudly, naming the names, when a plotext release moves them: then
    tui/live/plotext_figure.py must follow the new API (and nothing else has to)."""
    mod = importlib.import_module("plotext._kernel.terminal")
    assert hasattr(mod, "terminal"), f"plotext lost {PRIVATE_NAMES[0]}"
    assert hasattr(mod.terminal(), "_master"), f"plotext lost {PRIVATE_NAMES[1]}"
    fig = new_figure(30, 8)
    for method in ("signal", "draw", "ruler", "title", "build", "theme", "canvas", "axes", "legend"):
        assert callable(getattr(fig, method, None)), f"plotext's figure has no {method}()"


def test_each_figure_is_its_own_and_the_global_one_is_untouched():
    import plotext

    a, b = new_figure(30, 8), new_figure(30, 8)
    assert a is not b and a is not plotext.figure


def test_a_missing_private_name_says_what_to_fix(monkeypatch):
    import plotext._kernel.terminal as term_mod

    monkeypatch.delattr(term_mod, "terminal")
    with pytest.raises(PlotextChanged, match=r"plotext._kernel.terminal.terminal.*plotext_figure.py"):
        new_figure(30, 8)


def test_render_draws_a_chart_of_the_asked_size_and_two_charts_do_not_mix():
    steps = np.arange(1, 101, dtype=np.int64)
    up = Line("up", steps, 1e9 + steps * 10.0, steps.astype(float), (255, 0, 0))
    down = Line("down", steps, 1e9 + steps * 10.0, -steps.astype(float), (0, 0, 255))
    one = render(ChartSpec("up", (up,), width=40, height=10))
    both = render(ChartSpec("both", (up, down), width=40, height=10))
    again = render(ChartSpec("up", (up,), width=40, height=10))
    assert one == again != both  # a chart drawn in between left nothing behind
    plain = importlib.import_module("plotext").uncolorize(one)
    lines = plain.splitlines()
    assert len(lines) == 10 and max(len(x) for x in lines) <= 40 and "up" in lines[0]


def test_render_without_finite_values_says_so():
    nan = Line("x", np.array([1, 2]), np.array([1e9, 1e9 + 1]), np.array([np.nan, np.inf]), (1, 2, 3))
    assert render(ChartSpec("t", (nan,), width=40, height=10)) == "t\n  (no finite values)"
    neg = Line("x", np.array([1, 2]), np.array([1e9, 1e9 + 1]), np.array([-1.0, 0.0]), (1, 2, 3))
    assert "no positive values" in render(ChartSpec("t", (neg,), width=40, height=10, log_y=True))
