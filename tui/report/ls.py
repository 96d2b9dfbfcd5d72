"""``tbpeek ls LOGDIR...``: runs, their tags, point counts, last step and value, last write age,
and any damaged files or skipped records; ``--json`` for scripts.

Exit codes: 0 listed (even when some files are damaged: they are reported), 2 a logdir that
doesn't exist or can't be read.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _jstr
from operator import itemgetter
from typing import Any

from tui.ingest import Ingestor, LogdirError, forked, memory, no_cyclic_gc
from tui.ingest.reader import FileState
from tui.ingest.tree import TreeProblem
from tui.report.cli_options import add_logdirs
from tui.report.colour import NAME_STYLE, NO_PAINT, PROBLEM_STYLE, Paint
from tui.report.halves import in_halves, merged_problems
from tui.report.problems import run_problems
from tui.store import Restart, RunEnds, RunSnapshot, Store, TagEnd
from tui.vocab import EXIT_OK, EXIT_USAGE, fmt_duration, fmt_num, natural_key, plural, safe_terminal


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--files", action="store_true", help="also list each run's event files")


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{fmt_duration(seconds)} ago"


@lru_cache(maxsize=1024)
def _tag_order(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Tags in natural order (sorted once per tag set: the runs of a sweep share theirs)."""
    return tuple(sorted(tags, key=natural_key))


def _in_time_order(restarts: tuple[Restart, ...]) -> list[Restart] | tuple[Restart, ...]:
    """Restarts by time (then tag): the same order however the reading went (the tags of one
    read come in the order the ingest first saw them)."""
    if len(restarts) < 2:
        return restarts
    return sorted(restarts, key=lambda r: (r.wall_time, r.tag, r.step))


def _ends(run: RunEnds | RunSnapshot) -> RunEnds:
    return run if isinstance(run, RunEnds) else RunEnds.of(run)


def run_json(run: RunEnds | RunSnapshot, files: list[FileState], now: float) -> dict[str, Any]:
    """A run's object in ``ls --json`` (``run_json_text`` writes the same, faster)."""
    e = _ends(run)
    tags = []
    isfinite = math.isfinite
    for tag in _tag_order(tuple(e.ends)):
        end = e.ends[tag]
        if end is not None:
            n, step, v, w = end
            tags.append({"tag": tag, "points": n, "last_step": step,
                         "last_value": v if isfinite(v) else None, "last_value_text": fmt_num(v),
                         "last_wall_time": w if isfinite(w) else None})
        else:
            tags.append({"tag": tag, "points": 0, "last_step": None, "last_value": None,
                         "last_value_text": None, "last_wall_time": None})
    act = e.last_activity
    return {
        "run": e.name, "path": e.path, "points": e.points, "last_step": e.last_step,
        "last_write": act,
        "last_write_age_s": None if act is None else round(now - act, 3),
        "file_version": e.file_version, "tags": tags,
        "texts": {k: t.text for k, t in e.texts.items()},
        "restarts": [{"tag": r.tag, "step": r.step, "wall_time": r.wall_time, "dropped": r.dropped}
                     for r in _in_time_order(e.restarts)],
        "problems": run_problems(e),
        "files": [{"path": f.path, "size": f.size, "offset": f.offset, "records": f.records,
                   "skipped_records": f.skipped_records, "damaged": f.damaged,
                   "pending_bytes": f.pending, "missing": f.missing} for f in files],
    }


@lru_cache(maxsize=4096)
def _json_str(text: str) -> str:
    return _jstr(text)


def _jnum(x: float | None) -> str:
    """A float as json.dumps writes it (None: null); ValueError for what JSON can't hold."""
    if x is None:
        return "null"
    if not math.isfinite(x):
        raise ValueError(f"Out of range float values are not JSON compliant: {x!r}")
    return float.__repr__(float(x))


_TagsPlan = tuple[tuple[str, ...], Callable[[dict[str, TagEnd | None]], tuple[TagEnd | None, ...]], str]


