"""A run's detail: its verdicts, then charts of its role tags and of every other scalar.

Runs picked with space on the overview are overlaid on every chart, each in its own colour
(stable for the session).
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.app.app import TbpeekApp
from tui.app.themes import SEVERITY_VAR
from tui.app.widgets.chart import ChartWidget
from tui.app.widgets.footer import KeyFooter
from tui.health.verdict import Severity
from tui.live.chart import RGB, X_MODES, Line
from tui.live.model import summary_line, tag_groups
from tui.store import Series
from tui.vocab import fmt_age, fmt_step, safe_terminal

Markers = tuple[tuple[int, RGB], ...]
ChartData = dict[str, tuple[str, tuple[Line, ...], Markers]]  # chart id -> (title, lines, markers)

SMOOTHING_LEVELS = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)
DEFAULT_SMOOTHING = 0.6  # TensorBoard's default
ROLE_CHARTS = (("entropy", "entropy"), ("reward", "reward"), ("throughput", "steps/s (derived)"))
SHORT_HEIGHT = 20  # below this many lines the charts come first (app.tcss: DetailScreen.-short)
BADGE_CELLS = 8  # " ALARM " and a space: continuation lines of a verdict start under its text


def hang(badge: Text, body: Text, width: int, console: Console) -> Text:
    """`badge` then `body` wrapped to `width` cells, continuation lines indented under the
    body's first character (not back at column 1)."""
    indent = badge.cell_len
    lines = body.wrap(console, max(10, width - indent))
    out = Text()
    for i, line in enumerate(lines):
        out.append_text(badge if i == 0 else Text(" " * indent))
        out.append_text(line)
        out.append("\n")
    if not lines:
        out.append_text(badge)
        out.append("\n")
    return out


