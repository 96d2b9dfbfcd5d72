"""The look budget's controller and the gate's words, without a terminal.

`GateController` runs a `tui.looks.policy.LookBudget` for a live session: it shows and hides
the gate as looks start and end, warns before a look's end, and turns breakthrough alarms into
a look with a bell, a desktop notification and the person's ``--on-alarm`` command. What it
shows goes through a `GateUI` (the Textual app's adapter is `tui.app.screens.gate.GateHost`;
tests pass a recorder), so every rule here is tested without Textual.

`gate_lines` is the gate's text (pure): nothing on it rewards staring: no sparklines, no
metric values, nothing that moves but the countdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any, Literal, Protocol

from tui.live.alerts import Alerter
from tui.looks.policy import Alarm, GateInfo, LookBudget

MAX_ALARMS_SHOWN = 5

NoticeLevel = Literal["information", "warning", "error"]


def clock_time(t: float | None, tz: tzinfo | None = None) -> str:
    return "–" if t is None else datetime.fromtimestamp(t, tz).strftime("%H:%M")


def countdown(seconds: float) -> str:
    """'12:04' under an hour, '2h 05m' above; whole seconds."""
    s = max(0, int(seconds + 0.999))  # round up: never say 0:00 before it is due
    if s >= 3600:
        return f"{s // 3600}h {(s % 3600) // 60:02d}m"
    return f"{s // 60}:{s % 60:02d}"


def gate_lines(info: GateInfo, tz: tzinfo | None = None) -> dict[str, str]:
    """The gate's text, by part: next, watch, last, alarms, keys."""
    if info.due:
        next_line = "A look is due. Press enter to look."
    else:
        why = {"quiet hours": " (quiet hours)", "allowance": " (today's allowance is used)"}.get(info.waiting_for, "")
        next_line = f"Next look at {clock_time(info.next_look, tz)}{why}, in {countdown(info.countdown)}"
    n = info.runs_watched
    alarms = len(info.alarms)
    watch = f"Watching {n} run{'s' if n != 1 else ''} · {alarms} alarm{'s' if alarms != 1 else ''}"
    if info.last_look is None:
        last = "No look yet."
    else:
        found = {True: "found something new", False: "found nothing new", None: "—"}[info.last_found_new]
        last = f"Last look at {clock_time(info.last_look, tz)} · {found}"
    if info.allowance is not None:
        last += f" · {info.looks_today} of {info.allowance} looks today"
    alarm_lines = [f"▲ {a.headline}" for a in info.alarms[:MAX_ALARMS_SHOWN]]
    if len(info.alarms) > MAX_ALARMS_SHOWN:
        alarm_lines.append(f"… and {len(info.alarms) - MAX_ALARMS_SHOWN} more")
    keys = ("enter look" if info.due else "o look early (say why)") + " · q quit"
    return {"next": next_line, "watch": watch, "last": last, "alarms": "\n".join(alarm_lines), "keys": keys}


class GateUI(Protocol):
    """What the controller needs from a user interface."""

    def notify(self, message: str, *, title: str = "", severity: NoticeLevel = "information",
               timeout: float | None = None) -> None:
        """Show a notice."""

    def show_gate(self, info: GateInfo, on_look: Callable[[], None], on_override: Callable[[str], None]) -> None:
        """Put the gate over everything that shows curves; `on_look` when the person starts a
        due look, `on_override` with their reason when they look early."""

    def update_gate(self, info: GateInfo) -> None:
        """Show a new state on the gate (called every tick while it is up)."""

    def hide_gate(self) -> None:
        """Take the gate (and anything over it) away: a look is open."""


