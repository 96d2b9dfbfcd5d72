"""``tbpeek ls LOGDIR...``: runs, their tags, point counts, last step and value, last write age,
and any damaged files or skipped records; ``--json`` for scripts.

Exit codes: 0 listed (even when some files are damaged: they are reported), 2 a logdir that
doesn't exist or can't be read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from tui.ingest import Ingestor, LogdirError
from tui.ingest.reader import FileState
from tui.report.cli_options import add_logdirs
from tui.report.colour import NAME_STYLE, NO_PAINT, PROBLEM_STYLE, Paint
from tui.report.problems import run_problems
from tui.store import RunSnapshot, Store
from tui.vocab import EXIT_OK, EXIT_USAGE, fmt_duration, fmt_num, natural_key, plural, safe_terminal


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--files", action="store_true", help="also list each run's event files")


def _num(x: float | None) -> Any:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{fmt_duration(seconds)} ago"


def run_json(snap: RunSnapshot, files: list[FileState], now: float) -> dict[str, Any]:
    tags = []
    for tag in sorted(snap.tags, key=natural_key):
        s = snap.series[tag]
        tags.append({
            "tag": tag, "points": len(s),
            "last_step": int(s.steps[-1]) if len(s) else None,
            "last_value": _num(s.values[-1]) if len(s) else None,
            "last_value_text": fmt_num(float(s.values[-1])) if len(s) else None,
            "last_wall_time": _num(s.wall_times[-1]) if len(s) else None,
        })
    return {
        "run": snap.name, "path": snap.path, "points": snap.points, "last_step": snap.last_step,
        "last_write": snap.last_activity,
        "last_write_age_s": None if snap.last_activity is None else round(now - snap.last_activity, 3),
        "file_version": snap.file_version, "tags": tags,
        "texts": {k: t.text for k, t in snap.texts.items()},
        "restarts": [{"tag": r.tag, "step": r.step, "wall_time": r.wall_time, "dropped": r.dropped}
                     for r in snap.restarts],
        "problems": run_problems(snap),
        "files": [{"path": f.path, "size": f.size, "offset": f.offset, "records": f.records,
                   "skipped_records": f.skipped_records, "damaged": f.damaged,
                   "pending_bytes": f.pending, "missing": f.missing} for f in files],
    }


def render_text(runs: list[dict[str, Any]], show_files: bool = False, paint: Paint = NO_PAINT) -> str:
    """The table `tbpeek ls` prints; names, tags, paths and messages from the logdirs are made
    safe for the terminal (`tui.vocab.safe_terminal`); with `paint`, names and problems in
    colour."""
    t = safe_terminal
    lines: list[str] = []
    for r in runs:
        head = (f"{paint(t(r['run']), NAME_STYLE)}  ({t(r['path'])})  {plural(len(r['tags']), 'tag')}, "
                f"{plural(r['points'], 'point')}, "
                f"last step {r['last_step'] if r['last_step'] is not None else '-'}, "
                f"written {_age(r['last_write_age_s'])}")
        lines.append(head)
        if r["tags"]:
            w = max(len(t(tag["tag"])) for tag in r["tags"])
            w = max(w, 3)
            lines.append(f"  {'TAG':<{w}}  {'POINTS':>8}  {'LAST STEP':>10}  LAST VALUE")
            lines.extend(f"  {t(tag['tag']):<{w}}  {tag['points']:>8}  {tag['last_step']:>10}  "
                         f"{tag['last_value_text']}" for tag in r["tags"])
        lines.extend(paint(f"  ! {t(p['path'])}: {t(p['message'])}", PROBLEM_STYLE) for p in r["problems"])
        if r["restarts"]:
            n = len(r["restarts"])
            last = r["restarts"][-1]
            lines.append(f"  ~ {plural(n, 'restart')}; last: {t(last['tag'])} went back to step {last['step']} "
                         f"({plural(last['dropped'], 'point')} replaced)")
        for f in r["files"]:
            if show_files or f["pending_bytes"]:
                note = f", {f['pending_bytes']} bytes of an incomplete last record" if f["pending_bytes"] else ""
                lines.append(f"  - {t(f['path'])}: {plural(f['records'], 'record')}, {plural(f['size'], 'byte')}{note}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def run(args: argparse.Namespace) -> int:
    store = Store()
    try:
        ing = Ingestor(store, args.logdirs)
    except LogdirError as e:
        print(f"tbpeek ls: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    ing.rescan()
    ing.poll()
    now = time.time()
    states: dict[str, list[FileState]] = {}
    for f in ing.file_states():
        states.setdefault(f.run, []).append(f)
    snaps = sorted(store.snapshots(), key=lambda snap: natural_key(snap.name))
    runs = [run_json(snap, states.get(snap.name, []), now) for snap in snaps]
    problems = ing.problems()  # directories that can't be listed: their runs are missing below
    if args.json:
        # Indented for a person; compact (and much faster to write) for a program.
        print(json.dumps({"runs": runs, "problems": [p.to_json() for p in problems]},
                         indent=2 if sys.stdout.isatty() else None, allow_nan=False))
        return EXIT_OK
    for p in problems:
        print(f"tbpeek ls: {safe_terminal(p.advice)}", file=sys.stderr)
    if not runs:
        print(f"no runs under {safe_terminal(', '.join(args.logdirs))} "
              "(a run is a directory holding files named *tfevents*)", file=sys.stderr)
        return EXIT_OK
    print(render_text(runs, show_files=args.files, paint=Paint.for_stream(sys.stdout)))
    return EXIT_OK
