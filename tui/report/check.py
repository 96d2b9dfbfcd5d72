"""``tbpeek check LOGDIR...``: judge every run once; exit 1 when something is wrong.

Exit codes: 0 nothing reached ``--fail-on`` (default ``alarm``) and every file was read, 1 a
verdict reached ``--fail-on``, 3 none did but some data is damaged or unreadable (damaged
records, unreadable files, directories that can't be listed: the output lists them), 2 usage
or I/O error (a logdir that doesn't exist, a bad ``--role``, an unreadable config file).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from tui.health import HealthOptions, RunHealth
from tui.health.parallel import judge_many_split
from tui.health.roles import ROLES
from tui.report.cli_options import add_config, add_fail_on, add_health, add_logdirs
from tui.report.colour import NAME_STYLE, NO_PAINT, PROBLEM_STYLE, Paint
from tui.report.problems import is_damage, run_problems
from tui.vocab import EXIT_DAMAGED, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Severity, Verdict, plural, safe_terminal


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    add_fail_on(parser)
    add_health(parser, roles=ROLES)
    add_config(parser)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/Inf become null, numpy scalars become Python numbers."""
    t = type(x)  # the common plain types first (3 000 runs: 300 000 values)
    if t is str or t is int or t is bool or x is None:
        return x
    if t is float:
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if is_dataclass(x) and not isinstance(x, type):  # as Verdict.to_json's asdict would give it
        return _clean(asdict(x))
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def verdict_json(v: Verdict) -> dict[str, Any]:
    """``_clean(v.to_json())`` without its deep copy first (`_clean` copies as it goes)."""
    d: dict[str, Any] = _clean(vars(v))
    d["severity"] = v.severity.label
    return d


def to_json(results: list[RunHealth], problems: Mapping[str, list[dict[str, Any]]] | None = None,
            logdir_problems: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``check --json``: per run its verdicts and problems; ``problems`` at the top for
    directories that couldn't be listed (runs inside them are missing)."""
    problems = problems or {}
    return {"runs": [
        {"run": h.run, "path": h.path, "library": h.library,
         "summary": h.summary.to_json() if h.summary else None,
         "verdicts": [verdict_json(v) for v in h.verdicts],
         "problems": problems.get(h.run, [])}
        for h in results], "problems": list(logdir_problems)}


def render_text(results: list[RunHealth], paint: Paint = NO_PAINT,
                problems: Mapping[str, list[dict[str, Any]]] | None = None,
                logdir_problems: Sequence[dict[str, Any]] = ()) -> str:
    """The summary `tbpeek check` prints: names made safe for the terminal; each run's
    problems under it and unlistable directories at the end (``!``); with `paint`, severities
    in colour (always in words too)."""
    problems = problems or {}
    lines: list[str] = []
    width = max((len(safe_terminal(h.run)) for h in results), default=0)
    # Each severity's words painted once (3 000 runs: 20 000 verdict lines).
    heads = {s: paint.severity(f"{s.label.upper():<5}", s) for s in Severity}
    words = {s: paint.severity(f"{s.label:<5}", s) for s in Severity}
    for h in results:
        w = h.worst
        sev = heads[w.severity] if w else "-    "
        head = f"{w.metric} {w.kind}" if w else "nothing to judge"
        lib = f"  [{h.library}]" if h.library else ""
        lines.append(f"{sev}  {paint(f'{safe_terminal(h.run):<{width}}', NAME_STYLE)}  {head}{safe_terminal(lib)}")
        if h.summary is not None:
            lines.append(f"       {safe_terminal(h.summary.text)}")
        lines.extend(f"       {words[v.severity]} {v.metric:<18} {v.kind:<14} {safe_terminal(v.reason)}"
                     for v in h.verdicts)
        lines.extend(paint(f"       ! {safe_terminal(p['path'])}: {safe_terminal(p['message'])}", PROBLEM_STYLE)
                     for p in problems.get(h.run, []))
    lines.extend(paint(f"! {safe_terminal(p['message'])}", PROBLEM_STYLE) for p in logdir_problems)
    counts = {s: sum(1 for h in results if h.worst and h.worst.severity == s) for s in Severity}
    tally = ", ".join(paint.severity(f"{n} {s.label}", s) for s, n in sorted(counts.items(), reverse=True) if n)
    damaged = sum(1 for h in results if problems.get(h.run))
    extra = f"; {plural(damaged, 'run')} with damaged or unreadable data" if damaged else ""
    if logdir_problems:
        extra += f"; {plural(len(logdir_problems), 'directory', 'directories')} not readable"
    lines.append(f"{plural(len(results), 'run')}: {tally or 'nothing judged'}{extra}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.ingest import no_cyclic_gc

    with no_cyclic_gc():  # judging thousands of runs makes no cycles: see no_cyclic_gc
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
        opts = HealthOptions.from_config(cfg, actions=args.actions, mode=args.mode, roles=dict(args.role))
    except (ConfigError, ValueError) as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    from tui.ingest import Ingestor, LogdirError
    from tui.store import Store

    store = Store()
    try:
        ing = Ingestor(store, list(args.logdirs))
        ing.rescan()
        ing.poll()
    except LogdirError as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    snaps = store.snapshots()
    logdir_problems = [p.to_json() for p in ing.problems()]  # directories that can't be listed
    if not snaps:
        for p in logdir_problems:
            print(f"tbpeek check: {safe_terminal(p['message'])}", file=sys.stderr)
        print(f"tbpeek check: no runs (directories with *tfevents* files) in "
              f"{safe_terminal(', '.join(args.logdirs))}",
              file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    # Each run beside its siblings; statistics once per batch; half of the runs on the other core.
    results = judge_many_split(snaps, opts, now)
    results.sort(key=lambda h: (-(h.worst.severity if h.worst else -1), h.run))
    problems = {s.name: found for s in snaps if (found := run_problems(s))}
    if args.json:
        pretty = sys.stdout.isatty()  # indented for a person; compact (and faster) for a program
        print(json.dumps(to_json(results, problems, logdir_problems), indent=2 if pretty else None, allow_nan=False))
    else:
        print(render_text(results, Paint.for_stream(sys.stdout), problems, logdir_problems))
    threshold = Severity.parse(args.fail_on)
    if any(v.severity >= threshold for h in results for v in h.verdicts):
        return EXIT_PROBLEM
    damaged = logdir_problems or any(is_damage(p) for found in problems.values() for p in found)
    return EXIT_DAMAGED if damaged else EXIT_OK
