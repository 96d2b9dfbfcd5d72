"""The overview: one row per run (or per seed group, folded with `g`), a regex filter,
sorting, the highlighted run's verdict in one sentence, a status line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import getters, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from tui.app.app import TbpeekApp
from tui.app.text import plain
from tui.app.themes import SEVERITY_VAR
from tui.app.widgets.footer import KeyFooter
from tui.app.widgets.run_table import RunTable
from tui.groups import SeedGroup
from tui.live.layout import fit_status
from tui.live.model import RunView, compile_filter, fold_groups, summary, summary_line, summary_text
from tui.live.order import SortedViews


class OverviewScreen(Screen[None]):
    """All runs at a glance. Redraws on a timer, only when the data (or the clock) moved."""

    DEFAULT_CSS = """
    #run-summary {
        height: 1;
        padding: 0 1;
    }
    OverviewScreen.-compact #run-summary {
        padding: 0 0;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_detail", "Detail", show=True),
        Binding("space", "toggle_select", "Pick", show=True),
        Binding("slash", "filter", "Filter", show=True),
        Binding("o", "cycle_sort", "Sort", show=True),
        Binding("g", "app.toggle_groups", "Seed groups", show=True),
        Binding("n", "note", "Note", show=True),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("t", "app.change_theme", "Theme", show=True),
    ]

    app = getters.app(TbpeekApp)

    def __init__(self) -> None:
        super().__init__()
        self._filter_text = ""
        self._match = compile_filter("")
        self._seen: tuple[int, int] = (-1, -1)  # (session.version, view.version) drawn
        self._last_age_check = 0.0
        self._compact: bool | None = None
        self._theme_seen: str | None = None
        self.filter_error: str | None = None
        self._status_text: str | None = None
        self._run_line: tuple[str, str, int] | None = None  # (text, style, width) of the run-summary line
        self._views_shown: dict[str, RunView] = {}  # row name -> its view, as last drawn
        self._counts: list[tuple[int, str]] = []  # the status line's counts, as last drawn
        self._sorter = SortedViews()  # the rows' order, placed again only where views changed
        self.groups: dict[str, SeedGroup] = {}  # folded row name -> its group (when folded)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="overview"):
            yield Input(placeholder="regex over run names (enter: apply, esc: clear)", id="filter")
            yield RunTable(id="runs")
            yield Static("", id="run-summary")
            yield Static("", id="status")
        yield KeyFooter()

    @property
    def table(self) -> RunTable:
        return self.query_one(RunTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self._apply_layout()
        self.redraw()
        self.set_interval(self.app.options.refresh, self._tick)
        self.table.focus()

    def on_resize(self) -> None:
        self._apply_layout()

    def on_screen_resume(self) -> None:
        self.redraw()

    # ---- layout -------------------------------------------------------------------------
    def _apply_layout(self) -> None:
        width = self.app.size.width
        compact = self.app.is_compact()
        t = self.table
        if compact != self._compact or t.available_width != width:
            self._compact = compact
            self.set_class(compact, "-compact")
            t.set_compact(compact)
            t.set_available_width(width)  # the table plans its columns for the names it shows
            self.redraw()

    @property
    def compact(self) -> bool:
        return bool(self._compact)

    # ---- drawing ------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self.is_current:
            return  # don't draw behind a modal or the detail screen
        now = self.app.options.clock()
        if self._versions() != self._seen or self.app.theme != self._theme_seen:
            self.redraw()
        elif now - self._last_age_check >= 1.0:
            # Only the clock moved: the order can't have (age sorts by the last write), so
            # nothing is sorted; the rows on screen whose age reads differently are redrawn.
            self._last_age_check = now
            self.table.set_now(now)
            self._update_status()

    def session_changed(self) -> None:
        """The session moved (the app calls this on its events). While the table is empty
        (the first read) draw at once, not on the next tick: the first rows show as soon as
        they are judged; after that the timer paces the redraws."""
        table = next(iter(self.query(RunTable)), None)  # None: the app is closing, its widgets gone
        if self.is_current and table is not None and not table.row_count and self._versions() != self._seen:
            self.redraw()

    def _versions(self) -> tuple[int, int]:
        session = self.app.session
        return session.version, session.view.version

    def visible_views(self) -> list[RunView]:
        app = self.app
        views = [v for v in app.judge.views().values() if self._match(v.name)]
        if app.session.view.fold_groups:
            views, self.groups = fold_groups(views, app.seed_pattern())
        else:
            self.groups = {}
        return self._sorter.order(views, app.session.view.sort)

    def redraw(self) -> int:
        """Bring the table and the status line up to date; returns rows drawn."""
        app = self.app
        now = app.options.clock()
        self._seen = self._versions()
        self._last_age_check = now
        all_views = app.judge.views()
        views = self.visible_views()
        colors = app.verdict_styles()
        self._theme_seen = app.theme
        session = app.session
        drawn = self.table.draw_views(views, now, session.view.selected, colors, session.notes.noted_runs())
        self._views_shown = {v.name: v for v in views}
        self._update_run_line()
        self._counts = self._count_runs(all_views, views)
        self._update_status()
        return drawn

    def _update_run_line(self) -> None:
        """The highlighted run's verdict in one sentence, above the status line (plain text: it
        quotes tags and names from event files), in its severity's colour."""
        view = self._views_shown.get(self.table.cursor_run() or "")
        text = summary_line(view)
        style = ""
        if view is not None and view.summary is not None:
            style = self.app.verdict_styles()[SEVERITY_VAR[view.summary.severity]]
        if (text, style, self.app.size.width) != self._run_line:  # an update re-lays out the screen: only when it changed
            self._run_line = (text, style, self.app.size.width)
            line = Text(text, style=style, no_wrap=True)
            line.truncate(self.app.size.width - (0 if self.compact else 2), overflow="ellipsis")
            self.query_one("#run-summary", Static).update(line)

    @on(RunTable.RunHighlighted)
    def _row_highlighted(self, event: RunTable.RunHighlighted) -> None:
        self._update_run_line()

    def _count_runs(self, all_views: dict[str, RunView], views: list[RunView]) -> list[tuple[int, str]]:
        """The status line's counts ("3 000 runs: 2 990 healthy · …"): once per redraw, not
        on every tick of the clock."""
        if self.groups:  # count runs, not rows
            members = {m for g in self.groups.values() for m in g.members}
            runs = [v for v in views if not v.is_group] + [all_views[m] for m in members if m in all_views]
            k = len(self.groups)
            return [(0, summary_text(summary(runs), len(runs), len(all_views))),
                    (3, f"{k} seed group{'s' if k != 1 else ''} folded (g)")]
        return [(0, summary_text(summary(views), len(views), len(all_views)))]

    def _update_status(self) -> None:
        session = self.app.session
        view = session.view
        parts: list[tuple[int, str]] = []  # (rank: the higher, the sooner left out when narrow, text)
        if self.filter_error:
            parts.append((0, self.filter_error))
        elif self._filter_text:
            parts.append((0, f"filter /{self._filter_text}/"))
        parts.extend(self._counts)
        parts.append((4, f"sort: {view.sort}"))
        if view.selected:
            parts.append((2, f"{len(view.selected)} picked"))
        if session.ingestor is not None:
            reason = f" ({session.watch_reason})" if session.watch_reason else ""
            parts.append((1 if reason else 5, f"{session.watch_mode}{reason}"))  # a fallback is news
        look = session.look_status()
        if look:
            parts.append((1, look))
        # Problems outside every run and the first read's progress lead: what to know first.
        lead = [(0, t) for t in (session.problem_status(), session.loading_status()) if t]
        text = fit_status(lead + parts, self.app.size.width - 2, compact=self.compact)
        status = self.query_one("#status", Static)
        status.set_class(bool(self.filter_error), "-error")
        if text != self._status_text:  # an update re-lays out the screen: only when it changed
            self._status_text = text
            status.update(plain(text))  # a filter or a reason is never markup, nor raw controls

    # ---- actions ------------------------------------------------------------------------
    def action_open_detail(self) -> None:
        run = self.table.cursor_run()
        if run in self.groups:
            from tui.app.screens.group_detail import GroupDetailScreen

            self.app.push_screen(GroupDetailScreen(self.groups[run]))
        elif run is not None:
            from tui.app.screens.detail import DetailScreen

            self.app.push_screen(DetailScreen(run))

    @on(RunTable.RunSelected)
    def _row_selected(self, event: RunTable.RunSelected) -> None:
        event.stop()
        self.action_open_detail()

    @on(RunTable.HeaderClicked)
    def _header_clicked(self, event: RunTable.HeaderClicked) -> None:
        """Mouse: click "run", "health" or "age" to sort by it."""
        event.stop()
        key = {"name": "name", "health": "worst", "age": "age", "state": "age"}.get(event.column)
        if key is not None:
            self.app.session.view.set_sort(key)
            self.redraw()

    def action_toggle_select(self) -> None:
        run = self.table.cursor_run()
        if run is None:
            return
        view = self.app.session.view
        if run in self.groups:  # a folded group: pick (or unpick) all its runs
            members = self.groups[run].members
            picked = all(m in view.selected for m in members)
            for m in members:
                if (m in view.selected) == picked:
                    view.toggle_selected(m)
        else:
            view.toggle_selected(run)
        self.redraw()

    def action_note(self) -> None:
        run = self.table.cursor_run()
        if run is not None:
            self.app.open_note(run, then=self.redraw)

    def action_cycle_sort(self) -> None:
        key = self.app.session.view.next_sort()
        self.redraw()
        self.notify(f"sorted by {key}", timeout=2)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        # Now, not later (`focus()` waits its turn behind keys already queued): "/pong" typed
        # fast or pasted goes into the box, not to the table's keys (o sorts, n notes).
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self._set_filter("")
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        try:
            match = compile_filter(text)
        except ValueError as e:
            self.filter_error = str(e)
            box = self.query_one("#filter", Input)
            box.set_class(True, "-invalid")
            box.border_title = plain("invalid pattern: the last good filter stays")
            self._update_status()
            return
        self.filter_error = None
        box = self.query_one("#filter", Input)
        box.set_class(False, "-invalid")
        box.border_title = None
        self._filter_text, self._match = text, match
        self.redraw()
