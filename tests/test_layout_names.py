"""The overview's fitting rules (tui.live.layout): names cut on word boundaries into forms no
other name could be read as; sparklines narrowed, then dropped, before names; the footer."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.app.widgets.footer import fit_keys
from tui.live.layout import (
    ELLIPSIS,
    READABLE_NAME,
    fit_names,
    name_target,
    plan_columns,
    shortest_unique,
    word_forms,
)

DEMO = ["qbert_ppo_nan", "seaquest_ppo_pinned", "spaceinvaders_ppo_fps_leak", "breakout_a2c_collapse",
        "cartpole_ppo_stall", "pong_ppo_healthy"]
SUB = ["sub/seaquest_ppo_pinned", "sub/seaquest_a2c_pinned", "sub/spaceinvaders_ppo_fps_leak",
       "sub/breakout_a2c_collapse"]
BOUNDARY = re.compile(r"[_\-/.:\s]")


def on_word_boundaries(name: str, shown: str) -> bool:
    """`shown` is `name` whole, or a head and a tail of it that end / start at a separator."""
    if shown == name:
        return True
    head, tail = shown.split(ELLIPSIS)
    head_ok = head == "" or (name.startswith(head) and BOUNDARY.match(name[len(head)]) is not None)
    tail_ok = tail == "" or (name.endswith(tail) and BOUNDARY.match(name[-len(tail) - 1]) is not None)
    return head_ok and tail_ok


def test_word_forms_cut_whole_words_and_drop_the_separators_at_the_cut():
    forms = {h + ELLIPSIS + t for h, t in word_forms("seaquest_ppo_pinned")}
    assert forms == {"seaquest…", "seaquest_ppo…", "…pinned", "…ppo_pinned", "seaquest…pinned"}


def test_a_name_that_fits_is_whole_and_a_cut_one_keeps_whole_words():
    shown = fit_names(DEMO, 20)
    assert shown["seaquest_ppo_pinned"] == "seaquest_ppo_pinned"  # not seaqu…pinned
    assert shown["breakout_a2c_collapse"] == "breakout…collapse"
    for name, s in shown.items():
        assert len(s) <= 20 and on_word_boundaries(name, s), (name, s)


def test_runs_under_one_prefix_never_read_alike():
    for width in range(name_target(SUB), 31):
        shown = fit_names(SUB, width)
        assert len(set(shown.values())) == len(SUB), (width, shown)
        assert not any(s.startswith("sub/s…") for s in shown.values())
    shown = fit_names(SUB, 14)
    assert shown["sub/seaquest_ppo_pinned"] != shown["sub/seaquest_a2c_pinned"]
    assert "ppo" in shown["sub/seaquest_ppo_pinned"] and "a2c" in shown["sub/seaquest_a2c_pinned"]


def test_fitting_is_deterministic_whatever_the_order():
    names = DEMO + SUB
    want = fit_names(names, 16)
    for seed in range(5):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        assert fit_names(shuffled, 16) == want


def test_shortest_unique_and_the_column_target():
    assert shortest_unique("sub/seaquest_ppo_pinned", SUB) == len("…ppo_pinned")
    assert shortest_unique("a_b", ["a_b", "a_c"]) == len("…b")
    # every name whole up to READABLE_NAME; never below a name's shortest unique form
    assert name_target(["short", "x" * 40]) == READABLE_NAME
    assert name_target(["pong"]) == 4
    twins = [f"exp/{'long_common_part_' * 2}{k}_seed1" for k in ("aa", "bb")]
    assert name_target(twins) >= shortest_unique(twins[0], twins)


def test_a_long_unbroken_name_is_cut_inside_a_word_rather_than_to_a_stub():
    name = "averyveryverylongrunnamewithoutseparators_1"
    shown = fit_names([name, "other"], 20)[name]
    assert len(shown) == 20 and shown != f"{ELLIPSIS}1" and shown.endswith("_1")


NAMES = st.lists(st.text(alphabet="ab_/-1", min_size=1, max_size=14), min_size=1, max_size=12, unique=True)


@settings(max_examples=150, deadline=None)
@given(NAMES, st.integers(min_value=0, max_value=6))
def test_at_the_target_width_every_name_reads_as_itself_only(names, extra):
    width = name_target(names) + extra
    shown = fit_names(names, width)
    assert set(shown) == set(names)
    assert len(set(shown.values())) == len(names)  # no two runs read alike
    for name, s in shown.items():
        assert len(s) <= max(width, 1)
        if s != name:  # a cut form is consistent with this name and no other
            head, tail = s.split(ELLIPSIS)
            readers = [n for n in names if n.startswith(head) and n.endswith(tail) and len(n) > len(head) + len(tail)]
            assert readers == [name], (s, readers)


def test_plan_narrows_then_drops_steps_per_second_then_reward():
    fixed, pad = 50, 2
    # wide: everything, at the widest sparkline
    assert plan_columns(200, fixed, 20, pad=pad).sparks == ("entropy", "reward", "throughput")
    plans = [plan_columns(w, fixed, 20, pad=pad) for w in range(140, 60, -1)]
    seen = []
    for p in plans:
        key = (p.sparks, p.spark_width)
        if not seen or seen[-1] != key:
            seen.append(key)
        assert p.name_width >= 20 or p.sparks == ()
    roles_seen = [s for s, _ in seen]
    assert roles_seen.index(("entropy", "reward")) > roles_seen.index(("entropy", "reward", "throughput"))
    assert roles_seen.index(("entropy",)) > roles_seen.index(("entropy", "reward"))
    assert roles_seen[-1] == ()
    # within three columns, they narrow (16, 12, 8) before one is dropped
    widths3 = [w for s, w in seen if len(s) == 3]
    assert widths3 == sorted(widths3, reverse=True) and len(widths3) == 3


def test_the_footer_leaves_whole_keys_out_and_keeps_help_and_quit():
    keys = [("toggle_select", "space", "Pick"), ("filter", "/", "Filter"), ("cycle_sort", "o", "Sort"),
            ("app.toggle_groups", "g", "Seed groups"), ("note", "n", "Note"), ("app.change_theme", "t", "Theme"),
            ("app.quit", "q", "Quit"), ("app.help", "?", "Help"), ("app.review", "r", "Review"),
            ("command_palette", "^p", "palette")]
    assert fit_keys(keys, 200) == set()
    dropped = fit_keys(keys, 80)
    assert dropped and {"app.quit", "app.help"}.isdisjoint(dropped)
    assert "app.change_theme" in dropped  # least needed first
    kept = sum(len(k) + len(d) + 3 for a, k, d in keys if a not in dropped)
    assert kept + (2 if "command_palette" not in dropped else 0) <= 80
    assert {"app.quit", "app.help"}.isdisjoint(fit_keys(keys, 20))


def test_the_status_line_leaves_out_the_least_needed_parts_first():
    from tui.live.layout import fit_status

    parts = [(0, "6 runs: 3 healthy · 1 warn · 2 alarm"), (4, "sort: worst"), (5, "inotify"),
             (1, "look · 2:31 left (e: end now)")]
    wide = fit_status(parts, 200)
    assert wide == "6 runs: 3 healthy · 1 warn · 2 alarm  ·  sort: worst  ·  inotify  ·  look · 2:31 left (e: end now)"
    narrow = fit_status(parts, 78)
    assert narrow == "6 runs: 3 healthy · 1 warn · 2 alarm  ·  look · 2:31 left (e: end now)"  # the look stays
    assert fit_status(parts, 10) == narrow  # the summary and the look always (the edge cuts them)
    assert fit_status(parts, 200, compact=True) == narrow
