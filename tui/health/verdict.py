"""The result type of every health check."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered: a larger value is worse."""

    OK = 0
    INFO = 1
    WARN = 2
    ALARM = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use ok, info, warn or alarm") from None


@dataclass(frozen=True)
class Verdict:
    """One check's judgement of one metric of one run.

    Attributes:
        metric: what was judged: "entropy", "throughput", "reward", "kl", "explained_variance", …
        kind: the state, e.g. "healthy", "pinned_at_max", "slow_decay" (see DIAGNOSTICS.md).
        severity: ok / info / warn / alarm.
        reason: one line in plain words, with numbers.
        since_step: the step since which this state holds (None if unknown).
        since_wall_time: the wall time (epoch seconds) since which this state holds.
        evidence: the numbers the check used (JSON-serialisable).
    """

    metric: str
    kind: str
    severity: Severity
    reason: str
    since_step: int | None = None
    since_wall_time: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.label
        return d


def worst(verdicts) -> Verdict | None:
    """The most severe verdict (first of equals), or None for no verdicts."""
    best: Verdict | None = None
    for v in verdicts:
        if best is None or v.severity > best.severity:
            best = v
    return best
