"""The real app in a real terminal (a pty) over hostile run names (issue 12.2/12.10): what it
writes to the terminal holds none of the names' escape sequences (a title change, a screen
clear, a clipboard write, an 8-bit CSI), and the names are shown as visible escapes."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from test_app_hostile import hostile_logdir

REPO = Path(__file__).resolve().parents[1]
pty = pytest.importorskip("pty")


def read_for(fd: int, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def read_until(fd: int, needle: bytes, seconds: float, out: bytes = b"") -> bytes:
    """Read until `needle` has been written (or `seconds` passed: the asserts then say why)."""
    end = time.monotonic() + seconds
    while needle not in out and time.monotonic() < end:
        chunk = read_for(fd, 0.2)
        out += chunk
    return out


def test_no_escape_sequence_from_a_name_reaches_the_terminal(tmp_path):
    logs = tmp_path / "logs"
    hostile_logdir(logs)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "TBPEEK_STATE_DIR": str(tmp_path / "state"),
           "TBPEEK_CONFIG_DIR": str(tmp_path / "config"), "PYTHONPATH": str(REPO)}
    env.pop("TMUX", None)
    proc = subprocess.Popen([sys.executable, "-m", "tui", "watch", str(logs), "--no-budget", "--poll", "0.5"],
                            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
                            start_new_session=True)
    os.close(slave)
    try:
        out = read_until(master, b"entropy is nan", 60.0)  # the alarm's detail opens (zz[/] is NaN)
        os.write(master, b"q")  # back to the overview: every name
        out = read_until(master, b"osc52\\x1b]52;c;cHduZWQ=\\x07", 30.0, out)
        out += read_for(master, 0.5)
        for _ in range(10):  # ctrl+c quits (sent again if a key was still on its way)
            os.write(master, b"\x03")
            for _ in range(10):  # keep draining: a full pty would block the app's writes
                out += read_for(master, 0.2)
                if proc.poll() is not None:
                    break
            if proc.poll() is not None:
                break
        out += read_for(master, 0.3)
        proc.wait(timeout=30)  # the terminal is closed (reads fail): the app is finishing
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = out.decode("utf-8", "replace")
    assert "csi\\x9b31m" in text and "osc52\\x1b]52;c;cHduZWQ=\\x07" in text  # shown, as escapes
    # (BEL itself is legitimate here: the alarm's bell, and Textual ends its own OSC with it.)
    for raw in (b"\x1b]0;pwned", b"pwned\x07", b"\x1b]52;c;", b"\xc2\x9b31m", b"\x1b[2Jclear", b"\rname",
                b"\ttab", b"cHduZWQ=\x07"):
        assert raw not in out, raw
    assert proc.returncode == 0
