"""`tbpeek demo`: the simulated trainers write the intended curves; no orphan processes."""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tui import demo
from tui.demo_trainers import default_trainers, simulate

WAIT = 30.0  # upper bound for a process to react; tests go on as soon as it does


def _read(run_dir: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], dict[str, str]]:
    """tag -> (steps, walls, values), and text tags, read back with tensorboard's own loader."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    pts: dict[str, list] = {}
    texts: dict[str, str] = {}
    (path,) = run_dir.glob("*tfevents*")
    for raw in RawEventFileLoader(str(path)).Load():
        ev = event_pb2.Event.FromString(raw)
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                pts.setdefault(v.tag, []).append((ev.step, ev.wall_time, v.simple_value))
            elif v.metadata.plugin_data.plugin_name == "text":
                texts[v.tag] = v.tensor.string_val[0].decode()
    out = {t: tuple(np.array(c) for c in zip(*rows, strict=True)) for t, rows in pts.items()}
    return out, texts


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    simulate(d, seconds=90, speed=1.0)  # as a demo would look after 90 s, written at once
    return d


def test_every_run_is_written_with_real_library_tags(demo_dir):
    names = sorted(p.name for p in demo_dir.iterdir())
    assert names == sorted(t.name for t in default_trainers())
    pts, texts = _read(demo_dir / "pong_ppo_healthy")
    assert {"train/entropy_loss", "rollout/ep_rew_mean", "time/fps"} <= set(pts)
    assert "env_id|PongNoFrameskip-v4" in texts["hyperparameters"]
    assert "action_space|Discrete(6)" in texts["hyperparameters"]
    pts, _ = _read(demo_dir / "breakout_a2c_collapse")
    assert {"losses/entropy", "charts/episodic_return", "charts/SPS"} <= set(pts)


def _h(pts, tag, n_actions, sign=1.0):
    return sign * pts[tag][2] / math.log(n_actions)


def test_healthy_entropy_falls_from_max_and_flattens_while_reward_climbs(demo_dir):
    pts, _ = _read(demo_dir / "pong_ppo_healthy")
    h = _h(pts, "train/entropy_loss", 6, sign=-1.0)  # SB3 logs -H
    assert np.median(h[:10]) > 0.93
    assert 0.5 < np.median(h[-60:]) < 0.8
    assert abs(np.median(h[-60:-30]) - np.median(h[-30:])) < 0.03  # flat at the end
    r = pts["rollout/ep_rew_mean"][2]
    assert np.median(r[:30]) < -18 and np.median(r[-30:]) > 10


def test_collapse_happens_live_and_reward_stays_flat(demo_dir):
    pts, _ = _read(demo_dir / "breakout_a2c_collapse")
    _steps, walls, ent = pts["losses/entropy"]
    h = ent / math.log(4)
    t0 = time.time() - 90
    before, after = h[walls < t0], h[walls > t0 + 40]
    assert np.median(before[-30:]) > 0.8  # not collapsed before the demo started
    assert after.size > 20 and np.max(after) < 0.05
    r = pts["charts/episodic_return"][2]
    assert abs(np.median(r[-30:]) - np.median(r[:30])) < 1.0


def test_pinned_entropy_is_at_max_with_tiny_noise(demo_dir):
    pts, _ = _read(demo_dir / "seaquest_ppo_pinned")
    h = _h(pts, "train/entropy_loss", 18, sign=-1.0)
    assert h.min() > 0.98 and h.std() < 0.004


def test_fps_leak_shows_in_steps_over_wall_time(demo_dir):
    pts, _ = _read(demo_dir / "spaceinvaders_ppo_fps_leak")
    steps, walls, _ = pts["losses/entropy"]
    # Δstep/Δwall over 60 s windows, as the health engine derives throughput.
    edges = np.arange(walls[0], walls[-1], 60.0)
    idx = np.searchsorted(walls, edges)
    rate = np.diff(steps[idx]) / np.diff(walls[idx])
    assert rate[-1] < 0.8 * rate[0]
    assert np.all(np.diff(rate) < 0.05 * rate[0])  # steadily down, not a sudden drop
    # …while the logged SPS is a cumulative average that hides most of it.
    sps = pts["charts/SPS"][2]
    assert sps[-1] / sps[len(sps) // 10] > rate[-1] / rate[0]


def test_stalled_run_stopped_before_the_demo_and_its_file_looks_old(demo_dir):
    run = demo_dir / "cartpole_ppo_stall"
    pts, _ = _read(run)
    last_wall = pts["losses/entropy"][1].max()
    assert time.time() - last_wall > 90 + 95
    (path,) = run.glob("*tfevents*")
    assert abs(path.stat().st_mtime - last_wall) < 1.0


def test_nan_appears_live_in_losses(demo_dir):
    pts, _ = _read(demo_dir / "qbert_ppo_nan")
    _, walls, vloss = pts["train/value_loss"]
    t0 = time.time() - 90
    assert np.isfinite(vloss[walls < t0]).all()
    assert np.isnan(vloss[walls > t0 + 25]).all() and np.isnan(vloss[-1])


def test_speed_makes_curves_evolve_faster(tmp_path):
    slow = simulate(tmp_path / "slow", seconds=10, speed=1.0, prefill=60)
    fast = simulate(tmp_path / "fast", seconds=10, speed=4.0, prefill=60)
    assert fast.runs[0].updates > 3 * slow.runs[0].updates


def test_realtime_simulation_appends_after_the_history(tmp_path):
    sim = simulate(tmp_path, seconds=0.5, speed=20.0, realtime=True, prefill=5)
    pts, _ = _read(tmp_path / "pong_ppo_healthy")
    walls = pts["time/fps"][1]
    assert walls.max() > sim.t0  # live points were written after the history
    assert (walls < sim.t0).sum() > 10


# ---- the process ------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"dir": None, "speed": 10.0, "prefill": 5.0, **kw})


def test_run_writes_runs_and_stops_trainers_when_the_app_exits(tmp_path, capsys):
    seen = {}

    def viewer(logdirs, args):
        (d,) = logdirs
        seen["dir"] = Path(d)
        seen["pid"] = _child_pid()
        sizes = _sizes(seen["dir"])
        deadline = time.monotonic() + WAIT
        while _sizes(seen["dir"]) == sizes and time.monotonic() < deadline:
            time.sleep(0.05)
        seen["grew"] = _sizes(seen["dir"]) != sizes
        seen["runs"] = sorted(p.name for p in seen["dir"].iterdir())
        return 0

    assert demo.run(_args(), viewer=viewer) == 0
    assert seen["grew"]  # live appends after the history
    assert len(seen["runs"]) == len(default_trainers())
    assert not seen["dir"].exists()  # the temporary directory is removed
    assert "kept" not in capsys.readouterr().err
    assert not _alive(seen["pid"])  # trainers stopped before run() returned


def test_ctrl_c_stops_trainers_and_dir_is_kept(tmp_path, capsys):
    seen = {}

    def viewer(logdirs, args):
        seen["pid"] = _child_pid()
        raise KeyboardInterrupt

    keep = tmp_path / "keep"
    with pytest.raises(KeyboardInterrupt):
        demo.run(_args(dir=str(keep)), viewer=viewer)
    assert not _alive(seen["pid"])
    assert len(list(keep.glob("*/*tfevents*"))) == len(default_trainers())
    assert f"kept in {keep}" in capsys.readouterr().err


def test_trainers_exit_and_clean_up_when_their_parent_dies(tmp_path):
    # A parent that starts the trainers and is then killed -9: no chance to clean up.
    logdir = tmp_path / "demo"
    code = textwrap.dedent(f"""
        import sys, time
        from tui.demo import Trainers
        t = Trainers({str(logdir)!r}, speed=10.0, prefill=1.0, remove_on_exit=True,
                     log_path={str(tmp_path / "trainers.log")!r})
        assert t.wait_ready()
        print(t.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              cwd=str(Path(demo.__file__).resolve().parents[1]))
    try:
        child = int(parent.stdout.readline())
        assert _alive(child) and logdir.is_dir()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _wait_gone(child)
        assert not logdir.exists()  # the temporary demo dir went with them
        assert not (tmp_path / "trainers.log").exists()  # and their empty log
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


