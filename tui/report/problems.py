"""What went wrong reading a run's data, in one JSON shape for ``ls`` and ``check``.

A run's problems (damaged records, files that can't be read or vanished, its directory gone)
are the store's typed problems (`tui.store.Problem`), one object each: ``kind``, ``run``,
``path``, ``offset``, ``count``, ``skipped_bytes``, ``damage`` and ``message``.
"""

from __future__ import annotations

from typing import Any

from tui.store import RunEnds, RunSnapshot


def run_problems(snap: RunSnapshot | RunEnds) -> list[dict[str, Any]]:
    """The run's problems as JSON objects, in the store's order."""
    return [dict(p.to_json()) for p in snap.problem_items]


def is_damage(problem: dict[str, Any]) -> bool:
    """Data that exists but could not be read (what makes ``check`` exit 3); a file or run
    that went away keeps the data read before, and is not damage (`ProblemKind.damage`)."""
    return bool(problem.get("damage"))
