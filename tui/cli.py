"""Command line: ``tbpeek [watch] LOGDIR...``, ``ls``, ``check``, ``status``, ``looks``,
``review``, ``export``, ``demo``.

Each subcommand lives in its own module with two functions, ``configure(parser)`` and
``run(args) -> int``; this module imports only the one that is asked for, so ``--help``,
``check`` and ``status`` start without loading Textual.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
from typing import NoReturn

import tui
from tui.vocab import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, is_url, safe_terminal, spec_path

# tbpeek does no linear algebra: numpy's OpenBLAS would start a thread per core at import
# (tens of milliseconds of CPU on every command) for nothing. One, unless the user set it.
# (Set here, before any subcommand imports numpy.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "watch": ("tui.app.cli", "watch logdirs live in the terminal UI (the default)"),
    "demo": ("tui.demo", "start simulated trainers and watch them"),
    "ls": ("tui.report.ls", "list runs, tags, point counts and damaged files"),
    "check": ("tui.report.check", "judge every run once; exit 1 on a bad verdict, 3 on damaged data"),
    "status": ("tui.report.status", "one line for a tmux status bar"),
    "looks": ("tui.report.looks", "how often you looked, per day"),
    "review": ("tui.report.review", "end-of-day review of every run"),
    "export": ("tui.report.export", "export scalars as CSV or Parquet"),
}


def _columns() -> int:
    """The terminal's width, as ``shutil.get_terminal_size().columns`` gives it: ``$COLUMNS``,
    else the width of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    out = sys.__stdout__
    try:
        return (os.get_terminal_size(out.fileno()).columns if out is not None else 0) or 80
    except (AttributeError, ValueError, OSError):  # stdout closed, detached or not a terminal
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, the width found without importing ``shutil``: argparse makes
    a formatter for every ``add_argument`` (to check its metavar), and the stock one imports
    ``shutil`` for the width, which with its bz2 and lzma modules costs ~3 ms of every
    command's start-up. The help printed is the same."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Version(argparse.Action):
    """``--version``: the version is looked up only when asked for (it costs start-up time)."""

    def __init__(self, option_strings: list[str], dest: str, **kw: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"tbpeek {tui.__version__}")  # on stdout, as argparse's own version action does
        parser.exit()


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tbpeek",
        description="Watch TensorBoard training runs from the terminal. "
        "`tbpeek LOGDIR` (or `tbpeek --logdir LOGDIR`) is `tbpeek watch LOGDIR`.",
        epilog="Run `tbpeek COMMAND --help` for a command's options.",
        formatter_class=_Formatter,
    )
    p.add_argument("--version", action=_Version)
    return p


def _build(command: str | None = None, alone: bool = False,
           ) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser and its subcommands' parsers; `alone`: only `command`'s (enough to parse its
    arguments; making the other seven costs ~1 ms of start-up)."""
    p = _top_parser()
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    parsers: dict[str, argparse.ArgumentParser] = {}
    for name, (module, help_) in COMMANDS.items():
        if alone and name != command:
            continue
        sp = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".",
                            formatter_class=_Formatter)
        parsers[name] = sp
        if command is None or command == name:
            importlib.import_module(module).configure(sp)
    return p, parsers


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `command`, only that subcommand's module is imported."""
    return _build(command)[0]


def _command_list() -> str:
    return "commands:\n" + "\n".join(f"  {n:<8} {h}" for n, (_, h) in COMMANDS.items())


def _exists(arg: str) -> bool:
    """`arg` names a logdir that is there (a URL can't be checked cheaply: it counts)."""
    path = spec_path(arg)
    return is_url(path) or os.path.exists(os.path.expanduser(path.removeprefix("file://")))


def suggest(arg: str) -> str | None:
    """The command `arg` is probably a typo of (``chek`` -> ``check``), or None. Only a plain
    word can be a mistyped command: ``./chek`` or ``runs/chek`` is a path."""
    if not arg.replace("-", "").replace("_", "").isalpha() or not arg.isascii():
        return None
    import difflib  # only for a word that is neither a command nor a path

    close = difflib.get_close_matches(arg.lower(), list(COMMANDS), n=1, cutoff=0.6)
    return close[0] if close else None


