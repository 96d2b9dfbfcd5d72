"""Colour for the command line's output, on a terminal only.

Colour is on when the stream is a terminal, ``NO_COLOR`` (https://no-color.org) is unset or
empty, and ``TERM`` isn't ``dumb``; piped or redirected output never has escape codes. Colour
only ever adds to the words: a severity is always printed as a word (``ALARM``, ``warn``) too.

Styles are rendered by Rich (installed with Textual), imported only when colour is on, so
``check`` and ``status`` in a pipe or a tmux status line don't pay for it. Text is made safe
(`tui.vocab.safe_terminal`) before it is painted: painting only wraps it in SGR codes.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # the styles go by a severity's number: `ls` paints none and never imports them
    from tui.vocab import Severity

SEVERITY_STYLE = {0: "green", 1: "cyan", 2: "yellow", 3: "bold red"}  # Severity OK, INFO, WARN, ALARM
PROBLEM_STYLE = "yellow"
NAME_STYLE = "bold"
DIM_STYLE = "dim"


def wants_colour(stream: IO[str] | Any) -> bool:
    """True if `stream` is a terminal and the environment doesn't ask for no colour."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@lru_cache(maxsize=64)
def _render(style: str, text: str) -> str:
    from rich.color import ColorSystem
    from rich.style import Style

    return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)


class Paint:
    """Wraps text in a style's escape codes, or leaves it as it is when colour is off.

    Args:
        enabled: colour on (see `wants_colour`); `Paint.for_stream` decides it for a stream.
    """

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: IO[str] | Any) -> Paint:
        return cls(wants_colour(stream))

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        # A style is applied per line: a pager or a wrapped terminal line never bleeds colour.
        return "\n".join(_render(style, line) if line else line for line in text.split("\n"))

    def severity(self, text: str, severity: Severity) -> str:
        """`text` (which must hold the severity's word) in the severity's colour."""
        return self(text, SEVERITY_STYLE[severity])


NO_PAINT = Paint(False)
