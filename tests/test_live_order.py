"""The overview's row order kept between redraws (`tui.live.order.SortedViews`): always the
order a full sort gives, while placing only the views that changed."""

from __future__ import annotations

import random

import pytest

from tui.health.verdict import Severity, Verdict
from tui.live.model import RunView, sort_views
from tui.live.order import SortedViews


def view(name: str, sev: int, wrote: float | None, version: int = 0, problems: int = 0) -> RunView:
    verdicts = (Verdict(kind="x", severity=Severity(sev), reason="r", metric="m"),) if sev else ()
    return RunView(name=name, version=version, verdicts=verdicts, last_write=wrote,
                   problems={f"f{i}": "bad" for i in range(problems)})


def test_it_agrees_with_a_full_sort_through_random_changes():
    rng = random.Random(13)
    runs = {f"run-{i:04d}": view(f"run-{i:04d}", rng.randrange(4), rng.choice([None, 1e9 + rng.random() * 1e4]))
            for i in range(500)}
    order = SortedViews()
    for key in ("worst", "age", "name"):
        for step in range(60):
            for name in rng.sample(sorted(runs), rng.randrange(0, 12)):  # a few runs judged again
                runs[name] = view(name, rng.randrange(4), 1e9 + rng.random() * 1e4, step, rng.randrange(2))
            if step % 20 == 7:  # a run vanishes, another appears
                runs.pop(rng.choice(sorted(runs)))
                runs[f"new-{step}"] = view(f"new-{step}", 3, None, step)
            shown = [v for v in runs.values() if not v.name.endswith("7")]  # a filter
            got = order.order(shown, key)
            assert [v.name for v in got] == [v.name for v in sort_views(shown, key)]
    assert order.full_sorts == 3  # once per sort key; every other redraw placed only what changed
    assert 0 < order.placed < 3 * 60 * 14


def test_many_changes_sort_everything_once_and_an_unknown_key_is_refused():
    order = SortedViews()
    vs = [view(f"r{i}", i % 4, float(i)) for i in range(100)]
    order.order(vs, "worst")
    again = [view(v.name, (v.severity + 1) % 4, v.last_write, 1) for v in vs]
    assert [v.name for v in order.order(again, "worst")] == [v.name for v in sort_views(again, "worst")]
    assert order.full_sorts == 2 and order.placed == 0
    with pytest.raises(ValueError, match="unknown sort"):
        order.order(vs, "size")
