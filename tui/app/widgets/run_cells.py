"""The run table's cells: what one row shows of a `RunView`, as Rich `Text` (plain, never markup).

Built only for the rows on screen (`tui.app.widgets.run_table`), and again only when what the
row is drawn from (`RowKeyState`) changed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from rich.text import Text

from tui.app.text import safe
from tui.app.themes import SEVERITY_VAR
from tui.health.verdict import Severity
from tui.live.layout import ColumnPlan
from tui.live.model import RunView
from tui.spark import sparkline
from tui.vocab import fmt_age, fmt_step

__all__ = ["Column", "RowKeyState", "age_cell", "build_cells", "columns_spec", "fmt_step", "health_cell", "picked"]

Column = tuple[str, str, str | None, int | None]  # (key, label, sparkline role or None, width)
HEALTH_WIDTH = 15  # "ALARM collapsed": the severity in words, then the worst verdict's kind
SPARK_LABELS = {"entropy": "entropy", "reward": "reward", "throughput": "steps/s"}
COMPACT_SPARK_LABELS = {"entropy": "H", "reward": "R", "throughput": "S/s"}
FULL_HEAD: list[Column] = [("mark", " ", None, 2), ("name", "run", None, None), ("state", "state", None, 7),
                           ("health", "health", None, HEALTH_WIDTH)]
FULL_TAIL: list[Column] = [("step", "step", None, 7), ("age", "age", None, 5)]
COMPACT_HEAD: list[Column] = [("health", "", None, 5), ("name", "run", None, None)]

# The severity in words as well as colour (NO_COLOR, colour-blind eyes, a monochrome theme).
SEVERITY_WORD = {Severity.OK: "ok", Severity.INFO: "info", Severity.WARN: "WARN", Severity.ALARM: "ALARM"}
COMPACT_BADGE = SEVERITY_WORD
NOTE_GLYPH = "✎"  # in the mark column: the run has a note (`n`)


@dataclass(frozen=True)
class RowKeyState:
    """What a drawn row was drawn from; a row's cells are built again only when this changes."""

    version: int
    age_text: str
    state: str
    selected: bool
    style_key: str
    noted: bool = False
    name: str = ""  # the name as shown (fitted to the column)


def columns_spec(compact: bool, plan: ColumnPlan) -> list[Column]:
    """The columns, in order, for this layout and column plan."""
    labels = COMPACT_SPARK_LABELS if compact else SPARK_LABELS
    sparks: list[Column] = [(r, labels[r], r, plan.spark_width) for r in plan.sparks]
    if compact:
        return COMPACT_HEAD + sparks
    return FULL_HEAD + sparks + FULL_TAIL


def picked(view: RunView, selected: Collection[str]) -> bool:
    """The row is picked for overlays (a folded group: all its members are)."""
    if view.is_group:
        return all(m in selected for m in view.members)
    return view.name in selected


def row_state(view: RunView, now: float, selected: Collection[str], style_key: str, noted: Collection[str],
              name: str) -> RowKeyState:
    return RowKeyState(view.version, fmt_age(view.age(now)), view.state, picked(view, selected), style_key,
                       view.name in noted, name)


def build_cells(view: RunView, key: RowKeyState, now: float, colors: dict[str, str], compact: bool,
                columns: list[Column]) -> dict[str, Text]:
    """One row's cells by column key.

    Args:
        view: the run (or folded group).
        key: what the row is drawn from (`row_state`): the name as shown, picked, noted.
        now: epoch seconds, for the age.
        colors: the theme's verdict colours.
        compact: the compact layout's cells.
        columns: the columns (`columns_spec`), for the sparklines' widths.
    """
    sev = view.severity
    color = colors[SEVERITY_VAR[sev]]
    muted = colors["muted"]
    cells: dict[str, Text] = {}
    # Plain text (never markup), control and invisible format characters as visible
    # escapes (`tui.app.text.safe`): names are untrusted.
    name = Text(key.name or safe(view.name), no_wrap=True)
    if view.problems:
        name = Text.assemble(("! ", f"bold {colors['verdict-alarm']}"), name)
    cells["name"] = name
    if compact:
        label = COMPACT_BADGE[sev] if view.worst is not None else "—"
        if view.is_group:
            label = f"{view.healthy}/{len(view.members)}"
        cells["health"] = Text(label, style=f"bold {color}" if sev >= Severity.WARN else color)
    else:
        cells["mark"] = Text.assemble(("●" if key.selected else " ", colors["verdict-info"]),
                                      (NOTE_GLYPH if key.noted else "", colors["muted"]))
        # The state of the judgement that gave the health column (`RunHealth.state`: the one
        # run-state rule with the writer evidence), never a second clock of the table's own.
        state = view.state
        cells["state"] = Text(state, style=muted if state == "ended" else
                              (colors["verdict-warn"] if state == "stalled" else ""))
        cells["health"] = health_cell(view, color)
        cells["step"] = Text(fmt_step(view.last_step), justify="right")
        cells["age"] = age_cell(key.age_text, colors)
    for ckey, _label, role, width in columns:
        if role is not None:
            spark_color = color if sev >= Severity.WARN else colors["verdict-info"]
            cells[ckey] = Text(sparkline(view.spark.get(role, ()), width or 8, view.spark_bounds.get(role)),
                               style=spark_color)
    return cells


def age_cell(age_text: str, colors: dict[str, str]) -> Text:
    return Text(age_text, justify="right", style=colors["muted"])


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
