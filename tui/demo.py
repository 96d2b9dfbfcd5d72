"""``tbpeek demo``: start simulated trainers in the background and watch them live.

The trainers (:mod:`tui.demo_trainers`) run in a separate process that writes real event files
with tensorboard's writer; this process only opens the usual app on their logdir. The trainers
stop when the app exits (``q``), on Ctrl-C, and by themselves if this process dies (they watch
their standard input, a pipe from us, and exit when it closes). A temporary logdir is deleted by
the trainers on their way out, so it goes away even when this process is killed; ``--dir``
keeps it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tui.vocab import EXIT_PROBLEM, EXIT_USAGE, safe_terminal

MAX_SPEED = 10  # the history holds speed x 15 minutes of updates: more would be slow to write
READY_TIMEOUT = 60.0  # seconds for the trainers to write their history


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", metavar="PATH",
                        help="write the demo runs here and keep them afterwards "
                             "(default: a temporary directory, removed on exit)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help=f"how fast the simulated training goes, up to {MAX_SPEED} (default 1: a real pace)")
    parser.add_argument("--prefill", type=float, default=None, help=argparse.SUPPRESS)  # seconds of history
    from tui.app.cli import add_watch_options  # lazy: the app's module is loaded only for `demo`

    add_watch_options(parser)
    parser.set_defaults(demo=True)  # the look budget is off unless a budget flag is given


class Trainers:
    """The background process of simulated trainers.

    Args:
        logdir: where they write (one subdirectory per run).
        speed: simulated seconds per wall second.
        prefill: seconds of history written before ``ready``.
        log_path: file for the process's stderr (never the terminal: the app owns it).
        remove_on_exit: the trainers delete `logdir` when they stop (a temporary directory).
    """

    def __init__(self, logdir: str | os.PathLike[str], speed: float = 1.0, prefill: float | None = None,
                 log_path: str | os.PathLike[str] | None = None, remove_on_exit: bool = False) -> None:
        cmd = [sys.executable, "-m", "tui.demo_trainers", str(logdir), "--speed", repr(float(speed))]
        if remove_on_exit:  # the trainers outlive us by a moment, also when we are killed
            cmd.append("--remove-on-exit")
        if log_path:  # they delete it if it stays empty, also when we are killed
            cmd += ["--log-file", str(log_path)]
        if prefill is not None:
            cmd += ["--prefill", repr(float(prefill))]
        self.log_path = Path(log_path) if log_path else None
        err: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path:  # closed below, once the child has its own copy
            err = open(self.log_path, "ab")  # noqa: SIM115
        env = dict(os.environ)
        # The child must import this very tbpeek, also when run from a source checkout.
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            # Own session: a Ctrl-C in the terminal reaches us, and we stop the trainers in order.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True, env=env)
        finally:
            if not isinstance(err, int):
                err.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Wait until the history is written; False if the process died or took too long."""
        result: list[bytes] = []

        def read() -> None:
            assert self.proc.stdout is not None
            result.append(self.proc.stdout.readline())

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        return bool(result) and result[0].strip() == b"ready"

    def error_tail(self, lines: int = 8) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the trainers (idempotent): close their stdin, SIGTERM, and SIGKILL if they linger."""
        p = self.proc
        if p.stdin is not None and not p.stdin.closed:
            with contextlib.suppress(BrokenPipeError):  # already gone: nothing to tell it
                p.stdin.close()
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p.stdout is not None:
            p.stdout.close()
        return p.returncode


def _prepare_dir(path: str | None) -> tuple[Path, bool] | str:
    """The logdir and whether to remove it afterwards, or an error message."""
    if path is None:
        return Path(tempfile.mkdtemp(prefix="tbpeek-demo-")), True
    d = Path(path).expanduser()
    if d.exists() and not d.is_dir():
        return f"--dir {path}: not a directory; give a new or empty directory"
    if d.is_dir() and any(d.iterdir()):
        return f"--dir {path}: not empty; give a new or empty directory (the demo writes fresh runs)"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"--dir {path}: cannot create it ({e.strerror})"
    return d, False


def run(args: argparse.Namespace, viewer: Callable[[list[str], argparse.Namespace], int] | None = None) -> int:
    """Start the trainers, open the app on their logdir, stop the trainers when it closes.

    Args:
        args: parsed options (``dir``, ``speed`` and the watch options).
        viewer: what to show the runs with; default ``tui.app.cli.run_watch`` (tests pass a stub).
    """
    speed = getattr(args, "speed", 1.0)
    if not (isinstance(speed, (int, float)) and 0 < speed <= MAX_SPEED):
        print(f"tbpeek demo: --speed must be more than 0 and at most {MAX_SPEED}, not {speed:g}", file=sys.stderr)
        return EXIT_USAGE
    from tui.app.cli import check_options  # lazy: the app's module is loaded only for `demo`

    problem = check_options(args)  # before anything starts: `--every 2x` starts no trainers
    if problem is not None:
        print(f"tbpeek demo: {safe_terminal(problem)}", file=sys.stderr)
        return EXIT_USAGE
    prepared = _prepare_dir(getattr(args, "dir", None))
    if isinstance(prepared, str):
        print(f"tbpeek demo: {safe_terminal(prepared)}", file=sys.stderr)
        return EXIT_USAGE
    logdir, temporary = prepared
    log_path = Path(tempfile.gettempdir()) / f"tbpeek-demo-{os.getpid()}.log"
    trainers: Trainers | None = None
    try:
        print(f"tbpeek demo: simulated trainers are writing to {safe_terminal(str(logdir))}", file=sys.stderr)
        trainers = Trainers(logdir, speed=speed, prefill=getattr(args, "prefill", None), log_path=log_path,
                            remove_on_exit=temporary)
        if not trainers.wait_ready():
            tail = trainers.error_tail()
            print("tbpeek demo: the simulated trainers did not start"
                  + (f":\n{tail}" if tail else f" (see {log_path})"), file=sys.stderr)
            return EXIT_PROBLEM
        if viewer is None:
            from tui.app.cli import run_watch  # lazy: Textual loads only now

            viewer = run_watch
        return int(viewer([str(logdir)], args) or 0)
    finally:
        if trainers is not None:
            trainers.stop()
        if temporary:
            try:  # normally the trainers removed it on their way out
                shutil.rmtree(logdir)
            except FileNotFoundError:
                pass
            except OSError as e:
                print(f"tbpeek demo: could not remove {safe_terminal(str(logdir))}: {e.strerror or e}", file=sys.stderr)
        else:
            kept = safe_terminal(str(logdir))
            print(f"tbpeek demo: the runs are kept in {kept}  (watch them again: tbpeek {kept})",
                  file=sys.stderr)
        try:
            if log_path.stat().st_size == 0:
                log_path.unlink()
        except FileNotFoundError:
            pass  # the trainers removed their empty log themselves