@lru_cache(maxsize=1024)
def _tags_plan(tags: tuple[str, ...]) -> _TagsPlan:
    """For a set of tags (the runs of a sweep share theirs): their order, a getter of their ends
    in that order, and the JSON of tags that all have points with a ``%s`` for each number (one
    ``%`` per run fills them all)."""
    order = _tag_order(tags)
    text = ", ".join(f'{{"tag": {_json_str(tag).replace("%", "%%")}, "points": %s, "last_step": %s, '
                     '"last_value": %s, "last_value_text": "%s", "last_wall_time": %s}' for tag in order)
    if len(order) > 1:
        return order, itemgetter(*order), text
    return order, lambda ends: tuple([ends[t] for t in order]), text


def _tags_text(ends: dict[str, TagEnd | None]) -> str:
    """The run's ``tags`` array, inside its brackets, as ``run_json`` has it."""
    order, get, text = _tags_plan(tuple(ends))
    isfinite = math.isfinite
    args: list[object] = []
    add = args.extend
    last_w, last_wr = 0.0, "0.0"  # the tags of one summary share their wall time: written once
    for end in get(ends):  # the common case: every tag has points, every number is finite
        if end is None:
            break
        n, step, v, w = end
        if not isfinite(v + w):  # (one test for both: a NaN or an infinity makes the sum one)
            break
        if w != last_w or not w:  # (0.0 == -0.0, but their texts differ)
            last_w, last_wr = w, repr(w)
        add((n, step, v, fmt_num(v), last_wr))  # a float's %s is its repr
    else:
        return text % tuple(args)
    tags = []
    for tag in order:
        end = ends[tag]
        if end is not None:
            n, step, v, w = end
            tags.append(f'{{"tag": {_json_str(tag)}, "points": {n}, "last_step": {step}, '
                        f'"last_value": {float.__repr__(v) if isfinite(v) else "null"}, '
                        f'"last_value_text": "{fmt_num(v)}", '
                        f'"last_wall_time": {float.__repr__(w) if isfinite(w) else "null"}}}')
        else:
            tags.append(f'{{"tag": {_json_str(tag)}, "points": 0, "last_step": null, "last_value": null, '
                        '"last_value_text": null, "last_wall_time": null}')
    return ", ".join(tags)


def run_json_text(run: RunEnds | RunSnapshot, files: list[FileState], now: float) -> str:
    """``json.dumps(run_json(run, files, now), allow_nan=False)``, written directly (for
    thousands of runs: no dict per tag, the tags' names escaped once).

    Raises:
        ValueError: a number JSON can't hold (as json.dumps would).
    """
    e = _ends(run)
    act = e.last_activity
    step = e.last_step
    if act is None:
        write = age = "null"
    else:
        write, age = _jnum(act), _jnum(round(now - act, 3))
    extra = ('"texts": {}, "restarts": [], "problems": []' if not (e.texts or e.restarts or e.problem_items) else
             _extra_text(e))
    fs = ", ".join([f'{{"path": {_jstr(f.path)}, "size": {f.size}, "offset": {f.offset}, "records": {f.records}, '
                    f'"skipped_records": {f.skipped_records}, '
                    f'"damaged": {"null" if f.damaged is None else _jstr(f.damaged)}, "pending_bytes": {f.pending}, '
                    f'"missing": {"null" if f.missing is None else _jstr(f.missing)}}}' for f in files])
    fv = e.file_version
    return (f'{{"run": {_jstr(e.name)}, "path": {_jstr(e.path)}, "points": {e.points}, '
            f'"last_step": {"null" if step is None else step}, "last_write": {write}, "last_write_age_s": {age}, '
            f'"file_version": {"null" if fv is None else _jstr(fv)}, "tags": [{_tags_text(e.ends)}], '
            f'{extra}, "files": [{fs}]}}')


