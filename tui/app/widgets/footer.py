"""The key footer, fitted to the terminal: keys that don't fit are left out whole, the least
needed first, so no key is ever cut in half (``q Qui▏``) and Help, Quit and Back stay."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer

# Left out first when the footer is too narrow (actions, without "app." or arguments); keys
# not listed (help, quit, back, close, save, ...) are never left out.
DROP_ORDER = ("change_theme", "toggle_groups", "command_palette", "cycle_x", "smooth_off", "toggle_log",
              "toggle_select", "cycle_sort", "review", "smooth", "note", "filter", "open_detail")
PALETTE_EXTRA = 2  # the palette key sits right, after a border and with a padding cell


def action_name(action: str) -> str:
    """``app.smooth(1)`` -> ``smooth``."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def key_width(key_display: str, description: str) -> int:
    """Cells a footer key takes (the normal, not the compact, style): `` k Desc ``."""
    return len(key_display) + len(description) + (3 if description else 2)


def fit_keys(keys: Iterable[tuple[str, str, str]], width: int) -> set[str]:
    """The actions to leave out so `keys` ((action, key display, description), in footer
    order) fit in `width` cells, dropping in `DROP_ORDER`."""
    keys = list(keys)
    total = sum(key_width(k, d) + (PALETTE_EXTRA if action_name(a) == "command_palette" else 0)
                for a, k, d in keys)
    dropped: set[str] = set()
    for name in DROP_ORDER:
        if total <= width:
            break
        for a, k, d in keys:
            if action_name(a) == name and a not in dropped:
                dropped.add(a)
                total -= key_width(k, d) + (PALETTE_EXTRA if name == "command_palette" else 0)
    return dropped


class KeyFooter(Footer):
    """Textual's footer, minus the keys that would not fit."""

    def __init__(self) -> None:
        super().__init__()
        self._width_seen = 0

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [(str(getattr(w, "action", "")), str(getattr(w, "key_display", "")),
                 str(getattr(w, "description", ""))) for w in widgets]
        self._width_seen = self.app.size.width
        dropped = fit_keys(keys, self._width_seen)
        yield from _kept(widgets, dropped)

    def on_resize(self, event: Resize) -> None:
        if self.app.size.width != self._width_seen:
            self.call_after_refresh(self.recompose)


def _kept(widgets: list[Widget], dropped: set[str]) -> Iterable[Widget]:
    return (w for w in widgets if str(getattr(w, "action", "")) not in dropped)
