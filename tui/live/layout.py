"""How the overview fits a terminal: which sparkline columns it keeps, and how names are cut.

Pure (no Textual): the rules are unit-tested as plain Python.

Names come first. A run's name is the only thing that says which run a row is, so the
overview narrows and then drops sparkline columns (steps/s first, then reward, then entropy)
before it cuts a name, and a name that must be cut is cut in the middle on a word boundary
(``seaquest…pinned``, never ``seaqu…pinned``) into a form no other name could also be read as
(two runs under ``sub/`` never both become ``sub/s…``).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

ELLIPSIS = "…"
BOTH_ENDS = 4  # a cut keeping both ends is worth this many more characters than one keeping one
READABLE_NAME = 20  # a name column this wide reads well; sparklines give way until names get it
_SEP = re.compile(r"([_\-/.:\s]+)")  # word boundaries in run names (snake_case, kebab, paths)


def words(name: str) -> list[str]:
    """`name` split at separators, keeping them: ``a_b/c`` -> ``['a', '_', 'b', '/', 'c']``
    (words at even positions, separators between; a leading or trailing separator makes an
    empty word)."""
    return _SEP.split(name)


def word_forms(name: str) -> list[tuple[str, str]]:
    """Every cut of `name` on word boundaries as (head, tail), shown ``head…tail``: the first
    `i` words and the last `j`, at least one word left out. Separators next to the cut go
    (``seaquest…pinned``)."""
    parts = words(name)
    ws = parts[0::2]
    n = len(ws)
    out: list[tuple[str, str]] = []
    for i in range(n):
        head = "".join(parts[:2 * i - 1]) if i else ""
        for j in range(n - i):
            if i + j == 0:
                continue
            tail = "".join(parts[2 * (n - j):]) if j else ""
            if (head or tail) and (head, tail) not in out:
                out.append((head, tail))
    return out


class _Index:
    """The names, sorted forwards and backwards, to ask "which names start with `head` and
    end with `tail`?" without scanning them all."""

    def __init__(self, names: Iterable[str]) -> None:
        self.fwd = sorted(set(names))
        self.rev = sorted(n[::-1] for n in self.fwd)

    @staticmethod
    def _range(keys: list[str], prefix: str) -> tuple[int, int]:
        lo = bisect_left(keys, prefix)
        hi = bisect_left(keys, prefix + "\U0010ffff") if prefix else len(keys)
        return lo, hi

    def others_read_as(self, name: str, head: str, tail: str) -> bool:
        """Could ``head…tail`` be read as a name other than `name`?"""
        lo, hi = self._range(self.fwd, head)
        rlo, rhi = self._range(self.rev, tail[::-1])
        need = len(head) + len(tail)
        # By index, not a slice: the answer is usually found in the first few, and a slice
        # copies the whole range first (3 000 names sharing a prefix: 0.5 s a layout; 30 000: 50 s).
        if hi - lo <= rhi - rlo:
            fwd = self.fwd
            for i in range(lo, hi):
                o = fwd[i]
                if o != name and len(o) > need and o.endswith(tail):
                    return True
            return False
        rev, rname = self.rev, name[::-1]
        for i in range(rlo, rhi):
            r = rev[i]
            if r != rname and len(r) > need and r.endswith(head[::-1]):
                return True
        return False


def _char_cut(name: str, width: int, index: _Index) -> str | None:
    """The middle of `name` cut to `width` characters (no word boundary fits), tail-heavy by
    default; the split moves until no other name could be read from it (None: none can)."""
    if width <= 1:
        return None
    keep = width - 1
    default_tail = (keep + 1) // 2
    for t in [default_tail, *range(default_tail + 1, keep + 1), *range(default_tail - 1, -1, -1)]:
        head, tail = name[:keep - t], name[len(name) - t:] if t else ""
        if not index.others_read_as(name, head, tail):
            return head + ELLIPSIS + tail
    return None


def _plain_cut(name: str, width: int) -> str:
    """The middle cut when nothing tells the names apart in `width` (a pane too narrow)."""
    if width <= 1:
        return name[:max(0, width)]
    keep = width - 1
    tail = (keep + 1) // 2
    return name[:keep - tail] + ELLIPSIS + (name[len(name) - tail:] if tail else "")


def _fit_one(name: str, width: int, index: _Index) -> str:
    if len(name) <= width:
        return name
    forms = [(h, t) for h, t in word_forms(name) if len(h) + len(t) + 1 <= width]
    # Most characters kept, a cut with both ends counting BOTH_ENDS more (run names differ at
    # either end); then the longer tail.
    forms.sort(key=lambda f: (-(len(f[0]) + len(f[1]) + (BOTH_ENDS if f[0] and f[1] else 0)), -len(f[1])))
    for head, tail in forms:
        if len(head) + len(tail) + 1 < width // 2:
            break  # a word cut this short says less than a cut in a word: `…1` vs `averyl…ame_1`
        if not index.others_read_as(name, head, tail):
            return head + ELLIPSIS + tail
    return _char_cut(name, width, index) or _plain_cut(name, width)


