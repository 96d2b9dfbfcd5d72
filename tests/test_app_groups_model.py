"""Folding seed groups into overview rows, and a group's band as chart lines (pure)."""

from __future__ import annotations

import math

import numpy as np

from tui.groups import group_band
from tui.health.verdict import Severity, Verdict
from tui.live.chart import band_lines
from tui.live.model import RunView, fold_groups, median_spark
from tui.store import Series


def view(name, sev=Severity.OK, version=1, spark=(1.0, 2.0, 3.0), last_write=100.0, last_step=10, problems=None):
    return RunView(name=name, version=version, verdicts=(Verdict("entropy", sev.label, sev, "why"),),
                   spark={"entropy": tuple(spark)}, last_step=last_step, last_write=last_write,
                   problems=problems or {})


def test_fold_groups_makes_one_row_per_seed_group_with_k_of_n_healthy():
    views = [view("ppo_seed1"), view("ppo_seed2", Severity.ALARM, version=5, problems={"f": "bad"}),
             view("ppo_seed3", Severity.INFO, last_write=300.0, last_step=30), view("solo")]
    rows, groups = fold_groups(views)
    by_name = {v.name: v for v in rows}
    assert set(by_name) == {"ppo_seed*", "solo"}
    g = by_name["ppo_seed*"]
    assert g.is_group and g.members == ("ppo_seed1", "ppo_seed2", "ppo_seed3")
    assert g.healthy == 2  # info counts as healthy
    assert g.severity == Severity.ALARM  # the worst member's verdicts: sorts and colours like it
    assert g.version == 7 and g.last_write == 300.0 and g.last_step == 30
    assert g.problems == {"ppo_seed2: f": "bad"}
    assert groups["ppo_seed*"].n == 3
    assert not by_name["solo"].is_group and by_name["solo"] is views[3]


def test_fold_groups_version_moves_when_any_member_moves():
    a, _ = fold_groups([view("x_s1", version=3), view("x_s2", version=4)])
    b, _ = fold_groups([view("x_s1", version=3), view("x_s2", version=9)])
    assert a[0].version != b[0].version


def test_fold_groups_custom_pattern():
    rows, groups = fold_groups([view("a.r1"), view("a.r2")], pattern=r"\.r(\d+)$")
    assert [v.name for v in rows] == ["a.r*"] and groups["a.r*"].members == ("a.r1", "a.r2")


def test_median_spark_elementwise_and_stretches_short_ones():
    assert median_spark([(1.0, 5.0), (2.0, 6.0), (3.0, 100.0)]) == (2.0, 6.0)
    out = median_spark([(0.0, 1.0, 2.0), (0.0, 2.0), ()])
    assert len(out) == 3 and out[0] == 0.0 and out[-1] == 2.0
    assert median_spark([]) == ()
    nan = median_spark([(float("nan"), 1.0), (float("nan"), 3.0)])
    assert math.isnan(nan[0]) and nan[1] == 2.0


def test_band_lines_min_max_faint_median_heavy_and_last():
    s = [Series(np.arange(10) * 100, 1e9 + np.arange(10) * 5.0, np.full(10, float(k))) for k in (1, 2, 4)]
    band = group_band(s, points=20)
    lines = band_lines(band, (1, 2, 3), (9, 9, 9))
    assert [ln.label for ln in lines] == ["min", "max", "median"]
    assert lines[-1].marker == "hd" and lines[-1].color == (1, 2, 3)
    assert lines[0].color == lines[1].color == (9, 9, 9) and lines[0].marker == "braille"
    assert np.allclose(lines[0].values, 1) and np.allclose(lines[1].values, 4) and np.allclose(lines[2].values, 2)
    rel = band_lines(group_band(s, points=20, x="wall"), (1, 2, 3), (9, 9, 9), "relative")
    assert rel[0].wall_times[0] == 0 and rel[0].wall_times[-1] == 45.0
    assert band_lines(group_band([]), (1, 2, 3), (9, 9, 9)) == ()
