"""Theme files → validated → Textual `Theme`s.

A theme file is TOML::

    name = "tbpeek-dark"          # required; what --theme and the picker use
    dark = true                   # required
    primary = "#5fafff"           # required; any Textual colour
    secondary = "#..."            # optional: secondary warning error success accent
    background = "#..."           #   foreground background surface panel boost
    [variables]                   # optional: extra CSS variables, e.g. verdict colours
    verdict-ok = "#5fd787"
    verdict-info = "#87afd7"
    verdict-warn = "#ffaf00"
    verdict-alarm = "#ff5f5f"

Files are read from, in order (a later file of the same name wins): the themes shipped in the
wheel (``tui/_themes``), the source checkout's ``themes/`` and the user's config directory
(``~/.config/tbpeek/themes``). A bad file never stops the app: it is skipped and its problem
is reported so the app can show a notice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

import tui
from tui.config import config_dir
from tui.health.verdict import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_THEME = "tbpeek-dark"
COLOR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
              "background", "surface", "panel", "boost")
VERDICT_VARIABLES = ("verdict-ok", "verdict-info", "verdict-warn", "verdict-alarm")
# The theme variable of each severity's colour (a key of `verdict_colors`).
SEVERITY_VAR = {Severity.OK: "verdict-ok", Severity.INFO: "verdict-info",
                Severity.WARN: "verdict-warn", Severity.ALARM: "verdict-alarm"}
_ALLOWED = set(COLOR_KEYS) | {"name", "dark", "variables", "luminosity_spread", "text_alpha"}


class ThemeFileError(ValueError):
    """A theme file can't be used; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedThemes:
    themes: dict[str, Theme]
    problems: list[str]  # one line per bad file, for notices


def theme_dirs() -> list[Path]:
    """Where theme files are looked for, in increasing order of precedence."""
    pkg = Path(tui.__file__).parent
    return [pkg / "_themes", pkg.parent / "themes", config_dir() / "themes"]


def _color(path: Path, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"theme file {path}: {key} must be a colour string like \"#ff8800\", not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"theme file {path}: {key} = {value!r} is not a colour "
                             "(use e.g. \"#ff8800\", \"rgb(255,136,0)\" or a colour name)") from None
    return value


def parse_theme(data: dict[str, Any], path: Path) -> Theme:
    """Validate a theme file's table and build the `Theme`.

    Raises:
        ThemeFileError: a required key is missing, a key is unknown or a colour is invalid.
    """
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ThemeFileError(f"theme file {path}: unknown key(s) {', '.join(unknown)}; "
                             f"allowed: name, dark, {', '.join(COLOR_KEYS)}, [variables]")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"theme file {path}: missing name = \"...\"")
    if not isinstance(data.get("dark"), bool):
        raise ThemeFileError(f"theme file {path}: missing dark = true or dark = false")
    if "primary" not in data:
        raise ThemeFileError(f"theme file {path}: missing primary = \"#rrggbb\"")
    colors = {k: _color(path, k, data[k]) for k in COLOR_KEYS if k in data}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError(f"theme file {path}: [variables] must be a table")
    checked: dict[str, str] = {}
    for k, v in variables.items():
        checked[str(k)] = _color(path, f"variables.{k}", v) if k in VERDICT_VARIABLES else str(v)
    fields: dict[str, Any] = {**colors, **{k: float(data[k]) for k in ("luminosity_spread", "text_alpha") if k in data}}
    return Theme(name=name.strip(), dark=data["dark"], variables=checked, **fields)


def load_theme_file(path: Path) -> Theme:
    """Read one theme file.

    Raises:
        ThemeFileError: unreadable, not TOML, or invalid.
    """
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ThemeFileError(f"theme file {path}: can't read it ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ThemeFileError(f"theme file {path}: not valid TOML ({e})") from None
    return parse_theme(data, path)


def load_themes(dirs: list[Path] | None = None) -> LoadedThemes:
    """All theme files of `dirs` (default `theme_dirs()`); bad files become problems."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for d in theme_dirs() if dirs is None else dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as e:
                problems.append(f"{e}. Skipped it.")
                continue
            themes[theme.name] = theme
    return LoadedThemes(themes, problems)


def verdict_colors(theme: Theme) -> dict[str, str]:
    """The four verdict colours of a theme: its own variables, else success/warning/error."""
    fg = theme.foreground or ("#e0e0e0" if theme.dark else "#202020")
    fallback = {
        "verdict-ok": theme.success or "green",
        "verdict-info": theme.secondary or theme.primary,
        "verdict-warn": theme.warning or "yellow",
        "verdict-alarm": theme.error or "red",
    }
    out = {k: theme.variables.get(k, fallback[k]) for k in VERDICT_VARIABLES}
    bg = theme.background or ("#000000" if theme.dark else "#ffffff")
    # Rich styles take no alpha: blend toward the background instead.
    out["muted"] = theme.variables.get("verdict-muted", Color.parse(bg).blend(Color.parse(fg), 0.6).hex)
    return out
