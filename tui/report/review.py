"""``tbpeek review LOGDIR... [--since 24h|today|DATE] [--format text|md|html] [-o FILE] [--all]``

The end-of-day review: per run its final state and duration, verdicts, the verdict timeline,
first/best/last of its role metrics with sparklines, mean steps/s, restarts, the person's
notes; the day's looks from the look log; seed groups. Runs are sorted worst first; runs that
wrote nothing in the period are left out unless ``--all``.

`build_review` is the one entry point for both the CLI and the TUI's review screen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from tui.config import ConfigError, load_config, parse_duration
from tui.notes import NoteStore
from tui.report.cli_options import add_config, add_health, add_logdirs
from tui.report.colour import NO_PAINT, Paint
from tui.report.review_model import Review, assemble, summarise_looks, summarise_run
from tui.store import RunSnapshot, Store
from tui.vocab import EXIT_OK, EXIT_USAGE, PatternError, compile_regex, plural, safe_terminal

if TYPE_CHECKING:
    from tui.health import HealthOptions, VerdictChange
    from tui.looks.log import Look

FORMATS = ("text", "md", "html")
HISTORY_POINTS = 60  # prefixes judged to replay a run's verdict timeline


def parse_since(text: str, now: float) -> float:
    """``24h``/``90m``/… (a duration back from now), ``today`` (local midnight), ``yesterday``,
    or a date/time ``2026-11-23`` / ``2026-11-23T13:00`` (local time) -> epoch seconds.

    Raises:
        ValueError: with the accepted forms.
    """
    s = text.strip().lower()
    local_now = dt.datetime.fromtimestamp(now)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if s == "today":
        return midnight.timestamp()
    if s == "yesterday":
        return (midnight - dt.timedelta(days=1)).timestamp()
    try:
        return now - parse_duration(s)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"can't read --since {text!r}: use a duration (24h, 90m, 2d), 'today', "
                         "'yesterday' or a date/time (2026-11-23, 2026-11-23T13:00)") from None
    try:
        return when.timestamp()  # naive = local time, aware = as given
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"can't use --since {text!r}: the date is out of range") from None


def build_review(snaps: Sequence[RunSnapshot], *, since: float, now: float | None = None,
                 opts: HealthOptions | None = None, looks: Iterable[Look] | None = None,
                 notes: NoteStore | None = None, include_all: bool = False,
                 seed_pattern: str | None = None, history_points: int = HISTORY_POINTS,
                 looks_error: str | None = None, histories: Mapping[str, Sequence[VerdictChange]] | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 logdirs: Sequence[str] | None = None) -> Review:
    """Judge every run (in review mode: a long-silent run has ended), replay its verdict
    timeline, and assemble the review.

    Args:
        snaps: the runs.
        since: start of the period (epoch seconds); runs with no point after it are "untouched".
        now: end of the period (default: now).
        opts: `tui.health.HealthOptions`; its mode is forced to "review".
        looks: `Look` records (from `tui.looks.log.read_looks`), or None to leave looks out.
        notes: where notes are kept (default: the state directory's).
        include_all: renderers show untouched runs too.
        seed_pattern: regex for seed groups (default: `tui.groups.DEFAULT_SEED_PATTERN`).
        history_points: prefixes judged per run to replay its timeline (0: no timeline).
        looks_error: a message to show instead of the looks (the log couldn't be read).
        histories: run name -> verdict changes already known (the live app's
            `HealthTracker` history); those runs aren't replayed.
        progress: called with (done, total) after each run.
        logdirs: the reviewed logdirs: only looks that watched one of them (or a directory
            inside or around one) are counted (`tui.looks.log.about_logdirs`); None: every look.
    """
    from dataclasses import replace

    from tui.health import HealthOptions, judge, replay_history, siblings

    now = time.time() if now is None else now
    opts = replace(opts or HealthOptions(), mode="review")
    notes = notes if notes is not None else NoteStore()
    related = siblings(snaps)
    runs = []
    for i, snap in enumerate(snaps, 1):
        rel = related.get(snap.name, [])
        health = judge(snap, opts, now, related=rel)
        touched = snap.last_wall_time is not None and snap.last_wall_time >= since
        # Replaying is the costly part: do it only for runs that will be shown.
        if histories is not None and snap.name in histories:
            changes = list(histories[snap.name])
        elif history_points and (touched or include_all):
            changes = replay_history(snap, opts, points=history_points, related=rel, now=now)
        else:
            changes = []
        runs.append(summarise_run(snap, health.verdicts, health.roles, changes, since=since, now=now,
                                  note=notes.get(snap.path), library=health.library,
                                  whole_history=include_all, usual_gap=health.usual_gap,
                                  summary=health.summary.text if health.summary else None))
        if progress is not None:
            progress(i, len(snaps))
    if looks is not None and logdirs is not None:
        from tui.looks.log import about_logdirs

        looks = about_logdirs(looks, logdirs)
    summary = summarise_looks(looks, since, now) if looks is not None else None
    return assemble(runs, since=since, now=now, looks=summary, include_all=include_all,
                    seed_pattern=seed_pattern, looks_error=looks_error)


def render(review: Review, fmt: str, paint: Paint | None = None) -> str:
    """The review in one of `FORMATS` (`paint`: colour for text on a terminal)."""
    if fmt == "text":
        from tui.report.render_text import render_text

        return render_text(review, paint or NO_PAINT)
    if fmt == "md":
        from tui.report.render_md import render_md

        return render_md(review)
    if fmt == "html":
        from tui.report.render_html import render_html

        return render_html(review)
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--since", default="24h", metavar="WHEN",
                        help="start of the period: 24h (default), 90m, today, yesterday, 2026-11-23")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="text (default), md, or html; without it, -o's extension decides "
                             "(.txt, .md, .html; another extension is an error)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--all", action="store_true", dest="include_all",
                        help="include runs that wrote nothing in the period")
    add_health(parser, mode=False)
    parser.add_argument("--seed-pattern", metavar="REGEX",
                        help="regex of the seed part of run names (config [groups] seed_pattern)")
    parser.add_argument("--no-looks", action="store_true", help="leave the look log out")
    add_config(parser)


EXTENSIONS = {"": "text", ".txt": "text", ".text": "text", ".html": "html", ".htm": "html",
              ".md": "md", ".markdown": "md"}


def format_for(fmt: str | None, output: str | None) -> str:
    """The review's format: `fmt` when given, else from the output file's extension.

    Raises:
        ValueError: no `fmt`, and an extension that names no format we write (``r.pdf``):
            writing text into it would be a quiet surprise.
    """
    if fmt:
        return fmt
    if not output or output == "-":
        return "text"
    ext = os.path.splitext(output)[1].lower()
    if ext not in EXTENSIONS:
        known = ", ".join(sorted(e for e in EXTENSIONS if e))
        raise ValueError(f"can't tell the format from {output!r}: name the file {known}, "
                         "or give --format text|md|html")
    return EXTENSIONS[ext]


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    now = time.time()
    try:
        since = parse_since(args.since, now)
    except ValueError as e:
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    from tui.health import HealthOptions

    try:
        opts = HealthOptions.from_config(cfg, actions=args.actions, roles=dict(args.role), mode="review")
    except (ValueError, TypeError) as e:
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    try:
        fmt = format_for(args.format, args.output)
    except ValueError as e:
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    pattern = args.seed_pattern or cfg.seed_pattern  # the config's was checked when loaded
    if args.seed_pattern is not None:
        try:
            compile_regex(args.seed_pattern, "--seed-pattern", re.IGNORECASE)
        except PatternError as e:
            print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
            return EXIT_USAGE

    from tui.ingest import LogdirError, load

    try:
        store: Store = load(args.logdirs)
    except LogdirError as e:
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE

    looks, looks_error = None, None
    if not args.no_looks:
        from tui.looks.log import LookLogWarning, read_looks

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", LookLogWarning)
                looks = read_looks(since=since)
        except OSError as e:
            looks_error = f"{e.filename or 'look log'}: {e.strerror}"
        else:
            for w in caught:
                print(f"tbpeek review: warning: {safe_terminal(str(w.message))}", file=err)

    try:
        review = build_review(store.snapshots(), since=since, now=now, opts=opts, looks=looks,
                              include_all=args.include_all, seed_pattern=pattern, looks_error=looks_error,
                              logdirs=list(args.logdirs))
    except OSError as e:  # the notes directory can't be read
        print(f"tbpeek review: {safe_terminal(str(e))}", file=err)
        return EXIT_USAGE
    to_stdout = not args.output or args.output == "-"
    text = render(review, fmt, Paint.for_stream(sys.stdout) if to_stdout else None)
    if to_stdout:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"tbpeek review: can't write {safe_terminal(args.output)}: {e.strerror}", file=err)
        return EXIT_USAGE
    shown = len(review.visible())
    print(f"tbpeek review: wrote {safe_terminal(args.output)} ({plural(shown, 'run')}"
          + (f", {review.untouched} untouched left out: --all shows them" if review.untouched and not args.include_all
             else "") + ")", file=err)
    return EXIT_OK
