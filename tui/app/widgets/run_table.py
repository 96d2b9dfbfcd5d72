"""The overview's table: one row per run, a virtual table (as htop or lazygit draw theirs).

The table holds the runs' order and their views, nothing per row beyond that: only the rows on
screen are built (cells, then a line of segments), and built again only when what they are
drawn from changed (`RowKeyState`). 30 000 runs cost a list of 30 000 names; a reorder is a
new list, not 30 000 rows cleared and added again.

Why not Textual's `DataTable`: every change there (`update_cell`, `add_row`, `sort`) bumps one
counter that invalidates every cache, and the next frame rebuilds its list of every row's
offsets and ordered rows (O(rows) a frame); adding 30 000 rows took 1.8 s plus 3 s measuring
their cells, and there is no "move a row". The look is DataTable's, drawn the same way (its
component classes, cell padding and cursor styles), so the screens read as before.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import ClassVar

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.text import safe
from tui.app.widgets.run_cells import (
    COMPACT_HEAD,
    FULL_HEAD,
    FULL_TAIL,
    Column,
    RowKeyState,
    age_cell,
    build_cells,
    columns_spec,
    health_cell,
    row_state,
)
from tui.live.layout import ColumnPlan, fit_names, name_target, plan_columns
from tui.live.model import RunView

__all__ = ["RowKeyState", "RunTable", "health_cell"]

FULL_SPARK_WIDTHS = (16, 12, 8)
COMPACT_SPARK_WIDTHS = (6,)
CELL_PAD = 2  # cell padding, both sides (1 each, as DataTable's)
SCROLLBAR = 1
EMPTY = Text("")
CACHE_ROWS = 2000  # built rows (cells, lines) kept; more are forgotten (only ~40 are on screen)


class RunTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Run rows. The screen owns the views; the table only draws the ones on screen.

    Attributes:
        reorders: how many times the rows' order (or membership) changed.
        rows_built: how many times a row's cells were built (a row on screen whose data
            changed; the others cost nothing until scrolled to).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        # `g` folds seed groups (the overview's key); `home`/`G` jump to the first/last run.
        Binding("home,ctrl+home", "scroll_top", "Top", show=False),
        Binding("G,end,ctrl+end", "scroll_bottom", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"datatable--cursor", "datatable--header"}

    # DataTable's look (the parts a row-cursor table without zebra stripes uses).
    DEFAULT_CSS = """
    RunTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header {
                background-tint: $foreground 5%;
            }
        }
        & > .datatable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .datatable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class RunHighlighted(Message):
        """The cursor is on another run (or on none: an empty table)."""

        def __init__(self, table: RunTable, run: str | None) -> None:
            super().__init__()
            self.table, self.run = table, run

        @property
        def control(self) -> RunTable:
            return self.table

    class RunSelected(Message):
        """Enter, or a click on the cursor's row: open the run."""

        def __init__(self, table: RunTable, run: str) -> None:
            super().__init__()
            self.table, self.run = table, run

        @property
        def control(self) -> RunTable:
            return self.table

    class HeaderClicked(Message):
        """A click on a column's header (the key: "name", "health", "age"...)."""

        def __init__(self, table: RunTable, column: str) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> RunTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.compact = False
        self.available_width = 120  # the screen sets the terminal's width
        self.plan = ColumnPlan(("entropy", "reward", "throughput"), 12, 24)
        self.cursor_row = 0
        self.reorders = 0
        self.rows_built = 0
        self._columns: list[Column] = columns_spec(False, self.plan)
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._views: dict[str, RunView] = {}
        self._now = 0.0
        self._selected: Collection[str] = frozenset()
        self._noted: Collection[str] = frozenset()
        self._colors: dict[str, str] = {}
        self._style_key = ""
        self._fitted: dict[str, str] = {}  # name as shown -> fitted to the name column
        self._marked: dict[str, str] = {}  # the same, 2 cells narrower (rows with "! " first)
        self._fit_for: tuple[frozenset[str], int, bool] | None = None
        self._cells: dict[str, tuple[RowKeyState, dict[str, Text]]] = {}
        self._lines: dict[tuple[object, ...], Strip] = {}
        # (run, column) -> (where it was drawn, the cell, its segments): a row whose age alone
        # changed draws one cell again, not ten.
        self._drawn_cells: dict[tuple[str | None, int], tuple[tuple[object, ...], Text, list[Segment]]] = {}
        self._styles: tuple[Style, Style, Style] = (Style(), Style(), Style())
        self._highlighted: str | None = None

    # ---- layout -------------------------------------------------------------------------
    @property
    def name_width(self) -> int:
        return self.plan.name_width

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def row_keys(self) -> list[str]:
        """The rows' runs (or folded groups), in order (a copy)."""
        return list(self._order)

    @property
    def column_keys(self) -> list[str]:
        """The columns' keys, in order ("mark", "name", "state", "health", ...)."""
        return [key for key, *_ in self._columns]

    def fixed_width(self) -> int:
        """Cells taken by every column but the name and the sparklines (with the 1-cell
        padding each side, the name's padding and the scrollbar)."""
        cols = (COMPACT_HEAD if self.compact else FULL_HEAD + FULL_TAIL)
        return sum((w or 0) + CELL_PAD for *_, w in cols) + SCROLLBAR

    def plan_for(self, names: list[str]) -> ColumnPlan:
        """The columns for this width and these (shown) names: sparklines narrow, then go
        (steps/s, reward, entropy), before a name is cut below its readable form."""
        widths = COMPACT_SPARK_WIDTHS if self.compact else FULL_SPARK_WIDTHS
        return plan_columns(self.available_width, self.fixed_width(), name_target(names), widths, pad=CELL_PAD)

    def columns_spec(self) -> list[Column]:
        return columns_spec(self.compact, self.plan)

    def _widths(self) -> list[int]:
        return [(w if w is not None else self.name_width) + CELL_PAD for *_, w in self._columns]

    def set_compact(self, compact: bool) -> None:
        self.compact = compact

    def set_available_width(self, width: int) -> None:
        self.available_width = width

    # ---- data ---------------------------------------------------------------------------
    def draw_views(self, views: list[RunView], now: float, selected: Collection[str], colors: dict[str, str],
                   noted: Collection[str] = frozenset()) -> int:
        """Show `views` in this order; returns how many rows on screen changed.

        Costs O(runs) to take the order, plus only the rows on screen whose data changed.

        Args:
            views: the rows, in order (runs, or folded seed groups).
            now: epoch seconds, for ages.
            selected: names of the runs picked for overlays (a group: all its members).
            colors: the theme's verdict colours.
            noted: names of the runs that have a note.
        """
        self._fit(views)
        self._views = {v.name: v for v in views}
        self._now, self._selected, self._noted = now, selected, noted
        if colors != self._colors:
            self._colors = dict(colors)
            self._style_key = "|".join(f"{k}={v}" for k, v in sorted(colors.items()))
        order = [v.name for v in views]
        if order != self._order:
            self.reorders += 1
            # The cursor keeps its run when rows reorder, except at the top: a cursor left on
            # the first row stays there, on whatever is now worst.
            cursor_run = self.cursor_run() if self.cursor_row > 0 else None
            self._order, self._index = order, {name: i for i, name in enumerate(order)}
            self.virtual_size = Size(sum(self._widths()), len(order) + 1)
            self._set_cursor(self._index.get(cursor_run, self.cursor_row) if cursor_run else self.cursor_row)
            self.refresh()
            return len(self._visible_rows())
        return self._refresh_changed()

    def set_now(self, now: float) -> int:
        """The clock moved (ages): redraw the rows on screen whose age reads differently;
        returns how many. Nothing is sorted or compared but the rows on screen."""
        self._now = now
        return self._refresh_changed()

    def _refresh_changed(self) -> int:
        changed = 0
        for row in self._visible_rows():
            name = self._order[row]
            cached = self._cells.get(name)
            if cached is None or cached[0] != self._key(name):
                changed += 1
                self._refresh_row(row)
        return changed

    def _visible_rows(self) -> range:
        top = int(self.scroll_y)
        return range(top, min(len(self._order), top + max(0, self.size.height - 1)))

    def _fit(self, views: list[RunView]) -> None:
        """Plan the columns for the names shown, and fit each name to the name column (only
        when the runs shown, the width or the layout changed)."""
        runs = frozenset(v.name for v in views)
        key = (runs, self.available_width, self.compact)
        if key == self._fit_for:
            return
        names = sorted({safe(name) for name in runs})
        self.plan = self.plan_for(names)
        self._fitted = fit_names(names, self.plan.name_width)
        self._marked = fit_names(names, self.plan.name_width - 2)  # rows with a problem: "! " first
        self._fit_for = key
        columns = self.columns_spec()
        if columns != self._columns:
            self._columns = columns
            self.virtual_size = Size(sum(self._widths()), len(self._order) + 1)
        self._forget()
        self.refresh()

    def _forget(self) -> None:
        self._cells.clear()
        self._lines.clear()
        self._drawn_cells.clear()

    def _key(self, name: str) -> RowKeyState:
        view = self._views[name]
        shown = safe(view.name)
        fitted = (self._marked if view.problems else self._fitted).get(shown, shown)
        return row_state(view, self._now, self._selected, self._style_key, self._noted, fitted)

    def _row_cells(self, name: str) -> tuple[RowKeyState, dict[str, Text]]:
        key = self._key(name)
        cached = self._cells.get(name)
        if cached is not None and cached[0] == key:
            return cached
        if len(self._cells) >= CACHE_ROWS:
            self._cells.clear()
        self.rows_built += 1
        if cached is not None and replace(cached[0], age_text=key.age_text) == key and "age" in cached[1]:
            # Only the clock moved: a new age cell, the other cells (and their drawing) kept.
            cells = {**cached[1], "age": age_cell(key.age_text, self._colors)}
        else:
            cells = build_cells(self._views[name], key, self._now, self._colors, self.compact, self._columns)
        self._cells[name] = (key, cells)
        return key, cells

    def get_cell(self, run: str, column: str) -> Text:
        """The cell of `run`'s row in `column` (a column key: "name", "health"...), as drawn.

        Raises:
            KeyError: no such row or column.
        """
        if run not in self._index:
            raise KeyError(f"no row {run!r}")
        if column not in {k for k, *_ in self._columns}:
            raise KeyError(f"no column {column!r}")
        return self._row_cells(run)[1].get(column, Text(""))

    # ---- the cursor ---------------------------------------------------------------------
    def cursor_run(self) -> str | None:
        """The run under the cursor, or None for an empty table."""
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        """Put the cursor on `row` (clamped to the table) and scroll it into view."""
        self._set_cursor(row)

    def _set_cursor(self, row: int) -> None:
        row = max(0, min(row, len(self._order) - 1))
        if row != self.cursor_row:
            old, self.cursor_row = self.cursor_row, row
            self._refresh_row(old)
            self._refresh_row(row)
        self._scroll_to_cursor()
        run = self.cursor_run()
        if run != self._highlighted:
            self._highlighted = run
            self.post_message(self.RunHighlighted(self, run))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        page = self._page()
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        y = row - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._set_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self._set_cursor(self.cursor_row + self._page())

    def action_scroll_top(self) -> None:
        self._set_cursor(0)

    def action_scroll_bottom(self) -> None:
        self._set_cursor(len(self._order) - 1)

    def action_select_cursor(self) -> None:
        run = self.cursor_run()
        if run is not None:
            self.post_message(self.RunSelected(self, run))

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        row, column = meta.get("row"), meta.get("column")
        if not isinstance(row, int) or not isinstance(column, int):
            return
        event.stop()
        if row == -1:  # the header: sort by that column
            if 0 <= column < len(self._columns):
                self.post_message(self.HeaderClicked(self, self._columns[column][0]))
            return
        again = row == self.cursor_row
        self._set_cursor(row)
        if again:
            self.action_select_cursor()

    # ---- drawing ------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self._drawn_cells.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._styles = (self.rich_style, self.get_component_rich_style("datatable--cursor"),
                        self.get_component_styles("datatable--header").rich_style)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._styles[0]
        x = int(self.scroll_x)  # a table wider than the pane scrolls sideways, header too
        if y == 0:
            key: tuple[object, ...] = ("header", tuple(c[:2] for c in self._columns), width, x, self._styles)
            line = self._lines.get(key)
            if line is None:
                labels = [Text(label) for _k, label, *_ in self._columns]
                line = self._lines[key] = self._line(-1, labels, False, width, x)
            return line
        row = int(self.scroll_y) + y - 1
        if row >= len(self._order):
            return Strip.blank(width, base)
        name = self._order[row]
        state, cells = self._row_cells(name)
        cursor = row == self.cursor_row
        key = (name, row, state, cursor, width, x, self._styles)
        line = self._lines.get(key)
        if line is None:
            if len(self._lines) >= CACHE_ROWS:
                self._lines.clear()
            line = self._lines[key] = self._line(row, [cells.get(k, EMPTY) for k, *_ in self._columns],
                                                 cursor, width, x, name)
        return line

    def _line(self, row: int, cells: list[Text], cursor: bool, width: int, x: int, name: str | None = None,
              ) -> Strip:
        """One line as DataTable draws it: each cell padded, in the row's style (the header's
        for the header), the cursor's style under it and the cursor's colour over it; the
        rest of the width in the row's style. Mouse clicks read the row and column from the
        segments' meta."""
        base, cursor_style, header_style = self._styles
        row_style = header_style if row == -1 else base
        component = cursor_style if cursor else Style()
        post = Style.from_color(color=component.color) + Style.null()
        console = self.app.console
        segments: list[Segment] = []
        widths = self._widths()
        if len(self._drawn_cells) >= CACHE_ROWS * 4:
            self._drawn_cells.clear()
        for column, (cell, cell_width) in enumerate(zip(cells, widths, strict=True)):
            where = (row, cursor, cell_width, self._styles)
            drawn = self._drawn_cells.get((name, column)) if name is not None else None
            if drawn is not None and drawn[0] == where and drawn[1] is cell:  # the same cell, drawn before
                segments.extend(drawn[2])
                continue
            pre = row_style + Style.from_meta({"row": row, "column": column}) + component
            options = self.app.console_options.update_dimensions(cell_width, 1).update(no_wrap=True)
            line = console.render_lines(Styled(Padding(cell, (0, 1)), pre_style=pre, post_style=post), options)[0]
            if name is not None:
                self._drawn_cells[(name, column)] = (where, cell, line)
            segments.extend(line)
        rest = max(0, width - sum(widths))
        extend = row_style + component + Style.from_meta({"row": row, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * rest, extend))
        return Strip(segments).crop(x, x + width).adjust_cell_length(width, base).simplify()
