"""The look budget: may the person see charts now? (pure; the clock is injected).

`LookBudget` is the one object the app talks to. It keeps no timers of its own: the app asks
`state(now)` a few times a second (the answer, a `GateInfo`, is everything the gate screen
shows), calls `start_look` / `end_look` on the person's keys, and feeds every fresh judgement
to `on_verdicts`, which returns the alarms that must break through.

Rules:
- A scheduled look is due ``every`` after the start of the previous look of any kind, by any
  tbpeek (the log is shared, so two tmux panes share one budget); a first look is due at once.
- No scheduled look is due in quiet hours, nor once the daily allowance is used up (scheduled
  and override looks count; alarms don't). The next look then waits for the end of the quiet
  hours or the next local midnight.
- A look lasts ``window``; then the gate returns. An override opens a look early with a
  written reason. An alarm opens one at once, in quiet hours too, and over the allowance.
- With the budget off, charts are always visible and the session is logged as one
  ``budget_off`` look.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

from tui.looks.log import LogFollower, Look, LookLogWarning, append_look, logdir_key
from tui.looks.settings import BudgetSettings
from tui.vocab import Severity

MIN_REASON_WORDS = 3
MIN_REASON_CHARS = 10
_HORIZON = 2 * 86400.0  # looks older than this never matter to the schedule


@dataclass(frozen=True)
class Alarm:
    """A run that newly reached a breakthrough verdict."""

    run: str
    reason: str
    metric: str
    kind: str
    severity: Severity
    at: float

    @property
    def label(self) -> str:
        """'alarm' or 'warn'."""
        return Severity.coerce(self.severity).label

    @property
    def headline(self) -> str:
        """``run: entropy collapsed`` — words only, no metric values: what the gate and the
        desktop notification say."""
        return f"{self.run}: {problem_text(self.metric, self.kind)}"

    @property
    def text(self) -> str:
        """``run: reason`` — the full reason, with its numbers (for the app's notice)."""
        return f"{self.run}: {self.reason}"


@dataclass(frozen=True)
class GateInfo:
    """Everything the gate shows, at one moment. No metric values, by design.

    Attributes:
        now: the moment this describes (epoch seconds).
        enabled: False with ``--no-budget`` (the gate is never shown).
        in_look: a look is open: the charts may be shown.
        look_trigger: the open look's trigger, if any.
        look_ends: when the open look's window ends.
        ending_soon: the open look ends within the notice period.
        due: a scheduled look may start now (``enter`` on the gate).
        next_look: when the next scheduled look is due (epoch seconds).
        countdown: seconds until ``next_look`` (0 when due).
        waiting_for: why the next look isn't now: "gap", "quiet hours" or "allowance"; "" if due.
        runs_watched: how many runs are being watched.
        alarms: runs currently at a breakthrough verdict (newest first).
        last_look: when the previous look started, by any tbpeek; None if never.
        last_found_new: whether it found anything new (None if unknown).
        looks_today: looks that count against the allowance, today.
        allowance: the daily allowance, if any.
    """

    now: float
    enabled: bool = True
    in_look: bool = False
    look_trigger: str | None = None
    look_ends: float | None = None
    ending_soon: bool = False
    due: bool = False
    next_look: float | None = None
    countdown: float = 0.0
    waiting_for: str = ""
    runs_watched: int = 0
    alarms: tuple[Alarm, ...] = ()
    last_look: float | None = None
    last_found_new: bool | None = None
    looks_today: int = 0
    allowance: int | None = None


# Kinds whose name doesn't read well after the metric's.
KIND_WORDS = {"nonfinite": "is NaN or infinite", "nan": "is NaN", "negative": "is negative",
              "zero": "is zero", "large": "is large", "growing": "keeps growing"}


def problem_text(metric: str, kind: str) -> str:
    """A verdict in words, never values: 'entropy collapsed', 'throughput slow decay',
    'reward is NaN or infinite'."""
    words = KIND_WORDS.get(kind) or kind.replace("_", " ")
    return words if words.startswith(metric) else f"{metric} {words}"


def validate_reason(text: str) -> str | None:
    """None if `text` is a good enough override reason, else what is missing."""
    words = text.split()
    if len(words) < MIN_REASON_WORDS or len(text.strip()) < MIN_REASON_CHARS:
        return f"say why in at least {MIN_REASON_WORDS} words (e.g. 'checking the new learning rate')"
    return None


def _signature(verdicts: Iterable[Any]) -> frozenset[tuple[str, str]]:
    """The part of a run's judgement whose change counts as 'something new'."""
    return frozenset((v.metric, v.kind) for v in verdicts if v.severity >= Severity.INFO)


@dataclass
class _Session:
    signatures: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)  # run -> latest signature
    seen: dict[str, frozenset[tuple[str, str]]] | None = None  # signatures at the end of this session's last look
    alarmed: dict[tuple[str, str, str], Alarm] = field(default_factory=dict)  # (run, metric, kind)
    judged_once: bool = False


