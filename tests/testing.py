"""Small helpers shared by the tests: a fake clock, runs whose verdict is known, and running
pilot tests without a plugin."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from pathlib import Path


class Clock:
    """A clock the test moves by hand (``clock.t += 30`` or ``clock.advance(30)``)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def sync(fn):
    """Run an async test with asyncio.run (no pytest async plugin needed); a hang fails it."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), timeout=120))
    return wrapper


async def wait_for(pilot, cond, tries: int = 200) -> bool:
    """Let the app run (50 ms at a time, `tries` times at most) until ``cond()`` holds; fail
    the test if it never does. Returns True, so ``assert await wait_for(...)`` reads too.

    The app runs before the first check: a screen just pushed gets to mount and draw."""
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return True
    assert cond(), "condition never held"
    return True


def write_known_run(d: Path, kind: str = "healthy", n: int = 120, start: int = 0, end: float | None = None,
                    sps: bool = False, suffix: str | None = None) -> None:
    """A run whose verdict is known: "healthy" (ok) or "collapse" (entropy collapsed: alarm),
    CleanRL's tags, a point every 10 s ending at `end` (default now); points `start` to
    `start + n` in a file of its own (name suffix: `suffix`, default ``.<start>``); `sps`: a steady
    ``charts/SPS`` too."""
    from eventfiles import Writer

    end = time.time() if end is None else end
    t0 = end - (start + n) * 10
    with Writer(d, suffix=f".{start}" if suffix is None else suffix) as w:
        for i in range(start, start + n):
            wall = t0 + i * 10
            if kind == "collapse":
                h, r = math.log(6) * max(0.001, math.exp(-i / 10)), -21 + math.sin(i)
            else:
                h, r = math.log(6) * (0.6 + 0.4 * math.exp(-i / 80)) + 0.02 * math.sin(i), i / 10 + math.sin(i)
            w.scalar("losses/entropy", h, i * 2048, wall)
            w.scalar("charts/episodic_return", r, i * 2048, wall)
            if sps:
                w.scalar("charts/SPS", 2000 + 10 * math.sin(i), i * 2048, wall)


def count_forks(monkeypatch) -> list[object]:
    """The functions given to forked workers, appended as each worker starts (so a test knows a
    split really happened). Threads other tests left behind (an app's, a watcher's) would keep
    the worker away: they are not counted (the worker's code takes none of their locks)."""
    from tui.ingest import forked

    made: list[object] = []
    real = forked.Forked.__init__

    def init(self, fn):
        made.append(fn)
        real(self, fn)

    monkeypatch.setattr(forked.Forked, "__init__", init)
    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    return made


def unlistable_and_scans(monkeypatch, unlistable: str) -> list[object]:
    """Directories named `unlistable` can't be listed (permission denied); returns the list each
    `Ingestor.rescan`'s ``part`` is appended to (which halves were scanned)."""
    import os

    from tui.ingest import Ingestor, tree

    real_scandir = tree.os.scandir

    def scandir(path):
        if os.path.basename(os.fspath(path)) == unlistable:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(tree.os, "scandir", scandir)
    parts: list[object] = []
    real_rescan = Ingestor.rescan

    def rescan(self, part=None):
        parts.append(part)
        return real_rescan(self, part)

    monkeypatch.setattr(Ingestor, "rescan", rescan)
    return parts


def break_worker(monkeypatch, module, how: str) -> None:
    """`module._half` fails in a forked worker (``how``: "raise" an exception, or "exit" the
    process at once) and works in this process."""
    import os

    parent = os.getpid()
    real_half = module._half

    def half(*a, **k):
        if os.getpid() != parent:
            if how == "raise":
                raise RuntimeError("worker broke")
            os._exit(3)
        return real_half(*a, **k)

    monkeypatch.setattr(module, "_half", half)
