"""Live latency: from a writer's flush to tbpeek's live session telling of the point.

    .venv/bin/python bench/live.py                 # inotify and polling, 100 appends each
    .venv/bin/python bench/live.py --appends 300 --runs 200 --live 20 --poll 0.5

The pipeline measured is the app's own, :class:`tui.live.session.LiveSession`: its watcher
marks event files dirty and wakes its one ingest loop (run here in a thread, as the app's
worker does), which reads the new bytes into a :class:`tui.store.Store`, judges the run and
emits ``RunsChanged``. A writer (tensorboard's ``RecordWriter``) appends one scalar and
flushes; the clock runs from just before ``flush()`` (the record sits in the file's buffer
until then) to the ``RunsChanged`` that follows the point reaching the store (read and judged:
what the app redraws from). Appends are spaced by a random pause so they fall at random phases of the polling clock.
Around the target run sit ``--runs`` quiet runs and ``--live`` runs that append every second,
so the watcher and the ingestor have company.

Output: median, p95 and max per mode, and each as a ratio of the target (median <= 0.5 s with
inotify, ISSUE 4). Numbers from a shared machine are noisy: compare ratios, run twice.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from tui.ingest import Ingestor
from tui.live.events import RunsChanged
from tui.live.session import LiveSession
from tui.store import Store

TARGET_MEDIAN = 0.5  # seconds, inotify (issue 4)
TAG = "bench/x"


def _event(step: int, value: float) -> event_pb2.Event:
    return event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=TAG, simple_value=value)]))


class _Writer:
    """tensorboard's record writer on a buffered file, written synchronously.

    (``EventFileWriter`` writes from a background thread, so bytes may reach the file before
    ``flush()`` is even called: the clock would start late and flatter the result.)
    """

    def __init__(self, d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        self._f = open(d / f"events.out.tfevents.{int(time.time())}.bench", "wb")  # noqa: SIM115 - closed by close()
        self._w = RecordWriter(self._f)
        self._w.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self._f.flush()

    def add_event(self, ev: event_pb2.Event) -> None:
        self._w.write(ev.SerializeToString())  # stays in the file's buffer until flush()

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _writer(d: Path) -> _Writer:
    return _Writer(d)


class _Company(threading.Thread):
    """Other runs that append one point a second each, flushing like a trainer."""

    def __init__(self, writers: list[_Writer]) -> None:
        super().__init__(daemon=True, name="bench-company")
        self.writers, self.stop = writers, threading.Event()

    def run(self) -> None:
        step = 1
        while not self.stop.wait(1.0):
            for w in self.writers:
                w.add_event(_event(step, random.random()))
                w.flush()
            step += 1


def measure(mode: str, appends: int, runs: int, live: int, poll: float) -> list[float]:
    """Latencies (seconds) of `appends` flushes in one mode ("inotify" or "polling")."""
    with tempfile.TemporaryDirectory(prefix="tbpeek-bench-") as tmp:
        root = Path(tmp)
        for i in range(runs):
            w = _writer(root / f"quiet_{i:04d}")
            for s in range(20):
                w.add_event(_event(s, float(s)))
            w.close()
        company = [_writer(root / f"live_{i:03d}") for i in range(live)]
        target = _writer(root / "target")
        target.add_event(_event(0, 0.0))
        target.flush()

        store = Store()
        cond = threading.Condition()
        seen: dict[int, float] = {}  # number of target points -> when the session first told of them
        run_name: list[str] = []

        def count() -> int:
            if not run_name:
                names = [r for r in store.runs() if r.endswith("target")]
                if not names:
                    return 0
                run_name.append(names[0])
            return len(store.series(run_name[0], TAG))

        def emit(event: object) -> None:  # the ingest thread, after reading and judging
            if isinstance(event, RunsChanged):
                n, now = count(), time.perf_counter()
                with cond:
                    seen.setdefault(n, now)
                    cond.notify_all()

        session = LiveSession(store, Ingestor(store, [str(root)]), logdirs=[str(root)],
                              poll=poll if mode == "polling" else None, emit=emit)
        session.start_watching()  # before the first read: nothing written in between is missed
        reader = threading.Thread(target=session.ingest_loop, daemon=True, name="bench-ingest")
        reader.start()
        watcher = session.watcher
        if mode == "inotify" and (watcher is None or watcher.mode != "inotify"):
            session.stop()
            raise SystemExit(f"inotify unavailable here: {watcher.fallback_reason if watcher else 'no watcher'}")
        mover = _Company(company)
        mover.start()
        latencies: list[float] = []
        try:
            base = count()
            for i in range(1, appends + 1):
                time.sleep(random.uniform(0.0, 0.1 if mode == "inotify" else poll))
                target.add_event(_event(i, float(i)))
                t0 = time.perf_counter()  # the clock starts before the flush's write(2)
                target.flush()
                want = base + i
                with cond:
                    ok = cond.wait_for(lambda want=want: max(seen, default=0) >= want, timeout=30)
                    t1 = min(t for n, t in seen.items() if n >= want) if ok else 0.0
                if not ok:
                    raise SystemExit(f"{mode}: point {i} never reached the store in 30 s")
                latencies.append(max(0.0, t1 - t0))
        finally:
            mover.stop.set()
            mover.join()
            session.stop()
            reader.join()
            for w in [*company, target]:
                w.close()
        return latencies


def _report(mode: str, lat: list[float], target: float, what: str) -> None:
    lat = sorted(lat)
    med = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    line = f"{mode:<22} n={len(lat):<4} median {med * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {lat[-1] * 1000:7.1f} ms"
    line += f"   median/{what} {med / target:.2f}x" + (f" ({'ok' if med <= target else 'OVER'})" if what == "target" else "")
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--appends", type=int, default=100)
    p.add_argument("--runs", type=int, default=50, help="quiet runs around the target")
    p.add_argument("--live", type=int, default=10, help="runs appending once a second")
    p.add_argument("--poll", type=float, default=1.0, help="polling interval (s) for the polling mode")
    p.add_argument("--modes", default="inotify,polling")
    args = p.parse_args(argv)
    print(f"flush -> RunsChanged (read and judged) latency: {args.appends} appends, {args.runs} quiet + {args.live} live runs", flush=True)
    for mode in args.modes.split(","):
        lat = measure(mode, args.appends, args.runs, args.live, args.poll)
        label = mode if mode == "inotify" else f"polling ({args.poll:g} s)"
        if mode == "inotify":
            _report(label, lat, TARGET_MEDIAN, "target")
        else:
            _report(label, lat, args.poll, "interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
