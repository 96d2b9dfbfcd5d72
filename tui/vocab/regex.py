"""Regular expressions typed by a person (``export --tags``, ``review --seed-pattern``, the
config's ``seed_pattern``, the app's ``/`` filter), compiled one way everywhere.

``re.compile`` fails in more ways than `re.error`: a huge repeat count (``x{99999999999}``)
raises OverflowError, a very deep nesting RecursionError. `compile_regex` turns every failure
into one `PatternError` (a ValueError) whose message names the pattern and says what is wrong,
ready to show (the pattern is quoted with ``repr``, so no control character reaches a terminal).
"""

from __future__ import annotations

import re

_REASONS: dict[type[BaseException], str] = {
    OverflowError: "a repeat count is too large",
    RecursionError: "it is nested too deeply",
    MemoryError: "it is too large",
}


class PatternError(ValueError):
    """A pattern that can't be compiled; the message says which and why.

    Attributes:
        pattern: the pattern as given.
        reason: what is wrong, in words (``unterminated character set at position 0``).
    """

    def __init__(self, message: str, pattern: str, reason: str) -> None:
        super().__init__(message)
        self.pattern = pattern
        self.reason = reason


def regex_error(pattern: str, what: str = "pattern", flags: int = 0) -> str | None:
    """None if `pattern` compiles, else the message `compile_regex` would raise (for a filter
    box that says "invalid" and keeps working)."""
    try:
        compile_regex(pattern, what, flags)
    except PatternError as e:
        return str(e)
    return None


def compile_regex(pattern: str, what: str = "pattern", flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, with every failure as a `PatternError`.

    Args:
        pattern: the person's regex.
        what: how to name it in the message: ``--tags``, ``seed pattern``, ``filter``.
        flags: ``re`` flags (e.g. ``re.IGNORECASE``).

    Raises:
        PatternError: ``--tags 'x{99999999999}' is not a valid regular expression: a repeat
            count is too large``.
    """
    try:
        return re.compile(pattern, flags)
    except re.error as e:
        reason = str(e)
    except (OverflowError, RecursionError, MemoryError) as e:
        reason = _REASONS[type(e)]
    except (ValueError, TypeError) as e:  # e.g. incompatible flags
        reason = str(e)
    raise PatternError(f"{what} {pattern!r} is not a valid regular expression: {reason}", pattern, reason)
