"""Telling the person about a breakthrough: bell, desktop notification, their own command.

Desktop notifications go through the terminal itself, so they work over SSH: OSC 9 (iTerm2,
WezTerm, kitty, Windows Terminal, foot, ghostty) and OSC 777 (VTE terminals: GNOME Terminal,
Tilix; also urxvt, foot, WezTerm). Inside tmux they are wrapped for passthrough, which tmux
3.3+ forwards when ``set -g allow-passthrough on``; the bell needs no wrapping.

``--on-alarm COMMAND`` runs the command as an argv (never through a shell), with the run and
the reason in environment variables, so no run name or reason can inject shell syntax. It runs
once per breakthrough (alarms that break through together are one, see `tui.live.gate`), at
most `MAX_RUNNING` at a time; up to `MAX_QUEUED` more wait their turn, and beyond that a
breakthrough's command is skipped and the app says so: 300 runs alarming at start-up never
start 300 processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.looks.policy import Alarm

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"
TITLE = "tbpeek"
MAX_TEXT = 200  # notifications are one line; terminals truncate anyway
MAX_RUNNING = 2  # --on-alarm commands running at once
MAX_QUEUED = 8  # more wait; beyond that a breakthrough's command is skipped (and said)


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


def alarm_env(alarm: Alarm, logdirs: Sequence[str] = (), base: Mapping[str, str] | None = None,
              batch: Sequence[Alarm] = ()) -> dict[str, str]:
    """The environment of an ``--on-alarm`` command: the lead alarm's run, reason, metric,
    kind and severity; ``TBPEEK_RUNS`` (one run per line) and ``TBPEEK_COUNT`` for the whole
    breakthrough (`batch`, the lead first; default: the lead alone)."""
    env = dict(os.environ if base is None else base)
    alarms = list(batch) or [alarm]
    env.update({
        "TBPEEK_RUN": alarm.run,
        "TBPEEK_REASON": alarm.reason,
        "TBPEEK_METRIC": alarm.metric,
        "TBPEEK_KIND": alarm.kind,
        "TBPEEK_SEVERITY": alarm.label,
        "TBPEEK_LOGDIRS": os.pathsep.join(logdirs),
        "TBPEEK_RUNS": "\n".join(dict.fromkeys(a.run for a in alarms)),
        "TBPEEK_COUNT": str(len(alarms)),
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
        self.max_running = MAX_RUNNING
        self.max_queued = MAX_QUEUED
        self.running = 0  # commands started and not yet reaped
        self.queued: deque[tuple[Alarm, tuple[Alarm, ...]]] = deque()
        self.skipped = 0  # breakthroughs whose command was dropped (the queue was full)
        self._lock = threading.Lock()

    def announce(self, alarm: Alarm) -> str | None:
        """Ring, notify and run the command for one alarm (a breakthrough of one)."""
        return self.announce_batch([alarm])

    def announce_batch(self, alarms: Sequence[Alarm]) -> str | None:
        """One breakthrough: ring once, one desktop notification naming the lead (and how many
        more), the command once (with every run of the batch in its environment).

        Returns:
            None, or a message saying why the command could not be started.
        """
        if not alarms:
            return None
        lead = alarms[0]
        more = f" (+{len(alarms) - 1} more)" if len(alarms) > 1 else ""
        self.bell()
        self.write(notification(f"{TITLE}: {lead.label}", lead.headline + more, self.tmux))
        return self.run_command(lead, tuple(alarms))

    def run_command(self, alarm: Alarm, batch: Sequence[Alarm] = ()) -> str | None:
        """Start the command for a breakthrough, or queue it while `max_running` run."""
        if not self.on_alarm:
            return None
        with self._lock:
            if self.running >= self.max_running:
                if len(self.queued) < self.max_queued:
                    self.queued.append((alarm, tuple(batch)))
                    return None
                self.skipped += 1
                msg = (f"--on-alarm: skipped for {alarm.run}: {self.running} commands still running "
                       f"and {len(self.queued)} waiting (at most {self.max_running} run at once)")
                self.errors.append(msg)
                return msg
            self.running += 1
        return self._start(alarm, tuple(batch))

    def _start(self, alarm: Alarm, batch: tuple[Alarm, ...]) -> str | None:
        assert self.on_alarm
        try:
            proc = self.spawn(list(self.on_alarm), env=alarm_env(alarm, self.logdirs, batch=batch),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True, close_fds=True)
        except OSError as e:
            with self._lock:
                self.running -= 1
            msg = (f"--on-alarm: can't run {self.on_alarm[0]!r}: {e.strerror or e}; "
                   "check the command (it is run directly, not through a shell)")
            self.errors.append(msg)
            return msg
        threading.Thread(target=self._reap, args=(proc,), daemon=True, name="tbpeek-on-alarm").start()
        return None

    def _reap(self, proc: subprocess.Popen[Any]) -> None:
        """Wait for the command (no zombies), note a failure, start the next one waiting."""
        code = proc.wait()
        if code:
            self.errors.append(f"--on-alarm: {self.on_alarm[0] if self.on_alarm else 'command'} exited with {code}")
        with self._lock:
            self.running -= 1
            nxt = self.queued.popleft() if self.queued and self.running < self.max_running else None
            if nxt is not None:
                self.running += 1
        if nxt is not None:
            self._start(*nxt)
