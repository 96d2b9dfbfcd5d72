"""``tbpeek status LOGDIR...``: one line for a tmux status bar.

Calm when all is well (``● 6 runs ok · next look 14:30``), the alarmed run and the head of its
one-line summary when not (``▲ seaquest: learned nothing (+2 more)``; the worst verdict in words,
``▲ ppo-seed3: entropy collapsed``, when the head doesn't name the problem); never a metric value. Exit codes as ``tbpeek check``:
0 nothing reached ``--fail-on`` (default alarm), 1 something did, 2 usage or I/O error.

It must answer fast, every few seconds, for many runs: the answer comes from a cache in the
state directory (see `tui.report.status_cache`). When nothing changed, the call only stats the
event files. When something did, it prints the previous answer at once and refreshes the
cache in a background process, which reads only the new bytes; the next call has the news.
``--wait`` refreshes before answering instead (for scripts). A first call, or one after a long
pause (over `MAX_STALE`), always waits.
"""

from __future__ import annotations

import argparse
import os
import string
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tui.config import Config
from tui.looks.policy import problem_text
from tui.report.cli_options import add_config, add_fail_on, add_health, add_logdirs
from tui.report.colour import Paint
from tui.report.status_cache import Paths, Refreshed, RunSummary, Summary, cache_key, load_summary, unchanged
from tui.vocab import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Severity, safe_terminal, safe_tmux, spec_is_url, spec_path

if TYPE_CHECKING:
    from tui.health.options import HealthOptions

DETACH_SAVE = True  # write the cache's state in a forked child after answering (tests may turn it off)
MAX_STALE = 600.0  # seconds: an older answer is not shown while refreshing; we wait instead
ICONS = {Severity.OK: "●", Severity.INFO: "●", Severity.WARN: "△", Severity.ALARM: "▲"}
COLORS = {Severity.OK: "green", Severity.INFO: "green", Severity.WARN: "yellow", Severity.ALARM: "red"}
# Summary heads that name what is wrong: the line shows them instead of the worst verdict's words.
# Not "learning", "fine", "too early", a bare severity word, nor "not learning yet" (a flat reward
# while live is only info: the alarm is elsewhere, and the verdict's words name it).
PROBLEM_HEADS = frozenset({"broken", "dead", "collapsed", "learned nothing", "not learning", "unlearned"})
FIELDS = ("line", "icon", "state", "color", "text", "runs", "ok", "warn", "alarm", "run", "problem",
          "next", "due")


def configure(parser: argparse.ArgumentParser) -> None:
    add_logdirs(parser)
    parser.add_argument("--format", metavar="TEMPLATE",
                        help="your own line, with fields in braces: " + ", ".join(f"{{{f}}}" for f in FIELDS)
                             + " (e.g. '#[fg={color}]{line}#[default]' for tmux colours)")
    add_fail_on(parser)
    parser.add_argument("--wait", action="store_true",
                        help="read new data before answering (slower), instead of in the background")
    add_health(parser)
    add_config(parser)
    parser.add_argument("--refresh-cache", action="store_true", help=argparse.SUPPRESS)  # the background child


# ---- the line -------------------------------------------------------------------------------
def fields(summary: Summary, next_look: float | None, now: float) -> dict[str, str]:
    """The values a ``--format`` template may use. Names from the logdirs are made safe for
    tmux (`tui.vocab.safe_tmux`: control characters escaped, ``#`` doubled)."""
    runs = summary.runs
    active = summary.active(now)  # runs silent past `ended_after` count, but never alarm
    worst = max((r.severity for r in active), default=Severity.OK)
    alarmed = sorted((r for r in active if r.severity >= Severity.ALARM), key=lambda r: r.run)
    warned = [r for r in active if r.severity == Severity.WARN]
    n = len(runs)
    if next_look is None:
        nxt, due = "", ""
    elif next_look <= now:
        nxt, due = "now", "due"
    else:
        nxt, due = datetime.fromtimestamp(next_look).strftime("%H:%M"), ""
    lead: RunSummary | None = alarmed[0] if alarmed else None
    run, problem = "", ""
    if lead is not None:
        w = lead.worst
        assert w is not None
        words = lead.head if lead.head in PROBLEM_HEADS else problem_text(w[0], w[1])
        run, problem = safe_tmux(lead.run), safe_tmux(words)
    look = "" if not nxt else (" · look due" if due else f" · next look {nxt}")
    if lead is not None:
        more = f" (+{len(alarmed) - 1} more)" if len(alarmed) > 1 else ""
        text = f"{run}: {problem}{more}"
    elif not active:
        text = f"{n} run{'s' if n != 1 else ''}, all ended"
    elif warned:
        text = f"{n} run{'s' if n != 1 else ''} · {len(warned)} warning{'s' if len(warned) != 1 else ''}"
    else:
        ended = n - len(active)
        text = f"{len(active)} run{'s' if len(active) != 1 else ''} ok" + (f" · {ended} ended" if ended else "")
    icon = ICONS[worst]
    line = f"{icon} {text}" + ("" if lead is not None else look)
    return {
        "line": line, "icon": icon, "state": worst.label,
        "color": COLORS[worst], "text": text, "runs": str(n),
        "ok": str(n - len(warned) - len(alarmed)), "warn": str(len(warned)), "alarm": str(len(alarmed)),
        "run": run, "problem": problem, "next": nxt, "due": due,
    }


