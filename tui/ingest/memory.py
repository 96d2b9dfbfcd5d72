"""Freed memory kept for reuse in one-shot commands over many runs.

Reading a sweep allocates and frees large numpy arrays batch after batch. glibc gives big
blocks back to the system at once and maps fresh ones for the next batch, whose pages then
fault in again: on a 3 000-run sweep about 35 000 page faults, a sixth of the process's CPU.
:func:`keep_freed` tells glibc to keep freed memory for reuse instead (``mallopt``), for the
life of the process: right for a command that reads everything once and exits, so it is used
only there (never by the app, which runs for days).
"""

from __future__ import annotations

import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_SETTINGS = ((_M_TRIM_THRESHOLD, 256 << 20), (_M_TOP_PAD, 64 << 20), (_M_MMAP_THRESHOLD, 32 << 20))
_done = False


def keep_freed() -> bool:
    """Ask the C library to keep freed memory (once per process); whether it agreed (False
    off Linux, or where ``mallopt`` is missing or refuses)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return False
    _done = True
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, ImportError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in _SETTINGS)
