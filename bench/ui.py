"""The TUI's costs: idle CPU with many unchanging runs, keypress→redraw latency with many live runs.

    .venv/bin/python bench/ui.py                      # 100 idle runs, 200 live runs
    .venv/bin/python bench/ui.py --idle-runs 100 --live-runs 200 --seconds 20 --presses 100

Both run the real app (`tui.app.app.make_app` on real event files, the real watcher and
ingest worker) under Textual's headless driver, which composes and renders every frame as a
terminal would, minus the write to a tty.

1. **Idle CPU**: ``--idle-runs`` runs that don't change. After the first read has settled,
   the process CPU time (all threads) over ``--seconds`` wall seconds, as a % of one core. The
   reference is a bare Textual app (a Header, a Footer and a DataTable with as many rows) over
   the same time: ``ratio`` says what tbpeek adds. Target: ≤ 2 % of one core.
2. **Keypress → redraw**: ``--live-runs`` runs, each written a point a second by a background
   writer (tfrecord appends + flush, like a trainer), so the watcher, the ingest worker and
   the redraw timer are all busy. Each sample is the time from a ``j``/``k`` key press to the
   first composed frame that shows the moved cursor (the frame the driver would write to the
   terminal). Reference: the same presses with the writers stopped. Target ≤ 100 ms.

Numbers on a shared machine are noisy; compare ratios and run twice.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from tui.app.app import AppOptions, make_app

TAGS = ("losses/entropy", "charts/episodic_return", "charts/SPS", "losses/value_loss")
IDLE_TARGET = 2.0  # % of one core
REDRAW_TARGET = 0.100  # seconds


def _event(step: int, wall: float, values: dict[str, float]) -> bytes:
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values.items()])).SerializeToString()


class RunFile:
    """One run's event file, appended to with tensorboard's record framing."""

    def __init__(self, root: Path, name: str) -> None:
        d = root / name
        d.mkdir(parents=True)
        self.f = open(d / f"events.out.tfevents.{int(time.time())}.bench", "ab")  # noqa: SIM115 - closed by close()
        self.rw = RecordWriter(self.f)
        self.rw.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self.step = 0

    def append(self, n: int = 1, wall: float | None = None) -> None:
        for _ in range(n):
            self.step += 1
            s = self.step
            self.rw.write(_event(s * 2048, wall if wall is not None else time.time(), {
                "losses/entropy": 1.7 * math.exp(-s / 400) + 0.3, "charts/episodic_return": s / 10,
                "charts/SPS": 2000.0, "losses/value_loss": 1 / (1 + s / 50)}))
        self.rw.flush()

    def close(self) -> None:
        self.f.close()


def make_runs(root: Path, n: int, points: int) -> list[RunFile]:
    runs = [RunFile(root, f"run-{i:04d}") for i in range(n)]
    t0 = time.time() - points * 10
    for r in runs:
        for k in range(points):
            r.append(1, wall=t0 + k * 10)
    return runs


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _settle(app, pilot, runs: int, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        await pilot.pause(0.2)
        if len(app.judge.views()) >= runs and app.screen.query_one("RunTable").row_count >= runs:
            return
    raise SystemExit(f"the app did not show {runs} runs within {timeout:.0f} s")


async def idle_cpu(root: Path, runs: int, seconds: float) -> float:
    app = make_app([str(root)], AppOptions())
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot, runs)
        await asyncio.sleep(3.0)  # let the first judgement and redraws finish
        c0, t0 = cpu(), time.monotonic()
        await asyncio.sleep(seconds)
        c1, t1 = cpu(), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)


async def reference_idle_cpu(rows: int, seconds: float) -> float:
    from textual.app import App
    from textual.widgets import DataTable, Footer, Header

    class Bare(App):
        def compose(self):
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self):
            t = self.query_one(DataTable)
            for c in ("run", "state", "health", "entropy", "reward", "steps/s", "step", "age"):
                t.add_column(c)
            for i in range(rows):
                t.add_row(f"run-{i}", "live", "ok", "▁▂▃▄▅▆▇█" * 2, "▁▂▃▄▅▆▇█" * 2, "▄" * 16, "1000", "1s")

    app = Bare()
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(3.0)
        c0, t0 = cpu(), time.monotonic()
        await asyncio.sleep(seconds)
        c1, t1 = cpu(), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)


class Company(threading.Thread):
    """Appends one point a second to every run, spread over the second."""

    def __init__(self, runs: list[RunFile]) -> None:
        super().__init__(daemon=True, name="bench-writers")
        self.runs, self.stop = runs, threading.Event()

    def run(self) -> None:
        gap = 1.0 / max(1, len(self.runs))
        while not self.stop.is_set():
            for r in self.runs:
                if self.stop.is_set():
                    return
                r.append(1)
                time.sleep(gap)


async def redraw_latency(root: Path, runs: list[RunFile], presses: int, live: bool,
                         refresh: float | None = None) -> list[float]:
    app = make_app([str(root)], AppOptions() if refresh is None else AppOptions(refresh=refresh))
    company = Company(runs) if live else None
    samples: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot, len(runs))
        if company is not None:
            company.start()
            await asyncio.sleep(3.0)  # the watcher and worker are in full swing
        table = app.screen.query_one("RunTable")
        # Every composed frame goes through App._display (which, headless, skips only the
        # write to the tty): time the first frame after the press that shows the moved cursor.
        frames: list[tuple[float, int]] = []
        real_display = app._display  # bench only: the app itself uses no private Textual API

        def display(screen, renderable) -> None:
            real_display(screen, renderable)
            if renderable is not None:
                frames.append((time.perf_counter(), table.cursor_row))

        app._display = display
        for i in range(presses):
            key = "j" if (i // 10) % 2 == 0 else "k"
            before = table.cursor_row
            frames.clear()
            t0 = time.perf_counter()
            await pilot.press(key)
            deadline = t0 + 2.0
            while time.perf_counter() < deadline and not any(row != before for _, row in frames):
                await asyncio.sleep(0.0005)
            drawn = [t for t, row in frames if row != before]
            if not drawn:
                raise SystemExit(f"press {i} ({key}): no frame with the moved cursor within 2 s")
            samples.append(drawn[0] - t0)
            await asyncio.sleep(0.05)  # a person presses keys, they don't flood them
        if company is not None:
            company.stop.set()
            company.join()
        print(f"  ({'live' if live else 'quiet'}: {table.rebuilds} table rebuilds, "
              f"store version {app.store.version})", file=sys.stderr)
    return samples


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--idle-runs", type=int, default=100)
    p.add_argument("--live-runs", type=int, default=200)
    p.add_argument("--points", type=int, default=300, help="points per run written before the app starts")
    p.add_argument("--seconds", type=float, default=20.0, help="idle CPU measuring window")
    p.add_argument("--presses", type=int, default=100)
    p.add_argument("--only", choices=("idle", "redraw"))
    p.add_argument("--refresh", type=float, help="the app's redraw interval (default: the app's own)")
    a = p.parse_args()
    if a.only in (None, "idle"):
        with tempfile.TemporaryDirectory(prefix="tbpeek-bench-idle-") as d:
            runs = make_runs(Path(d), a.idle_runs, a.points)
            for r in runs:
                r.close()
            ours = asyncio.run(idle_cpu(Path(d), a.idle_runs, a.seconds))
        ref = asyncio.run(reference_idle_cpu(a.idle_runs, a.seconds))
        ratio = f"{ours / ref:.1f}" if ref >= 0.05 else "n/a (reference ~0)"
        print(f"idle CPU, {a.idle_runs} unchanging runs, {a.seconds:g} s: tbpeek {ours:.2f} % of one core; "
              f"bare Textual DataTable app {ref:.2f} %; ratio {ratio}; "
              f"target ≤ {IDLE_TARGET:g} % ({'met' if ours <= IDLE_TARGET else 'NOT met'}); "
              f"vs target {ours / IDLE_TARGET:.2f}")
    if a.only in (None, "redraw"):
        with tempfile.TemporaryDirectory(prefix="tbpeek-bench-live-") as d:
            runs = make_runs(Path(d), a.live_runs, a.points)
            quiet = asyncio.run(redraw_latency(Path(d), runs, a.presses, live=False, refresh=a.refresh))
            busy = asyncio.run(redraw_latency(Path(d), runs, a.presses, live=True, refresh=a.refresh))
            for r in runs:
                r.close()
        for label, xs in (("writers stopped", quiet), (f"{a.live_runs} live runs", busy)):
            print(f"keypress→redraw, {label}: median {statistics.median(xs) * 1e3:.1f} ms, "
                  f"p95 {pct(xs, 0.95) * 1e3:.1f} ms, max {max(xs) * 1e3:.1f} ms (n={len(xs)})")
        med = statistics.median(busy)
        print(f"live/quiet median ratio {med / max(statistics.median(quiet), 1e-9):.2f}; "
              f"target median ≤ {REDRAW_TARGET * 1e3:.0f} ms ({'met' if med <= REDRAW_TARGET else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