def has_runs(root: str = ".", max_dirs: int = 2000, max_depth: int = 4) -> bool:
    """Whether an event file (a name holding ``tfevents``) is under `root`, looking at most
    `max_dirs` directories, `max_depth` levels down (bare ``tbpeek`` must answer at once,
    also in a home directory)."""
    todo: list[tuple[str, int]] = [(root, 0)]
    seen = 0
    while todo and seen < max_dirs:
        path, depth = todo.pop(0)
        seen += 1
        try:
            with os.scandir(path) as it:
                for entry in it:
                    if "tfevents" in entry.name:
                        try:
                            if entry.is_file():
                                return True
                        except OSError:
                            continue
                    elif depth < max_depth and not entry.name.startswith("."):
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                todo.append((entry.path, depth + 1))
                        except OSError:
                            continue
        except OSError:
            continue
    return False


NO_RUNS_HINT = ("No runs here (no *tfevents* files under this directory): try `tbpeek demo`, "
                "or `tbpeek LOGDIR` with a directory of runs.")
RUNS_HINT = "Event files are under this directory: `tbpeek .` watches them, `tbpeek ls .` lists them."


def _merge_logdirs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``--logdir DIR`` (TensorBoard's spelling, repeatable) adds to the positional LOGDIRs.

    Raises:
        SystemExit: (2, from argparse) no logdir given either way.
    """
    if not hasattr(args, "logdir_flags"):
        return
    args.logdirs = [*args.logdirs, *args.logdir_flags]
    del args.logdir_flags
    if not args.logdirs:
        parser.error("give at least one LOGDIR (or --logdir DIR)")


# Commands that print and end. Their process ends without tearing the interpreter down: freeing
# a sweep's thousands of arrays and objects one by one takes longer than the exit itself
# (25 ms of a 0.45 s `ls` on 3 000 runs). Output is flushed first; files they write are closed
# by then. The app (watch, demo) exits the usual way: Textual restores the terminal on its way out.
QUICK_EXIT = frozenset({"ls", "check", "status", "looks", "review", "export"})


def entry() -> NoReturn:
    """The `tbpeek` program (its console script, and ``python -m tui``): :func:`main`, then the
    exit (a quick one for the commands in :data:`QUICK_EXIT`)."""
    quick = len(sys.argv) > 1 and sys.argv[1] in QUICK_EXIT
    if quick:
        # No cyclic garbage collection in these short processes: their work runs without it
        # anyway (tui.ingest.no_cyclic_gc), and importing numpy and the command with it on costs
        # dozens of collections over objects that live until the exit (~10 ms).
        gc.disable()
    code = main()
    if quick:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass  # the reader has all it wanted (as in main): nothing more to write
        except (OSError, ValueError):
            sys.exit(code)  # can't write the rest (a full disk…): Python's own exit reports it
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `tbpeek --help | head`: the reader has all it wanted
        with contextlib.suppress(OSError, ValueError):  # nothing more reaches the closed pipe,
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # not even Python's last flush
        return EXIT_OK


def _main(argv: list[str]) -> int:
    if not argv:  # the commands and a hint; never an implicit watch of a whole home directory
        hint = RUNS_HINT if has_runs(".") else NO_RUNS_HINT
        print("usage: tbpeek [COMMAND] LOGDIR...\n\n" + _command_list() + "\n\n" + hint)
        return EXIT_USAGE
    if argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        print("\n" + _command_list())
        return EXIT_OK
    if argv[0] == "--version":
        print(f"tbpeek {tui.__version__}")
        return EXIT_OK
    if argv[0] not in COMMANDS:
        if not argv[0].startswith("-") and not _exists(argv[0]):
            near = suggest(argv[0])
            if near is not None:
                print(f"tbpeek: {safe_terminal(argv[0])!r} is neither a command nor a logdir: did you mean "
                      f"`{near}`? (`tbpeek --help` lists the commands)", file=sys.stderr)
                return EXIT_USAGE
        argv.insert(0, "watch")  # `tbpeek LOGDIR` means `tbpeek watch LOGDIR`
    parser, subparsers = _build(argv[0], alone=True)
    try:
        args = parser.parse_args(argv)
        _merge_logdirs(args, subparsers[args.command])
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(e.code or 0)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
