"""Simulated RL trainers for ``tbpeek demo``: real event files, written at a realistic pace.

Each trainer writes what a real library writes (tag names, sign conventions, cadence) with
tensorboard's own event writer, one event file per run directory:

============================  ==========  ========================================================
run                           library     what happens
============================  ==========  ========================================================
pong_ppo_healthy              SB3         entropy falls from ln 6 and flattens, reward climbs
breakout_a2c_collapse         CleanRL     entropy collapses to ~0 shortly after the demo starts;
                                          reward never rose
seaquest_ppo_pinned           SB3         entropy stays at ln 18 to 3 decimals; reward flat
spaceinvaders_ppo_fps_leak    CleanRL     each update takes a little longer: env steps/s decays
cartpole_ppo_stall            CleanRL     the trainer hung 100 s before the demo started
qbert_ppo_nan                 SB3         losses turn NaN shortly after the demo starts
============================  ==========  ========================================================

Curves are functions of *simulated* seconds since the run started (``speed`` × wall seconds);
events that the demo should show happening (the collapse, the NaN) are placed relative to the
moment the demo starts, so they happen live. A history of ``prefill`` wall seconds is written
at once on start (wall times in the past) so the screen is not empty and the health checks,
which need minutes of points, have them. The history is written one event per logging round
(all scalars in one ``Summary``, TF1 / baselines style: 8x fewer records, so the demo opens at
once); live rounds write one event per scalar, as PyTorch's ``SummaryWriter`` does for SB3 and
CleanRL. Both forms are what real files hold.

Run as a process (what ``tbpeek demo`` does): ``python -m tui.demo_trainers DIR [--speed X]``.
It prints ``ready`` once the history is written, then appends live until SIGTERM/SIGINT, until
its standard input closes (the parent died), or for ``--seconds``. Tests call :func:`simulate`.

This module is plain Python + numpy + tensorboard's writer: no Textual, no watchdog.
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import shutil
import signal
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RewardFn = Callable[["Moment", np.random.Generator], float]

DEFAULT_PREFILL = 900.0  # wall seconds of history written on start


@dataclass(frozen=True)
class Moment:
    """What a curve function gets: where the run is, and where the demo's 'now' started."""

    tau: float  # simulated seconds since the run started
    live: float  # simulated seconds since the demo started (negative in the pre-filled history)
    wall: float = 0.0  # wall seconds since the run started (whatever the speed)


@dataclass(frozen=True)
class Trainer:
    """One simulated training run.

    Attributes:
        name: run directory name.
        library: "sb3" or "cleanrl": decides tag names and sign conventions.
        env_id: the environment, written in the hyperparameters text.
        n_actions: size of the discrete action space (max entropy = ln n_actions).
        entropy: Moment, rng -> entropy as a fraction of ln(n_actions) (NaN allowed).
        reward: Moment, rng -> mean episode return.
        interval: simulated seconds between two logging rounds (one policy update).
        steps_per_update: env steps per update (the step axis is env steps, as in SB3/CleanRL).
        slowdown: Moment -> factor >= 1 by which an update takes longer (a leak).
        nan_from: live seconds from which the losses are NaN (None: never).
        stop_at: wall seconds relative to the demo's start at which the trainer hangs
            (None: never). Negative: it hung before the demo started.
    """

    name: str
    library: str
    env_id: str
    n_actions: int
    entropy: Callable[[Moment, np.random.Generator], float]
    reward: Callable[[Moment, np.random.Generator], float]
    interval: float = 1.0
    steps_per_update: int = 2048
    slowdown: Callable[[Moment], float] = lambda m: 1.0
    nan_from: float | None = None
    stop_at: float | None = None
    extra_hparams: dict[str, float] = field(default_factory=dict)

    @property
    def max_entropy(self) -> float:
        return math.log(self.n_actions)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _healthy_entropy(m: Moment, rng: np.random.Generator) -> float:
    return 0.62 + 0.37 * math.exp(-m.tau / 220.0) + float(rng.normal(0, 0.02))


def _climbing_reward(lo: float, hi: float, mid: float, width: float, noise: float) -> RewardFn:
    def f(m: Moment, rng: np.random.Generator) -> float:
        return min(hi, lo + (hi - lo) * _sigmoid((m.tau - mid) / width) + float(rng.normal(0, noise)))
    return f


