"""``tbpeek watch LOGDIR...``: open the live TUI.

This module must not import Textual at module level: ``tbpeek --help`` and the other
commands' help stay fast. The app is imported inside `run_watch`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tui.config import Config, ConfigError, as_config, load_config
from tui.vocab import EXIT_USAGE, safe_terminal

if TYPE_CHECKING:
    from tui.looks.settings import BudgetSettings



def _positive_seconds(text: str) -> float:
    from tui.config import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the polling interval must be more than 0 seconds")
    return value


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``watch`` and ``demo``."""
    from tui.report.cli_options import add_budget, add_config, add_health

    g = parser.add_argument_group("display")
    g.add_argument("--theme", metavar="NAME",
                   help="colour theme (tbpeek-dark, tbpeek-light, tbpeek-dusk, Textual's, or a file "
                        "in the config dir's themes/); default: the config's [ui] theme or tbpeek-dark")
    add_config(g)
    g.add_argument("--poll", metavar="SECONDS", type=_positive_seconds,
                   help="poll files every SECONDS instead of inotify (NFS, network disks); "
                        "tbpeek also polls by itself when inotify is unavailable")
    add_health(parser.add_argument_group("health"), mode=False)
    add_budget(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    from tui.report.cli_options import add_logdirs

    add_logdirs(parser, help="TensorBoard logdir(s); `name:path` names a logdir like TensorBoard")
    add_watch_options(parser)


DEMO_LOOK_LOG = "demo-looks.jsonl"


def budget_settings(args: argparse.Namespace, cfg: Config | Mapping[str, Any] | None = None,
                    demo: bool = False) -> BudgetSettings | None:
    """The look budget for this session, or None for none at all.

    The demo runs without a budget (a newcomer should see verdicts appear) unless a budget flag
    is given; its looks then go to a log of their own, so they never count in the person's
    habit statistics.

    Raises:
        ValueError: a budget flag or ``[looks]`` key is invalid (the message names it).
        ConfigError: `cfg` is a mapping with a value of the wrong type.
    """
    from dataclasses import replace

    from tui.config import state_dir
    from tui.looks.settings import BudgetSettings
    from tui.report.cli_options import BUDGET_FLAGS, budget_flags

    flags = budget_flags(args)
    if not demo:
        return BudgetSettings.from_config(as_config(cfg).looks, flags)
    if getattr(args, "no_budget", False) or all(flags[k] is None for k in BUDGET_FLAGS):
        return None
    settings = BudgetSettings.from_config({}, flags)
    return replace(settings, log_path=state_dir() / DEMO_LOOK_LOG)


def build_options(args: argparse.Namespace, cfg: Config | Mapping[str, Any] | None = None,
                  demo: bool = False) -> Any:
    """`AppOptions` from parsed arguments and the config (imports the app).

    Args:
        cfg: the config (`tui.config.load_config`); a plain mapping is checked like a file.
        demo: options for ``tbpeek demo`` (see `budget_settings`).

    Raises:
        ValueError: a health or look-budget option is invalid (the message names it).
        ConfigError: `cfg` is a mapping with a value of the wrong type.
    """
    from tui.app.app import AppOptions
    from tui.health.options import HealthOptions

    config = as_config(cfg)
    health = HealthOptions.from_config(config, actions=getattr(args, "actions", None),
                                       roles=dict(getattr(args, "role", None) or []))
    theme = getattr(args, "theme", None) or config.theme
    return AppOptions(theme=theme, poll=getattr(args, "poll", None), health=health,
                      budget=budget_settings(args, config, demo), seed_pattern=config.seed_pattern)


def check_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the config file or the health and look-budget options, or None.

    For ``demo``, which must refuse a bad flag (``--every 2x``) before it starts the trainers.
    Doesn't import the app.
    """
    from tui.health.options import HealthOptions

    try:
        cfg = load_config(getattr(args, "config", None))
        HealthOptions.from_config(cfg, actions=getattr(args, "actions", None),
                                  roles=dict(getattr(args, "role", None) or []))
        budget_settings(args, cfg, demo=bool(getattr(args, "demo", False)))
    except (ConfigError, ValueError) as e:
        return str(e)
    return None


def run_watch(logdirs: list[str], args: argparse.Namespace) -> int:
    """Open the app on `logdirs`; returns the exit code (2 for a bad logdir or option)."""
    try:
        cfg = load_config(getattr(args, "config", None))
    except ConfigError as e:
        print(f"tbpeek: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    try:
        options = build_options(args, cfg, demo=bool(getattr(args, "demo", False)))
    except ValueError as e:
        print(f"tbpeek: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    from tui.app.app import make_app
    from tui.ingest import LogdirError

    try:
        app = make_app(logdirs, options)
    except LogdirError as e:
        print(f"tbpeek: {safe_terminal(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    result = app.run()
    return int(result or 0)


def run(args: argparse.Namespace) -> int:
    return run_watch(list(args.logdirs), args)
