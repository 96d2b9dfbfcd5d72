"""When the app dies of an unexpected exception: a crash log in the state directory, and one
line for the shell saying what happened and where the details are.

The traceback goes to ``<state dir>/crash-YYYYmmdd-HHMMSS.log`` (the temporary directory if
the state directory can't be written), never to the terminal: it may hold run names, and a
page of traceback hides the one line that matters.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tui.vocab import safe_terminal


def write_crash_log(error: BaseException, now: float | None = None) -> Path | None:
    """Write `error`'s traceback to a new crash log; returns its path (None: nowhere writable)."""
    from tui import __version__
    from tui.config import state_dir

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(now))
    head = f"tbpeek {__version__} crashed at {when} (pid {os.getpid()})\n\n"
    for folder in _candidates(state_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
                f.write(head + safe_lines(text))
            return path
        except OSError:
            continue
    return None


def append_crash_log(path: Path, title: str, text: str) -> None:
    """Add a section (e.g. Textual's traceback with locals) to a crash log; never raises."""
    try:
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"\n\n---- {title} ----\n{safe_lines(text)}")
    except OSError:
        pass


def safe_lines(text: str) -> str:
    """Each line made safe for a terminal (a log may be read with ``cat``)."""
    return "\n".join(safe_terminal(line) for line in text.splitlines()) + "\n"


def _candidates(state_dir: Callable[[], Path]) -> list[Path]:
    out: list[Path] = []
    with contextlib.suppress(Exception):  # a broken environment must not hide the crash itself
        out.append(state_dir())
    out.append(Path(tempfile.gettempdir()))
    return out


def crash_line(error: BaseException, log: Path | None) -> str:
    """The one line for the shell: what happened and where the details are."""
    what = safe_terminal(f"{type(error).__name__}: {error}")
    if len(what) > 300:
        what = what[:299] + "…"
    where = f"the details are in {safe_terminal(str(log))}" if log else "no crash log could be written"
    return f"tbpeek: crashed on an unexpected error ({what}); {where}. Please report it."
