"""What went wrong reading a run's data, in one JSON shape for ``ls`` and ``check``.

A run's problems (damaged records, files that can't be read or vanished) are a list of
objects, each with at least ``path`` (the file or directory) and ``message`` (what is wrong,
in words). Typed problems (``RunSnapshot.problem_items``, whose ``to_json`` adds ``kind``,
``offset``, ``count``, ``skipped_bytes`` and ``damage``) are used when the store has them;
otherwise the snapshot's ``{path: message}`` table.
"""

from __future__ import annotations

from typing import Any

from tui.store import RunSnapshot


def run_problems(snap: RunSnapshot) -> list[dict[str, Any]]:
    """The run's problems, one object each, in a stable order."""
    items = getattr(snap, "problem_items", None) or ()  # typed problems, when the store keeps them
    if items:
        return [dict(p.to_json()) for p in items]
    return [{"path": key, "message": msg} for key, msg in sorted(snap.problems.items())]


def is_damage(problem: dict[str, Any]) -> bool:
    """Data that exists but could not be read (what makes ``check`` exit 3). A typed problem
    says so itself (a deleted file's data is kept: not damage); an untyped one counts."""
    return bool(problem.get("damage", True))
