"""The log-scale chart over awkward series (issue 14.1: a constant learning rate of 0.007
crashed the detail's log view with "math domain error" in plotext's log10 of its limits)."""

from __future__ import annotations

import math

import numpy as np
import plotext
import pytest

from tui.live.chart import ChartSpec, Line, log_ticks, render


def _line(values: list[float]) -> Line:
    v = np.asarray(values, dtype=np.float64)
    steps = np.arange(len(v), dtype=np.int64) * 1000
    return Line("lr", steps, 1e9 + steps / 10.0, v, (255, 0, 0))


def _plain(spec: ChartSpec) -> list[str]:
    return plotext.uncolorize(render(spec)).splitlines()


@pytest.mark.parametrize("values", [
    [0.007] * 50,  # the demo's charts/learning_rate
    [1.0] * 3,
    [5e-324] * 4,  # the smallest positive double: log10 is finite
    [1.7e308, 1.7e308],
    [0.007] * 49 + [0.0071],
    [0.0, 0.007, 0.007],  # a zero among positives
    [-1.0, 0.007, float("nan"), float("inf"), 0.007],
    [5e-324, 1.7e308],
])
def test_log_scale_draws_every_series_with_a_positive_value(values):
    spec = ChartSpec("t", (_line(values),), width=50, height=12, log_y=True, markers=((1000, (0, 255, 0)),))
    lines = _plain(spec)
    assert len(lines) == 12 and any(ch in "".join(lines) for ch in "⠁⠉⣀⠒⠤")


def test_a_constant_series_in_log_scale_is_labelled_with_its_value():
    text = "\n".join(_plain(ChartSpec("lr", (_line([0.007] * 30),), width=50, height=12, log_y=True)))
    assert "0.007┤" in text


def test_log_ticks_are_labelled_in_values_not_logarithms():
    text = "\n".join(_plain(ChartSpec("t", (_line([1.0, 10.0, 100.0, 1000.0]),), width=50, height=12, log_y=True)))
    for label in ("1k┤", "100┤", "10┤", "1┤"):
        assert label in text


@pytest.mark.parametrize("values", [[0.0] * 5, [-3.0] * 5, [float("nan")] * 3, [float("-inf"), -1.0]])
def test_log_scale_without_positive_values_says_so(values):
    assert "no positive values" in render(ChartSpec("t", (_line(values),), width=40, height=10, log_y=True))


@pytest.mark.parametrize("values", [[0.0] * 5, [-3.0] * 5, [0.007] * 5])
def test_linear_constant_series_still_draw(values):
    assert len(_plain(ChartSpec("t", (_line(values),), width=40, height=10))) == 10


def test_log_ticks():
    assert log_ticks(0.0, 3.0, 4) == [0.0, 1.0, 2.0, 3.0]
    assert log_ticks(-2.15, -2.15) == [-2.15]
    assert len(log_ticks(-300.0, 300.0, 4)) <= 5
    inside = log_ticks(math.log10(2.0), math.log10(8.0), 3)
    assert inside and all(math.log10(2.0) <= p <= math.log10(8.0) for p in inside)
    assert log_ticks(float("nan"), 1.0) == []
