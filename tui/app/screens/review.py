"""The review screen (`r`): the end-of-day review of every run, inside the TUI.

It shows a `tui.report.review_model.Review` (built by `tui.report.review.build_review`, which
judges and replays every run: the host app should build it in a thread worker and push this
screen with the result). Colours come from theme variables, so every theme reads well.
"""

from __future__ import annotations

import re
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.app.text import markup_escape as escape
from tui.app.widgets.footer import KeyFooter
from tui.health.verdict import Severity
from tui.report.render_common import SEVERITY_MARK, fmt_date
from tui.report.render_text import looks_lines, run_lines
from tui.report.review_model import Review, RunReview

SEVERITY_VAR = {Severity.OK: "$success", Severity.INFO: "$success", Severity.WARN: "$warning",
                Severity.ALARM: "$error"}


# A line's hanging indent: its leading spaces, and a verdict's mark and label ("▲ warn  ").
_HANG = re.compile(" *(?:[" + "".join(SEVERITY_MARK.values()) + r"] \S+ +)?")


class HangingLines:
    """Lines of plain text (never markup) that wrap under their own start: a long verdict's
    reason continues below the reason, not at the left edge."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            m = _HANG.match(line)
            cut = m.end() if m and m.end() < len(line) else 0
            if not cut:
                yield Text(line, overflow="fold")
                continue
            grid = Table.grid()
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            grid.add_row(Text(line[:cut]), Text(line[cut:]))
            yield grid

    def __str__(self) -> str:
        return "\n".join(self.lines)


def run_block(r: RunReview, now: float) -> Vertical:
    """One run's block: a coloured badge and name, then the same lines as the text review."""
    var = SEVERITY_VAR[r.worst]
    head = f"[bold reverse {var}] {r.worst.label.upper()} [/] [bold]{escape(r.name)}[/bold]"
    return Vertical(Static(head), Static(HangingLines(run_lines(r, now)[1:])),
                    classes=f"run {r.worst.label}", name=r.name)


class ReviewScreen(Screen[None]):
    """The review of every run, worst first; `a` shows the runs untouched in the period.

    Args:
        review: what to show.
        title: the heading (default "Review").
    """

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    ReviewScreen #review-head { height: auto; padding: 0 1; background: $boost; }
    ReviewScreen #review-body { height: 1fr; padding: 0 1; }
    ReviewScreen .run > Static { height: auto; }
    ReviewScreen .run { height: auto; margin: 1 0 0 0; padding: 0 1; border-left: thick $success; }
    ReviewScreen .run.warn { border-left: thick $warning; }
    ReviewScreen .run.alarm { border-left: thick $error; }
    ReviewScreen .section { height: auto; margin: 1 0 0 0; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,r", "close", "Back"),
        Binding("a", "toggle_all", "Untouched runs"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("G,end", "bottom", "Bottom", show=False),
    ]

    def __init__(self, review: Review, title: str = "Review") -> None:
        super().__init__()
        self.review = review
        self.heading = title
        self.show_all = review.include_all

    def compose(self) -> ComposeResult:
        yield Static(id="review-head")
        yield VerticalScroll(id="review-body")
        yield KeyFooter()

    async def on_mount(self) -> None:
        await self._fill()

    def _head(self) -> str:
        rv = self.review
        runs = rv.visible(self.show_all)
        counts = {s: sum(1 for r in runs if r.worst == s) for s in Severity}
        hidden = len(rv.runs) - len(runs)
        parts = [f"[bold]{escape(self.heading)}[/bold] · since {fmt_date(rv.since)} · {len(runs)} runs",
                 f"[$error]{counts[Severity.ALARM]} alarm[/] · [$warning]{counts[Severity.WARN]} warn[/] · "
                 f"[$success]{counts[Severity.OK] + counts[Severity.INFO]} ok[/]"]
        if hidden:
            parts.append(f"[dim]{hidden} untouched hidden (a)[/dim]")
        return " · ".join(parts)

    async def _fill(self) -> None:
        rv = self.review
        body = self.query_one("#review-body", VerticalScroll)
        self.query_one("#review-head", Static).update(self._head())
        widgets: list[Static | Vertical] = []
        runs = rv.visible(self.show_all)
        if not runs:
            widgets.append(Static("No run wrote anything in this period. [dim](a: show all runs)[/dim]",
                                  classes="section"))
        widgets += [run_block(r, rv.generated) for r in runs]
        if rv.groups:
            lines = ["[bold]Seed groups[/bold]"] + [
                f"[{SEVERITY_VAR[g.worst]}]{escape(g.label)}[/]  {escape(g.key)}  "
                f"[dim]{escape(', '.join(g.members))}[/dim]" for g in rv.groups]
            widgets.append(Static("\n".join(lines), classes="section", id="review-groups"))
        looks = looks_lines(rv, rv.generated)
        if looks:
            widgets.append(Static("[bold]" + escape(looks[0]) + "[/bold]\n" + "\n".join(escape(x) for x in looks[1:]),
                                  classes="section", id="review-looks"))
        # Old widgets must be gone before new ones with the same ids arrive.
        await body.remove_children()
        await body.mount_all(widgets)

    def action_close(self) -> None:
        self.dismiss()

    async def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        await self._fill()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#review-body", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_top(self) -> None:
        self.query_one("#review-body", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#review-body", VerticalScroll).scroll_end(animate=False)
