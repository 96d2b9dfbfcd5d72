"""When does each `tbpeek demo` run show its intended verdict, and what shows before it?

    .venv/bin/python bench/demo_timeline.py                 # 180 s of demo at speed 1
    .venv/bin/python bench/demo_timeline.py --seconds 240 --speed 2 --tick 0.5 --all

The demo's own trainers (:mod:`tui.demo_trainers`) write their event files at once, as a demo
started ``--seconds`` ago would have left them (history + live rounds, real wall times). The
files are read back with tbpeek's ingestor, and each run is replayed through a
:class:`~tui.health.tracker.HealthTracker` (the app's hysteresis, ``--hold``) on a clock that
ticks every ``--tick`` wall seconds from the demo's start: at each tick the tracker sees the run
as it was then (every tag cut at that wall time), and re-judges only when new points arrived,
as the app does.

Output, per run: the seconds after the demo's start at which its intended verdict (the one
tests/test_demo.py expects after 90 s) is first shown, and every other verdict shown on the
way (kind and severity per metric, with the second it appeared). Anything non-OK shown before
the intended verdict, or any entropy kind other than the expected ones, is flagged "MISLEADING".
Exit status 1 when an intended verdict is missing, later than ``--target`` seconds, or preceded
by something misleading. Pure computation: no wall-clock thresholds, no sleeping.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.demo_trainers import simulate
from tui.health import HealthOptions
from tui.health.tracker import HealthTracker, prefix
from tui.ingest import load
from tui.store import RunSnapshot

# run -> (metric, kind, severity) it is there to show (tests/test_demo.py's INTENDED); None:
# nothing but OK verdicts.
INTENDED: dict[str, tuple[str, str, str] | None] = {
    "pong_ppo_healthy": None,
    "breakout_a2c_collapse": ("entropy", "collapsed", "alarm"),
    "seaquest_ppo_pinned": ("entropy", "pinned_at_max", "alarm"),
    "spaceinvaders_ppo_fps_leak": ("throughput", "slow_decay", "warn"),
    "cartpole_ppo_stall": ("throughput", "stalled", "warn"),
    "qbert_ppo_nan": ("entropy", "nonfinite", "alarm"),
}
# True side verdicts a run may show at any time (what its trainer really does).
ALSO: dict[str, set[tuple[str, str]]] = {
    "breakout_a2c_collapse": {("reward", "flat")},  # the reward never rose: true, and context
    "seaquest_ppo_pinned": {("reward", "flat")},
}
# Kinds that say nothing wrong (not judged yet, or fine).
HARMLESS = {"too_early", "healthy", "steady", "ok", "improving"}
# Kinds no demo run should ever show: none of them oscillates or spikes.
NEVER = {("entropy", "oscillating"), ("entropy", "spike")}


def timeline(snap: RunSnapshot, t0: float, t_end: float, tick: float, hold: int,
             opts: HealthOptions) -> list[tuple[float, str, str, str]]:
    """[(seconds after t0, metric, kind, severity)] each time a metric's shown verdict changes."""
    tracker = HealthTracker(opts, hold=hold, clock_every=0.0)
    shown: dict[str, tuple[str, str]] = {}
    out = []
    for t in np.arange(t0, t_end + 1e-9, tick):
        part = prefix(snap, float(t))
        part = replace(part, version=part.points)  # new points: a new version (as the store does)
        health = tracker.update(part, now=float(t))
        for v in health.verdicts:
            state = (v.kind, v.severity.label)
            if shown.get(v.metric) != state:
                shown[v.metric] = state
                out.append((float(t - t0), v.metric, v.kind, v.severity.label))
    return out


def report(name: str, events, target: float, show_all: bool) -> bool:
    """Print a run's timeline; False when its intended verdict is late, missing or misled."""
    want = INTENDED.get(name)
    first = next((t for t, m, k, _ in events if want and (m, k) == want[:2]), None)
    full = next((t for t, m, k, s in events if want and (m, k, s) == want), None)
    misleading = []
    for t, m, k, sev in events:
        if want and (m, k) == want[:2]:
            continue
        before = full is None or t <= full
        wrong = sev != "ok" and k not in HARMLESS and (m, k) not in ALSO.get(name, set())
        if (m, k) in NEVER or (wrong and before):
            misleading.append((t, m, k, sev))
    if want is None:
        verdict = "nothing but OK" if not misleading else "NOT all OK"
        ok = not misleading
    elif full is None:
        verdict, ok = f"{want[1]} ({want[2]}) NEVER shown", False
    else:
        verdict = f"{want[1]} at {first:5.1f} s, {want[2]} at {full:5.1f} s"
        ok = full <= target and not misleading
    print(f"{name:28s} {verdict:42s} {'ok' if ok else 'FAIL'}")
    for t, m, k, sev in events:
        flag = "  MISLEADING" if (t, m, k, sev) in misleading else ""
        if show_all or flag or sev != "ok":
            print(f"    {t:6.1f} s  {m:18s} {k:15s} {sev}{flag}")
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=180.0, help="seconds of live demo to replay")
    p.add_argument("--speed", type=float, default=1.0, help="the demo's --speed")
    p.add_argument("--tick", type=float, default=1.0, help="wall seconds between two looks")
    p.add_argument("--hold", type=int, default=3, help="the tracker's hysteresis (the app's: 3)")
    p.add_argument("--target", type=float, default=120.0, help="seconds an intended verdict may take")
    p.add_argument("--all", action="store_true", help="also list OK verdict changes")
    p.add_argument("--runs", nargs="*", help="only these runs")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tbpeek-timeline-") as d:
        sim = simulate(d, seconds=args.seconds, speed=args.speed)
        store = load([d])
        t0 = sim.t0
        t_end = max(r.last_wall for r in sim.runs)
        ok = True
        for snap in sorted(store.snapshots(), key=lambda s: s.name):
            if args.runs and snap.name not in args.runs:
                continue
            events = timeline(snap, t0, t_end, args.tick, args.hold, HealthOptions())
            ok &= report(snap.name, events, args.target, args.all)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
