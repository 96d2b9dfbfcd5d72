"""The app's pure parts: EMA, sparklines, ages, states, sorting, filter, summary, themes, charts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.health.verdict import Severity, Verdict
from tui.live.model import (
    RunView,
    compile_filter,
    ema,
    run_state,
    sort_views,
    summary,
    summary_text,
    tag_groups,
)
from tui.spark import sparkline
from tui.vocab import fmt_age


def tensorboard_ema(values, weight):
    """TensorBoard's scalar dashboard smoothing, transcribed (debiased, skips non-finite)."""
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight**n))
    return out


def test_ema_matches_tensorboard_and_is_debiased():
    vals = [5.0, 5.0, 5.0, 1.0, float("nan"), 3.0]
    got = ema(np.array(vals), 0.6)
    want = tensorboard_ema(vals, 0.6)
    np.testing.assert_allclose(got, want, equal_nan=True)
    assert got[0] == pytest.approx(5.0)  # debiased: a constant start stays at its value
    assert np.isnan(got[4])


def test_ema_zero_weight_is_identity_and_rejects_one():
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ema(v, 0.0), v)
    with pytest.raises(ValueError):
        ema(v, 1.0)


def test_sparkline_width_range_nan_and_flat():
    s = sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)
    assert s == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, float("nan"), 2.0], 3) == "▁×█"
    assert sparkline([3.0] * 5, 5) == "▄▄▄▄▄"
    assert sparkline([1.0, 2.0], 6) == "    ▁█"  # short series: right-aligned
    assert len(sparkline(list(range(1000)), 16)) == 16
    assert sparkline([], 4) == "    "


def test_sparkline_of_a_pinned_entropy_is_flat_not_noise():
    pinned = 1.6094 + np.random.default_rng(0).normal(0, 0.0003, 12)  # ln 5, sd 0.0003
    line = sparkline(pinned, 12)
    assert set(line) <= set("▃▄▅"), line  # full height would be ▁…█
    falling = 1.6 * np.exp(-np.arange(12) / 3)  # a real change still spans the whole height
    assert sparkline(falling, 12)[0] == "█" and sparkline(falling, 12)[-1] == "▁"
    # On entropy's own scale (0..max) a pinned run runs along the top, a collapse ends at the bottom.
    assert set(sparkline(pinned, 12, (0.0, 1.6094))) == {"█"}
    assert sparkline(falling, 12, (0.0, 1.79))[-1] == "▁" and sparkline(falling, 12, (0.0, 1.79))[0] == "▇"


def test_entropy_sparkline_bounds_come_from_the_verdicts_maximum():
    from tui.health.verdict import Severity, Verdict
    from tui.live.views import entropy_bounds

    pinned = Verdict("entropy", "pinned_at_max", Severity.WARN, "", evidence={"h_max": 1.79})
    assert entropy_bounds([pinned], (1.7, 1.8)) == {"entropy": (0.0, 1.8)}
    assert entropy_bounds([Verdict("entropy", "too_early", Severity.INFO, "")], (1.0,)) == {}


def test_age_and_state():
    assert fmt_age(5) == "0s" and fmt_age(47) == "40s" and fmt_age(125) == "2m" and fmt_age(7300) == "2h" and fmt_age(2 * 86400) == "2d" and fmt_age(800 * 86400) == "2y"
    assert fmt_age(None) == "—"
    assert run_state(30) == "live"
    assert run_state(600) == "stalled"
    assert run_state(2 * 86400) == "ended"
    assert run_state(7200, ended_after=3600) == "ended"
    assert run_state(None) == "ended"


def _view(name, sev=None, last_write=None, problems=None):
    verdicts = () if sev is None else (Verdict("entropy", "pinned_at_max", sev, "r"),)
    return RunView(name=name, version=1, verdicts=verdicts, last_write=last_write, problems=problems or {})


def test_sort_worst_name_age():
    vs = [_view("b", Severity.OK, 10), _view("a", Severity.ALARM, 5), _view("c", Severity.WARN, 20)]
    assert [v.name for v in sort_views(vs, "worst", 30)] == ["a", "c", "b"]
    assert [v.name for v in sort_views(vs, "name", 30)] == ["a", "b", "c"]
    assert [v.name for v in sort_views(vs, "age", 30)] == ["c", "b", "a"]
    with pytest.raises(ValueError):
        sort_views(vs, "size", 0)


def test_badge_words():
    assert _view("x", Severity.ALARM).badge() == "pinned"
    assert _view("x", Severity.INFO).badge() == "pinned"  # info: worth a word, in the info colour
    assert RunView("x", 1, (Verdict("entropy", "healthy", Severity.OK, "r"),)).badge() == "ok"
    assert _view("x").badge() == "—"


def test_filter_regex_and_error():
    m = compile_filter("^pong")
    assert m("pong-1") and not m("breakout-pong")
    assert compile_filter("")("anything")
    assert compile_filter("PONG")("pong")  # case-insensitive
    with pytest.raises(ValueError, match="bad filter regex"):
        compile_filter("(")


