"""Small helpers shared by the tests: a fake clock, and running pilot tests without a plugin."""

from __future__ import annotations

import asyncio
import functools


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