def test_bad_dir_and_speed_are_usage_errors(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert demo.run(_args(dir=str(tmp_path / "full")), viewer=_no_viewer) == 2
    assert "not empty" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert demo.run(_args(dir=str(tmp_path / "file")), viewer=_no_viewer) == 2
    assert "not a directory" in capsys.readouterr().err
    assert demo.run(_args(speed=0.0), viewer=_no_viewer) == 2
    assert "--speed" in capsys.readouterr().err


def test_demo_help_does_not_load_textual():
    pytest.importorskip("tui.app.cli", reason="the watch options (tui/app/cli.py) are not written yet")
    code = ("import sys, contextlib, io\nfrom tui.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n    rc = main(['demo', '--help'])\n"
            "print(rc, '--speed' in out.getvalue(), 'textual' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(Path(demo.__file__).resolve().parents[1]))
    assert out.stdout.split() == ["0", "True", "False"], out.stderr


def _no_viewer(logdirs, args):
    raise AssertionError("the viewer must not open on bad options")


def _sizes(d: Path) -> list[int]:
    return [p.stat().st_size for p in sorted(d.glob("*/*tfevents*"))]


def _child_pid() -> int:
    """The one trainers process started by this test process."""
    me = os.getpid()
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                kids.append(int(entry))
    assert len(kids) == 1, kids
    return kids[0]


# ---- the verdicts a newcomer should see ---------------------------------------------------------
INTENDED = {  # run -> (metric, kind, severity) of its worst verdict after 90 s of demo
    "pong_ppo_healthy": (None, None, "ok"),
    "breakout_a2c_collapse": ("entropy", "collapsed", "alarm"),
    "seaquest_ppo_pinned": ("entropy", "pinned_at_max", "alarm"),
    "spaceinvaders_ppo_fps_leak": ("throughput", "slow_decay", "warn"),
    "cartpole_ppo_stall": ("throughput", "stalled", "warn"),
    "qbert_ppo_nan": ("entropy", "nonfinite", "alarm"),
}


def _load_store(root: Path):
    """The demo's files in a Store, read with tensorboard's own loader (independent of tui.ingest)."""
    from tui.store import Store

    store = Store()
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        pts, texts = _read(run_dir)
        store.ensure_run(run_dir.name, str(run_dir))
        for tag, (steps, walls, values) in pts.items():
            store.append(run_dir.name, tag, steps, walls, values)
        for tag, text in texts.items():
            store.set_text(run_dir.name, tag, 0, 0.0, text)
    return store


def test_each_demo_run_gets_its_intended_verdict(demo_dir):
    engine = pytest.importorskip("tui.health.engine", reason="the health engine is not written yet")
    store = _load_store(demo_dir)
    got = {}
    for snap in store.snapshots():
        w = engine.judge(snap).worst
        got[snap.name] = (w.metric, w.kind, w.severity.label) if w.severity > 0 else (None, None, "ok")
    assert got == INTENDED


@pytest.mark.parametrize("speed", [1.0, 5.0])
def test_every_intended_verdict_shows_within_two_minutes_with_nothing_misleading(speed):
    # bench/demo_timeline.py replays the demo's runs through the app's HealthTracker on the
    # demo's own (simulated) clock: exit 0 when each run's intended verdict shows within 120 s
    # of the demo's start and nothing wrong (entropy oscillating/spike, or another warning)
    # shows before it. Times are the files' wall times, not this machine's.
    out = subprocess.run([sys.executable, str(Path(demo.__file__).resolve().parents[1] / "bench" / "demo_timeline.py"),
                          "--seconds", "150", "--speed", str(speed)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]
    assert out.stdout.count(" ok\n") == len(INTENDED)
