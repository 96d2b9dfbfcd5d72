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

With ``--sweep``, the same app on bench/ingest.py's sweep (set (d): 3 000 runs x 8 tags x 61
points, Stable-Baselines3's layout; ``--sweep-set e``: 30 000 runs x 8 x 20), its generator
and its cache (``--sweep-data``). Targets (issue 13):

3. **First rows**: from ``make_app`` to the first composed frame whose run table has rows
   (target ≤ 1 s), and to the frame with every run; the loading messages the status line
   showed meanwhile ("reading 1 200 of 3 000 runs"); peak RSS of the process (goal ≤ 1.5 GB
   at 30 000 runs). The import of the app (``python -c "import tui.app.app"``, a whole process)
   is reported beside it: a person also waits for that. With 30 000 runs, ``End`` and
   ``PageUp`` are pressed to show that it scrolls.
4. **Idle CPU** while watching the sweep (nothing changes), target ≤ 2 % of one core.
5. **Keypress → redraw** on the sweep (a copy), with 30 of its runs written a dump a second
   (8 tags, SB3 style) so the watcher and worker are busy; target p95 ≤ 50 ms.

    .venv/bin/python bench/ui.py --sweep [--sweep-set d|e] [--sweep-data DIR] [--layout sb3|cleanrl]

``--layout cleanrl`` reads the same event files laid out as CleanRL writes a sweep, every run
in one ``runs/`` directory (hard links made once beside the set): thousands of runs share one
parent directory.

Numbers on a shared machine are noisy; compare ratios and run twice.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import shutil
import statistics
import subprocess
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
SWEEP_REDRAW_P95 = 0.050  # seconds, on the sweep
FIRST_ROWS_TARGET = 1.0  # seconds


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
        loading = getattr(app.session, "loading", None)  # the first read in parts, where the app has it
        if (loading is None and len(app.judge.views()) >= runs
                and app.screen.query_one("RunTable").row_count >= runs):
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


class SweepWriter:
    """Appends SB3-style dumps (8 tags, one scalar per event, written now) to a sweep's run."""

    def __init__(self, path: Path, step: int) -> None:
        from ingest import SB3_TAGS

        self.tags = SB3_TAGS
        self.f = open(path, "ab")  # noqa: SIM115 - closed by close()
        self.rw = RecordWriter(self.f)
        self.step = step

    def append(self, n: int = 1) -> None:
        for _ in range(n):
            self.step += 2048
            now = time.time()
            for j, tag in enumerate(self.tags):
                self.rw.write(_event(self.step, now, {tag: math.sin(self.step / 2048 + j)}))
        self.rw.flush()

    def close(self) -> None:
        self.f.close()


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


