"""``tbpeek export LOGDIR... [--format csv|parquet] [-o PATH] [--runs REGEX] [--tags REGEX]``

Every scalar of the selected runs and tags in long form: ``run, tag, step, wall_time, value``.
CSV writes floats with ``repr`` (shortest exact round trip; ``nan``/``inf`` as Python spells
them), so reading the file back gives exactly the values in the store. Parquet needs pyarrow.

Run and tag names are untrusted: a name starting with ``=``, ``+``, ``-``, ``@``, a tab or a CR
is run as a formula by spreadsheets (CSV injection). In CSV such a name is written with a ``'``
before it (as OWASP advises; a name starting with ``'`` gets one more, so `read_csv` can take it
off again); ``--raw`` writes names as they are. Numbers are never changed: a negative value is
a number, not a formula. Parquet has types, and keeps names as they are.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
from collections.abc import Iterator
from typing import IO

from tui.report.cli_options import add_logdirs
from tui.store import Store
from tui.vocab import EXIT_OK, EXIT_USAGE, PatternError, compile_regex, plural, safe_terminal

COLUMNS = ("run", "tag", "step", "wall_time", "value")


class ExportError(Exception):
    """Something the user can fix (a bad regex, a missing library, an unwritable path)."""


def _compile(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return compile_regex(pattern, f"--{what}")
    except PatternError as e:
        raise ExportError(str(e)) from None


def selected(store: Store, runs: str | None = None, tags: str | None = None) -> Iterator[tuple[str, str]]:
    """(run, tag) pairs whose names match the regexes (``re.search``), sorted."""
    rx_run, rx_tag = _compile(runs, "runs"), _compile(tags, "tags")
    for run in store.runs():
        if rx_run is not None and not rx_run.search(run):
            continue
        for tag in store.tags(run):
            if rx_tag is None or rx_tag.search(tag):
                yield run, tag


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(text: str) -> str:
    """A text cell a spreadsheet won't run as a formula: ``=cmd|' /C calc'!A0`` ->
    ``'=cmd|' /C calc'!A0``; a text starting with ``'`` gets one more (so `restore` is exact).
    Only for text cells (names): numbers are written as numbers."""
    return QUOTE + text if text.startswith((*FORMULA_START, QUOTE)) else text


def restore(text: str) -> str:
    """The name `neutralise` was given."""
    return text[1:] if text.startswith(QUOTE) else text


def _float(x: float) -> str:
    return repr(float(x))


def write_csv(store: Store, out: IO[str], runs: str | None = None, tags: str | None = None,
              raw: bool = False, terminal: bool = False) -> int:
    """Write the long-form CSV; returns the number of data rows.

    Args:
        raw: write run and tag names as they are (default: `neutralise` them).
        terminal: `out` is a terminal: control characters in names become visible escapes
            (`tui.vocab.safe_terminal`). A file or a pipe gets the names exactly.
    """
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0

    def text(name: str) -> str:
        name = name if raw else neutralise(name)
        return safe_terminal(name) if terminal else name

    # A name holding a CR is not quoted by the minimal writer (only the "\n" line end counts):
    # rows with one quote their text cells and leave the numbers bare (floats as repr, as above).
    w_cr = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for run, tag in selected(store, runs, tags):
        s = store.series(run, tag)
        run_cell, tag_cell = text(run), text(tag)
        cr = "\r" in run_cell or "\r" in tag_cell
        for step, wall, value in zip(s.steps.tolist(), s.wall_times.tolist(), s.values.tolist(), strict=True):
            if cr:
                w_cr.writerow((run_cell, tag_cell, int(step), float(wall), float(value)))
            else:
                w.writerow((run_cell, tag_cell, step, _float(wall), _float(value)))
        n += len(s)
    return n


def write_parquet(store: Store, path: str, runs: str | None = None, tags: str | None = None) -> int:
    """Write a Parquet file (run and tag dictionary-encoded); returns the number of rows.

    Raises:
        ExportError: pyarrow isn't installed.
    """
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("--format parquet needs pyarrow, which isn't installed: "
                          "`pip install pyarrow`, or use --format csv") from None
    run_col, tag_col, steps, walls, values = [], [], [], [], []
    for run, tag in selected(store, runs, tags):
        s = store.series(run, tag)
        run_col += [run] * len(s)
        tag_col += [tag] * len(s)
        steps.append(s.steps)
        walls.append(s.wall_times)
        values.append(s.values)
    def cat(parts: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, dt)

    table = pa.table({
        "run": pa.array(run_col, pa.string()).dictionary_encode(),
        "tag": pa.array(tag_col, pa.string()).dictionary_encode(),
        "step": pa.array(cat(steps, np.int64), pa.int64()),
        "wall_time": pa.array(cat(walls, np.float64), pa.float64()),
        "value": pa.array(cat(values, np.float64), pa.float64()),
    })
    pq.write_table(table, path)
    return int(table.num_rows)


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--format", choices=("csv", "parquet"), default=None,
                        help="csv (default) or parquet (needs pyarrow; default when -o ends in .parquet)")
    parser.add_argument("-o", "--output", metavar="PATH", help="output file (default: CSV to stdout)")
    parser.add_argument("--runs", metavar="REGEX", help="only runs whose name matches")
    parser.add_argument("--tags", metavar="REGEX", help="only tags that match")
    parser.add_argument("--raw", action="store_true",
                        help="CSV: write run and tag names as they are; by default a name starting with "
                             "= + - @ (or a tab or CR) gets a ' before it, so spreadsheets don't run it "
                             "as a formula")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    raw = bool(getattr(args, "raw", False))
    fmt = args.format or ("parquet" if (args.output or "").lower().endswith((".parquet", ".pq")) else "csv")
    try:
        _compile(args.runs, "runs")
        _compile(args.tags, "tags")
        if fmt == "parquet":
            if not args.output or args.output == "-":
                raise ExportError("--format parquet writes a file: give it with -o PATH")
            try:
                import pyarrow  # noqa: F401  (fail before reading every logdir)
            except ImportError:
                raise ExportError("--format parquet needs pyarrow, which isn't installed: "
                                  "`pip install pyarrow`, or use --format csv") from None
    except ExportError as e:
        print(f"tbpeek export: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE

    from tui.ingest import LogdirError, load

    try:
        store = load(args.logdirs)
    except LogdirError as e:
        print(f"tbpeek export: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    try:
        if fmt == "parquet":
            n = write_parquet(store, args.output, args.runs, args.tags)
        elif not args.output or args.output == "-":
            n = write_csv(store, sys.stdout, args.runs, args.tags, raw=raw, terminal=_isatty(sys.stdout))
            return EXIT_OK
        else:
            tmp = args.output + ".part"
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                n = write_csv(store, f, args.runs, args.tags, raw=raw)
            os.replace(tmp, args.output)  # never leave a half-written file under the real name
    except ExportError as e:
        print(f"tbpeek export: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    except BrokenPipeError:
        raise  # `tbpeek export ... | head`: the reader has all it wanted (the dispatcher exits 0)
    except OSError as e:
        print(f"tbpeek export: can't write {safe_terminal(str(e.filename or args.output))}: {e.strerror}", file=err)
        return EXIT_USAGE
    print(f"tbpeek export: wrote {plural(n, 'row')} to {safe_terminal(args.output)}", file=err)
    return EXIT_OK


def read_csv(text: str | IO[str], raw: bool = False) -> list[tuple[str, str, int, float, float]]:
    """Parse an exported CSV back (used by tests and handy in notebooks without pandas).

    Args:
        raw: the file was written with ``--raw`` (names as they are); by default the ``'``
            `neutralise` put before a name is taken off.
    """
    f = io.StringIO(text) if isinstance(text, str) else text
    r = csv.reader(f)
    header = next(r)
    if tuple(header) != COLUMNS:
        raise ValueError(f"not a tbpeek export: header is {header}, expected {list(COLUMNS)}")
    name = (lambda x: x) if raw else restore
    return [(name(row[0]), name(row[1]), int(row[2]), float(row[3]), float(row[4])) for row in r]
