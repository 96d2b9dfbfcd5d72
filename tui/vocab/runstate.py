"""The one run-state rule: is a run live, stalled or ended? (DIAGNOSTICS.md §4 "Stall", §5)

Everything that shows or uses a run's state (the app's state column, the review, ``check``'s
stall verdict, the status line's "ended" runs) calls `liveness` / `run_state`, so they can't
disagree. The rule, over plain numbers:

- A run that never wrote has ended (nothing to wait for), unless its writer is known alive.
- Evidence about the writer process wins over the clock: a writer that has exited means the
  run has *ended*; a silent run whose writer is alive is *stalled* (hung), however long.
- Without that evidence (``writer_alive=None``), the clock decides: a run is *live* while it has
  been silent for less than ``max(floor, warn x usual gap)`` (floor 120 s: writers may flush
  every 120 s); past that it is *stalled*, and *ended* once silent for ``ended_after`` (a day),
  or at once in review mode (the person asked about finished work).
- A stall is an alarm (not just a warning) past ``max(2 x floor, alarm x usual gap)``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

STALL_FLOOR = 120.0  # seconds of silence that never count as a stall (writers flush every 120 s)
STALL_WARN = 5.0  # times the usual gap between records: stalled
STALL_ALARM = 10.0  # times the usual gap: the stall is an alarm
ENDED_AFTER = 86400.0  # live mode: silent this long = ended, not stalled
MODES = ("live", "review")


class RunState(str, enum.Enum):
    """A run's life: ``live``, ``stalled`` or ``ended`` (compares equal to the word)."""

    LIVE = "live"
    STALLED = "stalled"
    ENDED = "ended"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class StallRule:
    """The thresholds of the rule (the health options' `Thresholds` carry the user's values)."""

    floor: float = STALL_FLOOR
    warn: float = STALL_WARN
    alarm: float = STALL_ALARM
    ended_after: float = ENDED_AFTER

    def stalled_at(self, usual_gap: float | None) -> float:
        """Seconds of silence after which a run is stalled."""
        return max(self.floor, self.warn * (usual_gap or 0.0))

    def alarm_at(self, usual_gap: float | None) -> float:
        """Seconds of silence after which a stall is an alarm."""
        return max(2 * self.floor, self.alarm * (usual_gap or 0.0))


DEFAULT_RULE = StallRule()


@dataclass(frozen=True)
class Liveness:
    """The state of a run at one moment, and the numbers behind it.

    Attributes:
        state: live, stalled or ended.
        silent: seconds since the last write (None: never wrote).
        usual_gap: the usual seconds between records, if known.
        stalled_at: the silence after which the run counts as stalled.
        alarm_at: the silence after which a stall is an alarm.
        basis: what decided: "writer exited", "writer alive", "clock" or "no writes".
    """

    state: RunState
    silent: float | None
    usual_gap: float | None
    stalled_at: float
    alarm_at: float
    basis: str

    @property
    def alarm(self) -> bool:
        """A stall long enough to be an alarm."""
        return self.state is RunState.STALLED and self.silent is not None and self.silent >= self.alarm_at


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def liveness(last_write: float | None, now: float, usual_gap: float | None = None, *,
             mode: str = "live", writer_alive: bool | None = None,
             rule: StallRule = DEFAULT_RULE) -> Liveness:
    """Apply the run-state rule (see the module docstring).

    Args:
        last_write: wall time (epoch seconds) of the run's last record or write; None: never.
        now: the moment to judge at (epoch seconds).
        usual_gap: the run's usual seconds between records (None or <= 0: unknown, the floor
            alone decides).
        mode: "live" (a silent run is stalled until `rule.ended_after`) or "review" (a silent
            run has ended).
        writer_alive: whether the process writing the run is still running (from the PID and
            host in its event file names); None: no evidence, the clock decides.
        rule: the thresholds.

    Raises:
        ValueError: an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'live' or 'review', not {mode!r}")
    gap = _finite(usual_gap)
    gap = gap if gap is not None and gap > 0 else None
    stalled_at, alarm_at = rule.stalled_at(gap), rule.alarm_at(gap)
    last = _finite(last_write)
    if last is None:
        state = RunState.LIVE if writer_alive else RunState.ENDED
        return Liveness(state, None, gap, stalled_at, alarm_at, "no writes")
    silent = max(0.0, now - last)  # a clock ahead of ours is not silence

    def out(state: RunState, basis: str) -> Liveness:
        return Liveness(state, silent, gap, stalled_at, alarm_at, basis)

    if writer_alive is False:
        return out(RunState.ENDED, "writer exited")
    if silent < stalled_at:
        return out(RunState.LIVE, "clock")
    if writer_alive:
        return out(RunState.STALLED, "writer alive")
    if mode == "review" or silent >= rule.ended_after:
        return out(RunState.ENDED, "clock")
    return out(RunState.STALLED, "clock")


def run_state(last_write: float | None, now: float, usual_gap: float | None = None, *,
              mode: str = "live", writer_alive: bool | None = None,
              rule: StallRule = DEFAULT_RULE) -> RunState:
    """Live, stalled or ended: `liveness` without the numbers."""
    return liveness(last_write, now, usual_gap, mode=mode, writer_alive=writer_alive, rule=rule).state
