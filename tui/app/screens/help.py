"""The keys, on one page (`?`)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from tui.app.widgets.footer import KeyFooter

CLOSE_HINT = "esc, q or ? closes this help · j/k or arrows scroll"

HELP = """\
# tbpeek keys

## Overview
- `j` `k`, arrows, mouse: move; `home` / `G`: first / last run
- `enter`, click: the run's charts
- `space`: pick the run for overlays (picked runs are drawn together on every chart)
- `/`: filter runs by a regex; `esc` clears it
- `o`: sort: worst first, name, last write
- `g`: fold seed groups: runs whose names differ only by a seed (`ppo_seed1`, `ppo_seed2`…)
  become one row `ppo_seed*` reading *k/n healthy*; `enter` on it charts the group's median
  and min–max band; `g` again unfolds. The seed regex is the config's `[groups] seed_pattern`
- `n`: the run's note: the question it should answer, what you expect (`ctrl+s` saves);
  `✎` beside a run means it has one
- `r`: the review of the last 24 h: every run's verdicts and timeline, notes, seed groups,
  the day's looks (`r` or `esc` closes it)
- `t`: theme picker; `ctrl+p`: command palette (sorting, themes, …)
- `?`: this help; `q`: quit (`ctrl+c` too, from any screen)

## Run detail
- `+` / `-`: more / less smoothing (TensorBoard's debiased EMA); `0`: none
- `x`: x axis: step, hours since start, wall time (a seed group: step, hours since start)
- `l`: log / linear y
- `n`: the run's note (shown under the verdicts once saved)
- `j` `k`, scroll: scroll the charts; `esc` or `q`: back to the overview

## Look budget
Between looks the charts rest behind a gate that says when the next look is due.
- `enter` on the gate: start a due look; `o`: look early (type why: it is logged)
- `e` during a look: end it now; the overview's status line shows the time left
- a new alarm opens the gate at once, on the alarmed run, with a bell and a desktop
  notification; `--no-budget` turns the gate off for a session

## Badges
`ok` healthy · `WARN` look soon · `ALARM` look now (in words as well as colour, so they
read without colour too) · `!` before a name: a file could not be
read (the detail says which and why). A run is *live* when it wrote in the last 2 minutes,
*stalled* after that, *ended* after a day of silence. Names are never cut to look alike:
the overview narrows, then leaves out, the sparklines (steps/s first, then reward) before it
shortens a name, and a shortened name keeps whole words (`seaquest…pinned`). Below 80×20 the
overview turns compact: badge, name and three tiny sparklines (entropy, reward, steps/s).
"""


class HelpScreen(ModalScreen[None]):
    """The keys. It says how to close it, and its footer shows its own keys."""

    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]  # noqa: RUF012 (Textual declares it without ClassVar)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
        Binding("j,down", "scroll(1)", "Down", show=False),
        Binding("k,up", "scroll(-1)", "Up", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(CLOSE_HINT, id="help-close")
            yield Markdown(HELP)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#help", VerticalScroll).focus()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#help", VerticalScroll).scroll_relative(y=lines, animate=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