def _collapse_entropy(m: Moment, rng: np.random.Generator) -> float:
    if m.live < 5.0:  # exploring normally, slowly narrowing
        return 0.97 - 0.12 * (1 - math.exp(-m.tau / 300.0)) + float(rng.normal(0, 0.02))
    # A too-large learning rate: the policy turns deterministic within ~15 s.
    level = 0.85 * math.exp(-(m.live - 5.0) / 4.0)
    return max(0.002, level + abs(float(rng.normal(0, 0.004))))


def _flat_reward(level: float, noise: float) -> RewardFn:
    return lambda m, rng: level + float(rng.normal(0, noise))


def _pinned_entropy(m: Moment, rng: np.random.Generator) -> float:
    return 1.0 - abs(float(rng.normal(0, 0.0015)))


def _leak(m: Moment) -> float:
    # Each update gets slower (a growing replay list, a leaking cache…): -35 % over 15 minutes.
    # On the wall clock whatever the speed: faster would look like a sudden drop, not a leak.
    return 1.0 + m.wall / 1700.0


def default_trainers() -> list[Trainer]:
    """The demo's runs, one per verdict worth seeing."""
    return [
        Trainer("pong_ppo_healthy", "sb3", "PongNoFrameskip-v4", 6, _healthy_entropy,
                _climbing_reward(-21.0, 20.0, 420.0, 90.0, 0.6), interval=1.0),
        Trainer("breakout_a2c_collapse", "cleanrl", "BreakoutNoFrameskip-v4", 4, _collapse_entropy,
                _flat_reward(1.4, 0.5), interval=1.0, steps_per_update=1280,
                extra_hparams={"learning_rate": 0.007}),
        Trainer("seaquest_ppo_pinned", "sb3", "SeaquestNoFrameskip-v4", 18, _pinned_entropy,
                _flat_reward(82.0, 3.0), interval=0.9, extra_hparams={"ent_coef": 0.5}),
        Trainer("spaceinvaders_ppo_fps_leak", "cleanrl", "SpaceInvadersNoFrameskip-v4", 6, _healthy_entropy,
                _climbing_reward(150.0, 600.0, 500.0, 150.0, 15.0), interval=1.0, slowdown=_leak),
        Trainer("cartpole_ppo_stall", "cleanrl", "CartPole-v1", 2, _healthy_entropy,
                _climbing_reward(20.0, 500.0, 200.0, 60.0, 8.0), interval=1.0, steps_per_update=512,
                stop_at=-100.0),
        Trainer("qbert_ppo_nan", "sb3", "QbertNoFrameskip-v4", 6, _healthy_entropy,
                _climbing_reward(150.0, 4000.0, 450.0, 120.0, 60.0), interval=1.2, nan_from=20.0),
    ]


# ---- writing ---------------------------------------------------------------------------------
def _scalar(tag: str, value: float, step: int, wall: float) -> Any:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    return event_pb2.Event(wall_time=wall, step=step,
                           summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]))


def _scalars(values: dict[str, float], step: int, wall: float) -> Any:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag=t, simple_value=float(v)) for t, v in values.items()]))


