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

import contextlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import Theme
from textual.timer import Timer

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


class ThemeSaveError(Exception):
    """The chosen theme couldn't be written to the config file; the message says why."""


_TABLE = re.compile(r"^\s*\[\s*([^\]]*?)\s*\]\s*(#.*)?$")
_THEME_KEY = re.compile(r"^(\s*)theme\s*=")


def save_theme(path: Path, name: str) -> None:
    """Write ``[ui] theme = "name"`` into the config file at `path`, changing nothing else:
    the line is replaced (or added under ``[ui]``, or a ``[ui]`` table appended), and the
    result must parse to the same document with only that key changed, else nothing is
    written. The file is replaced atomically and keeps its permissions.

    Raises:
        ThemeSaveError: the file can't be read, parsed, edited safely or written.
    """
    try:
        old_text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as e:
        raise ThemeSaveError(f"can't read {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        before = tomllib.loads(old_text)
    except tomllib.TOMLDecodeError as e:
        raise ThemeSaveError(f"{path} is not valid TOML ({e}); fix it to save the theme") from None
    new_text = _with_theme(old_text, name)
    expected = {**before, "ui": {**(before.get("ui") or {}), "theme": name}}
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        after = None
    if after != expected:  # e.g. `ui = {theme = "x"}` inline, or dotted keys: don't guess
        raise ThemeSaveError(f"can't edit {path} safely; set theme = {json_str(name)} under [ui] yourself")
    _write_atomic(path, new_text)


def json_str(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def _with_theme(text: str, name: str) -> str:
    lines = text.splitlines(keepends=True)
    value = f"theme = {json_str(name)}"
    section: str | None = None
    ui_end: int | None = None  # index after the last line of the [ui] table
    for i, line in enumerate(lines):
        m = _TABLE.match(line)
        if m and not line.lstrip().startswith("[["):
            section = m.group(1)
            if section == "ui":
                ui_end = i + 1
            continue
        if section == "ui":
            key = _THEME_KEY.match(line)
            if key:
                end = "\n" if line.endswith("\n") else ""
                lines[i] = f"{key.group(1)}{value}{end}"
                return "".join(lines)
            if line.strip():
                ui_end = i + 1
    if ui_end is not None:
        lines.insert(ui_end, value + "\n")
        return "".join(lines)
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + f"{sep}[ui]\n{value}\n"


def _write_atomic(path: Path, text: str) -> None:
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".toml", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise ThemeSaveError(f"can't write {path}: {e.strerror or e}") from None


THEME_SAVE_AFTER = 1.5  # seconds a picked theme stays before it is written to the config


class ThemeKeeper:
    """Keeps the theme picked with `t` in the config file (``[ui] theme``, via `save_theme`).

    The picker previews each theme it passes over, so a theme is written once it has stayed
    `THEME_SAVE_AFTER` seconds, or when the app stops (`flush`). A file that can't be edited
    safely gives a notice; the theme is still used for the session.

    Args:
        app: the app (its theme, timers and notices).
        path: the config file; None: nothing is kept.
    """

    def __init__(self, app: App[Any], path: Path | None) -> None:
        self.app = app
        self.path = path
        self.saved: str | None = None  # the theme the file names (as far as we know)
        self._timer: Timer | None = None

    def start(self, current: str) -> None:
        """Follow the app's theme from now on (`current` is what the config already says)."""
        self.saved = current
        self.app.theme_changed_signal.subscribe(self.app, self._changed)

    def _changed(self, theme: Theme) -> None:
        if self.path is None or theme.name == self.saved:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(THEME_SAVE_AFTER, self.flush)

    def flush(self) -> None:
        """Write the current theme now if it changed (no-op otherwise)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        name = self.app.theme
        if self.path is None or self.saved is None or name == self.saved:
            return
        self.saved = name
        try:
            save_theme(self.path, name)
        except ThemeSaveError as e:
            self.app.notify(f"The theme is used now but not kept: {e}", title="Theme", severity="warning",
                            timeout=10)
