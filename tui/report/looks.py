"""``tbpeek looks [--days N]``: how often you looked at your runs, per day."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

from tui.looks.log import LookLogWarning, default_path, read_looks
from tui.looks.stats import DayStats, daily_stats
from tui.vocab import EXIT_OK, EXIT_USAGE, fmt_duration, plural, safe_terminal

BARS = " ▁▂▃▄▅▆▇█"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=7, metavar="N", help="how many days back (default 7)")
    parser.add_argument("--log", metavar="PATH",
                        help="the look log to read (default: looks.jsonl in the state directory)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def histogram(hours: tuple[int, ...], peak: int) -> str:
    """24 characters, one per hour; heights relative to `peak`."""
    if peak <= 0:
        return "·" * 24
    return "".join("·" if n == 0 else BARS[max(1, round(n / peak * (len(BARS) - 1)))] for n in hours)


def render(stats: list[DayStats], path: Path) -> str:
    """The table `tbpeek looks` prints."""
    peak = max((max(d.by_hour) for d in stats), default=0)
    lines = [f"Looks per day, last {plural(len(stats), 'day')} (log: {safe_terminal(str(path))})", "",
             f"{'day':<10} {'looks':>5} {'override':>8} {'alarm':>5} {'median gap':>10} "
             f"{'nothing new':>11}  by hour, 0h to 23h"]
    for d in stats:
        share = "–" if d.nothing_new is None else f"{d.nothing_new:.0%}"
        extra = f"  (+{d.budget_off} without budget)" if d.budget_off else ""
        lines.append(f"{d.day:%a %d %b} {d.looks:>5} {d.overrides:>8} {d.alarms:>5} "
                     f"{'–' if d.median_gap is None else fmt_duration(d.median_gap):>10} {share:>11}  {histogram(d.by_hour, peak)}{extra}")
    total = sum(d.looks for d in stats)
    known = [(d.nothing_new, d.looks) for d in stats if d.nothing_new is not None]
    if total == 0:
        lines += ["", "No looks logged in these days."]
    elif known:
        weight = sum(n for _, n in known)
        mean = sum(s * n for s, n in known) / weight if weight else 0.0
        lines += ["", f"{plural(total, 'look')}; {mean:.0%} of them found nothing new."]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.days < 1 or args.days > 3660:
        print(f"tbpeek looks: --days must be between 1 and 3660, not {args.days}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.log).expanduser() if args.log else default_path()
    if args.log and not path.is_file():
        print(f"tbpeek looks: no look log at {safe_terminal(str(path))}: check the path", file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LookLogWarning)
            looks = read_looks(path, since=now - (args.days + 1) * 86400)
    except OSError as e:
        print(f"tbpeek looks: can't read {safe_terminal(str(path))}: {e.strerror}", file=sys.stderr)
        return EXIT_USAGE
    for w in caught:
        print(f"tbpeek looks: warning: {safe_terminal(str(w.message))}", file=sys.stderr)
    stats = daily_stats(looks, args.days, now)
    if args.json:
        rows = [{**asdict(d), "day": d.day.isoformat(), "by_hour": list(d.by_hour)} for d in stats]
        print(json.dumps({"log": str(path), "days": rows}, indent=2))
    else:
        print(render(stats, path))
    return EXIT_OK
