"""Work on the second core: a function run in a forked child, its answer back through a pipe.

Used for one-shot commands over thousands of runs (the first read of a sweep, ``tbpeek ls``'s
JSON): the parent does one half, a child the other. The child's work has no effect on the
parent until the parent takes its answer, so a child that fails (an exception, a crash, a
signal, an answer cut short) costs only time: the parent does that half itself.

Only where it is safe and worth it (:func:`available`): a platform with ``fork``, a process
with no other thread (forking a threaded process can deadlock the child on a lock another
thread held), and not disabled with ``TBPEEK_WORKERS=1``.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # not on this platform (and neither is fork)
    fcntl = None

__all__ = ["ChildFailed", "Forked", "available", "single_threaded"]

_PIPE_SIZE = 1 << 20  # bytes: fewer round trips for a large answer (Linux; best effort)


class ChildFailed(Exception):
    """The child gave no answer (it raised, crashed or was killed)."""


_in_child = False  # a worker forks no workers of its own


def single_threaded() -> bool:
    """No other thread in this process (a command, not the app)."""
    return threading.active_count() == 1


def available() -> bool:
    """Whether a forked worker may be used now."""
    return (not _in_child and hasattr(os, "fork") and single_threaded()
            and os.environ.get("TBPEEK_WORKERS", "").strip() != "1")


class Forked:
    """``fn()`` running in a forked child; :meth:`result` waits for its answer.

    Use as a context manager (or call :meth:`result` / :meth:`cancel`): the child is always
    reaped, and killed if its answer is not wanted any more.
    """

    def __init__(self, fn: Callable[[], Any]) -> None:
        for stream in (sys.stdout, sys.stderr):  # nothing buffered twice
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: answer, then leave without running the parent's exit code
            global _in_child
            _in_child = True
            code = 1
            try:
                os.close(r)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as f:
                    f.write(data)
                code = 0
            except BaseException:
                pass
            finally:
                os._exit(code)
        os.close(w)
        setsz = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
        if setsz is not None and fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(r, setsz, _PIPE_SIZE)
        self._pid: int | None = pid
        self._r: int | None = r

    def result(self) -> Any:
        """The child's answer.

        Raises:
            ChildFailed: the child raised, died, or its answer can't be read.
        """
        if self._r is None:
            raise ChildFailed("answer already taken")
        chunks: list[bytes] = []
        try:
            with os.fdopen(self._r, "rb", buffering=0) as f:
                self._r = None
                while True:
                    b = f.read(_PIPE_SIZE)
                    if not b:
                        break
                    chunks.append(b)
        except OSError as e:
            self.cancel()
            raise ChildFailed(str(e)) from None
        status = self._reap()
        if status != 0 or not chunks:
            raise ChildFailed(f"worker exit status {status}")
        try:
            return pickle.loads(b"".join(chunks))
        except Exception as e:  # an answer cut short
            raise ChildFailed(f"unreadable answer: {e}") from None

    def _reap(self) -> int:
        pid, self._pid = self._pid, None
        if pid is None:
            return -1
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                return status
            except InterruptedError:
                continue
            except ChildProcessError:
                return -1

    def cancel(self) -> None:
        """Kill the child (if still running) and reap it."""
        if self._r is not None:
            os.close(self._r)
            self._r = None
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
