"""Steps, numbers, durations and ages: one format each (tui.vocab.fmt)."""

import math

import pytest

from tui.vocab import fmt_age, fmt_duration, fmt_num, fmt_step, plural


@pytest.mark.parametrize("step, text", [
    (0, "0"), (950, "950"), (12_345, "12345"), (99_999, "99999"),
    (100_000, "100k"), (120_000, "120k"), (999_499, "999k"), (999_999, "1M"),
    (1_500_000, "1.5M"), (2_000_000, "2M"), (9_960_000, "10M"), (15_000_000, "15M"),
    (2_100_000_000, "2.1G"), (-1_500_000, "-1.5M"), (None, "—"), (math.nan, "—"),
])
def test_fmt_step(step, text):
    assert fmt_step(step) == text


def test_the_app_and_the_review_share_fmt_step():
    from tui.app.widgets.run_cells import fmt_step as app_step  # the overview's step column
    from tui.report.render_common import fmt_step as review_step

    assert app_step is fmt_step and review_step is fmt_step
    assert app_step(1_500_000) == "1.5M"  # the app printed "1500k" before


@pytest.mark.parametrize("x, text", [
    (None, "—"), (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (0.0, "0"), (-0.0, "0"),
    (3.0, "3"), (-3.2, "-3.2"), (123456.0, "123456"), (1 / 3, "0.3333"), (1234.5678, "1235"),
    (0.012345, "0.01235"), (2.5e-5, "2.5e-05"), (1.23456e8, "1.23e+08"), (123456.7, "1.23e+05"),
])
def test_fmt_num(x, text):
    assert fmt_num(x) == text


def test_fmt_num_digits():
    assert fmt_num(1 / 3, digits=6) == "0.333333"


@pytest.mark.parametrize("s, text", [
    (None, "?"), (math.inf, "?"), (-5, "0s"), (0, "0s"), (30, "30s"), (59.4, "59s"), (60, "1m"),
    (45 * 60, "45m"), (2 * 3600 + 5 * 60, "2h 05m"), (3 * 86400 + 4 * 3600, "3d 4h"),
])
def test_fmt_duration(s, text):
    assert fmt_duration(s) == text


@pytest.mark.parametrize("s, text", [
    (None, "—"), (math.nan, "—"), (5, "0s"), (47, "40s"), (125, "2m"), (7300, "2h"),
    (2 * 86400, "2d"), (800 * 86400, "2y"), (-3, "0s"),
])
def test_fmt_age(s, text):
    assert fmt_age(s) == text


def test_plural():
    assert plural(1, "run") == "1 run" and plural(0, "run") == "0 runs" and plural(2, "match", "matches") == "2 matches"
