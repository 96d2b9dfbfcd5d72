"""The gate: what tbpeek shows instead of charts while no look is open.

It says when the next look is, how many runs are watched, how many alarms there are (zero,
normally), and when the last look was and whether it found anything new. Nothing on it
rewards staring: no sparklines, no metric values, nothing that moves but the countdown.

`GateScreen` only draws a `GateInfo` and reports the person's choices (callbacks, or
messages when none are given). `GateController` is the glue an app needs: it owns the timer,
pushes and pops the gate as looks start and end, and turns breakthrough alarms into a look
with a bell and a desktop notification. Wiring it into an app takes three calls (see its
docstring).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Callable, Iterable

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.live.alerts import Alerter
from tui.looks.policy import Alarm, GateInfo, LookBudget, validate_reason

MAX_ALARMS_SHOWN = 5


def clock_time(t: float | None, tz: tzinfo | None = None) -> str:
    return "–" if t is None else datetime.fromtimestamp(t, tz).strftime("%H:%M")


def countdown(seconds: float) -> str:
    """'12:04' under an hour, '2h 05m' above; whole seconds."""
    s = max(0, int(seconds + 0.999))  # round up: never say 0:00 before it is due
    if s >= 3600:
        return f"{s // 3600}h {(s % 3600) // 60:02d}m"
    return f"{s // 60}:{s % 60:02d}"


def gate_lines(info: GateInfo, tz: tzinfo | None = None) -> dict[str, str]:
    """The gate's text, by part (pure: the pilot and unit tests read it)."""
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


