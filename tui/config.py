"""Where tbpeek keeps things, and the user's config file.

Config: ``$TBPEEK_CONFIG_DIR`` or the XDG config directory (``~/.config/tbpeek``), file
``config.toml``. State (look log, notes, status cache): ``$TBPEEK_STATE_DIR`` or the XDG state
directory (``~/.local/state/tbpeek``). tbpeek never writes into a logdir.

The config file is TOML; every section is optional::

    [roles]            # explicit tag roles, like --role
    entropy = "my/entropy_tag"

    [health]
    actions = 6        # like --actions

    [looks]
    every = "30m"
    window = "3m"

    [ui]
    theme = "tbpeek-dark"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP = "tbpeek"


class ConfigError(Exception):
    """The config file exists but can't be used; the message says where and why."""


def config_dir() -> Path:
    env = os.environ.get("TBPEEK_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP))


def state_dir(create: bool = False) -> Path:
    env = os.environ.get("TBPEEK_STATE_DIR")
    path = Path(env) if env else Path(platformdirs.user_state_dir(APP))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_config(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the config file; a missing file is an empty config.

    Raises:
        ConfigError: the file can't be read or isn't valid TOML.
    """
    p = Path(path) if path is not None else config_path()
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        if path is not None:
            raise ConfigError(f"config file {p} does not exist") from None
        return {}
    except OSError as e:
        raise ConfigError(f"can't read config file {p}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}. Fix or remove it.") from None
    if not isinstance(data, dict):  # pragma: no cover - tomllib always returns a dict
        raise ConfigError(f"config file {p}: expected a table at the top level")
    return data


def parse_duration(text: str | int | float) -> float:
    """'90s', '30m', '2h', '1d', '1h30m' or a number of seconds -> seconds.

    Raises:
        ValueError: with a message that says what forms are accepted.
    """
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration can't be negative")
        return float(text)
    s = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return float(s)
    except ValueError:
        pass
    total, num = 0.0, ""
    for ch in s:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        elif ch.isspace():
            continue
        else:
            num = "?"
            break
    if num or not s:
        raise ValueError(f"can't read duration {text!r}: use e.g. 90s, 30m, 2h, 1h30m")
    return total
