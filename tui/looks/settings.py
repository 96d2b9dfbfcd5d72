"""Settings of the look budget: from the config file's ``[looks]`` table and command-line flags.

Flags override the file; ``--no-budget`` turns the budget off for one session (and that session
is still logged, as a ``budget_off`` look). The watch and demo commands call
`add_budget_options` on their parser and `BudgetSettings.from_config` with the config's
``[looks]`` table and the flags' values (a plain mapping: no argparse namespace comes here).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui.config import parse_duration
from tui.vocab import Severity, fmt_duration

BREAKTHROUGH_LEVELS = {"warn": Severity.WARN, "alarm": Severity.ALARM}
KEYS = ("enabled", "every", "window", "allowance", "quiet_hours", "on_alarm", "breakthrough_on")

DEFAULT_EVERY = 30 * 60.0
DEFAULT_WINDOW = 3 * 60.0


@dataclass(frozen=True)
class BudgetSettings:
    """How often the person may look.

    Attributes:
        enabled: False for ``--no-budget``: charts always visible (the session is logged).
        every: minimum gap between the starts of two looks, in seconds.
        window: how long charts stay visible once a look starts, in seconds.
        allowance: at most this many looks (scheduled or override) per local day; None: no cap.
        quiet_hours: (start, end) in minutes after local midnight; no scheduled looks in it
            (alarms still break through). May wrap midnight, e.g. 22:00-07:00.
        breakthrough_on: the least severity that breaks through the gate: alarm (the
            default) or warn.
        on_alarm: a command (argv, never a shell string) run on each breakthrough.
        log_path: the look log; None: the default in the state directory.
    """

    enabled: bool = True
    every: float = DEFAULT_EVERY
    window: float = DEFAULT_WINDOW
    allowance: int | None = None
    quiet_hours: tuple[int, int] | None = None
    breakthrough_on: Severity = Severity.ALARM
    on_alarm: tuple[str, ...] | None = None
    log_path: Path | None = None

    def __post_init__(self) -> None:
        if self.every <= 0:
            raise ValueError("the gap between looks (--every) must be above zero, e.g. 30m")
        if self.window <= 0:
            raise ValueError("the look window (--window) must be above zero, e.g. 3m")
        if self.window > self.every:
            raise ValueError(f"the look window ({fmt_duration(self.window)}) can't be longer than the gap "
                             f"between looks ({fmt_duration(self.every)}): shorten --window or lengthen --every")
        if self.allowance is not None and self.allowance < 1:
            raise ValueError("the daily allowance (--allowance) must be at least 1 look")
        if self.breakthrough_on not in (Severity.WARN, Severity.ALARM):
            raise ValueError("--breakthrough-on must be warn or alarm")

    @property
    def notice_before(self) -> float:
        """How long before a look's window ends the person is told (a short notice)."""
        return min(20.0, self.window / 4)

    @classmethod
    def from_config(cls, looks: Mapping[str, Any] | None = None,
                    flags: Mapping[str, Any] | None = None) -> BudgetSettings:
        """Settings from the config's ``[looks]`` table and command-line values (flags win).

        Args:
            looks: `tui.config.Config.looks`.
            flags: flag name (``every``, ``window``, ``allowance``, ``quiet_hours``,
                ``on_alarm``, ``breakthrough_on``, ``enabled``) -> value; None values are
                ignored (the flag wasn't given).

        Raises:
            ValueError: a value is wrong; the message names the flag or config key and the
                accepted forms.
        """
        looks = looks or {}
        unknown = sorted(set(looks) - set(KEYS))
        if unknown:
            raise ValueError(f"config [looks]: unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
        s = _apply(cls(), dict(looks), "config [looks]: ")
        given = {k: v for k, v in (flags or {}).items() if v is not None}
        bad = sorted(set(given) - set(KEYS))
        if bad:
            raise TypeError(f"unknown look-budget setting {bad[0]!r}")
        return _apply(s, given, "")


def _apply(s: BudgetSettings, values: dict[str, Any], where: str) -> BudgetSettings:
    kw: dict[str, Any] = {}
    try:
        for key, value in values.items():
            flag = where + (key if where else "--" + key.replace("_", "-"))
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ValueError(f"{flag} must be true or false")
                kw[key] = value
            elif key in ("every", "window"):
                try:
                    kw[key] = parse_duration(value)
                except (ValueError, TypeError) as e:
                    raise ValueError(f"{flag}: {e}") from None
            elif key == "allowance":
                if value in (0, "0", "none", "") and not isinstance(value, bool):
                    kw[key] = None
                else:
                    try:
                        kw[key] = int(value) if not isinstance(value, bool) else None
                    except (ValueError, TypeError):
                        kw[key] = None
                    if kw[key] is None or kw[key] < 1:
                        raise ValueError(f"{flag} must be a whole number of looks per day, e.g. 8")
            elif key == "quiet_hours":
                kw[key] = None if value in ("", "none", "off") else parse_quiet_hours(str(value), flag)
            elif key == "on_alarm":
                kw[key] = parse_command(value, flag)
            elif key == "breakthrough_on":
                sev = BREAKTHROUGH_LEVELS.get(value.strip().lower()) if isinstance(value, str) else None
                if sev is None:
                    raise ValueError(f"{flag} must be warn or alarm, not {value!r}")
                kw[key] = sev
        return replace(s, **kw)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith(where) or not where else where + msg) from None


def parse_quiet_hours(text: str, flag: str = "--quiet-hours") -> tuple[int, int]:
    """'22:00-07:00' or '22-7' -> (start, end) in minutes after midnight.

    Raises:
        ValueError: the text isn't two times of day joined by '-'.
    """
    parts = text.replace(" ", "").split("-")
    if len(parts) != 2:
        raise ValueError(f"{flag}: can't read {text!r}: use two times of day, e.g. 22:00-07:00")
    out = []
    for part in parts:
        hh, _, mm = part.partition(":")
        try:
            h, m = int(hh), int(mm or 0)
        except ValueError:
            raise ValueError(f"{flag}: can't read {part!r} in {text!r}: use HH:MM, e.g. 22:00-07:00") from None
        if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
            raise ValueError(f"{flag}: {part!r} is not a time of day (00:00 to 24:00)")
        out.append((h * 60 + m) % (24 * 60))
    if out[0] == out[1]:
        raise ValueError(f"{flag}: {text!r} starts and ends at the same time; give a real span")
    return out[0], out[1]


def parse_command(value: Any, flag: str = "--on-alarm") -> tuple[str, ...] | None:
    """A command as argv: a list from the config file, or a string split like a shell would
    split words (quotes respected) but never run through a shell.

    Raises:
        ValueError: the string has unbalanced quotes, or the value isn't a string or list.
    """
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
        return tuple(value)
    if not isinstance(value, str):
        raise ValueError(f"{flag} must be a command line (a string) or a list of words")
    try:
        argv = shlex.split(value)
    except ValueError as e:
        raise ValueError(f"{flag}: can't split {value!r} into words ({e}); check the quotes") from None
    return tuple(argv) or None
