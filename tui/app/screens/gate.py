"""The gate: what tbpeek shows instead of charts while no look is open.

It says when the next look is, how many runs are watched, how many alarms there are (zero,
normally), and when the last look was and whether it found anything new. Nothing on it
rewards staring: no sparklines, no metric values, nothing that moves but the countdown.

`GateScreen` only draws a `GateInfo` (in the words of `tui.live.gate.gate_lines`) and reports
the person's choices. `GateHost` shows the live layer's `tui.live.gate.GateController` in a
Textual app: it pushes and pops the gate, shows notices, and ticks the controller.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from tui.live.gate import GateController, NoticeLevel, gate_lines
from tui.looks.policy import GateInfo, validate_reason


class GateScreen(Screen[None]):
    """The gate. Feed it with `update(info)`.

    Args:
        info: what to show first.
        on_look: called on ``enter`` when a look is due.
        on_override: called with the reason of an override (it passed `validate_reason`).
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
    /* Sizing: the keys stay on the bottom line of the box, the box never overflows the pane
       (its middle scrolls), and a short pane (a 12-line split) drops the blank lines. */
    GateScreen #gate { max-height: 100%; overflow-y: auto; scrollbar-size-vertical: 1; }
    GateScreen #gate-keys { dock: bottom; }
    GateScreen.-short #gate { padding: 0 1; }
    GateScreen.-short #gate-title, GateScreen.-short #gate-alarms { margin-bottom: 0; }
    GateScreen.-short #gate-keys, GateScreen.-short #gate-override { margin-top: 0; }
    GateScreen.-short #gate-override Input { border: none; height: 1; }
    GateScreen #gate-override { dock: bottom; }  /* the reason box stays in view over the keys */
    """

    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]  # noqa: RUF012 (sizing; Textual's declaration)

    AUTO_FOCUS = None  # the reason box must not catch enter before the person asks to override

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "look", "Look", show=False),
        Binding("o", "override", "Look early", show=False),
        Binding("escape", "cancel_override", "Cancel", show=False),
    ]

    def __init__(self, info: GateInfo, on_look: Callable[[], None], on_override: Callable[[str], None],
                 tz: tzinfo | None = None) -> None:
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
        self.on_look()

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
        self.on_override(reason)


class GateHost:
    """The Textual side of the look budget (`tui.live.gate.GateUI`): the gate is a screen
    pushed over the app, notices are Textual's, and a timer ticks the controller.

    Args:
        app: the app.
        tz: the zone of clock times on the gate (None: local).
    """

    def __init__(self, app: App[Any], tz: tzinfo | None = None) -> None:
        self.app = app
        self.tz = tz
        self.screen: GateScreen | None = None
        self._timer: Timer | None = None

    def run(self, controller: GateController, tick: float = 1.0) -> None:
        """Tick `controller` every `tick` seconds while its budget is on (after its `start`)."""
        if controller.ticking and self._timer is None:
            self._timer = self.app.set_interval(tick, controller.refresh, name="look-budget")

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    # ---- GateUI --------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: NoticeLevel = "information",
               timeout: float | None = None) -> None:
        self.app.notify(message, title=title, severity=severity, timeout=timeout)

    def show_gate(self, info: GateInfo, on_look: Callable[[], None], on_override: Callable[[str], None]) -> None:
        self.screen = GateScreen(info, on_look=on_look, on_override=on_override, tz=self.tz)
        self.app.push_screen(self.screen)

    def update_gate(self, info: GateInfo) -> None:
        if self.screen is not None:
            self.screen.update(info)

    def hide_gate(self) -> None:
        screen, self.screen = self.screen, None
        if screen is None:
            return
        # The gate is normally on top; if a modal (help) was pushed over it, that goes too:
        # an alarm or a look takes the whole terminal.
        while screen in self.app.screen_stack and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
