"""Judging curve shapes: roles, entropy shapes, throughput, reward, KL, value checks (pure).

Public API::

    from tui.health import HealthOptions, RunHealth, VerdictChange, judge, judge_many, HealthTracker, role_series
    judge_many(snaps, opts, now)   # many runs at once: the same verdicts as judge on each, cheaper
    tui.health.parallel.judge_many_split(snaps, opts, now)   # the same, half in a forked worker (roles left out)
    tui.health.engine.judge_some(snaps, idx, opts, now)      # the runs at idx, beside their siblings among all
    health.summary.text   # the run's verdict in one sentence (RunSummary; `summarize` builds one)
"""

from typing import TYPE_CHECKING

from tui.health.engine import RunHealth, VerdictChange, judge, judge_many, role_series, siblings
from tui.health.options import HealthOptions, Thresholds
from tui.health.summary import RunSummary, summarize
from tui.health.verdict import Severity, Verdict, worst
from tui.vocab.lazy import lazy_names

if TYPE_CHECKING:
    from tui.health.tracker import HealthTracker, prefix, replay_history

# The live tracker's names are imported when first asked for: `check` judges once and never
# uses it (its module and classes were ~1.5 ms of check's start-up).
_LAZY = dict.fromkeys(("HealthTracker", "prefix", "replay_history"), "tracker")
__getattr__ = lazy_names(__name__, _LAZY)

__all__ = [
    "HealthOptions", "HealthTracker", "RunHealth", "RunSummary", "Severity", "Thresholds", "Verdict", "VerdictChange",
    "judge", "judge_many", "prefix", "replay_history", "role_series", "siblings", "summarize", "worst",
]
