"""Telling the person about a breakthrough: bell, desktop notification, their own command.

Desktop notifications go through the terminal itself, so they work over SSH: OSC 9 (iTerm2,
WezTerm, kitty, Windows Terminal, foot, ghostty) and OSC 777 (VTE terminals: GNOME Terminal,
Tilix; also urxvt, foot, WezTerm). Inside tmux they are wrapped for passthrough, which tmux
3.3+ forwards when ``set -g allow-passthrough on``; the bell needs no wrapping.

``--on-alarm COMMAND`` runs the command as an argv (never through a shell), with the run and
the reason in environment variables, so no run name or reason can inject shell syntax.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.looks.policy import Alarm

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"
TITLE = "tbpeek"
MAX_TEXT = 200  # notifications are one line; terminals truncate anyway


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text safe inside an OSC string: no control characters (an ESC or BEL from a run name
    would end the sequence early and let the rest reach the terminal as commands)."""
    out = "".join(" " if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c for c in text)
    return out[:limit]


def osc9(message: str) -> str:
    return f"{ESC}]9;{clean(message)}{ST}"


def osc777(title: str, body: str) -> str:
    # ';' separates the fields: a title may not hold one; the body is the rest of the string.
    return f"{ESC}]777;notify;{clean(title).replace(';', ',')};{clean(body)}{ST}"


def tmux_wrap(seq: str) -> str:
    """Wrap an escape sequence for tmux passthrough (each ESC inside is doubled)."""
    return f"{ESC}Ptmux;{seq.replace(ESC, ESC + ESC)}{ST}"


def notification(title: str, body: str, tmux: bool = False) -> str:
    """Both desktop-notification sequences (terminals ignore the one they don't know)."""
    seqs = [osc9(f"{title}: {body}"), osc777(title, body)]
    if tmux:
        seqs = [tmux_wrap(s) for s in seqs]
    return "".join(seqs)


def alarm_env(alarm: Alarm, logdirs: Sequence[str] = (), base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an ``--on-alarm`` command."""
    env = dict(os.environ if base is None else base)
    env.update({
        "TBPEEK_RUN": alarm.run,
        "TBPEEK_REASON": alarm.reason,
        "TBPEEK_METRIC": alarm.metric,
        "TBPEEK_KIND": alarm.kind,
        "TBPEEK_SEVERITY": alarm.label,
        "TBPEEK_LOGDIRS": os.pathsep.join(logdirs),
    })
    return env


def stderr_writer(text: str) -> None:
    """Write raw sequences to the terminal through the stream Textual's driver also writes to
    (``sys.__stderr__``): one buffered stream, so a sequence never lands inside a frame's."""
    stream = sys.__stderr__
    if stream is None or not stream.isatty():
        return  # no terminal: a sequence would only dirty a redirected file
    stream.write(text)
    stream.flush()


class Alerter:
    """Announces alarms: bell, desktop notification, and the user's command.

    Args:
        write: writes raw text to the terminal (tests pass a list's append).
        bell: rings the bell; default writes BEL with `write` (the app passes ``app.bell``).
        on_alarm: the user's command as argv, or None.
        logdirs: passed to the command in ``TBPEEK_LOGDIRS``.
        tmux: wrap notifications for tmux; default: whether ``$TMUX`` is set.
        spawn: starts the command (``subprocess.Popen``-like; tests pass a fake).
    """

    def __init__(self, write: Callable[[str], None] = stderr_writer, bell: Callable[[], None] | None = None,
                 on_alarm: Sequence[str] | None = None, logdirs: Sequence[str] = (), tmux: bool | None = None,
                 spawn: Callable[..., subprocess.Popen[Any]] = subprocess.Popen) -> None:
        self.write = write
        self.bell = bell or (lambda: write(BEL))
        self.on_alarm = tuple(on_alarm) if on_alarm else None
        self.logdirs = list(logdirs)
        self.tmux = bool(os.environ.get("TMUX")) if tmux is None else tmux
        self.spawn = spawn
        self.errors: list[str] = []  # command failures, for the app to show (thread-safe appends)

    def announce(self, alarm: Alarm) -> str | None:
        """Ring, notify and run the command for one alarm.

        Returns:
            None, or a message saying why the command could not be started.
        """
        self.bell()
        self.write(notification(f"{TITLE}: {alarm.label}", alarm.headline, self.tmux))
        return self.run_command(alarm)

    def run_command(self, alarm: Alarm) -> str | None:
        if not self.on_alarm:
            return None
        try:
            proc = self.spawn(list(self.on_alarm), env=alarm_env(alarm, self.logdirs),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True, close_fds=True)
        except OSError as e:
            msg = (f"--on-alarm: can't run {self.on_alarm[0]!r}: {e.strerror or e}; "
                   "check the command (it is run directly, not through a shell)")
            self.errors.append(msg)
            return msg
        threading.Thread(target=self._reap, args=(proc,), daemon=True, name="tbpeek-on-alarm").start()
        return None

    def _reap(self, proc: subprocess.Popen[Any]) -> None:
        """Wait for the command (no zombies) and note a failure."""
        code = proc.wait()
        if code:
            self.errors.append(f"--on-alarm: {self.on_alarm[0] if self.on_alarm else 'command'} exited with {code}")
