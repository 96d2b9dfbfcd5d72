"""Benchmark ``tbpeek status`` on 100 runs: cold, warm, and warm with new data.

Each case runs ``python -m tui status LOGDIR`` as a new process (as tmux does) several times
and reports the median wall time, and its ratio to ``python -c "import tui.cli"`` (the cost of
starting tbpeek at all), because absolute times depend on the machine and its load.

Cases:
- cold: no cache (first call ever): read every event file, judge every run.
- warm: nothing changed since the last call: the answer comes from the cache (stats only).
- warm+new: 10 runs got new records: the previous answer is printed at once and a background
  process reads the new bytes (its time is not in the figure; it is waited for between calls).
- warm+new --wait: the same, but the call reads the new bytes and re-judges before answering.

With ``--sweep``, the runs are instead the 3 000-run Stable-Baselines3 sweep of
``bench/ingest.py`` set (d) (3 000 runs x 8 tags x 61 points, one scalar per event; its
generator, cached in ``--sweep-data``), and "new data" appends 5 points to 10 runs. Its runs
were written in 2023, so they have all *ended*: status counts them and judges none. With
``--live``, a config sets ``[health] ended_after`` to ten years, so every run is live and
judged (the sweep as it is while it trains). Targets (issue 13): cold <= 1 s, warm <= 200 ms.

Usage: ``python bench/status.py [--runs 100] [--points 1000] [--repeat 7] [--data DIR]``
       ``python bench/status.py --sweep [--live] [--repeat 3] [--sweep-data DIR]``
"""

from __future__ import annotations

import argparse
import fcntl
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: E402

TAGS = ("losses/entropy", "charts/episodic_return", "charts/SPS", "losses/value_loss", "losses/approx_kl")


def _event(step: int, wall: float, values: dict[str, float]) -> bytes:
    summ = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values.items()])
    return event_pb2.Event(wall_time=wall, step=step, summary=summ).SerializeToString()


def write_points(path: Path, run: int, start: int, n: int, t_end: float) -> None:
    """Append `n` records (one per step, all tags) to an event file, ending at `t_end`."""
    with open(path, "ab") as f:
        w = RecordWriter(f)
        if start == 0:
            w.write(event_pb2.Event(wall_time=t_end - n * 10, file_version="brain.Event:2").SerializeToString())
        for i in range(start, start + n):
            wall = t_end - (start + n - i) * 10
            w.write(_event(i * 2048, wall, {
                TAGS[0]: math.log(6) * (0.55 + 0.45 * math.exp(-i / (200 + run))) + 0.01 * math.sin(i),
                TAGS[1]: i / 50 + math.sin(i + run),
                TAGS[2]: 2000 + 20 * math.sin(i / 7),
                TAGS[3]: 1 / (1 + i / 20),
                TAGS[4]: 0.01 + 0.001 * math.sin(i),
            }))


def make_runs(root: Path, runs: int, points: int) -> list[Path]:
    files = []
    now = time.time()
    for r in range(runs):
        d = root / f"ppo-seed{r:03d}"
        d.mkdir(parents=True, exist_ok=True)
        f = d / f"events.out.tfevents.{int(now)}.bench.{r}"
        write_points(f, r, 0, points, now)
        files.append(f)
    return files


def sweep_runs(root: Path) -> tuple[Path, list[Path]]:
    """bench/ingest.py's set (d), generated once under `root`: (logdir, its event files)."""
    sys.path.insert(0, str(REPO / "bench"))
    from ingest import datasets  # the set's own generator

    logdir = datasets(root, 1.0, ["d"])["d"][0]
    return logdir, sorted(logdir.rglob("*tfevents*"))


def append_sweep_points(path: Path, start: int, n: int) -> None:
    """Append `n` SB3-style dumps (8 tags, one scalar per event) after point `start`, written now."""
    sys.path.insert(0, str(REPO / "bench"))
    from ingest import SB3_TAGS

    now = time.time()
    with open(path, "ab") as f:
        w = RecordWriter(f)
        for k in range(start, start + n):
            for j, tag in enumerate(SB3_TAGS):
                w.write(_event(2048 * (k + 1), now - (start + n - k), {tag: math.sin(k + j)}))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO)
    dt = time.perf_counter() - t
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({out.returncode}):\n{out.stderr}")
    return dt, out.stdout.strip()