class GateScreen(Screen):
    """The gate. Feed it with `update(info)`.

    Args:
        info: what to show first.
        on_look: called on ``enter`` when a look is due; None: posts `LookRequested`.
        on_override: called with the reason of an override; None: posts `OverrideRequested`.
        tz: the zone of clock times (None: local; tests pass UTC).
    """

    DEFAULT_CSS = """
    GateScreen {
        align: center middle;
        background: $background;
    }
    GateScreen #gate {
        width: 64;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        border: round $primary;
        background: $surface;
    }
    GateScreen #gate-title { text-style: bold; color: $text; margin-bottom: 1; }
    GateScreen #gate-alarms { color: $error; text-style: bold; margin-bottom: 1; }
    GateScreen #gate-next { color: $text; }
    GateScreen #gate-next.-due { color: $success; text-style: bold; }
    GateScreen #gate-watch, GateScreen #gate-last { color: $text-muted; }
    GateScreen #gate-keys { color: $text-muted; margin-top: 1; }
    GateScreen #gate-override { height: auto; margin-top: 1; display: none; }
    GateScreen #gate-override.-open { display: block; }
    GateScreen #gate-override-error { color: $warning; }
    """

    AUTO_FOCUS = None  # the reason box must not catch enter before the person asks to override

    BINDINGS = [
        Binding("enter", "look", "Look", show=False),
        Binding("o", "override", "Look early", show=False),
        Binding("escape", "cancel_override", "Cancel", show=False),
    ]

    class LookRequested(Message):
        """The person pressed enter while a look was due."""

    class OverrideRequested(Message):
        """The person asked to look early, and said why."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, info: GateInfo, on_look: Callable[[], None] | None = None,
                 on_override: Callable[[str], None] | None = None, tz: tzinfo | None = None) -> None:
        super().__init__()
        self.info = info
        self.on_look = on_look
        self.on_override = on_override
        self.tz = tz
        self._ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="gate"):
            yield Static("tbpeek · the charts are resting", id="gate-title")
            yield Static("", id="gate-alarms")
            yield Static("", id="gate-next")
            yield Static("", id="gate-watch")
            yield Static("", id="gate-last")
            with Vertical(id="gate-override"):
                yield Static("Why look now? (a few words; they are logged)")
                yield Input(placeholder="e.g. checking the new learning rate", id="gate-reason", disabled=True)
                yield Static("", id="gate-override-error")
            yield Static("", id="gate-keys")

    def on_mount(self) -> None:
        self._ready = True
        self.update(self.info)

    def update(self, info: GateInfo) -> None:
        """Show a new state (cheap; the controller calls it every second)."""
        self.info = info
        if not self._ready:  # not composed yet: on_mount shows it
            return
        try:
            alarms = self.query_one("#gate-alarms", Static)
        except NoMatches:  # popped before it was ever shown (an alarm at start-up)
            return
        lines = gate_lines(info, self.tz)
        alarms.update(lines["alarms"])
        alarms.display = bool(info.alarms)
        nxt = self.query_one("#gate-next", Static)
        nxt.update(lines["next"])
        nxt.set_class(info.due, "-due")
        self.query_one("#gate-watch", Static).update(lines["watch"])
        self.query_one("#gate-last", Static).update(lines["last"])
        self.query_one("#gate-keys", Static).update(lines["keys"])

    def text(self) -> str:
        """All the text the gate shows now (tests check what is, and isn't, on it)."""
        box = self.query_one("#gate-override")
        parts = [str(w.content) for w in self.query(Static)
                 if w.display and (box.has_class("-open") or box not in w.ancestors)]
        return "\n".join(p for p in parts if p)

    @property
    def overriding(self) -> bool:
        return self.query_one("#gate-override").has_class("-open")

    def action_look(self) -> None:
        if self.overriding or not self.info.due:
            return  # enter in the reason box submits it instead
        if self.on_look is not None:
            self.on_look()
        else:
            self.post_message(self.LookRequested())

    def action_override(self) -> None:
        if self.info.due:  # nothing to override: the look is due
            self.action_look()
            return
        self.query_one("#gate-override").add_class("-open")
        reason = self.query_one("#gate-reason", Input)
        reason.disabled = False
        reason.focus()

    def action_cancel_override(self) -> None:
        self.query_one("#gate-override").remove_class("-open")
        reason = self.query_one("#gate-reason", Input)
        reason.value = ""
        reason.disabled = True
        self.query_one("#gate-override-error", Static).update("")
        self.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        problem = validate_reason(reason)
        if problem:
            self.query_one("#gate-override-error", Static).update(problem.capitalize())
            return
        self.action_cancel_override()
        if self.on_override is not None:
            self.on_override(reason)
        else:
            self.post_message(self.OverrideRequested(reason))


class GateController:
    """Runs the look budget inside an app. Wiring::

        # on_mount, after the app's first screen is pushed:
        self.gate = GateController(self, budget, Alerter(bell=self.bell, on_alarm=settings.on_alarm,
                                                          logdirs=self.logdirs),
                                   on_alarm_look=lambda run: <show that run>)
        self.gate.start()
        # whenever runs were judged, on the UI thread (e.g. in the StoreChanged handler):
        self.gate.on_health(healths)        # RunHealth list, or {run: [Verdict, ...]}
        # on quit (action_quit / on_unmount):
        self.gate.stop()

    While ``gate.blocking`` is True, the app should refuse actions that would push a chart
    screen over the gate (``check_action`` returning False for them).

    Args:
        app: the app.
        budget: the look budget (its clock is the controller's clock too).
        alerter: rings and notifies on breakthroughs; None: a default `Alerter`.
        on_alarm_look: called with the run of a breakthrough after the gate opens (e.g. to
            select that run or open its detail).
        tick: seconds between checks of the budget (the countdown's resolution).
        tz: the zone of clock times on the gate (None: local).
        busy: says whether the person is typing something that isn't a chart (a note); the
            gate then waits for them to finish (None: never busy).
    """

    def __init__(self, app: App, budget: LookBudget, alerter: Alerter | None = None,
                 on_alarm_look: Callable[[str], None] | None = None, tick: float = 1.0,
                 tz: tzinfo | None = None, busy: Callable[[], bool] | None = None) -> None:
        self.app = app
        self.budget = budget
        self.alerter = alerter or Alerter(bell=app.bell, on_alarm=budget.settings.on_alarm, logdirs=budget.logdirs)
        self.on_alarm_look = on_alarm_look
        self.tick = tick
        self.tz = tz
        self.screen: GateScreen | None = None
        self._notified_end: str | None = None  # id of the look whose end was announced
        self._timer: Any = None
        self.busy = busy
        self._notified_wait = False

    @property
    def blocking(self) -> bool:
        """The gate is up: no charts may be shown."""
        return self.screen is not None

    def start(self) -> None:
        """Begin the session; show the gate unless the budget is off."""
        self.budget.begin()
        if self.budget.settings.enabled:
            self._show_gate()
            self._timer = self.app.set_interval(self.tick, self.refresh, name="look-budget")

    def stop(self) -> None:
        """End the session (an open look ends now)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.budget.close()

    def refresh(self) -> None:
        """Follow the budget: update the countdown, end an expired look, warn before the end."""
        info = self.budget.state()
        self._report_problems()
        if self.screen is not None:
            self.screen.update(info)
            return
        if not info.in_look:
            if self.busy is not None and self.busy():
                if not self._notified_wait:
                    self._notified_wait = True
                    self.app.notify("The look is over; the charts rest once you close this.", title="Look budget")
                return  # the person is typing (a note): never snatch the keyboard mid-sentence
            self._notified_wait = False
            self.app.notify("The look is over; the charts rest until the next one.", title="Look budget")
            self._show_gate(info)
        elif info.ending_soon and self.budget.current is not None and self._notified_end != self.budget.current.id:
            self._notified_end = self.budget.current.id
            left = max(0, int((info.look_ends or info.now) - info.now))
            self.app.notify(f"The charts close in {left} s.", title="Look budget", timeout=min(10, max(3, left)))

    def on_health(self, healths: Iterable[Any] | dict[str, list]) -> list[Alarm]:
        """Feed a fresh judgement; alarms that newly broke through ring and open the gate.

        Call it on the UI thread (from a worker: ``app.call_from_thread(gate.on_health, healths)``).
        """
        alarms = self.budget.on_verdicts(healths)
        for alarm in alarms:
            problem = self.alerter.announce(alarm)
            if problem:
                self.app.notify(problem, title="--on-alarm", severity="error", timeout=15)
        if alarms:
            lead = alarms[0]
            self.app.notify(lead.text, title="Alarm", severity="error", timeout=15)
            if self.budget.settings.enabled:
                self.budget.breakthrough(lead)
                self._hide_gate()
            if self.on_alarm_look is not None:
                self.on_alarm_look(lead.run)
        elif self.screen is not None:
            self.screen.update(self.budget.state())
        return alarms

    # ---- the person's choices -----------------------------------------------------------
    def end_look(self) -> None:
        """The person ends the open look early: the gate comes back at once."""
        if self.screen is not None or not self.budget.settings.enabled:
            return
        self.budget.end_look()
        self.app.notify("Look ended; the charts rest until the next one.", title="Look budget", timeout=4)
        self._show_gate()

    def _look(self) -> None:
        try:
            self.budget.start_look("scheduled")
        except ValueError as e:  # not due after all (another pane took it)
            self.app.notify(str(e), title="Look budget", severity="warning")
            self.refresh()
            return
        self._hide_gate()

    def _override(self, reason: str) -> None:
        self.budget.start_look("override", reason=reason)
        self._hide_gate()

    # ---- screen stack -------------------------------------------------------------------
    def _show_gate(self, info: GateInfo | None = None) -> None:
        if self.screen is not None:
            return
        self.screen = GateScreen(info or self.budget.state(), on_look=self._look, on_override=self._override,
                                 tz=self.tz)
        self.app.push_screen(self.screen)

    def _hide_gate(self) -> None:
        screen, self.screen = self.screen, None
        if screen is None:
            return
        # The gate is normally on top; if a modal (help) was pushed over it, that goes too:
        # an alarm or a look takes the whole terminal.
        while screen in self.app.screen_stack and len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def _report_problems(self) -> None:
        b = self.budget
        for text in b.warnings:
            self.app.notify(text, title="Look log", severity="warning", timeout=10)
        b.warnings.clear()
        while self.alerter.errors:
            self.app.notify(self.alerter.errors.pop(0), title="--on-alarm", severity="error", timeout=15)
        if b.last_error is not None:
            e, b.last_error = b.last_error, None
            self.app.notify(f"can't write the look log {b.log_path}: {e.strerror or e}; "
                            "looks are still counted in this session", title="Look log", severity="error")
