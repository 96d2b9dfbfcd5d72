"""Command-line options shared by several subcommands, declared once.

Each subcommand module's ``configure(parser)`` picks the groups it needs; its ``run(args)`` turns
the parsed values into typed objects (`tui.config.Config`, `tui.health.HealthOptions`,
`tui.looks.settings.BudgetSettings`) before anything below sees them: no argparse namespace
goes further than the subcommand's own module.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

LOGDIRS_HELP = "directories holding runs (TensorBoard's name:path form works too)"


def role_arg(text: str) -> tuple[str, str]:
    """``--role ROLE=TAG`` -> (role, tag); the one parser of the flag (an argparse ``type``)."""
    role, sep, tag = text.partition("=")
    if not sep or not role.strip() or not tag.strip():
        raise argparse.ArgumentTypeError(f"expected ROLE=TAG, e.g. --role entropy=train/entropy, not {text!r}")
    return role.strip(), tag.strip()


def add_logdirs(parser: argparse.ArgumentParser, help: str = LOGDIRS_HELP) -> None:
    """The LOGDIR arguments, and ``--logdir DIR`` (TensorBoard's spelling) for the same thing.

    Both land in ``logdirs`` once `tui.cli.main` has merged them (``--logdir`` values go to
    ``logdir_flags`` until then); at least one is required.
    """
    parser.add_argument("logdirs", nargs="*", metavar="LOGDIR", help=help + " (at least one)")
    parser.add_argument("--logdir", action="append", default=[], dest="logdir_flags", metavar="DIR",
                        help="a LOGDIR given TensorBoard's way; repeatable, adds to the LOGDIRs")


def add_config(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="config file (default: config.toml in tbpeek's config directory)")


def add_health(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, mode: bool = True,
               roles: Sequence[str] = ()) -> None:
    """``--actions N``, ``--role ROLE=TAG`` (repeatable) and, with `mode`, ``--mode live|review``.

    Args:
        roles: the role names to list in the help (the caller imports them: `tui.health.roles`
            loads numpy, which ``status`` must not wait for).
    """
    known = f"; roles: {', '.join(roles)}" if roles else ""
    parser.add_argument("--actions", metavar="N", type=int,
                        help="number of discrete actions (entropy is judged against ln N); default: from "
                             "the run's text summaries, or inferred")
    parser.add_argument("--role", metavar="ROLE=TAG", type=role_arg, action="append", default=[],
                        help=f"use TAG as ROLE (repeatable), e.g. --role entropy=train/entropy{known}")
    if mode:
        parser.add_argument("--mode", choices=["live", "review"], default=None,
                            help="live: a silent run is stalled (default); review: it has ended")


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    from tui.vocab import WORDS  # here: `ls` judges nothing, and doesn't import the severities

    parser.add_argument("--fail-on", choices=list(WORDS[1:]), default="alarm",  # info, warn, alarm
                        help="exit 1 when any verdict is at least this severe (default: alarm)")


def add_budget(parser: argparse.ArgumentParser) -> None:
    """Add the look-budget flags (for ``watch`` and ``demo``); defaults come from the config."""
    g = parser.add_argument_group(
        "look budget", "Charts are shown in short looks, not all the time; alarms always break through.")
    g.add_argument("--no-budget", action="store_true",
                   help="show the charts all the time, this session only (the session is still logged)")
    g.add_argument("--every", metavar="DURATION",
                   help="minimum gap between looks, e.g. 30m (default 30m; config [looks] every)")
    g.add_argument("--window", metavar="DURATION",
                   help="how long charts stay visible in a look, e.g. 3m (default 3m)")
    g.add_argument("--allowance", metavar="N",
                   help="at most N looks a day, overrides included (default: no cap)")
    g.add_argument("--quiet-hours", metavar="HH:MM-HH:MM",
                   help="no scheduled looks in these hours, e.g. 22:00-07:00 (alarms still break through)")
    g.add_argument("--on-alarm", metavar="COMMAND",
                   help="run COMMAND once per breakthrough (alarms within seconds of each other are one); "
                        "it gets TBPEEK_RUN, TBPEEK_REASON, TBPEEK_METRIC, TBPEEK_KIND, TBPEEK_SEVERITY "
                        "(the worst alarm), TBPEEK_RUNS (every alarming run, one per line), TBPEEK_COUNT, "
                        "TBPEEK_LOGDIRS in its environment (split into words, never run through a shell); "
                        "at most 2 run at once, 8 more wait, beyond that a breakthrough's run is skipped "
                        "and the app says so")
    g.add_argument("--breakthrough-on", choices=("warn", "alarm"), metavar="warn|alarm",
                   help="least severity that breaks through the gate (default alarm)")


BUDGET_FLAGS = ("every", "window", "allowance", "quiet_hours", "on_alarm", "breakthrough_on")


def budget_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The look-budget flags' values (None: not given), as `BudgetSettings.from_config` takes them."""
    flags: dict[str, Any] = {k: getattr(args, k, None) for k in BUDGET_FLAGS}
    if getattr(args, "no_budget", False):
        flags["enabled"] = False
    return flags