def test_summary_counts():
    vs = [_view("a", Severity.OK), _view("b", Severity.INFO), _view("c", Severity.WARN), _view("d", Severity.ALARM)]
    counts = summary(vs)
    assert counts == {"healthy": 2, "warn": 1, "alarm": 1}
    assert summary_text(counts, 4, 4) == "4 runs: 2 healthy · 1 warn · 1 alarm"
    assert summary_text(counts, 2, 4).startswith("2/4 runs")
    many = {"healthy": 2990, "warn": 6, "alarm": 4}
    assert summary_text(many, 1200, 3000) == "1 200/3 000 runs: 2 990 healthy · 6 warn · 4 alarm"


def test_tag_groups_roles_first_then_prefix():
    groups = tag_groups(["b/x", "a/y", "loss", "b/a"], first=["loss"])
    assert groups == [("roles", ["loss"]), ("a", ["a/y"]), ("b", ["b/a", "b/x"])]


# ---- themes ----------------------------------------------------------------------------------
def test_shipped_themes_load_with_one_light(tmp_path):
    from tui.app.themes import load_themes, theme_dirs

    loaded = load_themes(theme_dirs())
    assert loaded.problems == []
    names = set(loaded.themes)
    assert {"tbpeek-dark", "tbpeek-light", "tbpeek-dusk"} <= names
    assert any(not t.dark for t in loaded.themes.values())
    for t in loaded.themes.values():
        assert {"verdict-ok", "verdict-warn", "verdict-alarm"} <= set(t.variables)


def test_bad_theme_files_become_problems_not_crashes(tmp_path):
    from tui.app.themes import load_themes

    (tmp_path / "good.toml").write_text('name = "mine"\ndark = false\nprimary = "#112233"\n')
    (tmp_path / "badcolor.toml").write_text('name = "x"\ndark = true\nprimary = "notacolour"\n')
    (tmp_path / "broken.toml").write_text('name = "y\n')
    (tmp_path / "unknown.toml").write_text('name = "z"\ndark = true\nprimary = "#000000"\nfoo = 1\n')
    loaded = load_themes([tmp_path])
    assert list(loaded.themes) == ["mine"]
    text = "\n".join(loaded.problems)
    assert "badcolor.toml" in text and "not a colour" in text
    assert "broken.toml" in text and "not valid TOML" in text
    assert "unknown.toml" in text and "foo" in text


def test_user_theme_dir_overrides(tmp_path, monkeypatch):
    from tui.app.themes import load_themes, theme_dirs

    monkeypatch.setenv("TBPEEK_CONFIG_DIR", str(tmp_path))
    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "dark.toml").write_text('name = "tbpeek-dark"\ndark = true\nprimary = "#010203"\n')
    assert theme_dirs()[-1] == tmp_path / "themes"
    assert load_themes().themes["tbpeek-dark"].primary == "#010203"


def test_verdict_colors_fall_back_for_builtin_themes():
    from textual.theme import BUILTIN_THEMES

    from tui.app.themes import verdict_colors

    c = verdict_colors(BUILTIN_THEMES["nord"])
    assert c["verdict-alarm"] == BUILTIN_THEMES["nord"].error
    assert c["muted"].startswith("#") and len(c["muted"]) == 7  # no alpha: Rich can't parse it


# ---- charts ----------------------------------------------------------------------------------
def _line(values, color=(255, 0, 0), label="a"):
    v = np.asarray(values, dtype=float)
    steps = np.arange(v.size, dtype=np.int64)
    return __import__("tui.live.chart", fromlist=["Line"]).Line(label, steps, 1e9 + steps * 10.0, v, color)


def test_chart_renders_title_axes_and_legend():
    from rich.text import Text

    from tui.live.chart import ChartSpec, render

    out = render(ChartSpec("loss", (_line(np.linspace(1, 2, 50)), _line(np.linspace(2, 3, 50), label="b")),
                           60, 12, legend=True))
    plain = Text.from_ansi(out).plain
    assert "loss" in plain.splitlines()[0]
    assert "┤" in plain and "2.0" in plain
    assert " b " in plain  # the legend names each overlaid run


def test_chart_log_scale_without_positive_values_says_so():
    from tui.live.chart import ChartSpec, render

    out = render(ChartSpec("neg", (_line([-1.0, -2.0, -3.0]),), 40, 8, log_y=True))
    assert "no positive values" in out


def test_chart_does_not_touch_plotext_global_figure():
    import plotext

    from tui.live.chart import ChartSpec, render

    before = plotext.figure.build().string()
    render(ChartSpec("x", (_line([1.0, 2.0, 3.0]),), 40, 8))
    assert plotext.figure.build().string() == before


def test_shorten_cuts_the_middle():
    from tui.live.model import shorten

    assert shorten("short", 10) == "short"
    s = shorten("pong-end_to_end-synthetic_prefs-1_81a378f/a2c_misc", 20)
    assert len(s) == 20 and s.startswith("pong-end_") and s.endswith("a2c_misc") and "…" in s


def test_last_write_is_the_older_of_mtime_and_wall_time():
    from tui.store import last_write_time

    assert last_write_time(2000.0, 1000.0) == 1000.0  # copied logs: fresh mtime, old events
    assert last_write_time(1000.0, 2000.0) == 1000.0  # trainer clock ahead
    assert last_write_time(None, 5.0) == 5.0 and last_write_time(None, None) is None