def _text(tag: str, text: str, step: int, wall: float) -> Any:
    """A text summary as TensorBoard's text plugin stores it (what ``add_text`` writes)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    t = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[text.encode()],
                               tensor_shape=tensor_shape_pb2.TensorShapeProto(
                                   dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]))
    v = summary_pb2.Summary.Value(tag=tag, tensor=t)
    v.metadata.plugin_data.plugin_name = "text"
    return event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[v]))


class _Run:
    """The state of one simulated trainer and its event file."""

    def __init__(self, spec: Trainer, root: Path, start: float, t0: float, speed: float) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.spec = spec
        self.start, self.t0, self.speed = start, t0, speed
        self.rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
        self.step = 0
        self.updates = 0
        self.last_wall = start
        self.stopped = False
        d = root / spec.name
        d.mkdir(parents=True, exist_ok=True)
        # flush_secs is large: we flush ourselves after every round, like a trainer that
        # calls writer.flush() (PyTorch's default of 120 s would make a dull demo).
        self.writer = EventFileWriter(str(d), max_queue_size=100_000, flush_secs=3600)
        self._hparams_written = False

    def moment(self, wall: float) -> Moment:
        return Moment((wall - self.start) * self.speed, (wall - self.t0) * self.speed, wall - self.start)

    def next_wall(self) -> float:
        """When the next logging round happens (wall seconds); updates slow down with a leak."""
        m = self.moment(self.last_wall)
        gap = self.spec.interval * self.spec.slowdown(m) / self.speed
        return self.last_wall + gap * (1.0 + 0.05 * (self.rng.random() - 0.5))

    def hung(self, wall: float) -> bool:
        return self.spec.stop_at is not None and wall >= self.t0 + self.spec.stop_at

    def write_round(self, wall: float, merged: bool = False) -> None:
        """One logging round. `merged`: all scalars in one event (TF1 / baselines style),
        else one event per scalar (PyTorch's SummaryWriter, which SB3 and CleanRL use)."""
        s, m, rng = self.spec, self.moment(wall), self.rng
        if not self._hparams_written:
            self._write_hparams(wall)
        self.updates += 1
        self.step += s.steps_per_update
        h = s.entropy(m, rng) * s.max_entropy
        ret = s.reward(m, rng)
        nan = s.nan_from is not None and m.live >= s.nan_from
        vloss = float("nan") if nan else abs(rng.normal(0.05, 0.02)) * (1 + abs(ret) / 50)
        if nan:
            h = float("nan")
        kl = abs(rng.normal(0.008, 0.003))
        ev = min(0.99, 0.2 + 0.7 * (1 - math.exp(-m.tau / 300)) + rng.normal(0, 0.03))
        fps = self.step / max(1e-9, wall - self.start)  # cumulative since start, as both libraries log
        if s.library == "sb3":
            tags = {
                "rollout/ep_rew_mean": ret,
                "rollout/ep_len_mean": 800 + 20 * rng.normal(),
                "train/entropy_loss": -h,  # SB3 logs -H
                "train/value_loss": vloss,
                "train/approx_kl": kl,
                "train/explained_variance": ev,
                "train/learning_rate": 2.5e-4,
                "time/fps": float(int(fps)),
            }
        else:
            tags = {
                "charts/episodic_return": ret,
                "losses/entropy": h,
                "losses/value_loss": vloss,
                "losses/approx_kl": kl,
                "losses/explained_variance": ev,
                "charts/learning_rate": s.extra_hparams.get("learning_rate", 2.5e-4),
                "charts/SPS": float(int(fps)),
            }
        if merged:
            self.writer.add_event(_scalars(tags, self.step, wall))
        else:
            for tag, value in tags.items():
                self.writer.add_event(_scalar(tag, float(value), self.step, wall))
        self.last_wall = wall

    def _write_hparams(self, wall: float) -> None:
        s = self.spec
        params = {"env_id": s.env_id, "algo": s.name.split("_")[1], "action_space": f"Discrete({s.n_actions})",
                  "n_actions": s.n_actions, "num_steps_per_update": s.steps_per_update, "seed": 1,
                  **s.extra_hparams}
        rows = "\n".join(f"|{k}|{v}|" for k, v in params.items())
        # CleanRL's add_text("hyperparameters", …) table, which SB3 users often copy.
        self.writer.add_event(_text("hyperparameters", "|param|value|\n|-|-|\n" + rows, 0, wall))
        self._hparams_written = True

    def flush(self) -> None:
        self.writer.flush()

    def hang(self) -> None:
        """Stop for good. The file's mtime becomes the last record's time: a trainer that hung
        long ago (in the pre-filled history) must not look as if it wrote just now."""
        self.stopped = True
        self.writer.flush()
        for f in Path(self.writer.get_logdir()).glob("*tfevents*"):
            os.utime(f, (self.last_wall, self.last_wall))

    def close(self) -> None:
        self.writer.close()


class Simulation:
    """Several trainers on one clock. Not thread-safe: drive it from one thread.

    Args:
        root: the logdir; one subdirectory per run.
        speed: simulated seconds per wall second (curves evolve this much faster).
        prefill: wall seconds of history written at once by :meth:`prefill`.
        t0: the demo's start (epoch seconds); default now.
        trainers: default :func:`default_trainers`.
    """

    def __init__(self, root: str | os.PathLike[str], speed: float = 1.0, prefill: float = DEFAULT_PREFILL,
                 t0: float | None = None, trainers: list[Trainer] | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        if prefill < 0:
            raise ValueError(f"prefill must be >= 0 seconds, not {prefill!r}")
        self.root = Path(root)
        self.t0 = time.time() if t0 is None else t0
        start = self.t0 - prefill
        self.runs = [_Run(spec, self.root, start, self.t0, speed) for spec in (trainers or default_trainers())]
        self._heap = [(r.next_wall(), i) for i, r in enumerate(self.runs)]
        heapq.heapify(self._heap)

    def advance(self, until: float) -> int:
        """Write every logging round due up to wall time `until`; returns how many."""
        n = 0
        touched: set[int] = set()
        hung: list[_Run] = []
        while self._heap and self._heap[0][0] <= until:
            wall, i = heapq.heappop(self._heap)
            r = self.runs[i]
            if r.hung(wall):
                hung.append(r)
                continue  # a hung trainer never writes again
            # The history is written merged (8x fewer records: the demo opens at once).
            r.write_round(wall, merged=wall <= self.t0)
            touched.add(i)
            n += 1
            heapq.heappush(self._heap, (r.next_wall(), i))
        for i in touched:
            self.runs[i].flush()
        for r in hung:
            r.hang()
        return n

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def prefill(self) -> int:
        """Write the history (wall times before t0)."""
        return self.advance(self.t0)

    def run_live(self, stop: threading.Event, until: float | None = None) -> None:
        """Append in real time until `stop` is set (or wall time `until`)."""
        while not stop.is_set():
            now = time.time()
            if until is not None and now >= until:
                return
            self.advance(now)
            due = self.next_due()
            if due is None:
                stop.wait(1.0 if until is None else min(1.0, max(0.0, until - now)))
                continue
            wait = max(0.0, due - time.time())
            if until is not None:
                wait = min(wait, max(0.0, until - time.time()))
            stop.wait(wait)

    def close(self) -> None:
        for r in self.runs:
            r.close()


def simulate(root: str | os.PathLike[str], seconds: float, speed: float = 1.0, *, realtime: bool = False,
             prefill: float = DEFAULT_PREFILL, trainers: list[Trainer] | None = None) -> Simulation:
    """Write the demo's runs as they would be after `seconds` of live demo.

    With ``realtime=False`` (for tests) everything is written at once, with wall times placed
    so that the demo's live phase ends now: the files look exactly as a demo started `seconds`
    ago would have left them. With ``realtime=True`` it sleeps and appends live.

    Returns the closed simulation (for its run specs and step counters).
    """
    now = time.time()
    sim = Simulation(root, speed=speed, prefill=prefill, t0=now if realtime else now - seconds,
                     trainers=trainers)
    try:
        sim.prefill()
        if realtime:
            sim.run_live(threading.Event(), until=now + seconds)
        else:
            sim.advance(now)
    finally:
        sim.close()
    return sim


# ---- the process -----------------------------------------------------------------------------
def _watch_parent(stop: threading.Event) -> None:
    """Stop when stdin closes: the parent died or closed the pipe (no orphan trainers)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass  # stdin unusable: treat like closed
    stop.set()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tui.demo_trainers",
                                description="Simulated trainers writing TensorBoard event files.")
    p.add_argument("dir", help="logdir to write the runs into")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--prefill", type=float, default=DEFAULT_PREFILL, help="seconds of history to write first")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until stopped)")
    p.add_argument("--no-stdin-watch", action="store_true", help="don't stop when stdin closes")
    p.add_argument("--log-file", help="our stderr's file: deleted on exit when empty")
    p.add_argument("--remove-on-exit", action="store_true",
                   help="delete DIR when stopping (a temporary demo dir: also when the parent was killed)")
    args = p.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    if not args.no_stdin_watch:
        threading.Thread(target=_watch_parent, args=(stop,), daemon=True, name="parent-watch").start()
    try:
        sim = Simulation(args.dir, speed=args.speed, prefill=args.prefill)
    except (ValueError, OSError) as e:
        print(f"demo trainers: {e}", file=sys.stderr)
        return 2
    try:
        sim.prefill()
        print("ready", flush=True)
        until = time.time() + args.seconds if args.seconds is not None else None
        sim.run_live(stop, until=until)
    finally:
        sim.close()
        if args.remove_on_exit:
            try:
                shutil.rmtree(args.dir)
            except FileNotFoundError:
                pass  # already gone
            except OSError as e:
                print(f"demo trainers: could not remove {args.dir}: {e}", file=sys.stderr)
        _drop_empty_log(args.log_file)
    return 0


def _drop_empty_log(path: str | None) -> None:
    """Delete our (empty) stderr log: nothing went wrong, nothing to keep."""
    if not path:
        return
    sys.stderr.flush()
    try:
        if os.path.getsize(path) == 0:
            os.unlink(path)
    except FileNotFoundError:
        pass  # the parent removed it already


if __name__ == "__main__":
    sys.exit(main())