def fit_names(names: Sequence[str], width: int) -> dict[str, str]:
    """Each name as shown in `width` characters: whole when it fits, else cut in the middle on
    a word boundary into a form that no other of `names` could be read as, else cut inside a
    word (a word cut would keep under half the width, or none is unambiguous).

    Deterministic (the result doesn't depend on the order of `names`), and two names never
    share a shown form while `width` leaves room to tell them apart.
    """
    return dict(_fit_cached(tuple(sorted(set(names))), width))


@lru_cache(maxsize=32)
def _fit_cached(names: tuple[str, ...], width: int) -> tuple[tuple[str, str], ...]:
    index = _Index(names)
    return tuple((n, _fit_one(n, width, index)) for n in names)


def shortest_unique(name: str, names: Sequence[str]) -> int:
    """The length of `name`'s shortest word-boundary form that no other name could be read as
    (its own length when none is shorter)."""
    return _shortest(name, _Index([*names, name]))


def _shortest(name: str, index: _Index, enough: int = 0) -> int:
    """See `shortest_unique`; stops at the first unique form no longer than `enough` (the
    caller can't use a shorter one)."""
    best = len(name)
    for head, tail in word_forms(name):
        n = len(head) + len(tail) + 1
        if n < best and not index.others_read_as(name, head, tail):
            best = n
            if best <= enough:
                break
    return best


def name_target(names: Sequence[str], readable: int = READABLE_NAME) -> int:
    """How wide the name column wants to be: every name whole up to `readable` characters, and
    never narrower than a name's shortest unique form."""
    return _target_cached(tuple(sorted(set(names))), readable)


@lru_cache(maxsize=32)
def _target_cached(names: tuple[str, ...], readable: int) -> int:
    index = _Index(names)
    target = 0
    for n in names:
        if len(n) <= target:
            continue  # it can't widen the column
        if len(n) <= readable:
            target = len(n)
            continue
        want = max(readable, _shortest(n, index, enough=max(target, readable)))
        if want > readable:  # no short word cut tells it apart: a cut inside a word may
            want = next((w for w in range(readable, want) if _char_cut(n, w, index)), want)
        target = max(target, want)
    return target


@dataclass(frozen=True)
class ColumnPlan:
    """The overview's columns for a width: the sparkline roles kept (in order), their width,
    and the name column's width."""

    sparks: tuple[str, ...]
    spark_width: int
    name_width: int


SPARK_ORDER = ("entropy", "reward", "throughput")  # kept in this order; dropped from the end


def plan_columns(width: int, fixed: int, target: int, spark_widths: Sequence[int] = (16, 12, 8),
                 pad: int = 2, roles: Sequence[str] = SPARK_ORDER, min_name: int = 4) -> ColumnPlan:
    """The richest sparkline layout that leaves the name column `target` wide.

    Tried in order: every role at each width of `spark_widths` (widest first), then without
    the last role (steps/s), then without the next (reward), ..., then no sparklines. When
    none leaves `target`, no sparklines.

    Args:
        width: the table's width in cells.
        fixed: cells every other column takes (padding included), and the name's padding.
        target: the name column's wanted width (`name_target`).
        spark_widths: sparkline widths to try, widest first.
        pad: the padding cells around each column.
        roles: the sparkline roles, most important first.
        min_name: the name column's width when even no sparklines leave more.
    """
    for k in range(len(roles), 0, -1):
        for w in spark_widths:
            name_width = width - fixed - k * (w + pad)
            if name_width >= target:
                return ColumnPlan(tuple(roles[:k]), w, name_width)
    return ColumnPlan((), 0, max(min_name, width - fixed))


STATUS_SEP = "  ·  "


def fit_status(parts: list[tuple[int, str]], width: int, compact: bool = False) -> str:
    """The status line from (rank, text) parts in order: the highest ranks are left out first
    until it fits `width`; ranks 0 and 1 (what the person must know) always stay, and the
    compact layout keeps only them."""
    keep = [(r, t) for r, t in parts if not compact or r <= 1]
    while len(STATUS_SEP.join(t for _, t in keep)) > width and any(r > 1 for r, _ in keep):
        worst = max(r for r, _ in keep)
        drop = max(i for i, (r, _) in enumerate(keep) if r == worst)
        keep.pop(drop)
    return STATUS_SEP.join(t for _, t in keep)
