"""Exit codes of every command, defined once (the README documents them)."""

from __future__ import annotations

EXIT_OK = 0  # done; nothing reached --fail-on
EXIT_PROBLEM = 1  # a verdict reached --fail-on (check, status), or the app ended on an error
EXIT_USAGE = 2  # bad usage, config or logdir: the message says what to fix
EXIT_DAMAGED = 3  # check: nothing reached --fail-on, but some data is damaged or unreadable
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
