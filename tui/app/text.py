"""The app's one way to show untrusted text (run names, tags, paths, reasons, notes, errors).

Names and texts come from event files and directories other programs and people wrote. In
Textual they must never be parsed as markup (``zz[/]`` raises MarkupError, ``[bold red]X[/]``
would render styled), and their control characters must never reach the terminal (an ESC in a
run name can retitle the pane or clear the screen; Textual only strips BEL, BS, VT, FF, CR).

So every widget that shows such text is given a `Content` or a Rich `Text` built from a plain
string with `tui.vocab.safe_terminal` applied (control characters become visible ``\\x1b``
escapes), never a ``str`` (which `Static`/`Label` parse as markup)::

    from tui.app.text import plain, plain_text
    Static(plain(run_name))                     # Textual Content
    Text.assemble(("▲ ", "bold"), plain_text(run_name))   # Rich Text, e.g. a DataTable cell
    app.notify(message)                         # TbpeekApp.notify does it for every notice
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from tui.vocab import safe_terminal


def safe(text: object) -> str:
    """`text` fit for the terminal (`tui.vocab.safe_terminal`): control characters and
    invisible format characters (U+202E, U+200B…) as visible escapes; nothing else changes."""
    return safe_terminal(str(text))


def plain(text: object, style: str = "") -> Content:
    """Textual `Content` showing `text` literally: no markup, no control characters."""
    content = Content(safe(text))
    return content.stylize(style) if style else content


def plain_lines(text: object, style: str = "") -> Content:
    """`plain`, keeping the text's line breaks (for text whose lines are ours, e.g. a list of
    alarms; any line break inside a name must already be escaped)."""
    return Content("\n").join(plain(line, style) for line in str(text).split("\n"))


def plain_text(text: object, style: str = "", **kwargs: object) -> Text:
    """A Rich `Text` showing `text` literally (no markup, no control characters)."""
    return Text(safe(text), style=style, **kwargs)  # type: ignore[arg-type]


def markup_escape(text: object) -> str:
    """For the few places that build markup around untrusted text: escaped (shows literally)
    and made safe. Prefer `plain` / `plain_text`."""
    from textual.markup import escape

    return escape(safe(text))