class GateController:
    """Runs the look budget for a live session. Wiring::

        gate = GateController(ui, budget, alerter, on_alarm_look=<show that run>)
        gate.start()                  # shows the gate unless the budget is off
        # every second or so while `gate.ticking`:
        gate.refresh()
        # whenever runs were judged (the UI thread):
        gate.on_health(healths)       # RunHealth list, or {run: [Verdict, ...]}
        # on quit:
        gate.stop()

    While `blocking` is True, the app refuses whatever would show curves over the gate.

    Args:
        ui: shows the gate and notices.
        budget: the look budget (its clock is the controller's clock too).
        alerter: rings and notifies on breakthroughs; None: a default `Alerter`.
        on_alarm_look: called with the run of a breakthrough after the gate opens.
        busy: says whether the person is typing something that isn't a chart (a note); the
            gate then waits for them to finish (None: never busy).
    """

    def __init__(self, ui: GateUI, budget: LookBudget, alerter: Alerter | None = None,
                 on_alarm_look: Callable[[str], None] | None = None,
                 busy: Callable[[], bool] | None = None) -> None:
        self.ui = ui
        self.budget = budget
        self.alerter = alerter or Alerter(on_alarm=budget.settings.on_alarm, logdirs=budget.logdirs)
        self.on_alarm_look = on_alarm_look
        self.busy = busy
        self._shown = False
        self._notified_end: str | None = None  # id of the look whose end was announced
        self._notified_wait = False

    @property
    def blocking(self) -> bool:
        """The gate is up: no charts may be shown."""
        return self._shown

    @property
    def ticking(self) -> bool:
        """`refresh` must be called on a timer (the budget is on)."""
        return self.budget.settings.enabled

    def start(self) -> None:
        """Begin the session; show the gate unless the budget is off."""
        self.budget.begin()
        if self.budget.settings.enabled:
            self._show_gate()

    def stop(self) -> None:
        """End the session (an open look ends now)."""
        self.budget.close()

    def refresh(self) -> None:
        """Follow the budget: update the countdown, end an expired look, warn before the end."""
        info = self.budget.state()
        self._report_problems()
        if self._shown:
            self.ui.update_gate(info)
            return
        if not info.in_look:
            if self.busy is not None and self.busy():
                if not self._notified_wait:
                    self._notified_wait = True
                    self.ui.notify("The look is over; the charts rest once you close this.", title="Look budget")
                return  # the person is typing (a note): never snatch the keyboard mid-sentence
            self._notified_wait = False
            self.ui.notify("The look is over; the charts rest until the next one.", title="Look budget")
            self._show_gate(info)
        elif info.ending_soon and self.budget.current is not None and self._notified_end != self.budget.current.id:
            self._notified_end = self.budget.current.id
            left = max(0, int((info.look_ends or info.now) - info.now))
            self.ui.notify(f"The charts close in {left} s.", title="Look budget", timeout=min(10, max(3, left)))

    def on_health(self, healths: Iterable[Any] | Mapping[str, Any]) -> list[Alarm]:
        """Feed a fresh judgement; alarms that newly broke through ring and open the gate."""
        alarms = self.budget.on_verdicts(healths)
        for alarm in alarms:
            problem = self.alerter.announce(alarm)
            if problem:
                self.ui.notify(problem, title="--on-alarm", severity="error", timeout=15)
        if alarms:
            lead = alarms[0]
            self.ui.notify(lead.text, title="Alarm", severity="error", timeout=15)
            if self.budget.settings.enabled:
                self.budget.breakthrough(lead)
                self._hide_gate()
            if self.on_alarm_look is not None:
                self.on_alarm_look(lead.run)
        elif self._shown:
            self.ui.update_gate(self.budget.state())
        return alarms

    def look_status(self, now: float) -> str:
        """"look · 2:31 left (e: end now)" while a budgeted look is open; "" otherwise."""
        if self._shown:
            return ""
        ends = self.budget.look_ends(now)
        if ends is None:
            return ""
        return f"look · {countdown(ends - now)} left (e: end now)"

    # ---- the person's choices -----------------------------------------------------------
    def end_look(self) -> None:
        """The person ends the open look early: the gate comes back at once."""
        if self._shown or not self.budget.settings.enabled:
            return
        self.budget.end_look()
        self.ui.notify("Look ended; the charts rest until the next one.", title="Look budget", timeout=4)
        self._show_gate()

    def look(self) -> None:
        """The person starts the look that is due."""
        try:
            self.budget.start_look("scheduled")
        except ValueError as e:  # not due after all (another pane took it)
            self.ui.notify(str(e), title="Look budget", severity="warning")
            self.refresh()
            return
        self._hide_gate()

    def override(self, reason: str) -> None:
        """The person looks early, and said why (`tui.looks.policy.validate_reason` passed)."""
        self.budget.start_look("override", reason=reason)
        self._hide_gate()

    # ---- the gate -----------------------------------------------------------------------
    def _show_gate(self, info: GateInfo | None = None) -> None:
        if self._shown:
            return
        self._shown = True
        self.ui.show_gate(info or self.budget.state(), self.look, self.override)

    def _hide_gate(self) -> None:
        if not self._shown:
            return
        self._shown = False
        self.ui.hide_gate()

    def _report_problems(self) -> None:
        b = self.budget
        for text in b.warnings:
            self.ui.notify(text, title="Look log", severity="warning", timeout=10)
        b.warnings.clear()
        while self.alerter.errors:
            self.ui.notify(self.alerter.errors.pop(0), title="--on-alarm", severity="error", timeout=15)
        if b.last_error is not None:
            e, b.last_error = b.last_error, None
            self.ui.notify(f"can't write the look log {b.log_path}: {e.strerror or e}; "
                           "looks are still counted in this session", title="Look log", severity="error")