async def redraw_latency(root: Path, runs: list[RunFile] | list[SweepWriter], presses: int, live: bool,
                         refresh: float | None = None, expect: int | None = None) -> list[float]:
    app = make_app([str(root)], AppOptions() if refresh is None else AppOptions(refresh=refresh))
    company = Company(runs) if live else None  # type: ignore[arg-type]
    samples: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot, len(runs) if expect is None else expect, timeout=600.0)
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
            before = table.cursor_row
            key = "j" if (i // 10) % 2 == 0 else "k"
            # Rows may reorder meanwhile (the cursor keeps its run): never press into an end.
            key = "j" if before == 0 else "k" if before >= table.row_count - 1 else key
            frames.clear()
            t0 = time.perf_counter()
            await pilot.press(key)
            deadline = t0 + 2.0
            while time.perf_counter() < deadline and not any(row != before for _, row in frames):
                await asyncio.sleep(0.0005)
            drawn = [t for t, row in frames if row != before]
            if not drawn:
                raise SystemExit(f"press {i} ({key}): no frame with the moved cursor within 2 s (cursor at row "
                                 f"{before}, then {table.cursor_row}; {len(frames)} frames meanwhile)")
            samples.append(drawn[0] - t0)
            await asyncio.sleep(0.05)  # a person presses keys, they don't flood them
        if company is not None:
            company.stop.set()
            company.join()
        print(f"  ({'live' if live else 'quiet'}: {table.reorders} reorders, {table.rows_built} rows built, "
              f"store version {app.store.version})", file=sys.stderr)
    return samples


def _sweep(root: Path, name: str, layout: str = "sb3") -> tuple[Path, int, int]:
    """bench/ingest.py's set `name`, generated once under `root`: (logdir, runs, points per tag).
    `layout` "cleanrl": the same event files, every run in one directory (``runs/<name>``, as
    CleanRL writes them), hard links made once beside the set (a copy where links fail)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ingest import SB3_TAGS, datasets

    logdir, points, _ = datasets(root, 1.0, [name])[name]
    runs = sorted(logdir.glob("*/PPO_1"))
    per_tag = points // (len(runs) * len(SB3_TAGS))
    if layout != "cleanrl":
        return logdir, len(runs), per_tag
    flat = logdir.parent / f"{logdir.name}-cleanrl" / "runs"
    if not (flat.parent / "done").exists():
        shutil.rmtree(flat.parent, ignore_errors=True)
        for run in runs:
            (flat / run.parent.name).mkdir(parents=True)
            for f in run.iterdir():
                try:
                    (flat / run.parent.name / f.name).hardlink_to(f)
                except OSError:
                    shutil.copy2(f, flat / run.parent.name / f.name)
        (flat.parent / "done").touch()
    return flat, len(runs), per_tag


async def first_rows(root: Path, runs: int, scroll: bool) -> dict[str, object]:
    """Start the app on `root`: when the first rows and all rows are on screen, what the status
    line said meanwhile, and (with `scroll`) that End / PageUp move the cursor and redraw."""
    from textual.widgets import Static

    t0 = time.perf_counter()
    app = make_app([str(root)], AppOptions())
    frames: list[tuple[float, int]] = []
    said: list[tuple[float, str]] = []
    shown: list[tuple[float, int]] = []  # (seconds, rows in the table) per frame
    out: dict[str, object] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        real_display = app._display  # bench only: the app itself uses no private Textual API

        def display(screen, renderable) -> None:
            real_display(screen, renderable)
            if renderable is None:
                return
            now = time.perf_counter() - t0
            try:
                table = app.screen.query_one("RunTable")
                text = str(app.screen.query_one("#status", Static).render())
            except Exception:  # another screen (the gate) or not composed yet
                return
            loading = "reading" in text or "looking" in text
            # All rows: every run on screen and read (rows come as soon as runs are found).
            frames.append((now, table.row_count if not loading else min(table.row_count, runs - 1)))
            shown.append((now, table.row_count))
            if not said or said[-1][1] != text:
                said.append((now, text))

        app._display = display
        end = time.monotonic() + 900.0
        while time.monotonic() < end:
            await pilot.pause(0.05)
            if frames and frames[-1][1] >= runs:
                break
        with_rows = [t for t, n in shown if n > 0]
        out["first_rows"] = with_rows[0] if with_rows else None
        out["all_rows"] = next((t for t, n in frames if n >= runs), None)
        out["said"] = said
        if scroll:
            table = app.screen.query_one("RunTable")
            moves = []
            for key in ("end", "pageup", "pageup", "home"):
                before = table.cursor_row
                await pilot.press(key)
                await pilot.pause(0.2)
                moves.append((key, before, table.cursor_row))
            out["scroll"] = moves
            out["sort_filter"] = await _sort_and_filter(app, pilot, table, runs)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


async def _sort_and_filter(app, pilot, table, runs: int) -> list[str]:
    """Sort (`o`, to "name") and filter (`/lr000`, then esc) with every run loaded: how long
    until the table shows the new order / rows."""
    said = []
    t = time.perf_counter()
    await pilot.press("o")
    while table.row_keys != sorted(table.row_keys) and time.perf_counter() - t < 60:
        await pilot.pause(0.01)
    said.append(f"sort by name {time.perf_counter() - t:.2f} s (sorted: {table.row_keys == sorted(table.row_keys)})")
    t = time.perf_counter()
    await pilot.press("slash", *"lr000", "enter")
    while table.row_count == runs and time.perf_counter() - t < 60:
        await pilot.pause(0.01)
    said.append(f"filter /lr000/ {time.perf_counter() - t:.2f} s ({table.row_count} rows)")
    t = time.perf_counter()
    await pilot.press("escape")
    while table.row_count != runs and time.perf_counter() - t < 60:
        await pilot.pause(0.01)
    said.append(f"filter cleared {time.perf_counter() - t:.2f} s ({table.row_count} rows)")
    return said


def _loading_said(said: list[tuple[float, str]]) -> list[str]:
    return [f"{t:.2f}s '{text[:60]}'" for t, text in said if "reading" in text or "looking" in text]


def sweep_main(a: argparse.Namespace) -> int:
    root, runs, points = _sweep(a.sweep_data, a.sweep_set, a.layout)
    print(f"sweep: bench/ingest.py set ({a.sweep_set}): {runs} runs x 8 tags x {points} points, "
          f"{a.layout} layout, {root}")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tui.app.app"], check=True,
                   cwd=Path(__file__).resolve().parents[1])
    imp = time.perf_counter() - t
    res = asyncio.run(first_rows(root, runs, scroll=a.sweep_set == "e"))
    fr, ar = res["first_rows"], res["all_rows"]
    fr_s = "never" if fr is None else f"{fr:.2f} s"
    print(f"start: 'import tui.app.app' (whole process) {imp:.2f} s; first rows on screen {fr_s} after make_app"
          f" (target ≤ {FIRST_ROWS_TARGET:g} s: "
          f"{'met' if isinstance(fr, float) and fr <= FIRST_ROWS_TARGET else 'NOT met'}); "
          f"all {runs} rows {'never' if ar is None else f'{ar:.2f} s'}; peak RSS {res['rss_mb']:.0f} MB")
    loading = _loading_said(res["said"])  # type: ignore[arg-type]
    print(f"  loading messages in the status line: {len(loading)}"
          + ("" if not loading else f": {loading[0]} .. {loading[-1]}"))
    if "scroll" in res:
        print("  scrolling: " + ", ".join(f"{k} {b}->{e}" for k, b, e in res["scroll"]))  # type: ignore[union-attr]
        print("  " + "; ".join(res["sort_filter"]))  # type: ignore[arg-type]
    if a.sweep_set == "e":
        return 0
    if a.only in (None, "idle"):
        ours = asyncio.run(idle_cpu(root, runs, a.seconds))
        print(f"idle CPU watching the {runs} runs, {a.seconds:g} s: {ours:.2f} % of one core "
              f"(target ≤ {IDLE_TARGET:g} %: {'met' if ours <= IDLE_TARGET else 'NOT met'})")
    if a.only in (None, "redraw"):
        with tempfile.TemporaryDirectory(prefix="tbpeek-bench-sweep-") as d:
            copy = Path(d) / "sweep"
            shutil.copytree(root, copy)
            files = sorted(copy.rglob("*tfevents*"))[:30]
            writers = [SweepWriter(f, 2048 * points) for f in files]
            quiet = asyncio.run(redraw_latency(copy, writers, a.presses, live=False, expect=runs))
            busy = asyncio.run(redraw_latency(copy, writers, a.presses, live=True, expect=runs))
            for w in writers:
                w.close()
        for label, xs in (("writers stopped", quiet), ("30 of the runs written a dump a second", busy)):
            print(f"keypress→redraw on the sweep, {label}: median {statistics.median(xs) * 1e3:.1f} ms, "
                  f"p95 {pct(xs, 0.95) * 1e3:.1f} ms, max {max(xs) * 1e3:.1f} ms (n={len(xs)})")
        p95 = pct(busy, 0.95)
        print(f"p95 {p95 * 1e3:.1f} ms (target ≤ {SWEEP_REDRAW_P95 * 1e3:.0f} ms: "
              f"{'met' if p95 <= SWEEP_REDRAW_P95 else 'NOT met'})")
    return 0


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
    p.add_argument("--sweep", action="store_true", help="the app on bench/ingest.py's sweep (see above)")
    p.add_argument("--sweep-set", choices=("d", "e"), default="d", help="d: 3 000 runs; e: 30 000 runs")
    p.add_argument("--sweep-data", type=Path, default=Path(tempfile.gettempdir()) / "tbpeek-bench",
                   help="where the sweep is generated once (bench/ingest.py's --data)")
    p.add_argument("--layout", choices=("sb3", "cleanrl"), default="sb3",
                   help="sb3: <exp>/PPO_1 (a directory per run's experiment); cleanrl: every run in runs/")
    a = p.parse_args()
    if a.sweep:
        return sweep_main(a)
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
