"""``tbpeek check LOGDIR...``: judge every run once; exit 1 when something is wrong.

Exit codes: 0 nothing reached ``--fail-on`` (default ``alarm``) and every file was read, 1 a
verdict reached ``--fail-on``, 3 none did but some data is damaged or unreadable (damaged
records, unreadable files, directories that can't be listed: the output lists them), 2 usage
or I/O error (a logdir that doesn't exist, a bad ``--role``, an unreadable config file).
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from tui.health import HealthOptions, RunHealth, judge_many
from tui.health.kin import experiment_size_ok, parent_of
from tui.health.parallel import judge_many_split, slim
from tui.health.roles import ROLES
from tui.ingest import Ingestor, LogdirError, forked, memory
from tui.ingest.tree import TreeProblem
from tui.report.cli_options import add_config, add_fail_on, add_health, add_logdirs
from tui.report.colour import NAME_STYLE, NO_PAINT, PROBLEM_STYLE, Paint
from tui.report.halves import in_halves, merged_problems
from tui.report.problems import is_damage, run_problems
from tui.store import Store
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
    return {"runs": [_run_json(h, problems.get(h.run, [])) for h in results], "problems": list(logdir_problems)}


def _run_json(h: RunHealth, found: list[dict[str, Any]]) -> dict[str, Any]:
    return {"run": h.run, "path": h.path, "library": h.library,
            "summary": h.summary.to_json() if h.summary else None,
            "verdicts": [verdict_json(v) for v in h.verdicts], "problems": found}


Heads = tuple[dict[Severity, str], dict[Severity, str], dict[tuple[Severity, str, str], str]]


def _heads(paint: Paint) -> Heads:
    """Each severity's words as a run's first line and its verdicts' lines have them, painted
    once (3 000 runs: 20 000 verdict lines); and a verdict line's start before its reason, by
    (severity, metric, kind), filled as they come (a sweep's lines share a few)."""
    return ({s: paint.severity(f"{s.label.upper():<5}", s) for s in Severity},
            {s: paint.severity(f"{s.label:<5}", s) for s in Severity}, {})


Block = tuple[str, str, str, str]  # a run's summary: severity words, name (safe), rest of the first line, lines under it


def _block(h: RunHealth, found: Sequence[dict[str, Any]], paint: Paint, heads: Heads) -> Block:
    """A run's part of the summary, but for its name's padding (the widest name's, of all runs)."""
    w = h.worst
    sev = heads[0][w.severity] if w else "-    "
    head = f"{w.metric} {w.kind}" if w else "nothing to judge"
    lib = f"  [{h.library}]" if h.library else ""
    words, starts = heads[1], heads[2]
    lines: list[str] = []
    if h.summary is not None:
        lines.append(f"       {safe_terminal(h.summary.text)}")
    for v in h.verdicts:
        key = (v.severity, v.metric, v.kind)
        start = starts.get(key)
        if start is None:
            start = starts[key] = f"       {words[v.severity]} {v.metric:<18} {v.kind:<14} "
        lines.append(start + safe_terminal(v.reason))
    lines.extend(paint(f"       ! {safe_terminal(p['path'])}: {safe_terminal(p['message'])}", PROBLEM_STYLE)
                 for p in found)
    return sev, safe_terminal(h.run), f"  {head}{safe_terminal(lib)}", "\n".join(lines)


def _join(blocks: Sequence[Block], paint: Paint) -> list[str]:
    """The runs' blocks as printed, names padded to the widest."""
    width = max((len(b[1]) for b in blocks), default=0)
    return [f"{sev}  {paint(f'{name:<{width}}', NAME_STYLE)}{first}" + (f"\n{rest}" if rest else "")
            for sev, name, first, rest in blocks]


def _tail(counts: Mapping[Severity, int], runs: int, damaged: int, logdir_problems: Sequence[dict[str, Any]],
          paint: Paint) -> list[str]:
    """The summary's last lines: directories that can't be listed, then the tally (``counts``:
    runs by their worst verdict's severity; ``damaged``: runs with damaged or unreadable data)."""
    lines = [paint(f"! {safe_terminal(p['message'])}", PROBLEM_STYLE) for p in logdir_problems]
    tally = ", ".join(paint.severity(f"{n} {s.label}", s) for s, n in sorted(counts.items(), reverse=True) if n)
    extra = f"; {plural(damaged, 'run')} with damaged or unreadable data" if damaged else ""
    if logdir_problems:
        extra += f"; {plural(len(logdir_problems), 'directory', 'directories')} not readable"
    lines.append(f"{plural(runs, 'run')}: {tally or 'nothing judged'}{extra}")
    return lines


def _counts(results: Sequence[RunHealth]) -> dict[Severity, int]:
    counts = dict.fromkeys(Severity, 0)
    for h in results:
        if h.worst:
            counts[h.worst.severity] += 1
    return counts


def render_text(results: list[RunHealth], paint: Paint = NO_PAINT,
                problems: Mapping[str, list[dict[str, Any]]] | None = None,
                logdir_problems: Sequence[dict[str, Any]] = ()) -> str:
    """The summary `tbpeek check` prints: names made safe for the terminal; each run's
    problems under it and unlistable directories at the end (``!``); with `paint`, severities
    in colour (always in words too)."""
    problems = problems or {}
    heads = _heads(paint)
    lines = _join([_block(h, problems.get(h.run, ()), paint, heads) for h in results], paint)
    damaged = sum(1 for h in results if problems.get(h.run))
    lines += _tail(_counts(results), len(results), damaged, logdir_problems, paint)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.ingest import no_cyclic_gc

    with no_cyclic_gc():  # judging thousands of runs makes no cycles: see no_cyclic_gc
        return _run(args)


SPLIT_RUNS = 200  # directories where the tree splits: more are scanned, read and judged in two halves


class _Half(NamedTuple):
    """One half's check: its runs' output in the order printed (sort key, JSON text or `Block`)
    and what the summary and the exit code need of them."""
    items: list[tuple[tuple[int, str], Any]]
    counts: dict[Severity, int]  # runs by their worst verdict's severity
    top: int  # the highest severity of any verdict (-1: none)
    damaged: int  # runs with damaged or unreadable data
    damage: bool  # any damage (not only unreadable files)
    problems: list[TreeProblem]
    links: set[str]  # symlinked directories followed
    parents: dict[str, int]  # the runs' parent directories (their siblings' home): how many runs in each


def _order(h: RunHealth) -> tuple[int, str]:
    """Worst first, then by name: the order `tbpeek check` prints runs in."""
    return (-(h.worst.severity if h.worst else -1), h.run)


def _half(ing: Ingestor, store: Store, part: tuple[str, str, bool], opts: HealthOptions, now: float, as_json: bool,
          paint: Paint) -> _Half:
    """Scan, read and judge one half of the tree (each run beside its siblings: all in this half)."""
    ing.rescan(part=part)
    ing.poll_runs(store.runs())
    snaps = store.snapshots()
    results = slim(judge_many(snaps, opts, now))
    problems = {s.name: found for s in snaps if (found := run_problems(s))}
    heads = _heads(paint)
    items: list[tuple[tuple[int, str], Any]] = [
        (_order(h), json.dumps(_run_json(h, problems.get(h.run, [])), allow_nan=False) if as_json
         else _block(h, problems.get(h.run, ()), paint, heads)) for h in results]
    items.sort(key=itemgetter(0))
    top = max((int(v.severity) for h in results for v in h.verdicts), default=-1)
    damage = any(is_damage(p) for found in problems.values() for p in found)
    return _Half(items, _counts(results), top, len(problems), damage, ing.problems(), ing.followed_links(),
                 dict(Counter(parent_of(s) for s in snaps)))


def _apart(mine: _Half, theirs: _Half) -> bool:
    """Whether each half judged its runs as one process does: every directory with runs in
    both halves is too full to be one experiment in each (`experiment_size_ok`: a flat sweep,
    ``runs/<name>``), so its runs are judged alone in each half as in the whole."""
    return all(not experiment_size_ok(mine.parents[d]) and not experiment_size_ok(theirs.parents[d])
               for d in mine.parents.keys() & theirs.parents.keys())


def _by_halves(ing: Ingestor, store: Store, split: tuple[str, str], opts: HealthOptions, now: float,
               as_json: bool, paint: Paint) -> tuple[_Half, _Half] | None:
    """The check of a tree of many directories on two cores: the directories from ``split``'s
    name on scanned, read and judged by a forked worker. Both halves' checks; None where they
    can't give what one process would (the worker failed, siblings on both sides of the split
    (`_apart`), both followed a link to the same directory, no runs)."""
    try:
        halves = in_halves(lambda upper: _half(ing, store, (*split, upper), opts, now, as_json, paint))
    except LogdirError:
        return None  # (said again by the read in one process)
    if halves is None:
        return None
    mine, theirs = halves
    if mine.links & theirs.links or not _apart(mine, theirs) or not (mine.items or theirs.items):
        return None
    return mine, theirs


def _print_halves(args: argparse.Namespace, halves: tuple[_Half, _Half], paint: Paint) -> int:
    """Print the check from its halves as one process prints it; the exit code."""
    mine, theirs = halves
    runs = [x for _, x in heapq.merge(mine.items, theirs.items, key=itemgetter(0))]
    logdir_problems = [p.to_json() for p in merged_problems(mine.problems, theirs.problems)]
    if args.json:
        out = sys.stdout  # (megabytes for a sweep: written in pieces, not copied into one string first)
        out.write('{"runs": [')
        out.write(", ".join(runs))
        out.write(f'], "problems": {json.dumps(logdir_problems, allow_nan=False)}}}\n')
    else:
        counts = {s: mine.counts[s] + theirs.counts[s] for s in Severity}
        print("\n".join(_join(runs, paint) + _tail(counts, len(runs), mine.damaged + theirs.damaged,
                                                   logdir_problems, paint)))
    if max(mine.top, theirs.top) >= Severity.parse(args.fail_on):
        return EXIT_PROBLEM
    return EXIT_DAMAGED if logdir_problems or mine.damage or theirs.damage else EXIT_OK


def _open(args: argparse.Namespace) -> tuple[Store, Ingestor] | None:
    store = Store()
    try:
        return store, Ingestor(store, list(args.logdirs))
    except LogdirError as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
        opts = HealthOptions.from_config(cfg, actions=args.actions, mode=args.mode, roles=dict(args.role))
    except (ConfigError, ValueError) as e:
        print(f"tbpeek check: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    opened = _open(args)
    if opened is None:
        return EXIT_USAGE
    store, ing = opened
    paint = Paint.for_stream(sys.stdout)
    pretty = args.json and sys.stdout.isatty()  # indented for a person; compact (and faster) for a program
    split = ing.split_point(SPLIT_RUNS) if not pretty and forked.available() else None
    if split is not None:  # a tree of many directories: checked on two cores
        memory.keep_freed()  # read once, then exit: freed batches reused, not faulted in again
        halves = _by_halves(ing, store, split, opts, time.time(), args.json, paint)
        if halves is not None:
            return _print_halves(args, halves, paint)
        opened = _open(args)  # read it all here, from the start
        if opened is None:
            return EXIT_USAGE
        store, ing = opened
    try:
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
    results.sort(key=_order)
    problems = {s.name: found for s in snaps if (found := run_problems(s))}
    if args.json:
        print(json.dumps(to_json(results, problems, logdir_problems), indent=2 if pretty else None, allow_nan=False))
    else:
        print(render_text(results, paint, problems, logdir_problems))
    threshold = Severity.parse(args.fail_on)
    if any(v.severity >= threshold for h in results for v in h.verdicts):
        return EXIT_PROBLEM
    damaged = logdir_problems or any(is_damage(p) for found in problems.values() for p in found)
    return EXIT_DAMAGED if damaged else EXIT_OK