def _extra_text(e: RunEnds) -> str:
    """The run's texts, restarts and problems, as ``run_json`` has them."""
    d = json.dumps
    restarts = ("[]" if not e.restarts else
                d([{"tag": r.tag, "step": r.step, "wall_time": r.wall_time, "dropped": r.dropped}
                   for r in _in_time_order(e.restarts)], allow_nan=False))
    problems = "[]" if not e.problem_items else d(run_problems(e), allow_nan=False)
    texts = "{}" if not e.texts else d({k: t.text for k, t in e.texts.items()}, allow_nan=False)
    return f'"texts": {texts}, "restarts": {restarts}, "problems": {problems}'


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
            lines.extend(f"  {t(tag['tag']):<{w}}  {tag['points']:>8}  "  # (no points: every one dropped by a restart)
                         f"{'-' if tag['last_step'] is None else tag['last_step']:>10}  "
                         f"{tag['last_value_text'] or '-'}" for tag in r["tags"])
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
    with no_cyclic_gc():  # thousands of runs' snapshots and JSON: no cycles among them
        return _run(args)


SPLIT_RUNS = 200  # runs: more are read and listed half in a forked worker (tui.ingest.forked)


def _read(ing: Ingestor, store: Store, names: list[str]) -> Iterator[tuple[RunEnds, list[FileState]]]:
    """Read these runs; each one's ends and event files, in the order of ``names``."""
    ing.poll_runs(names)
    states: dict[str, list[FileState]] = {}
    for f in ing.file_states(names):
        states.setdefault(f.run, []).append(f)
    return ((e, states.get(e.name, [])) for e in store.ends(names))


def _runs(ing: Ingestor, store: Store, names: list[str], now: float) -> list[dict[str, Any]]:
    """Read these runs; their objects (as ``--json`` prints them)."""
    return [run_json(e, files, now) for e, files in _read(ing, store, names)]


def _listing(ing: Ingestor, store: Store, names: list[str], now: float, as_json: bool, show_files: bool,
             paint: Paint) -> str:
    """Read these runs and list them: a JSON array of their objects, or the table's text."""
    if as_json:
        return f'[{", ".join(run_json_text(e, files, now) for e, files in _read(ing, store, names))}]'
    return render_text(_runs(ing, store, names, now), show_files=show_files, paint=paint)


Half = tuple[list[tuple[str, str]], list[TreeProblem], set[str]]


def _half(ing: Ingestor, store: Store, part: tuple[str, str, bool], now: float, as_json: bool, show_files: bool,
          paint: Paint) -> Half:
    """Scan and read one half of the logdir's top-level directories: each run's listing (its
    JSON object, or its block of the table) by name, the directories that can't be listed, and
    the symlinked directories followed."""
    ing.rescan(part=part)
    names = sorted(store.runs(), key=natural_key)
    if as_json:
        items = [(e.name, run_json_text(e, files, now)) for e, files in _read(ing, store, names)]
    else:
        items = [(e.name, render_text([run_json(e, files, now)], show_files=show_files, paint=paint))
                 for e, files in _read(ing, store, names)]
    return items, ing.problems(), ing.followed_links()


def _by_halves(ing: Ingestor, store: Store, split: tuple[str, str], now: float, as_json: bool, show_files: bool,
               paint: Paint) -> tuple[list[str], list[TreeProblem]] | None:
    """The listing of a logdir with many top-level directories, scanned and read on two cores:
    the directories from ``split``'s name on by a forked worker. Each run's listing, in name order, and
    the problems; None where the halves can't give what one process would (the worker failed,
    or both followed a link to the same directory): then it is to be read in one process."""
    halves = in_halves(lambda upper: _half(ing, store, (*split, upper), now, as_json, show_files, paint))
    if halves is None:
        return None
    mine, theirs = halves
    if mine[2] & theirs[2]:
        return None
    lower, upper = mine[0], theirs[0]

    def key(item: tuple[str, str]) -> tuple[tuple[Any, ...], str]:
        return natural_key(item[0]), item[0]

    # The halves split the names as strings; in natural order they interleave only at times
    # (``run9`` < ``run10``): then they are merged.
    runs = heapq.merge(lower, upper, key=key) if lower and upper and key(upper[0]) < key(lower[-1]) \
        else lower + upper
    return [text for _, text in runs], merged_problems(mine[1], theirs[1])


