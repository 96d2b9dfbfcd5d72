"""Severity and Verdict: the result type of every health check, and how bad it is."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered: a larger value is worse (``OK < INFO < WARN < ALARM``)."""

    OK = 0
    INFO = 1
    WARN = 2
    ALARM = 3

    @property
    def label(self) -> str:
        """The word: ``ok``, ``info``, ``warn``, ``alarm``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"warn"`` (any case, spaces around) -> `Severity.WARN`.

        Raises:
            ValueError: not one of the four words; the message lists them.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use ok, info, warn or alarm") from None

    @classmethod
    def coerce(cls, value: int | str | Severity) -> Severity:
        """A severity from its word or its number (as stored in caches and logs).

        Raises:
            ValueError: neither a known word nor 0..3.
        """
        if isinstance(value, str):
            return cls.parse(value)
        try:
            return cls(int(value))
        except ValueError:
            raise ValueError(f"unknown severity {value!r}: use 0 to 3") from None


WORDS: tuple[str, ...] = tuple(s.label for s in Severity)


_SET = object.__setattr__


@dataclass(frozen=True, init=False)  # (its __init__ below: the generated one's 7 frozen setattrs cost twice as much)
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

    def __init__(self, metric: str, kind: str, severity: Severity, reason: str, since_step: int | None = None,
                 since_wall_time: float | None = None, evidence: dict[str, Any] | None = None) -> None:
        """The dataclass's own __init__ (fields in order; `evidence` a new dict when not given), its
        fields set as one dict: a sweep's check makes tens of thousands of verdicts."""
        _SET(self, "__dict__", {"metric": metric, "kind": kind, "severity": severity, "reason": reason,
                                "since_step": since_step, "since_wall_time": since_wall_time,
                                "evidence": {} if evidence is None else evidence})

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.label
        return d


def worst(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The most severe verdict (first of equals), or None for no verdicts."""
    best: Verdict | None = None
    for v in verdicts:
        if best is None or v.severity > best.severity:
            best = v
    return best
