"""Statistics of the look log and `tbpeek looks`."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from tui.cli import main
from tui.looks.log import Look, append_look, default_path
from tui.looks.stats import daily_stats

UTC = timezone.utc


def at(day: int, hh: int, mm: int = 0) -> float:
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC).timestamp()


def test_daily_stats_counts_gaps_share_and_hours():
    looks = [
        Look(start=at(1, 9), end=at(1, 9, 3), trigger="scheduled", found_new=False),
        Look(start=at(2, 9), end=at(2, 9, 3), trigger="scheduled", found_new=False),
        Look(start=at(2, 9, 20), end=at(2, 9, 21), trigger="override", reason="x y z", found_new=False),
        Look(start=at(2, 10), end=at(2, 10, 3), trigger="alarm", run="ppo", found_new=True),
        Look(start=at(2, 14), end=None, trigger="scheduled", found_new=None),
        Look(start=at(3, 1), trigger="scheduled"),  # tomorrow: not in range
    ]
    d1, d2 = daily_stats(looks, days=2, now=at(2, 18), tz=UTC)
    assert str(d1.day) == "2026-03-01" and d1.looks == 1 and d1.median_gap is None
    assert (d2.looks, d2.scheduled, d2.overrides, d2.alarms) == (4, 2, 1, 1)
    assert d2.median_gap == 40 * 60  # gaps 20m, 40m, 4h
    assert d2.nothing_new == pytest.approx(2 / 3)  # the open look's is unknown
    assert d2.looked_seconds == (3 + 1 + 3) * 60
    assert d2.by_hour[9] == 2 and d2.by_hour[10] == 1 and d2.by_hour[14] == 1 and sum(d2.by_hour) == 4


def test_empty_days_are_listed():
    stats = daily_stats([], days=3, now=at(5, 12), tz=UTC)
    assert [s.looks for s in stats] == [0, 0, 0] and stats[0].nothing_new is None


def test_tbpeek_looks_prints_a_table_and_json(capsys):
    now = time.time()
    append_look(Look(start=now - 3600, end=now - 3500, found_new=False))
    append_look(Look(start=now - 60, end=now - 10, trigger="override", reason="a b c", found_new=True))
    with open(default_path(), "ab") as f:
        f.write(b"not json\n")
    assert main(["looks", "--days", "2"]) == 0
    out, err = capsys.readouterr()
    assert "2 looks; 50% of them found nothing new." in out
    assert "skipped a damaged entry" in err
    assert main(["looks", "--json", "--days", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    today = data["days"][-1]
    assert today["overrides"] == 1 and sum(today["by_hour"]) == today["looks"]


def test_tbpeek_looks_usage_errors(capsys, tmp_path):
    assert main(["looks", "--days", "0"]) == 2
    assert main(["looks", "--log", str(tmp_path / "missing.jsonl")]) == 2
    assert "no look log" in capsys.readouterr().err
