"""The overview's table: one row per run, redrawn cell by cell, only where something changed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.app.themes import SEVERITY_VAR
from tui.health.verdict import Severity
from tui.live.model import RunView, run_state, shorten
from tui.spark import sparkline
from tui.vocab import ENDED_AFTER, fmt_age, fmt_step

Column = tuple[str, str, str | None, int | None]  # (key, label, sparkline role or None, width)
FULL_COLUMNS: list[Column] = [
    ("mark", " ", None, 2), ("name", "run", None, None), ("state", "state", None, 7),
    ("health", "health", None, 11), ("entropy", "entropy", "entropy", 0),
    ("reward", "reward", "reward", 0), ("throughput", "steps/s", "throughput", 0),
    ("step", "step", None, 7), ("age", "age", None, 5),
]
COMPACT_COLUMNS: list[Column] = [
    ("health", "", None, 5), ("name", "run", None, None), ("entropy", "H", "entropy", 6),
    ("reward", "R", "reward", 6), ("throughput", "S/s", "throughput", 6),
]
VIEW_MARGIN = 5  # rows above and below the view kept up to date too

COMPACT_BADGE = {Severity.OK: "ok", Severity.INFO: "info", Severity.WARN: "WARN", Severity.ALARM: "ALARM"}
NOTE_GLYPH = "✎"  # in the mark column: the run has a note (`n`)


@dataclass(frozen=True)
class RowKeyState:
    """What a drawn row was drawn from; a row is redrawn only when this changes."""

    version: int
    age_text: str
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
        self.name_width = 24
        self.spark_width = 16  # full layout; 0-width columns in FULL_COLUMNS take this
        self.ended_after = ENDED_AFTER  # the screen sets the health options' value
        self._drawn: dict[str, RowKeyState] = {}
        self._cell_cache: dict[str, dict[str, Text]] = {}
        self.rebuilds = 0  # whole-table rebuilds (order changed); cell updates are the cheap path
        self._stale: dict[str, _Stale] = {}  # rows whose data changed, not yet redrawn (off screen)
        self._row_order: list[str] = []
        self._columns_for: tuple[bool, int, int] | None = None

    # ---- layout -------------------------------------------------------------------------
    def fixed_width(self) -> int:
        """Cells taken by every column but the name (with DataTable's 1-cell padding each side)."""
        cols = self.columns_spec()
        return sum((w or 0) + 2 for *_, w in cols) + 2  # + name padding, + scrollbar

    def columns_spec(self) -> list[Column]:
        if self.compact:
            return COMPACT_COLUMNS
        return [(k, label, role, self.spark_width if width == 0 else width) for k, label, role, width in FULL_COLUMNS]

    def _ensure_columns(self) -> None:
        want = (self.compact, self.name_width, self.spark_width)
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
        name = Text(shorten(view.name, self.name_width - (2 if problem else 0)), no_wrap=True)
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
            state = run_state(age, self.ended_after, view.usual_gap)
            cells["state"] = Text(state, style=muted if state == "ended" else
                                  (colors["verdict-warn"] if state == "stalled" else ""))
            badge = view.badge()
            style = f"bold reverse {color}" if sev >= Severity.WARN else color
            if view.is_group:  # "2/3 healthy" (11 cells: the column's width), "10/12 ok" beyond
                label = f"{view.healthy}/{len(view.members)} healthy"
                cells["health"] = Text(label if len(label) <= 11 else f"{view.healthy}/{len(view.members)} ok",
                                       style=style)
            else:
                cells["health"] = Text(f" {badge} " if sev >= Severity.WARN else badge, style=style)
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
        self._ensure_columns()
        order = [v.name for v in views]
        style_key = "|".join(f"{k}={v}" for k, v in sorted(colors.items()))
        if order != self._row_order:
            self.rebuilds += 1
            # The cursor keeps its run when rows reorder, except at the top: a cursor left on
            # the first row stays there, on whatever is now worst.
            cursor_run = self.cursor_run() if self.cursor_row > 0 else None
            self.clear()
            self._drawn.clear()
            self._cell_cache.clear()
            self._stale.clear()
            keys = [k for k, *_ in self.columns_spec()]
            for v in views:
                picked = _picked(v, selected) if v.members else v.name in selected
                cells = self._cells(v, now, picked, colors, v.name in noted)
                self.add_row(*[cells.get(k, Text("")) for k in keys], key=v.name)
                self._cell_cache[v.name] = cells
                self._drawn[v.name] = RowKeyState(v.version, fmt_age(v.age(now)), picked, style_key,
                                                  v.name in noted)
            self._row_order = order
            if cursor_run in order:
                self.move_cursor(row=order.index(cursor_run), animate=False)
            return len(views)
        for v in views:
            picked = _picked(v, selected) if v.members else v.name in selected
            state = RowKeyState(v.version, fmt_age(v.age(now)), picked, style_key, v.name in noted)
            if self._drawn.get(v.name) != state:
                self._stale[v.name] = _Stale(v, now, picked, colors, state)
        return self._flush_visible()

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
