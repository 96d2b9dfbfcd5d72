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
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from tui.vocab import PatternError, compile_regex

if TYPE_CHECKING:
    from pathlib import Path

# pathlib, platformdirs and tomllib are imported where they are used: a command that finds no
# config file in the usual place (the XDG one on Linux, see `_xdg_config_home`) imports none of
# them (with tempfile, shutil and urllib that they import: ~10 ms of every `check`'s start-up).

APP = "tbpeek"


class ConfigError(Exception):
    """The config file exists but can't be used; the message says where and why."""


def _xdg_config_home() -> str | None:
    """The user's config base directory by the XDG base directory rule where it is the rule
    platformdirs follows (Linux, not an Android app): ``$XDG_CONFIG_HOME`` if it is an
    absolute path, else ``$HOME/.config`` for an absolute ``$HOME``; None elsewhere (ask
    platformdirs). The same directory as platformdirs' ``user_config_dir`` without importing
    it (tests/test_cli_startup.py compares the two)."""
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ:
        return None
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg.startswith("/"):
        return xdg
    home = os.environ.get("HOME", "")
    return home.rstrip("/") + "/.config" if home.startswith("/") else None


def _config_dir() -> str:
    env = os.environ.get("TBPEEK_CONFIG_DIR")
    if env:
        return env
    base = _xdg_config_home()
    if base is not None:
        return os.path.join(base, APP)
    import platformdirs

    return platformdirs.user_config_dir(APP)


def config_dir() -> Path:
    from pathlib import Path

    return Path(_config_dir())


def state_dir(create: bool = False) -> Path:
    from pathlib import Path

    import platformdirs

    env = os.environ.get("TBPEEK_STATE_DIR")
    path = Path(env) if env else Path(platformdirs.user_state_dir(APP))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def _config_file() -> str:
    return os.path.join(_config_dir(), "config.toml")


def config_path() -> Path:
    return _as_path(_config_file())


SECTIONS = ("roles", "health", "looks", "ui", "groups")
Scalar = str | int | float | bool


_NONE: Mapping[str, Any] = MappingProxyType({})  # an empty table (shared: read-only)


class Config(NamedTuple):  # (not a frozen dataclass: ~0.5 ms less start-up; compared and printed alike)
    """The config file, read once at the command line's edge, checked for types, passed down.

    Attributes:
        path: the file it was read from (None: no file, every default).
        roles: ``[roles]``: role -> tag (like ``--role``).
        health: ``[health]``: `tui.health.HealthOptions` checks the keys and values.
        looks: ``[looks]``: `tui.looks.settings.BudgetSettings` checks the keys and values.
        theme: ``[ui] theme``.
        seed_pattern: ``[groups] seed_pattern``.
    """

    path: Path | None = None
    roles: Mapping[str, str] = _NONE
    health: Mapping[str, Scalar] = _NONE
    looks: Mapping[str, Scalar | list[str]] = _NONE
    theme: str | None = None
    seed_pattern: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None) -> Config:
        """Check a parsed TOML document's types and build the config.

        Raises:
            ConfigError: a section or value of the wrong type, or an unknown section; the
                message names the key and the expected type.
        """
        where = f"config file {path}" if path is not None else "config"
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} at the top level "
                              f"(known tables: {', '.join(f'[{s}]' for s in SECTIONS)})")

        def table(name: str) -> Mapping[str, Any]:
            value = data.get(name, {})
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {name} must be a table ([{name}] with keys below it), "
                                  f"not {_kind(value)} {value!r}")
            return value

        def text(section: str, key: str, value: Any) -> str | None:
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{where}: [{section}] {key} must be a string, not {_kind(value)} {value!r}")
            return value

        roles: dict[str, str] = {}
        for key, value in table("roles").items():
            roles[key] = text("roles", key, value) or ""
        health: dict[str, Scalar] = {}
        for key, value in table("health").items():
            if not isinstance(value, (str, int, float)):
                raise ConfigError(f"{where}: [health] {key} must be a number or a duration string, "
                                  f"not {_kind(value)} {value!r}")
            health[key] = value
        looks: dict[str, Scalar | list[str]] = {}
        for key, value in table("looks").items():
            if isinstance(value, list):
                if not all(isinstance(x, str) for x in value):
                    raise ConfigError(f"{where}: [looks] {key} must be a list of strings")
            elif not isinstance(value, (str, int, float)):
                raise ConfigError(f"{where}: [looks] {key} must be a string, number or true/false, "
                                  f"not {_kind(value)} {value!r}")
            looks[key] = value
        ui, groups = table("ui"), table("groups")
        for section, tbl, known in (("ui", ui, ("theme",)), ("groups", groups, ("seed_pattern",))):
            extra = sorted(set(tbl) - set(known))
            if extra:
                raise ConfigError(f"{where}: [{section}]: unknown key {extra[0]!r} (known: {', '.join(known)})")
        seed_pattern = text("groups", "seed_pattern", groups.get("seed_pattern"))
        if seed_pattern is not None:
            try:
                compile_regex(seed_pattern, "[groups] seed_pattern", re.IGNORECASE)
            except PatternError as e:
                raise ConfigError(f"{where}: {e}") from None
        return cls(path=path, roles=roles, health=health, looks=looks,
                   theme=text("ui", "theme", ui.get("theme")), seed_pattern=seed_pattern)


def _as_path(name: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(name)


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def as_config(cfg: Config | Mapping[str, Any] | None) -> Config:
    """`cfg` as a `Config` (a plain mapping is checked like a file; None is the defaults).

    Raises:
        ConfigError: see `Config.from_dict`.
    """
    if cfg is None:
        return Config()
    return cfg if isinstance(cfg, Config) else Config.from_dict(cfg)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and check the config file; a missing default file is the defaults.

    Raises:
        ConfigError: the file can't be read, isn't valid TOML, or holds a value of the wrong
            type (the message names the key and the expected type).
    """
    # The default file by its name (a str: no pathlib unless it exists); a given one as a Path.
    name = _config_file() if path is None else _as_path(path)
    try:
        f = open(name, "rb")  # noqa: SIM115 (closed below: tomllib is imported only for a file that opens)
    except FileNotFoundError:
        if path is not None:
            raise ConfigError(f"config file {name} does not exist") from None
        return Config()
    except OSError as e:
        raise ConfigError(f"can't read config file {_as_path(name)}: {e.strerror}") from None
    p = _as_path(name)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        with f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"can't read config file {p}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}. Fix or remove it.") from None
    return Config.from_dict(data, p)


def parse_duration(text: str | float) -> float:
    """'90s', '30m', '2h', '1d', '1h30m' or a number of seconds -> seconds.

    Raises:
        ValueError: with a message that says what forms are accepted; also for true/false, a
            negative, infinite or NaN value, and anything over `MAX_DURATION` (ten years).
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"can't read duration {text!r}: use e.g. 90s, 30m, 2h, 1h30m")
    if isinstance(text, (int, float)):
        return _checked_duration(float(text), text)
    s = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        number: float | None = float(s)
    except ValueError:
        number = None  # not a plain number: read units below
    if number is not None:
        return _checked_duration(number, text)
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
    return _checked_duration(total, text)


MAX_DURATION = 10 * 365 * 86400.0  # seconds; more is a typo, and past it clock times overflow


def _checked_duration(seconds: float, text: object) -> float:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"can't use duration {text!r}: it must be a finite number of seconds")
    if seconds < 0:
        raise ValueError("a duration can't be negative")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {text!r} is over ten years: use e.g. 90s, 30m, 2h, 1h30m")
    return seconds
