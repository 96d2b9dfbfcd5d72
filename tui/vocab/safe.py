"""Untrusted text (run names, tags, text summaries, paths, notes) made safe for a terminal.

Event files and directories are written by other programs and other people; a name may hold
an escape sequence that retitles the terminal, clears it or writes the clipboard. Before such
text reaches a terminal, every C0 and C1 control character (U+0000-U+001F, DEL U+007F,
U+0080-U+009F: ESC, BEL, CR, LF, TAB, the 8-bit CSI U+009B…) becomes a visible escape
(``\\x1b``), and so does every invisible format character (Unicode category Cf: the bidi
overrides such as U+202E that reorder what follows, zero-width spaces and joiners, the BOM),
as ``\\u202e``; nothing else changes, so a number stays that number (``-3.2``) and names in
any script, right-to-left ones included, stay readable. tmux's status line also expands ``#(...)``/``#[...]``: `safe_tmux`
doubles ``#`` as well.

HTML and Markdown have escaping of their own (in the review's renderers); Textual text is
built as plain `Text`/`Content`, never parsed as markup.
"""

from __future__ import annotations

_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0)]
_TERMINAL = {c: f"\\x{c:02x}" for c in _CONTROLS}
_TMUX = {**_TERMINAL, ord("#"): "##"}


def _format_chars(text: str) -> str:
    if text.isascii():
        return text
    import unicodedata  # here: most text is ASCII (and its extension module is a load at start-up)

    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cf" else ch for ch in text)


def safe_terminal(text: str) -> str:
    r"""`text` with every C0/C1 control character (and DEL) and every invisible format character
    as a visible escape: ``a\x1b[2Jb``, ``\u202e``."""
    if text.isprintable():  # no control (Cc) or format (Cf) character: nothing to escape (the common case, fast)
        return text
    return _format_chars(text.translate(_TERMINAL))


def safe_tmux(text: str) -> str:
    """`safe_terminal`, and ``#`` doubled so tmux shows it instead of expanding ``#(cmd)``."""
    return _format_chars(text.translate(_TMUX))


def has_controls(text: str) -> bool:
    """True if `text` holds a character `safe_terminal` would escape."""
    return safe_terminal(text) != text