def wait_for_refresher(state: Path) -> None:
    """Block until no background refresh holds a cache lock."""
    time.sleep(0.2)  # let a just-started refresher take its lock
    for lock in state.glob("status-*.lock"):
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--points", type=int, default=1000, help="records per run (5 tags each)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--data", help="keep the generated runs here (default: a temporary directory)")
    ap.add_argument("--sweep", action="store_true", help="bench/ingest.py's 3 000-run sweep, set (d), instead")
    ap.add_argument("--sweep-data", type=Path, default=Path(tempfile.gettempdir()) / "tbpeek-bench",
                    help="where the sweep is generated once (bench/ingest.py's --data)")
    ap.add_argument("--live", action="store_true", help="with --sweep: every run counts as live (judged)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tbpeek-bench-status-"))
    data = Path(a.data) if a.data else tmp / "runs"
    state = tmp / "state"
    sys.path.insert(0, str(REPO / "bench"))
    from ingest import cli_env  # tbpeek's bytecode compiled, as pip leaves an install

    env = cli_env({"TBPEEK_STATE_DIR": str(state), "TBPEEK_CONFIG_DIR": str(tmp / "config"),
                   "PYTHONPATH": str(REPO)})
    try:
        t = time.perf_counter()
        if a.sweep:
            cached, _ = sweep_runs(a.sweep_data)
            data = tmp / "sweep"  # a copy: new data is appended to it
            shutil.copytree(cached, data)
            files = sorted(data.rglob("*tfevents*"))
            what = "bench/ingest.py set (d): 3 000 runs x 8 tags x 61 points (SB3 sweep)"
            if a.live:
                (tmp / "config").mkdir(parents=True, exist_ok=True)
                (tmp / "config" / "config.toml").write_text('[health]\nended_after = "3650d"\n')
                what += ", every run live (judged)"
            else:
                what += ", every run ended (counted, not judged)"
        else:
            files = make_runs(data, a.runs, a.points)
            what = f"{a.runs} runs x {a.points} records x {len(TAGS)} tags"
        size = sum(f.stat().st_size for f in files)
        print(f"{what}, {size / 1e6:.1f} MB (ready in {time.perf_counter() - t:.1f} s); {a.repeat} calls per case; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        py = [sys.executable, "-m", "tui"]
        status = [*py, "status", str(data)]
        results: dict[str, list[float]] = {k: [] for k in ("reference", "cold", "warm", "warm+new", "warm+new --wait")}
        line = ""
        for _ in range(a.repeat):
            results["reference"].append(timed([sys.executable, "-c", "import tui.cli"], env)[0])
        for _ in range(a.repeat):
            shutil.rmtree(state, ignore_errors=True)
            dt, line = timed(status, env)
            results["cold"].append(dt)
            wait_for_refresher(state)  # the state is written after the answer, by a child
        for _ in range(a.repeat):
            results["warm"].append(timed(status, env)[0])
        added = 61 if a.sweep else a.points
        for wait in (False, True):
            key = "warm+new --wait" if wait else "warm+new"
            for _ in range(a.repeat):
                now = time.time()
                for r, f in enumerate(files[:10]):
                    if a.sweep:
                        append_sweep_points(f, added, 5)
                    else:
                        write_points(f, r, added, 5, now)
                added += 5
                dt, line = timed([*status, "--wait"] if wait else status, env)
                results[key].append(dt)
                wait_for_refresher(state)
        ref = statistics.median(results["reference"])
        print(f"\n{'case':<18} {'median':>9} {'vs start':>13}   (min .. max)")
        for k, v in results.items():
            m = statistics.median(v)
            print(f"{k:<18} {m * 1000:>7.0f}ms {m / ref:>12.2f}x   ({min(v) * 1000:.0f} .. {max(v) * 1000:.0f} ms)")
        print(f"\nlast line: {line}")
        if a.sweep:
            cold, warm = statistics.median(results["cold"]), statistics.median(results["warm"])
            print(f"targets (issue 13): cold {cold:.2f} s (<= 1 s: {'met' if cold <= 1 else 'NOT met'}), "
                  f"warm {warm * 1000:.0f} ms (<= 200 ms: {'met' if warm <= 0.2 else 'NOT met'})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