def _open(args: argparse.Namespace) -> tuple[Store, Ingestor] | None:
    store = Store()
    try:
        return store, Ingestor(store, args.logdirs)
    except LogdirError as e:
        print(f"tbpeek ls: {safe_terminal(str(e))}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    opened = _open(args)
    if opened is None:
        return EXIT_USAGE
    store, ing = opened
    now = time.time()
    as_json = args.json
    pretty = as_json and sys.stdout.isatty()  # indented for a person; compact (and faster) for a program
    paint = Paint.for_stream(sys.stdout)
    split = ing.split_point(SPLIT_RUNS) if not pretty and forked.available() else None
    if split is not None:  # a tree of many directories: scanned and read on two cores
        memory.keep_freed()  # read once, then exit: freed batches reused, not faulted in again
        halves = _by_halves(ing, store, split, now, as_json, args.files, paint)
        if halves is not None:
            return _print(args, *halves)
        opened = _open(args)  # read it all here, from the start
        if opened is None:
            return EXIT_USAGE
        store, ing = opened
    ing.rescan()
    names = sorted(store.runs(), key=natural_key)
    if len(names) >= SPLIT_RUNS:
        memory.keep_freed()  # read once, then exit: freed batches reused, not faulted in again
    parts: list[str] = []
    if not pretty and len(names) >= SPLIT_RUNS and forked.available():
        # Two halves on two cores: the second half read and listed by a forked worker (if it
        # fails, here, after the first).
        cut = len(names) // 2
        with forked.Forked(lambda: _listing(ing, store, names[cut:], now, as_json, args.files, paint)) as worker:
            parts.append(_listing(ing, store, names[:cut], now, as_json, args.files, paint))
            try:
                parts.append(worker.result())
            except forked.ChildFailed:
                parts.append(_listing(ing, store, names[cut:], now, as_json, args.files, paint))
    elif not pretty:
        parts.append(_listing(ing, store, names, now, as_json, args.files, paint))
    problems = ing.problems()  # directories that can't be listed: their runs are missing below
    if as_json:
        if pretty:
            print(json.dumps({"runs": _runs(ing, store, names, now), "problems": [p.to_json() for p in problems]},
                             indent=2, allow_nan=False))
            return EXIT_OK
        return _print(args, [p[1:-1] for p in parts if p != "[]"], problems)
    return _print(args, [p for p in parts if p], problems)


def _print(args: argparse.Namespace, parts: list[str], problems: list[TreeProblem]) -> int:
    """Print the listing: ``parts`` are runs' JSON objects (several to a part, comma-separated)
    or blocks of the table, in order."""
    if args.json:  # (megabytes for a sweep: written in pieces, not copied into one string first)
        tail = f'], "problems": {json.dumps([p.to_json() for p in problems], allow_nan=False)}}}\n'
        _write_joined('{"runs": [', parts, ", ", tail)
        return EXIT_OK
    for p in problems:
        print(f"tbpeek ls: {safe_terminal(p.advice)}", file=sys.stderr)
    if not parts:
        print(f"no runs under {safe_terminal(', '.join(args.logdirs))} "
              "(a run is a directory holding files named *tfevents*)", file=sys.stderr)
        return EXIT_OK
    _write_joined("", parts, "\n\n", "\n")
    return EXIT_OK


def _write_joined(head: str, parts: list[str], sep: str, tail: str) -> None:
    """Write ``head + sep.join(parts) + tail`` to stdout a part at a time: thousands of runs'
    listings are never copied into one string (nor encoded at once), which would double or
    triple the peak memory of ``ls`` at its end."""
    write = sys.stdout.write
    write(head)
    for i, part in enumerate(parts):
        if i:
            write(sep)
        write(part)
    write(tail)
