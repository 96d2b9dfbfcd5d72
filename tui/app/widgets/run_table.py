"""The overview's table: one row per run, redrawn cell by cell, only where something changed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.app.text import safe
from tui.app.themes import SEVERITY_VAR
from tui.health.verdict import Severity
from tui.live.layout import ColumnPlan, fit_names, name_target, plan_columns
from tui.live.model import RunView
from tui.spark import sparkline
from tui.vocab import fmt_age, fmt_step

Column = tuple[str, str, str | None, int | None]  # (key, label, sparkline role or None, width)
HEALTH_WIDTH = 15  # "ALARM collapsed": the severity in words, then the worst verdict's kind
SPARK_LABELS = {"entropy": "entropy", "reward": "reward", "throughput": "steps/s"}
COMPACT_SPARK_LABELS = {"entropy": "H", "reward": "R", "throughput": "S/s"}
FULL_HEAD: list[Column] = [("mark", " ", None, 2), ("name", "run", None, None), ("state", "state", None, 7),
                           ("health", "health", None, HEALTH_WIDTH)]
FULL_TAIL: list[Column] = [("step", "step", None, 7), ("age", "age", None, 5)]
COMPACT_HEAD: list[Column] = [("health", "", None, 5), ("name", "run", None, None)]
FULL_SPARK_WIDTHS = (16, 12, 8)
COMPACT_SPARK_WIDTHS = (6,)
CELL_PAD = 2  # DataTable's cell padding, both sides
SCROLLBAR = 1
VIEW_MARGIN = 5  # rows above and below the view kept up to date too

# The severity in words as well as colour (NO_COLOR, colour-blind eyes, a monochrome theme).
SEVERITY_WORD = {Severity.OK: "ok", Severity.INFO: "info", Severity.WARN: "WARN", Severity.ALARM: "ALARM"}
COMPACT_BADGE = SEVERITY_WORD
NOTE_GLYPH = "✎"  # in the mark column: the run has a note (`n`)


@dataclass(frozen=True)
class RowKeyState:
    """What a drawn row was drawn from; a row is redrawn only when this changes."""

    version: int
    age_text: str
    state: str
    selected: bool
    style_key: str
    noted: bool = False


class RunTable(DataTable[Text]):
    """Run rows. The screen owns the views; the table only draws them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        # `g` folds seed groups (the overview's key); `home`/`G` jump to the first/last run.
        Binding("home", "scroll_top", "Top", show=False),
        Binding("G,end", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, id=id)
        self.compact = False
        self.available_width = 120  # the screen sets the terminal's width
        self.plan = ColumnPlan(("entropy", "reward", "throughput"), 12, 24)
        self._names: dict[str, str] = {}  # run -> its name as shown (fitted to the column)
        self._names_for: tuple[tuple[str, ...], ColumnPlan] | None = None
        self._drawn: dict[str, RowKeyState] = {}
        self._cell_cache: dict[str, dict[str, Text]] = {}
        self.rebuilds = 0  # whole-table rebuilds (order changed); cell updates are the cheap path
        self._stale: dict[str, _Stale] = {}  # rows whose data changed, not yet redrawn (off screen)
        self._row_order: list[str] = []
        self._columns_for: tuple[bool, ColumnPlan] | None = None

    # ---- layout -------------------------------------------------------------------------
    @property
    def name_width(self) -> int:
        return self.plan.name_width

    def fixed_width(self) -> int:
        """Cells taken by every column but the name and the sparklines (with DataTable's
        1-cell padding each side, the name's padding and the scrollbar)."""
        cols = (COMPACT_HEAD if self.compact else FULL_HEAD + FULL_TAIL)
        return sum((w or 0) + CELL_PAD for *_, w in cols) + SCROLLBAR

    def plan_for(self, names: list[str]) -> ColumnPlan:
        """The columns for this width and these (shown) names: sparklines narrow, then go
        (steps/s, reward, entropy), before a name is cut below its readable form."""
        widths = COMPACT_SPARK_WIDTHS if self.compact else FULL_SPARK_WIDTHS
        return plan_columns(self.available_width, self.fixed_width(), name_target(names), widths, pad=CELL_PAD)

    def columns_spec(self) -> list[Column]:
        labels = COMPACT_SPARK_LABELS if self.compact else SPARK_LABELS
        sparks: list[Column] = [(r, labels[r], r, self.plan.spark_width) for r in self.plan.sparks]
        if self.compact:
            return COMPACT_HEAD + sparks
        return FULL_HEAD + sparks + FULL_TAIL

    def _ensure_columns(self) -> None:
        want = (self.compact, self.plan)
        if self._columns_for == want:
            return
        self.clear(columns=True)
        for key, label, _role, width in self.columns_spec():
            self.add_column(label, key=key, width=width if width is not None else self.name_width)
        self._columns_for = want
        self._drawn.clear()
        self._cell_cache.clear()
        self._stale.clear()
        self._row_order = []

    # ---- cells --------------------------------------------------------------------------
    def _cells(self, view: RunView, now: float, selected: bool, colors: dict[str, str],
               noted: bool = False) -> dict[str, Text]:
        sev = view.severity
        color = colors[SEVERITY_VAR[sev]]
        muted = colors["muted"]
        age = view.age(now)
        problem = bool(view.problems)
        cells: dict[str, Text] = {}
        # Plain text (never markup), control and invisible format characters as visible
        # escapes (`tui.app.text.safe`): names are untrusted.
        name = Text(self._names.get(view.name) or safe(view.name), no_wrap=True)
        if problem:
            name = Text.assemble(("! ", f"bold {colors['verdict-alarm']}"), name)
        cells["name"] = name
        if self.compact:
            label = COMPACT_BADGE[sev] if view.worst is not None else "—"
            if view.is_group:
                label = f"{view.healthy}/{len(view.members)}"
            cells["health"] = Text(label, style=f"bold {color}" if sev >= Severity.WARN else color)
        else:
            cells["mark"] = Text.assemble(("●" if selected else " ", colors["verdict-info"]),
                                          (NOTE_GLYPH if noted else "", colors["muted"]))
            # The state of the judgement that gave the health column (`RunHealth.state`: the one
            # run-state rule with the writer evidence), never a second clock of the table's own.
            state = view.state
            cells["state"] = Text(state, style=muted if state == "ended" else
                                  (colors["verdict-warn"] if state == "stalled" else ""))
            cells["health"] = health_cell(view, color)
            cells["step"] = Text(fmt_step(view.last_step), justify="right")
            cells["age"] = Text(fmt_age(age), justify="right", style=muted)
        for key, _label, role, width in self.columns_spec():
            if role is not None:
                spark_color = color if sev >= Severity.WARN else colors["verdict-info"]
                cells[key] = Text(sparkline(view.spark.get(role, ()), width or 8, view.spark_bounds.get(role)),
                                  style=spark_color)
        return cells

    def draw_views(self, views: list[RunView], now: float, selected: Collection[str], colors: dict[str, str],
                   noted: Collection[str] = frozenset()) -> int:
        """Draw `views` in this order; returns how many rows were (re)drawn.

        Args:
            views: the rows, in order (runs, or folded seed groups).
            now: epoch seconds, for ages.
            selected: names of the runs picked for overlays (a group: all its members).
            colors: the theme's verdict colours.
            noted: names of the runs that have a note.
        """
        self._fit(views)
        self._ensure_columns()
        order = [v.name for v in views]
        style_key = "|".join(f"{k}={v}" for k, v in sorted(colors.items()))
        if order != self._row_order:
            self.rebuilds += 1
            # The cursor keeps its run when rows reorder, except at the top: a cursor left on
            # the first row stays there, on whatever is now worst.
            cursor_run = self.cursor_run() if self.cursor_row > 0 else None
            # Forget the old rows before clearing: clearing scrolls, and a scroll redraws the
            # stale rows in view (`watch_scroll_y`), which must not reach rows just removed.
            self._row_order = []
            self._drawn.clear()
            self._cell_cache.clear()
            self._stale.clear()
            self.clear()
            keys = [k for k, *_ in self.columns_spec()]
            for v in views:
                picked = _picked(v, selected) if v.members else v.name in selected
                cells = self._cells(v, now, picked, colors, v.name in noted)
                self.add_row(*[cells.get(k, Text("")) for k in keys], key=v.name)
                self._cell_cache[v.name] = cells
                self._drawn[v.name] = RowKeyState(v.version, fmt_age(v.age(now)), v.state, picked, style_key,
                                                  v.name in noted)
            self._row_order = order
            if cursor_run in order:
                self.move_cursor(row=order.index(cursor_run), animate=False)
            return len(views)
        for v in views:
            picked = _picked(v, selected) if v.members else v.name in selected
            state = RowKeyState(v.version, fmt_age(v.age(now)), v.state, picked, style_key, v.name in noted)
            if self._drawn.get(v.name) != state:
                self._stale[v.name] = _Stale(v, now, picked, colors, state)
        return self._flush_visible()

    def _fit(self, views: list[RunView]) -> None:
        """Plan the columns for the names shown, and fit each name to the name column."""
        shown = {v.name: safe(v.name) for v in views}
        names = sorted(set(shown.values()))
        plan = self.plan_for(names)
        key = (tuple(names), plan)
        if key == self._names_for:
            return
        self.plan = plan
        fitted = fit_names(names, plan.name_width)
        marked = fit_names(names, plan.name_width - 2)  # rows with a problem: "! " first
        self._names = {v.name: (marked if v.problems else fitted)[shown[v.name]] for v in views}
        self._names_for = key
        self._drawn.clear()  # names may read differently now: redraw every row
        self._row_order = []

    def _flush_visible(self) -> int:
        """Redraw the stale rows in view (and a few around); the rest wait until scrolled to.

        Every `update_cell` invalidates the table's whole line cache, so redrawing 200 live
        rows off screen would cost as much as 200 on screen, for nothing.
        """
        if not self._stale:
            return 0
        top = int(self.scroll_y)
        lo, hi = max(0, top - VIEW_MARGIN), top + self.size.height + VIEW_MARGIN
        drawn = 0
        for row in range(lo, min(hi, len(self._row_order))):
            name = self._row_order[row]
            item = self._stale.pop(name, None)
            if item is None:
                continue
            v, now, selected, colors, state = item
            old = self._cell_cache.get(name, {})
            cells = self._cells(v, now, selected, colors, state.noted)
            for key, cell in cells.items():
                if not _same(old.get(key), cell):
                    self.update_cell(name, key, cell)
            self._cell_cache[name] = cells
            self._drawn[name] = state
            drawn += 1
        return drawn

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._flush_visible()

    def cursor_run(self) -> str | None:
        """The run under the cursor, or None for an empty table."""
        if not self.row_count or self.cursor_row < 0 or self.cursor_row >= len(self._row_order):
            return None
        return self._row_order[self.cursor_row]

    def set_compact(self, compact: bool) -> None:
        self.compact = compact

    def set_available_width(self, width: int) -> None:
        self.available_width = width


