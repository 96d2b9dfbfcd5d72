"""Natural order for names people read: ``orig_reward_2`` before ``orig_reward_10``."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders runs of digits by their value and the rest case-insensitively
    (ties broken by the exact text, so the order is total): ``seed2 < seed10 < Seed11``."""
    parts: list[tuple[int, int | str]] = []
    for i, part in enumerate(_DIGITS.split(text)):
        if i % 2:
            parts.append((0, int(part)))
        elif part:
            parts.append((1, part.casefold()))
    parts.append((-1, text))  # the end: a name sorts before its continuations
    return tuple(parts)
