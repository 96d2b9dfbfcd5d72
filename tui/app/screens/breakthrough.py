"""The detail a breakthrough opens: the worst alarming run's charts, and under its head the
list of the other runs that alarmed with it (`tui.live.gate.Breakthrough`), kept up to date as
more join. One screen per breakthrough: alarms that join never switch it."""

from __future__ import annotations

from rich.text import Text

from tui.app.screens.detail import DetailScreen
from tui.app.text import safe
from tui.looks.policy import problem_text

MAX_LISTED = 4  # others named in the head; then "and N more"


class BreakthroughDetail(DetailScreen):
    """`DetailScreen` of a breakthrough's lead run, listing the batch's other alarms."""

    def others(self) -> list[str]:
        """"run: entropy collapsed" for each other alarm of the breakthrough (words only)."""
        gate = self.app.session.gate
        batch = gate.batch if gate is not None else None
        if batch is None or batch.lead.run != self.run:
            return []
        seen: dict[str, str] = {}
        for a in batch.others:
            if a.run != self.run:
                seen.setdefault(a.run, problem_text(a.metric, a.kind))
        return [f"{run}: {what}" for run, what in seen.items()]

    def _head_extra(self, head: Text) -> None:
        super()._head_extra(head)
        others = self.others()
        if not others:
            return
        colors = self.app.verdict_styles()
        head.append("\nalso alarming: ", style=f"bold {colors['verdict-alarm']}")
        head.append(" · ".join(safe(o) for o in others[:MAX_LISTED]))
        if len(others) > MAX_LISTED:
            head.append(f" · and {len(others) - MAX_LISTED} more (overview: sort by worst)")