def health_cell(view: RunView, color: str) -> Text:
    """The health column: the severity in words (as well as colour), then the worst verdict's
    kind: ``ALARM collapsed``, ``WARN fps-decay``, ``info flat``, ``ok``; a seed group says
    how many of its runs are healthy (``2/3 healthy``)."""
    sev = view.severity
    if view.worst is None and not view.is_group:
        return Text("—", style=color)
    strong = sev >= Severity.WARN
    word = Text(SEVERITY_WORD[sev], style="bold reverse" if strong else "")
    if view.is_group:  # "2/3 healthy": how many seeds are healthy says it in words
        label = f"{view.healthy}/{len(view.members)} healthy"
        if len(label) > HEALTH_WIDTH:
            label = f"{view.healthy}/{len(view.members)} ok"
        return Text(label, style=f"bold reverse {color}" if strong else color)
    badge = view.badge()
    if sev == Severity.OK or badge == SEVERITY_WORD[sev].lower():
        return Text.assemble(word, style=color)
    room = HEALTH_WIDTH - len(word) - 1
    kind = badge if len(badge) <= room else badge[:room - 1] + "…"
    return Text.assemble(word, " ", (kind, "bold" if strong else ""), style=color)


class _Stale(NamedTuple):
    """A row to redraw when it comes into view: what to draw it from."""

    view: RunView
    now: float
    selected: bool
    colors: dict[str, str]
    state: RowKeyState


def _picked(view: RunView, selected: Collection[str]) -> bool:
    if view.is_group:
        return all(m in selected for m in view.members)
    return view.name in selected


def _same(a: Text | None, b: Text) -> bool:
    """Equal text *and* styles (Rich's Text equality ignores the base style)."""
    return a is not None and a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans
