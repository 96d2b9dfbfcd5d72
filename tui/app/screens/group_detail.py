"""A seed group's detail (`enter` on a folded row): every chart shows the group's median and
its min–max band across seeds, instead of one run's line.

plotext can't fill between two lines, so the band is drawn as its edges: min and max thin and
faint, the median heavy on top. The head says which is which and how many seeds are healthy.
"""

from __future__ import annotations

from rich.text import Text
from textual.color import Color

from tui.app.screens.detail import ROLE_CHARTS, ChartData, DetailScreen, hang
from tui.app.themes import SEVERITY_VAR
from tui.groups import Band, SeedGroup, group_band, group_health
from tui.health.verdict import Severity
from tui.live.chart import band_lines
from tui.live.model import tag_groups
from tui.store import Series
from tui.vocab import fmt_age, fmt_step, safe_terminal

GROUP_X_MODES = ("step", "relative")  # absolute wall time means nothing across seeds
FAINT = 0.55  # how far the min/max lines are blended toward the background


class GroupDetailScreen(DetailScreen):
    """Charts of a seed group: median and min–max band of its members, per role and tag.

    Args:
        group: the folded group (its members are run names).
    """

    def __init__(self, group: SeedGroup) -> None:
        super().__init__(group.key)
        self.group = group
        self.bands: dict[str, Band] = {}  # chart id -> the band drawn (tests read it)

    @property
    def runs(self) -> list[str]:
        """The group's members still in the store (picked runs are not overlaid here)."""
        return [m for m in self.group.members if m in self.app.store]

    def _colors(self) -> tuple[Color, Color]:
        """(median colour, min/max colour): the theme's primary, and it faded toward the background."""
        theme = self.app.current_theme
        color = Color.parse(theme.primary)
        background = Color.parse(theme.background or ("#000000" if theme.dark else "#ffffff"))
        return color, color.blend(background, FAINT)

    def _chart_data(self) -> ChartData:
        store, judge = self.app.store, self.app.judge
        runs = self.runs
        snaps = {r: store.snapshot(r) for r in runs}
        self._versions = {r: s.version for r, s in snaps.items()}
        color, faint = (c.rgb for c in self._colors())
        band_x = "step" if self.x_mode == "step" else "wall"
        out: ChartData = {}
        bands: dict[str, Band] = {}

        def add(cid: str, title: str, candidates: list[Series | None]) -> None:
            series = [s for s in candidates if s is not None and len(s)]
            if not series:
                return
            band = group_band(series, x=band_x)
            lines = band_lines(band, color, faint, self.x_mode)
            if lines:
                bands[cid] = band
                out[cid] = (title, lines, ())

        for role, title in ROLE_CHARTS:
            add(f"role-{role}", title, [judge.roles(r).get(role) for r in runs])
        tags = sorted({t for s in snaps.values() for t in s.series})
        for _group, group_tags in tag_groups(tags):
            for tag in group_tags:
                add(f"tag-{tag}", tag, [snaps[r].series.get(tag) for r in runs])
        self.bands = bands
        return out

    # ---- head and verdicts ---------------------------------------------------------------
    def _head_text_now(self) -> Text:
        app = self.app
        views = [v for v in (app.judge.view(m) for m in self.runs) if v is not None]
        gh = group_health(self.group, {v.name: v.severity for v in views})
        colors = app.verdict_styles()
        color = colors[SEVERITY_VAR[gh.worst]]
        head = Text.assemble((safe_terminal(self.run), "bold"), "  ")
        head.append(f" {gh.label} ", style=f"bold reverse {color}" if gh.worst >= Severity.WARN else color)
        head.append(f" · {self.group.n} seeds")
        steps = [v.last_step for v in views if v.last_step is not None]
        writes = [v.last_write for v in views if v.last_write is not None]
        if steps:
            head.append(f" · step {fmt_step(max(steps))}")
        if writes:
            head.append(f" · wrote {fmt_age(app.options.clock() - max(writes))} ago")
        return head

    def _head_extra(self, head: Text) -> None:
        """The legend: which line is which."""
        color, faint = self._colors()
        head.append(" · ")
        head.append("▀▄ median", style=f"bold {color.hex}")
        head.append("  ")
        head.append("⠉⠒ min & max", style=faint.hex)

    def _verdict_text(self) -> Text:
        """One line per member: its worst verdict (the member's own detail has them all)."""
        app = self.app
        colors = app.verdict_styles()
        lines = Text()
        width = self.verdict_width()
        for m in self.runs:
            view = app.judge.view(m)
            worst = view.worst if view is not None else None
            sev = worst.severity if worst is not None else Severity.OK
            color = colors[SEVERITY_VAR[sev]]
            badge = Text.assemble((f" {sev.label:<5} ", f"bold reverse {color}" if sev >= Severity.WARN else color), " ")
            body = Text(safe_terminal(m))
            if worst is not None and sev >= Severity.WARN:
                body.append(f" — {worst.metric}: {safe_terminal(worst.reason)}", style="")
            if view is not None and view.problems:
                body.append(f"  ! {len(view.problems)} file problem(s)", style=colors["verdict-alarm"])
            lines.append_text(hang(badge, body, width, app.console))
        if not lines:
            lines.append("no runs of this group are loaded", style=colors["muted"])
        lines.rstrip()
        return lines

    # ---- actions --------------------------------------------------------------------------
    def action_cycle_x(self) -> None:
        """step ↔ hours since start (the band is recomputed on the new x)."""
        modes = GROUP_X_MODES
        self.x_mode = modes[(modes.index(self.x_mode) + 1) % len(modes)] if self.x_mode in modes else modes[0]
        self._update_charts()
