"""The keys, on one page (`?`)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

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
- `?`: this help; `q`: quit

## Run detail
- `+` / `-`: more / less smoothing (TensorBoard's debiased EMA); `0`: none
- `x`: x axis: step, hours since start, wall time (a seed group: step, hours since start)
- `l`: log / linear y
- `n`: the run's note (shown under the verdicts once saved)
- `j` `k`, scroll: scroll the charts; `esc`: back

## Look budget
Between looks the charts rest behind a gate that says when the next look is due.
- `enter` on the gate: start a due look; `o`: look early (type why: it is logged)
- `e` during a look: end it now; the overview's status line shows the time left
- a new alarm opens the gate at once, on the alarmed run, with a bell and a desktop
  notification; `--no-budget` turns the gate off for a session

## Badges
`ok` healthy · `warn` look soon · `alarm` look now · `!` before a name: a file could not be
read (the detail says which and why). A run is *live* when it wrote in the last 2 minutes,
*stalled* after that, *ended* after a day of silence. Below 80×20 the overview turns compact:
badge, name and three tiny sparklines (entropy, reward, steps/s).
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