class DetailScreen(Screen[None]):
    """Charts of one run (and of the runs picked for overlay)."""

    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_HEIGHT, "-tall")]  # noqa: RUF012 (Textual declares it without ClassVar)

    BINDINGS: ClassVar[list[BindingType]] = [
        # q goes back one level, as in less (it quits only from the overview).
        Binding("escape,q,backspace,h", "back", "Back"),
        Binding("plus,equals_sign", "smooth(1)", "Smooth +"),
        Binding("minus", "smooth(-1)", "Smooth −"),
        Binding("0", "smooth_off", "No smoothing", show=False),  # the head says (+/−/0)
        Binding("x", "cycle_x", "X axis"),
        Binding("l", "toggle_log", "Log y"),
        Binding("n", "note", "Note"),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]

    app = getters.app(TbpeekApp)

    def __init__(self, run: str) -> None:
        super().__init__()
        self.run = run
        self.smoothing = DEFAULT_SMOOTHING
        self.x_mode = "step"
        self.log_y = False
        self._versions: dict[str, int] = {}
        self._charts: dict[str, ChartWidget] = {}
        self._head_text: Text | None = None
        self._notes_seen = -1

    @property
    def runs(self) -> list[str]:
        """The run itself, then the runs picked for overlay."""
        picked = [r for r in self.app.session.view.selected if r != self.run and r in self.app.store]
        return [self.run, *picked]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="detail-head")
        with VerticalScroll(id="verdict-box"):  # a short pane: the chart first, verdicts scroll
            yield Static(id="verdicts")
        yield Static(id="note-panel")
        yield VerticalScroll(id="charts")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = safe_terminal(self.run)
        self._build_charts()
        self._update_note()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if not self.is_current:
            return
        if self.app.session.notes.version != self._notes_seen:
            self._update_note()
        store = self.app.store
        if any(store.run_version(r) != self._versions.get(r) for r in self.runs):
            self._update_charts()
        else:
            self._update_head(verdicts=False)  # the age moves with the clock

    # ---- building -----------------------------------------------------------------------
    def _line(self, run: str, series: Series) -> Line:
        color = Color.parse(self.app.run_color(run)).rgb if len(self.runs) > 1 else \
            Color.parse(self.app.current_theme.primary).rgb
        return Line(run, series.steps, series.wall_times, series.values, color)

    def _chart_data(self) -> ChartData:
        """chart id -> (title, lines, markers), for the role charts and every tag."""
        store, judge = self.app.store, self.app.judge
        runs = self.runs
        snaps = {r: store.snapshot(r) for r in runs}
        self._versions = {r: s.version for r, s in snaps.items()}
        colors = self.app.verdict_styles()
        view = judge.view(self.run)
        out: ChartData = {}
        for role, title in ROLE_CHARTS:
            role_lines: list[Line] = []
            for r in runs:
                s = judge.roles(r).get(role)
                if s is not None and len(s):
                    role_lines.append(self._line(r, s))
            if not role_lines:
                continue
            source = judge.reward_source(self.run) if role == "reward" else None
            if source is not None:  # the run logs no reward; the health engine read its sibling's
                title = f"reward (from {safe_terminal(source)})"
            markers = tuple(
                (v.since_step, Color.parse(colors[SEVERITY_VAR[v.severity]]).rgb)
                for v in (view.verdicts if view else ())
                if v.metric == role and v.since_step is not None and v.severity >= Severity.WARN)
            out[f"role-{role}"] = (title, tuple(role_lines), markers)
        tags = sorted({t for s in snaps.values() for t in s.series})
        for _group, group_tags in tag_groups(tags):
            for tag in group_tags:
                lines = tuple(self._line(r, snaps[r].series[tag]) for r in runs
                              if tag in snaps[r].series and len(snaps[r].series[tag]))
                if lines:
                    out[f"tag-{tag}"] = (tag, lines, ())
        return out

    def _build_charts(self) -> None:
        self._update_head()
        box = self.query_one("#charts", VerticalScroll)
        data = self._chart_data()
        widgets: list[Static | ChartWidget] = []
        last_group = None
        for cid, (title, lines, markers) in data.items():
            group = "roles" if cid.startswith("role-") else (title.split("/", 1)[0] if "/" in title else "other")
            if group != last_group:
                widgets.append(Static(Text(group, style="bold"), classes="chart-group"))
                last_group = group
            w = ChartWidget(title, lines, markers, classes="chart")
            self._charts[cid] = w
            widgets.append(w)
        if not widgets:
            widgets.append(Static("no scalars in this run yet", classes="chart-group"))
        box.mount_all(widgets)

    def _update_charts(self) -> None:
        data = self._chart_data()
        if set(data) - set(self._charts):
            self.query_one("#charts", VerticalScroll).remove_children()
            self._charts.clear()
            self._build_charts()
            return
        for cid, (_title, lines, markers) in data.items():
            self._charts[cid].set_data(lines, markers)
        self._update_head()

    def _update_head(self, verdicts: bool = True) -> None:
        head = self._head_text_now()
        head.append(f"\nsmoothing {self.smoothing:g} (+/−/0) · x: {self.x_mode} (x) · "
                    f"y: {'log' if self.log_y else 'linear'} (l)")
        self._head_extra(head)
        if head != self._head_text:  # Rich's Text equality: same words, same spans
            self._head_text = head
            self.query_one("#detail-head", Static).update(head)
        if not verdicts:
            return
        self.query_one("#verdicts", Static).update(self._verdict_text())

    def _head_text_now(self) -> Text:
        """The head's first lines: name, state (the judgement's, as the overview's column),
        step, age; then the run's verdict in one sentence, in its severity's colour."""
        app = self.app
        view = app.judge.view(self.run)
        now = app.options.clock()
        head = Text.assemble((safe_terminal(self.run), "bold"))
        if view is not None:
            age = view.age(now)
            head.append(f"  {view.state} · step {fmt_step(view.last_step)} · wrote {fmt_age(age)} ago")
            if view.library:
                head.append(f" · {view.library}")
            style = app.verdict_styles()[SEVERITY_VAR[view.summary.severity]] if view.summary else ""
            # One line (the verdicts below give each reason whole); plain: it quotes event files.
            line = Text(summary_line(view), style=style, no_wrap=True)
            line.truncate(max(10, app.size.width - 2), overflow="ellipsis")
            head.append("\n")
            head.append_text(line)
        return head

    def _head_extra(self, head: Text) -> None:
        """After the settings line: the overlay's colours."""
        if len(self.runs) > 1:
            head.append(" · overlay: ")
            for r in self.runs:
                head.append("■ ", style=self.app.run_color(r))
                head.append(safe_terminal(r) + "  ")

    def _verdict_text(self) -> Text:
        app = self.app
        view = app.judge.view(self.run)
        colors = app.verdict_styles()
        lines = Text()
        verdicts = sorted(view.verdicts, key=lambda v: -int(v.severity)) if view else []
        width = self.verdict_width()
        for v in verdicts:
            color = colors[SEVERITY_VAR[v.severity]]
            badge = Text.assemble((f" {v.severity.label:<5} ", f"bold reverse {color}" if v.severity >= Severity.WARN
                                   else color), " ")
            body = Text(f"{v.metric}: {v.kind.replace('_', ' ')} — {safe_terminal(v.reason)}")
            if v.since_step is not None:
                body.append(f" (since step {v.since_step})", style=colors["muted"])
            lines.append_text(hang(badge, body, width, self.app.console))
        for key, msg in (view.problems.items() if view else ()):
            badge = Text.assemble((" ! ", f"bold reverse {colors['verdict-alarm']}"), " ")
            lines.append_text(hang(badge, Text(safe_terminal(f"{key}: {msg}")), width, self.app.console))
        if not lines:
            lines.append("no verdicts yet", style=colors["muted"])
        lines.rstrip()
        return lines

    def verdict_width(self) -> int:
        """Cells for a verdict line (the box's width, less its padding and scrollbar)."""
        box = self.query_one("#verdict-box", VerticalScroll)
        return (box.size.width or self.app.size.width) - 3

    def on_resize(self) -> None:
        self._update_head()  # verdict lines wrap to the new width

    def _update_note(self) -> None:
        """The run's note (question, expectation, outcome) under the verdicts; hidden if none."""
        app = self.app
        self._notes_seen = app.session.notes.version
        note = app.session.notes.note_for(self.run)
        panel = self.query_one("#note-panel", Static)
        panel.display = note is not None
        if note is None:
            return
        muted = app.verdict_styles()["muted"]
        text = Text(no_wrap=True, overflow="ellipsis")
        for label, value in (("question", note.question), ("expect", note.expectation),
                             ("outcome", note.outcome)):
            value = " ".join(value.split())  # one line each: the panel is a reminder, `n` edits
            if value:
                text.append(f"{label:>8} ", style=muted)
                text.append(safe_terminal(value) + "\n", style="bold" if label == "question" else "")
        text.rstrip()
        panel.update(text)

    def _refresh_charts(self) -> None:
        for w in self._charts.values():
            w.refresh()
        self._update_head()

    # ---- actions ------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_note(self) -> None:
        self.app.open_note(self.run, then=self._update_note)

    def action_smooth(self, delta: int) -> None:
        levels = SMOOTHING_LEVELS
        idx = min(range(len(levels)), key=lambda i: abs(levels[i] - self.smoothing))
        self.smoothing = levels[max(0, min(len(levels) - 1, idx + delta))]
        self._refresh_charts()

    def action_smooth_off(self) -> None:
        self.smoothing = 0.0
        self._refresh_charts()

    def action_cycle_x(self) -> None:
        self.x_mode = X_MODES[(X_MODES.index(self.x_mode) + 1) % len(X_MODES)]
        self._refresh_charts()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self._refresh_charts()

    def action_scroll(self, rows: int) -> None:
        box = self.query_one("#charts", VerticalScroll)
        box.scroll_relative(y=rows * 3, animate=False)