def check_template(template: str) -> str | None:
    """None if `template` is usable, else what is wrong with it."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        return f"--format {template!r}: {e} (write {{{{ and }}}} for literal braces)"
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if name not in FIELDS:
            return f"--format: unknown field {{{name}}}; fields: " + ", ".join(f"{{{f}}}" for f in FIELDS)
        if conv or spec:
            try:
                format("x", spec or "")
            except ValueError as e:
                return f"--format: {{{name}:{spec}}}: {e}"
    return None


# ---- the look budget's next look --------------------------------------------------------------
def next_look(cfg: Config, now: float) -> float | None:
    """When the next scheduled look is due, from the config and the look log (None: budget off)."""
    from tui.looks.policy import LookBudget
    from tui.looks.settings import BudgetSettings

    settings = BudgetSettings.from_config(cfg.looks)
    if not settings.enabled:
        return None
    t, _ = LookBudget(settings).next_look(now)
    return t


# ---- running ------------------------------------------------------------------------------------
def _fingerprint(args: argparse.Namespace, cfg: Config) -> str:
    """What the cached judgement depends on besides the logdirs: options and the config file."""
    try:
        if cfg.path is None:
            raise FileNotFoundError
        st = os.stat(cfg.path)
        stamp = f"{cfg.path}:{st.st_mtime_ns}:{st.st_size}"
    except OSError:
        stamp = "no-config"
    return repr((args.actions, sorted(args.role), args.mode, stamp))


def _health_options(args: argparse.Namespace, cfg: Config) -> HealthOptions:
    from tui.health.options import HealthOptions

    return HealthOptions.from_config(cfg, actions=args.actions, mode=args.mode, roles=dict(args.role))


def _child_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "tui", "status", "--refresh-cache"]
    if args.actions is not None:
        argv += ["--actions", str(args.actions)]
    for role, tag in args.role:
        argv += ["--role", f"{role}={tag}"]
    if args.mode:
        argv += ["--mode", args.mode]
    if args.config:
        argv += ["--config", args.config]
    return [*argv, "--", *args.logdirs]


def _refresh_in_background(args: argparse.Namespace, paths: Paths) -> None:
    """Start a detached refresher (it exits at once if another one holds the lock)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the child must import this very tbpeek
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.log, "wb") as log:
        subprocess.Popen(_child_argv(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                         start_new_session=True, close_fds=True, env=env)


def _refresh_locked(args: argparse.Namespace, cfg: Config, paths: Paths, key: str, wait: bool) -> Refreshed | None:
    """Refresh under the lock; without `wait`, give up (None) if another refresh is running.
    The summary is written; the state is not yet: `_save_state` writes it, still under the
    lock (`Refreshed.lock`), after the answer is out."""
    import fcntl

    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        from tui.ingest import LogdirError
        from tui.report.status_cache import refresh_deferred

        try:
            opts = _health_options(args, cfg)
        except ValueError as e:  # a bad --role or [health] table
            raise StatusError(str(e), "tbpeek: bad option") from None
        try:
            out = refresh_deferred(list(args.logdirs), opts, paths, key)
        except LogdirError as e:
            raise StatusError(str(e), "tbpeek: logdir error") from None
    except BaseException:
        os.close(fd)
        raise
    out.lock = fd
    return out


def _save_state(refreshed: Refreshed, detach: bool) -> None:
    """Write the refresh's state (the slow part: all points) and let go of the lock. With
    `detach`, a forked child does it and this process returns at once: tmux (or a script) has
    its answer and the process's end; the child holds the lock until the state is written, so
    the next refresh waits for it rather than reading half a state."""
    fd = refreshed.lock
    pid = os.fork() if detach and hasattr(os, "fork") else -1  # -1: here, in this process
    if pid > 0:
        os.close(fd)  # the child's copy keeps the lock
        return
    try:
        if pid == 0:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(null, std)  # the caller waits for our copies of its pipes to close
        refreshed.save_state()
    except OSError:
        pass  # no state: the next refresh reads the event files again (slower, still right)
    finally:
        os.close(fd)
        if pid == 0:
            os._exit(0)


def _uncached(args: argparse.Namespace, cfg: Config, paths: Paths, key: str) -> Summary:
    """Read and judge everything afresh, touching no file in the state directory."""
    from tui.ingest import LogdirError
    from tui.report.status_cache import refresh

    try:
        opts = _health_options(args, cfg)
    except ValueError as e:
        raise StatusError(str(e), "tbpeek: bad option") from None
    try:
        return refresh(list(args.logdirs), opts, paths, key, cache=False)
    except LogdirError as e:
        raise StatusError(str(e), "tbpeek: logdir error") from None


class StatusError(Exception):
    """A problem to report: (message, short line for the status bar)."""


def _fail(msg: str, short: str) -> int:
    print(f"✗ {safe_tmux(short)}")  # tmux shows stdout: say something rather than go blank
    print(f"tbpeek status: {safe_terminal(msg)}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError, load_config, state_dir

    if args.format is not None:
        problem = check_template(args.format)
        if problem:
            print(f"tbpeek status: {safe_terminal(problem)}", file=sys.stderr)
            return EXIT_USAGE
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        return _fail(str(e), "tbpeek: config error")
    for ld in args.logdirs:
        path = spec_path(ld)
        if not spec_is_url(ld) and not os.path.isdir(os.path.expanduser(path.removeprefix("file://"))):
            return _fail(f"logdir {ld} does not exist or is not a directory; check the path",
                         f"tbpeek: no logdir {ld}")
    key = cache_key(list(args.logdirs), _fingerprint(args, cfg))
    paths = Paths(state_dir(), key)
    now = time.time()
    refreshed: Refreshed | None = None
    try:
        if args.refresh_cache:
            os.nice(10)  # a background chore: let the person's programs (and tmux) go first
            done = _refresh_locked(args, cfg, paths, key, wait=False)
            if done is not None:
                _save_state(done, detach=False)
            return EXIT_OK
        summary = load_summary(paths.summary)
        stale = False
        if summary is None or args.wait or now - summary.computed_at > MAX_STALE:
            refreshed = _refresh_locked(args, cfg, paths, key, wait=True)
            assert refreshed is not None
            summary = refreshed.summary
        else:
            stale = not unchanged(summary, now)
            if stale:  # answered before the refresh: at least leave out runs deleted since
                summary.runs = [r for r in summary.runs if not r.gone()]
    except StatusError as e:
        return _fail(*e.args)
    except OSError as e:  # a read-only or full state directory: answer without the cache
        if args.refresh_cache:
            return EXIT_OK
        print(f"tbpeek status: can't use the cache in {safe_terminal(str(paths.summary.parent))} "
              f"({e.strerror or e}); answering without it, which is slower", file=sys.stderr)
        try:
            summary, stale = _uncached(args, cfg, paths, key), False
        except StatusError as e2:
            return _fail(*e2.args)
    assert summary is not None
    try:
        return _answer(args, cfg, summary, now, paths, stale)
    finally:
        if refreshed is not None:
            _save_state(refreshed, detach=DETACH_SAVE)


def _answer(args: argparse.Namespace, cfg: Config, summary: Summary, now: float, paths: Paths, stale: bool) -> int:
    try:
        nxt = next_look(cfg, now)
    except ValueError as e:  # a bad [looks] table
        return _fail(str(e), "tbpeek: config error")
    if not summary.runs:
        print("○ no runs yet")
        print(f"tbpeek status: no runs (directories with *tfevents* files) in {safe_terminal(', '.join(args.logdirs))}",
              file=sys.stderr)
        return EXIT_USAGE
    values = fields(summary, nxt, now)
    if args.format is not None:
        line = args.format.format(**values)
    else:  # in colour on a terminal (never in tmux's #(...), which reads a pipe)
        line = Paint.for_stream(sys.stdout).severity(values["line"], Severity.parse(values["state"]))
    print(line, flush=True)
    if stale:  # after the answer: tmux has its line while the refresher starts
        try:
            _refresh_in_background(args, paths)
        except OSError as e:
            print(f"tbpeek status: can't start the background refresh: {safe_terminal(str(e.strerror or e))}; "
                  "the answer may be out of date (use --wait)", file=sys.stderr)
    threshold = Severity.parse(args.fail_on)
    return EXIT_PROBLEM if any(v[2] >= threshold for r in summary.active(now) for v in r.verdicts) else EXIT_OK
