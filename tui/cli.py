"""Command line: ``tbpeek [watch] LOGDIR...``, ``ls``, ``check``, ``status``, ``looks``,
``review``, ``export``, ``demo``.

Each subcommand lives in its own module with two functions, ``configure(parser)`` and
``run(args) -> int``; this module imports only the one that is asked for, so ``--help``,
``check`` and ``status`` start without loading Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import tui
from tui.vocab import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "watch": ("tui.app.cli", "watch logdirs live in the terminal UI (the default)"),
    "demo": ("tui.demo", "start simulated trainers and watch them"),
    "ls": ("tui.report.ls", "list runs, tags, point counts and damaged files"),
    "check": ("tui.report.check", "judge every run once; exit 1 when something is wrong"),
    "status": ("tui.report.status", "one line for a tmux status bar"),
    "looks": ("tui.report.looks", "how often you looked, per day"),
    "review": ("tui.report.review", "end-of-day review of every run"),
    "export": ("tui.report.export", "export scalars as CSV or Parquet"),
}



class _Version(argparse.Action):
    """``--version``, looked up only when asked (importlib.metadata costs ~50 ms a call)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"tbpeek {tui.__version__}")
        parser.exit()


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tbpeek",
        description="Watch TensorBoard training runs from the terminal. "
        "`tbpeek LOGDIR` is `tbpeek watch LOGDIR`.",
        epilog="Run `tbpeek COMMAND --help` for a command's options.",
    )
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    return p


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `command`, only that subcommand's module is imported."""
    p = _top_parser()
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
        if command is None or command == name:
            importlib.import_module(module).configure(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        _top_parser().print_help()
        print("\ncommands:\n" + "\n".join(f"  {n:<8} {h}" for n, (_, h) in COMMANDS.items()))
        return EXIT_USAGE
    if argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        print("\ncommands:\n" + "\n".join(f"  {n:<8} {h}" for n, (_, h) in COMMANDS.items()))
        return EXIT_OK
    if argv[0] == "--version":
        print(f"tbpeek {tui.__version__}")
        return EXIT_OK
    if argv[0] not in COMMANDS:
        argv.insert(0, "watch")  # `tbpeek LOGDIR` means `tbpeek watch LOGDIR`
    parser = build_parser(argv[0])
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(e.code or 0)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `tbpeek ls | head`
        return EXIT_OK
