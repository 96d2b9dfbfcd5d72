"""``tbpeek watch LOGDIR...``: open the live TUI.

This module must not import Textual at module level: ``tbpeek --help`` and the other
commands' help stay fast. The app is imported inside `run_watch`.
"""

from __future__ import annotations

import argparse
import sys

from tui.config import ConfigError, load_config

EXIT_OK, EXIT_USAGE = 0, 2


def _positive_seconds(text: str) -> float:
    from tui.config import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the polling interval must be more than 0 seconds")
    return value


def _role(text: str) -> tuple[str, str]:
    role, sep, tag = text.partition("=")
    if not sep or not role.strip() or not tag.strip():
        raise argparse.ArgumentTypeError(f"--role takes ROLE=TAG, e.g. entropy=train/entropy, not {text!r}")
    return role.strip(), tag.strip()


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``watch`` and ``demo``."""
    g = parser.add_argument_group("display")
    g.add_argument("--theme", metavar="NAME",
                   help="colour theme (tbpeek-dark, tbpeek-light, tbpeek-dusk, Textual's, or a file "
                        "in the config dir's themes/); default: the config's [ui] theme or tbpeek-dark")
    g.add_argument("--config", metavar="FILE",
                   help="config file (default: config.toml in tbpeek's config directory)")
    g.add_argument("--poll", metavar="SECONDS", type=_positive_seconds,
                   help="poll files every SECONDS instead of inotify (NFS, network disks); "
                        "tbpeek also polls by itself when inotify is unavailable")
    h = parser.add_argument_group("health")
    h.add_argument("--actions", metavar="N", type=int,
                   help="number of discrete actions (max entropy ln N); default: from the run's "
                        "text summaries, or inferred")
    h.add_argument("--role", metavar="ROLE=TAG", type=_role, action="append", default=[],
                   help="which tag plays a role, e.g. --role entropy=train/entropy (repeatable)")
    from tui.looks.settings import add_budget_options

    add_budget_options(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logdirs", nargs="+", metavar="LOGDIR",
                        help="TensorBoard logdir(s); `name:path` names a logdir like TensorBoard")
    add_watch_options(parser)


BUDGET_FLAGS = ("every", "window", "allowance", "quiet_hours", "on_alarm", "breakthrough_on")
DEMO_LOOK_LOG = "demo-looks.jsonl"


def budget_settings(args: argparse.Namespace, cfg: dict | None = None, demo: bool = False):
    """The look budget for this session, or None for none at all.

    The demo runs without a budget (a newcomer should see verdicts appear) unless a budget flag
    is given; its looks then go to a log of their own, so they never count in the person's
    habit statistics.

    Raises:
        ValueError: a budget flag or ``[looks]`` key is invalid (the message names it).
    """
    from dataclasses import replace

    from tui.config import state_dir
    from tui.looks.settings import BudgetSettings

    if not demo:
        return BudgetSettings.from_args(args, cfg)
    if getattr(args, "no_budget", False) or all(getattr(args, k, None) is None for k in BUDGET_FLAGS):
        return None
    settings = BudgetSettings.from_args(args, {})
    return replace(settings, log_path=state_dir() / DEMO_LOOK_LOG)


def build_options(args: argparse.Namespace, cfg: dict | None = None, demo: bool = False):
    """`AppOptions` from parsed arguments and the config file (imports the app).

    Args:
        demo: options for ``tbpeek demo`` (see `budget_settings`).

    Raises:
        ValueError: a health or look-budget option is invalid (the message names it).
    """
    from tui.app.app import AppOptions
    from tui.health.options import HealthOptions

    cfg = cfg or {}
    ui = cfg.get("ui") or {}
    health = HealthOptions.from_config(cfg, actions=getattr(args, "actions", None),
                                       roles=dict(getattr(args, "role", None) or []))
    theme = getattr(args, "theme", None) or (ui.get("theme") if isinstance(ui, dict) else None)
    groups = cfg.get("groups") or {}
    seed_pattern = groups.get("seed_pattern") if isinstance(groups, dict) else None
    return AppOptions(theme=theme, poll=getattr(args, "poll", None), health=health,
                      budget=budget_settings(args, cfg, demo), seed_pattern=seed_pattern)


def run_watch(logdirs: list[str], args: argparse.Namespace) -> int:
    """Open the app on `logdirs`; returns the exit code (2 for a bad logdir or option)."""
    try:
        cfg = load_config(getattr(args, "config", None))
    except ConfigError as e:
        print(f"tbpeek: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:
        options = build_options(args, cfg, demo=bool(getattr(args, "demo", False)))
    except ValueError as e:
        print(f"tbpeek: {e}", file=sys.stderr)
        return EXIT_USAGE
    from tui.app.app import make_app
    from tui.ingest import LogdirError

    try:
        app = make_app(logdirs, options)
    except LogdirError as e:
        print(f"tbpeek: {e}", file=sys.stderr)
        return EXIT_USAGE
    result = app.run()
    return int(result or 0)


def run(args: argparse.Namespace) -> int:
    return run_watch(list(args.logdirs), args)