class LookBudget:
    """The look budget of one tbpeek session.

    Args:
        settings: the budget's settings.
        logdirs: what is being watched (written to the log).
        clock: returns the time (epoch seconds); tests pass a fake.
        tz: the time zone of "today" and quiet hours; None: the local zone.
        log_path: overrides ``settings.log_path``; None: the default look log.

    All methods take an optional ``now``; without it the clock is asked. The log is never
    fatal: an OSError lands in ``last_error`` and damaged lines in ``warnings``, for the app to
    show (and clear); the budget keeps working in memory.
    """

    def __init__(self, settings: BudgetSettings | None = None, logdirs: Iterable[str] = (),
                 clock: Callable[[], float] = time.time, tz: tzinfo | None = None,
                 log_path: Any = None) -> None:
        self.settings = settings or BudgetSettings()
        self.logdirs = [str(d) for d in logdirs]
        self.clock = clock
        self.tz = tz
        # 1 MB is thousands of looks: far more than the two days the schedule looks back on.
        self._follower = LogFollower(log_path if log_path is not None else self.settings.log_path,
                                     tail_bytes=1 << 20)
        self._current: Look | None = None
        self._ends: float | None = None  # when the open look's window ends (an alarm extends it)
        self._runs: list[str] = []
        self._s = _Session()
        self._started = False
        self.last_error: OSError | None = None
        self.warnings: list[str] = []  # damaged log lines; the app shows and clears them

    # ---- session ----------------------------------------------------------------------------
    def begin(self, now: float | None = None) -> None:
        """Start the session: with the budget off, open (and log) the ``budget_off`` look."""
        now = self._now(now)
        self._started = True
        if not self.settings.enabled and self._current is None:
            self._open("budget_off", None, None, now)

    def close(self, now: float | None = None) -> None:
        """End the session: an open look ends now (call on quit)."""
        if self._current is not None:
            self._close(self._now(now))

    # ---- questions --------------------------------------------------------------------------
    def may_show(self, now: float | None = None) -> bool:
        """Whether charts and values may be shown now."""
        now = self._now(now)
        if not self.settings.enabled:
            return True
        self._expire(now)
        return self._current is not None

    def in_look(self, now: float | None = None) -> bool:
        return self.may_show(now) and self.settings.enabled

    def state(self, now: float | None = None) -> GateInfo:
        """Everything the gate shows; ends a look whose window has passed."""
        now = self._now(now)
        s = self.settings
        if not s.enabled:
            return GateInfo(now=now, enabled=False, in_look=True, look_trigger="budget_off",
                            runs_watched=len(self._runs), alarms=self.alarms())
        self._expire(now)
        looks = self._looks(now)
        last = looks[-1] if looks else None
        nxt, waiting = self.next_look(now, looks)
        cur = self._current
        ends = self._ends if cur is not None else None
        return GateInfo(
            now=now,
            in_look=cur is not None,
            look_trigger=cur.trigger if cur is not None else None,
            look_ends=ends,
            ending_soon=ends is not None and ends - now <= s.notice_before,
            due=nxt <= now,
            next_look=nxt,
            countdown=max(0.0, nxt - now),
            waiting_for="" if nxt <= now else waiting,
            runs_watched=len(self._runs),
            alarms=self.alarms(),
            last_look=last.start if last else None,
            last_found_new=last.found_new if last else None,
            looks_today=self._count_today(looks, now),
            allowance=s.allowance,
        )

    def next_look(self, now: float | None = None, looks: list[Look] | None = None) -> tuple[float, str]:
        """When the next scheduled look is due, and what it waits for ("gap", "quiet hours",
        "allowance"; "" if nothing)."""
        now = self._now(now)
        if looks is None:
            looks = self._looks(now)
        s = self.settings
        t, why = now, ""
        if looks:
            gap_end = looks[-1].start + s.every
            if gap_end > t:
                t, why = gap_end, "gap"
        for _ in range(8):  # each step only moves forward; a few always settle it
            moved = False
            q_end = self._quiet_end(t)
            if q_end is not None:
                t, why, moved = q_end, "quiet hours", True
            if s.allowance is not None and self._count_on_day(looks, t) >= s.allowance:
                t, why, moved = self._next_midnight(t), "allowance", True
            if not moved:
                break
        return t, why

    def alarms(self) -> tuple[Alarm, ...]:
        """Runs currently at a breakthrough verdict, newest first."""
        return tuple(sorted(self._s.alarmed.values(), key=lambda a: -a.at))

    @property
    def log_path(self) -> Path:
        """Where looks are logged."""
        return self._follower.path

    def look_ends(self, now: float | None = None) -> float | None:
        """When the open look's window ends; None when no budgeted look is open (cheap: no
        log read, unlike `state`)."""
        if not self.settings.enabled:
            return None
        self._expire(self._now(now))
        return self._ends if self._current is not None else None

    @property
    def current(self) -> Look | None:
        """The open look, if any."""
        return self._current

    # ---- actions ----------------------------------------------------------------------------
    def start_look(self, trigger: str = "scheduled", reason: str | None = None, run: str | None = None,
                   now: float | None = None) -> Look:
        """Open a look (and log it). An open look is ended first.

        Raises:
            ValueError: a scheduled look that isn't due, an override without a good reason,
                or an unknown trigger.
        """
        now = self._now(now)
        if trigger == "scheduled":
            if self.settings.enabled and not self.state(now).due:
                raise ValueError("no look is due yet: wait for it, or override with a reason")
        elif trigger == "override":
            problem = validate_reason(reason or "")
            if problem:
                raise ValueError(problem)
        elif trigger not in ("alarm", "budget_off"):
            raise ValueError(f"unknown trigger {trigger!r}")
        self._expire(now)
        if self._current is not None:
            self._close(now)
        return self._open(trigger, reason, run, now)

    def end_look(self, found_new: bool | None = None, now: float | None = None) -> Look | None:
        """End the open look early (the person went back to the gate).

        Args:
            found_new: overrides what the budget worked out from the verdicts.
        """
        if self._current is None:
            return None
        if found_new is not None:
            self._current.found_new = found_new
        return self._close(self._now(now))

    def set_runs(self, runs: Iterable[str]) -> None:
        """The runs being watched (counted on the gate and written to the log)."""
        self._runs = sorted(runs)

    def on_verdicts(self, healths: Iterable[Any] | Mapping[str, Any], now: float | None = None) -> list[Alarm]:
        """Take a fresh judgement of the runs; return the alarms that must break through.

        Args:
            healths: `RunHealth`-like objects (``.run``, ``.verdicts``), or a mapping run ->
                verdict list; runs left out keep their previous judgement.

        Returns:
            One `Alarm` per (run, metric, kind) that newly reached ``breakthrough_on`` — the
            app rings, notifies, and calls `breakthrough`. At the first judgement of a
            session, alarms already broken through by any tbpeek within ``every`` are not
            repeated (restarting tbpeek doesn't ring again).
        """
        now = self._now(now)
        self._expire(now)  # a look that ended before this judgement saw the previous one
        items: list[tuple[str, list[Any]]]
        if isinstance(healths, Mapping):
            items = [(str(run), list(vs)) for run, vs in healths.items()]
        else:
            items = [(h.run, list(h.verdicts)) for h in cast(Iterable[Any], healths)]
        s = self._s
        threshold = self.settings.breakthrough_on
        recent: set[str] = set()
        if not s.judged_once:
            recent = {k.run for k in self._looks(now)
                      if k.trigger == "alarm" and k.run and k.start >= now - self.settings.every}
        new: list[Alarm] = []
        for run, verdicts in items:
            s.signatures[run] = _signature(verdicts)
            current = {(run, v.metric, v.kind): v for v in verdicts if v.severity >= threshold}
            for key in [k for k in s.alarmed if k[0] == run and k not in current]:
                del s.alarmed[key]  # the run recovered from this one
            for key, v in current.items():
                if key in s.alarmed:
                    continue
                alarm = Alarm(run, v.reason, v.metric, v.kind, v.severity, now)
                s.alarmed[key] = alarm
                if run not in recent:
                    new.append(alarm)
        if items:
            s.judged_once = True
        if new and self._current is not None:
            self._current.found_new = True
        runs = set(self._runs) | {run for run, _ in items}
        self._runs = sorted(runs)
        return sorted(new, key=lambda a: (-a.severity, a.run))

    def breakthrough(self, alarm: Alarm, now: float | None = None) -> Look | None:
        """Open the gate for an alarm: a new ``alarm`` look led by its run.

        If a look is already open, the person is already looking: that look goes on, marked as
        having found something new, and its window is extended to a full window from now
        (the alarm is not logged as a breakthrough: nothing was broken through). With the
        budget off there is no gate and nothing is opened. Returns the open look, or None.
        """
        if not self.settings.enabled:
            return None
        now = self._now(now)
        self._expire(now)
        if self._current is not None:
            self._current.found_new = True
            self._ends = max(self._ends or now, now + self.settings.window)
            return self._current
        return self.start_look("alarm", reason=alarm.reason, run=alarm.run, now=now)

    # ---- internals --------------------------------------------------------------------------
    def _now(self, now: float | None) -> float:
        return float(self.clock() if now is None else now)

    def _looks(self, now: float) -> list[Look]:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", LookLogWarning)
                looks = self._follower.poll()
            self.warnings.extend(str(w.message) for w in caught if issubclass(w.category, LookLogWarning))
        except OSError as e:
            self.last_error = e
            looks = []
        looks = [k for k in looks if k.start >= now - _HORIZON]
        cur = self._current
        if cur is not None and all(k.id != cur.id for k in looks):
            looks.append(cur)  # logging failed: still counts
            looks.sort(key=lambda k: k.start)
        return looks

    def _open(self, trigger: str, reason: str | None, run: str | None, now: float) -> Look:
        s = self._s
        found = None
        if trigger != "budget_off":
            found = bool(s.signatures) and ((s.seen is None and any(s.signatures.values()))
                                            or (s.seen is not None and s.seen != s.signatures))
            if trigger == "alarm":
                found = True
        look = Look(start=now, trigger=trigger, reason=reason, run=run, logdirs=[logdir_key(d) for d in self.logdirs],
                    runs=list(self._runs), found_new=found)
        self._current = look
        self._ends = now + self.settings.window
        self._write(look)
        return look

    def _close(self, end: float) -> Look:
        look = self._current
        assert look is not None
        look.end = max(look.start, end)
        look.runs = list(self._runs) or look.runs
        self._current = None
        self._ends = None
        self._s.seen = dict(self._s.signatures)
        self._write(look)
        return look

    def _expire(self, now: float) -> None:
        cur = self._current
        if cur is not None and self.settings.enabled and self._ends is not None and now >= self._ends:
            self._close(self._ends)

    def _write(self, look: Look) -> None:
        try:
            append_look(look, self._follower.path)
            self.last_error = None
        except OSError as e:
            self.last_error = e

    def _dt(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.tz)

    def _day_start(self, t: float) -> float:
        d = self._dt(t)
        return d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    def _next_midnight(self, t: float) -> float:
        d = self._dt(t).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return d.timestamp()

    def _count_on_day(self, looks: list[Look], t: float) -> int:
        lo = self._day_start(t)
        hi = self._next_midnight(t)
        return sum(1 for k in looks if k.trigger in ("scheduled", "override") and lo <= k.start < hi)

    def _count_today(self, looks: list[Look], now: float) -> int:
        return self._count_on_day(looks, now)

    def _quiet_end(self, t: float) -> float | None:
        """If `t` falls in quiet hours, when they end; else None."""
        q = self.settings.quiet_hours
        if q is None:
            return None
        start, end = q
        d = self._dt(t)
        minute = d.hour * 60 + d.minute + d.second / 60
        midnight = d.replace(hour=0, minute=0, second=0, microsecond=0)
        if start < end:
            inside = start <= minute < end
            end_dt = midnight + timedelta(minutes=end)
        else:  # wraps midnight
            inside = minute >= start or minute < end
            end_dt = midnight + timedelta(minutes=end, days=1 if minute >= start else 0)
        return end_dt.timestamp() if inside else None
