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
