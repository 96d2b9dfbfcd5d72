"""``tbpeek check LOGDIR...``: judge every run once; exit 1 when something is wrong.

Exit codes: 0 nothing reached ``--fail-on`` (default ``alarm``), 1 something did, 2 usage or
I/O error (a logdir that doesn't exist, a bad ``--role``, an unreadable config file).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from tui.health import HealthOptions, RunHealth, judge, siblings
from tui.health.roles import ROLES
from tui.report.cli_options import add_config, add_fail_on, add_health, add_logdirs
from tui.report.colour import NAME_STYLE, NO_PAINT, Paint
from tui.vocab import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Severity, plural, safe_terminal


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    add_fail_on(parser)
    add_health(parser, roles=ROLES)
    add_config(parser)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/Inf become null, numpy scalars become Python numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(results: list[RunHealth]) -> dict[str, Any]:
    return {"runs": [
        {"run": h.run, "path": h.path, "library": h.library,
         "summary": h.summary.to_json() if h.summary else None,
         "verdicts": [_clean(v.to_json()) for v in h.verdicts]}
        for h in results]}


def render_text(results: list[RunHealth], paint: Paint = NO_PAINT) -> str:
    """The summary `tbpeek check` prints: names made safe for the terminal; with `paint`,
    severities in colour (always in words too)."""
    lines: list[str] = []
    width = max((len(safe_terminal(h.run)) for h in results), default=0)
    for h in results:
        w = h.worst
        sev = f"{w.severity.label.upper():<5}" if w else "-    "
        if w:
            sev = paint.severity(sev, w.severity)
        head = f"{w.metric} {w.kind}" if w else "nothing to judge"
        lib = f"  [{h.library}]" if h.library else ""
        lines.append(f"{sev}  {paint(f'{safe_terminal(h.run):<{width}}', NAME_STYLE)}  {head}{safe_terminal(lib)}")
        if h.summary is not None:
            lines.append(f"       {safe_terminal(h.summary.text)}")
        lines.extend(f"       {paint.severity(f'{v.severity.label:<5}', v.severity)} {v.metric:<18} "
                     f"{v.kind:<14} {safe_terminal(v.reason)}" for v in h.verdicts)
    counts = {s: sum(1 for h in results if h.worst and h.worst.severity == s) for s in Severity}
    tally = ", ".join(paint.severity(f"{n} {s.label}", s) for s, n in sorted(counts.items(), reverse=True) if n)
    lines.append(f"{plural(len(results), 'run')}: {tally or 'nothing judged'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
        opts = HealthOptions.from_config(cfg, actions=args.actions, mode=args.mode, roles=dict(args.role))
    except (ConfigError, ValueError) as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    from tui.ingest import LogdirError, load

    try:
        store = load(list(args.logdirs))
    except LogdirError as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    snaps = store.snapshots()
    if not snaps:
        print(f"tbpeek check: no runs (directories with *tfevents* files) in "
              f"{safe_terminal(', '.join(args.logdirs))}",
              file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    related = siblings(snaps)
    results = [judge(s, opts, now, related[s.name]) for s in snaps]
    results.sort(key=lambda h: (-(h.worst.severity if h.worst else -1), h.run))
    if args.json:
        print(json.dumps(to_json(results), indent=2, allow_nan=False))
    else:
        print(render_text(results, Paint.for_stream(sys.stdout)))
        for s in snaps:
            for problem in s.problems.values():
                print(f"note: {safe_terminal(s.name)}: {safe_terminal(problem)}", file=sys.stderr)
    threshold = Severity.parse(args.fail_on)
    failing = any(v.severity >= threshold for h in results for v in h.verdicts)
    return EXIT_PROBLEM if failing else EXIT_OK
