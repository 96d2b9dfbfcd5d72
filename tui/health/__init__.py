"""Judging curve shapes: roles, entropy shapes, throughput, reward, KL, value checks (pure).

Public API::

    from tui.health import HealthOptions, RunHealth, VerdictChange, judge, HealthTracker, role_series
"""

from tui.health.engine import RunHealth, VerdictChange, judge, role_series, siblings
from tui.health.options import HealthOptions, Thresholds
from tui.health.tracker import HealthTracker, prefix, replay_history
from tui.health.verdict import Severity, Verdict, worst

__all__ = [
    "HealthOptions", "HealthTracker", "RunHealth", "Severity", "Thresholds", "Verdict", "VerdictChange",
    "judge", "prefix", "replay_history", "role_series", "siblings", "worst",
]
