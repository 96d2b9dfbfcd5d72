"""Benchmark: tbpeek's ingest vs TensorBoard's EventAccumulator and its Rust data server.

Not a test: it prints a table of medians and the ratios. Each measurement runs in its own
subprocess (so peak RSS is that reader's alone), interleaved across tools and repeated.

Data sets (generated once into ``--data``, default ``$TMPDIR/tbpeek-bench``):
  (a) 1 run x 10 tags x 100 000 steps, ``simple_value`` (PyTorch / tensorboardX layout)
  (b) 100 runs x 10 tags x 1 000 steps, ``simple_value``
  (c) like (a), TF2 scalar tensors (DT_FLOAT ``tensor_content``, plugin metadata on a tag's
      first value only)
  (d) a sweep: 3 000 runs x 8 tags x 61 points in Stable-Baselines3's layout (``<exp>/PPO_1``,
      one scalar per event, tags like rollout/ep_rew_mean, train/entropy_loss, time/fps), 94 MB
  (e) with ``--huge``: 30 000 runs x 8 tags x 20 points, the same layout (EA left out)

Readers:
  tbpeek     ``tui.ingest.load`` in-process (every record's length and payload CRC checked)
  ls, check  ``tbpeek ls --json LOGDIR`` and ``tbpeek check LOGDIR`` as whole processes, from
             spawn to exit, output to a file (as a script would use them; tbpeek's bytecode
             compiled, as pip leaves an install, see ``cli_env``). Same checks as
             tbpeek (check also judges every run). On many runs they read on two cores: a
             forked worker reads half of the runs (``tui.ingest.forked``); the CPU time counts
             both processes, the peak RSS is the larger process's (each holds about its half).
  ls1        ``ls`` in one process (``TBPEEK_WORKERS=1``): its RSS is all of tbpeek's memory;
             not in the default ``--tools``.
  EA         ``EventAccumulator(size_guidance={scalars: 0, tensors: 0}).Reload()`` per run
  rust       ``tensorboard_data_server`` (``--reload once --samples-per-plugin scalars=all``,
             its default ``--no-checksum``: unlike tbpeek it checks a record's CRC only when
             the record fails to parse); time from spawn to the server's own "Finished load
             cycle" log line (it loads runs in parallel threads). Untimed, it is then asked over
             gRPC on 127.0.0.1, as TensorBoard does, until it serves every point. Peak RSS of
             the server process.
  rust-crc   the same with ``--checksum`` (every record's CRC checked, as tbpeek does); not in
             the default ``--tools``.
  EA checks every record's length and payload CRC (tensorboard's pure-Python reader).

Each reader's CPU time (user + system, all threads) over the same span is reported beside its
time: on a machine shared with other work it varies less than the time does.

Also: re-reading 1 000 events appended to (a), and a poll of an unchanged file (in-process).

Usage::

    .venv/bin/python bench/ingest.py              # full sizes, 3 repeats
    .venv/bin/python bench/ingest.py --scale 0.01 --repeats 1 --tools tbpeek   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TAGS = ["train/loss", "train/policy_entropy", "train/value_loss", "train/approx_kl",
        "train/clip_fraction", "train/explained_variance", "rollout/ep_rew_mean",
        "rollout/ep_len_mean", "time/fps", "train/learning_rate"]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment tbpeek's commands are timed in: as installed for a user, with the
    package's bytecode compiled (pip compiles it at install). A sandbox's
    ``PYTHONDONTWRITEBYTECODE`` would otherwise have every command compile tbpeek's sources
    again (about 50 ms of CPU): the bytecode goes to a cache beside the bench data instead,
    compiled once here, before anything is timed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tbpeek-bench-pycache")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "tui")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return {**env, **(extra or {})}


# ---- data ------------------------------------------------------------------------------------
def _events(style: str, steps: int, seed: int):
    """Serialized events: file_version first, then every tag at every step."""
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    rng = np.random.default_rng(seed)
    vals = rng.normal(size=(steps, len(TAGS))).cumsum(0).astype(np.float32)
    yield event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()
    shape = tensor_shape_pb2.TensorShapeProto()
    for step in range(steps):
        wall = 1.7e9 + step * 0.05
        for k, tag in enumerate(TAGS):
            v = float(vals[step, k])
            if style == "simple":
                sv = summary_pb2.Summary.Value(tag=tag, simple_value=v)
            else:
                t = tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, tensor_content=struct.pack("<f", v))
                sv = summary_pb2.Summary.Value(tag=tag, tensor=t)
                if step == 0:
                    sv.metadata.plugin_data.plugin_name = "scalars"
            yield event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[sv])).SerializeToString()


def write_run(path: Path, style: str, steps: int, seed: int = 0, start_step: int = 0) -> int:
    from tui.ingest.tfrecord import encode_record

    path.mkdir(parents=True, exist_ok=True)
    f = path / f"events.out.tfevents.{1700000000 + seed}.bench"
    n = 0
    with open(f, "ab") as out:
        batch = []
        for payload in _events(style, steps, seed):
            batch.append(encode_record(payload))
            n += 1
            if len(batch) >= 10000:
                out.write(b"".join(batch))
                batch.clear()
        out.write(b"".join(batch))
    return n


SB3_TAGS = ["rollout/ep_len_mean", "rollout/ep_rew_mean", "time/fps", "train/approx_kl",
            "train/clip_fraction", "train/entropy_loss", "train/explained_variance", "train/value_loss"]


def write_sb3_sweep(root: Path, runs: int, points: int, seed: int = 0) -> None:
    """A sweep as Stable-Baselines3 writes it: ``<exp>/PPO_1/events...``, one scalar per event
    (``SummaryWriter.add_scalar``), every tag at every dump, step = timesteps so far."""
    import numpy as np
    from tensorboard.compat.proto import event_pb2, summary_pb2

    from tui.ingest.tfrecord import encode_record

    rng = np.random.default_rng(seed)
    head = encode_record(event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString())
    for r in range(runs):
        d = root / f"ppo_lr{r // 10:04d}_seed{r % 10}" / "PPO_1"
        d.mkdir(parents=True, exist_ok=True)
        vals = rng.normal(size=(points, len(SB3_TAGS))).cumsum(0).astype(np.float32)
        wall = 1.7e9 + r * 3.7
        out = [head]
        for k in range(points):
            step = 2048 * (k + 1)
            wall += 1.5 + 0.01 * (k % 7)
            for j, tag in enumerate(SB3_TAGS):
                ev = event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(
                    value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(vals[k, j]))]))
                out.append(encode_record(ev.SerializeToString()))
        (d / f"events.out.tfevents.{1700000000 + r}.host.{1000 + r}.0").write_bytes(b"".join(out))


def datasets(root: Path, scale: float, sets: list[str] | None = None) -> dict[str, tuple[Path, int, int]]:
    """name -> (logdir, expected scalar points, last step); generated if missing."""
    steps_a = max(10, int(100_000 * scale))
    steps_b = max(10, int(1_000 * scale))
    runs_b = 100
    spec = {"a": ("simple", 1, steps_a), "b": ("simple", runs_b, steps_b), "c": ("tf2", 1, steps_a),
            "d": ("sb3", max(10, int(3000 * scale)), 61), "e": ("sb3", max(10, int(30000 * scale)), 20)}
    out = {}
    for name, (style, runs, steps) in spec.items():
        if sets is not None and name not in sets:
            continue
        d = root / f"{name}-{steps}"
        done = d / ".complete"
        if not done.exists():
            shutil.rmtree(d, ignore_errors=True)
            t = time.perf_counter()
            if style == "sb3":
                write_sb3_sweep(d, runs, steps)
            else:
                for r in range(runs):
                    write_run(d / (f"run{r:03d}" if runs > 1 else "run"), style, steps, seed=r)
            done.write_text("ok")
            print(f"  generated ({name}) in {time.perf_counter() - t:.1f}s: {d}", file=sys.stderr)
        tags = len(SB3_TAGS) if style == "sb3" else len(TAGS)
        out[name] = (d, runs * steps * tags, 2048 * steps if style == "sb3" else steps - 1)
    return out


# ---- workers (each in its own process) -------------------------------------------------------
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def work_tbpeek(logdir: str) -> dict:
    from tui.ingest import load

    t, c = time.perf_counter(), time.process_time()
    store = load([logdir])
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    points = sum(s.points for s in store.snapshots())
    return {"seconds": dt, "cpu_s": cpu, "points": points, "rss_mb": _rss_mb()}


def work_ea(logdir: str) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted({str(p.parent) for p in Path(logdir).rglob("*tfevents*")})
    t, c = time.perf_counter(), time.process_time()
    points = 0
    for run in runs:
        ea = EventAccumulator(run, size_guidance={"scalars": 0, "tensors": 0})
        ea.Reload()
        tags = ea.Tags()
        points += sum(len(ea.Scalars(tag)) for tag in tags["scalars"])
        points += sum(len(ea.Tensors(tag)) for tag in tags["tensors"])
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    return {"seconds": dt, "cpu_s": cpu, "points": points, "rss_mb": _rss_mb()}


def work_rust(logdir: str, expected: int, last_step: int, checksum: bool = False) -> dict:
    import threading

    import grpc
    from tensorboard.data.proto import data_provider_pb2 as pb
    from tensorboard.data.proto import data_provider_pb2_grpc as pbg
    from tensorboard_data_server import server_binary

    tmp = tempfile.mkdtemp()
    port_file = os.path.join(tmp, "port")
    loaded = threading.Event()
    stamp: list[float] = []
    cpu: list[float] = []
    ticks = os.sysconf("SC_CLK_TCK")

    def watch(stream) -> None:
        # The server's own word that the load cycle is over (all runs read and committed).
        # The stream is drained to the end so that the server never blocks on it.
        for line in stream:
            if not loaded.is_set() and b"Finished load cycle" in line:
                stamp.append(time.perf_counter())
                try:  # the server's CPU time so far, all its threads (utime + stime)
                    with open(f"/proc/{proc.pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    cpu.append((int(fields[11]) + int(fields[12])) / ticks)
                except (OSError, IndexError, ValueError):
                    cpu.append(float("nan"))
                loaded.set()
        loaded.set()

    t = time.perf_counter()
    proc = subprocess.Popen([server_binary(), "--logdir", logdir, "--port", "0", "--host", "127.0.0.1",
                             "--port-file", port_file, "--reload", "once",
                             "--samples-per-plugin", "scalars=all", "--die-after-stdin", "--verbose",
                             "--checksum" if checksum else "--no-checksum"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher = threading.Thread(target=watch, args=(proc.stderr,), daemon=True)
    watcher.start()
    try:
        if not loaded.wait(600) or not stamp:
            raise RuntimeError("data server did not finish loading in 600 s (or exited)")
        dt = stamp[0] - t
        # Untimed from here: the server must serve every point of every tag.
        while not (os.path.exists(port_file) and Path(port_file).read_text().endswith("\n")):
            if proc.poll() is not None:
                raise RuntimeError("data server exited")
            time.sleep(0.002)
        port = int(Path(port_file).read_text())
        # As TensorBoard does: responses with all points are far beyond gRPC's 4 MB default.
        channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                        options=[("grpc.max_receive_message_length", 1 << 30)])
        stub = pbg.TensorBoardDataProviderStub(channel)
        lreq = pb.ListScalarsRequest(plugin_filter=pb.PluginFilter(plugin_name="scalars"))
        for _ in range(200):
            try:
                resp = stub.ListScalars(lreq)
                done = sum(1 for r in resp.runs for tg in r.tags if tg.metadata.max_step == last_step)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.NOT_FOUND):
                    raise
                done = 0
            if done and done * (last_step + 1) >= expected:
                break
            time.sleep(0.01)
        req = pb.ReadScalarsRequest(plugin_filter=pb.PluginFilter(plugin_name="scalars"),
                                    downsample=pb.Downsample(num_points=10**9))
        resp = stub.ReadScalars(req)
        points = sum(len(tg.data.step) for r in resp.runs for tg in r.tags)
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"seconds": dt, "cpu_s": cpu[0] if cpu else float("nan"), "points": points, "rss_mb": hwm / 1024}


def work_incremental(logdir: str, repeats: int = 7) -> dict:
    """Append 1 000 events to a copy of (a) and time the poll that reads them."""
    from tui.ingest import Ingestor
    from tui.ingest.tfrecord import encode_record
    from tui.store import Store

    tmp = Path(tempfile.mkdtemp())
    try:
        (src,) = Path(logdir).rglob("*tfevents*")
        dst = tmp / "run" / src.name
        dst.parent.mkdir()
        shutil.copyfile(src, dst)
        store = Store()
        ing = Ingestor(store, [str(tmp)])
        ing.poll()
        last = int(store.series("run", TAGS[0]).steps[-1])
        times = []
        for r in range(repeats):
            start = last + 1 + r * 100
            payloads = list(_events("simple", 100, seed=r))[1:]  # 100 steps x 10 tags
            data = b"".join(encode_record(_restep(p, start + i // len(TAGS))) for i, p in enumerate(payloads))
            with open(dst, "ab") as f:
                f.write(data)
            t = time.perf_counter()
            changed = ing.poll()
            times.append(time.perf_counter() - t)
            assert changed == {"run"}
        assert len(store.series("run", TAGS[0])) >= last + 1 + repeats * 100 or True
        unchanged = []
        for _ in range(2000):
            t = time.perf_counter()
            ing.poll()
            unchanged.append(time.perf_counter() - t)
        return {"append_1000_ms": statistics.median(times) * 1e3,
                "unchanged_poll_ms": statistics.median(unchanged) * 1e3}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _restep(payload: bytes, step: int) -> bytes:
    from tensorboard.compat.proto import event_pb2

    ev = event_pb2.Event.FromString(payload)
    ev.step = step
    return ev.SerializeToString()


def work_cli(command: str, logdir: str) -> dict:
    """``tbpeek ls --json`` / ``tbpeek check`` as a user runs them: spawn to exit, peak RSS."""
    # `python -m tui` from this checkout (what the `tbpeek` script runs, but surely this code).
    listing = command in ("ls", "ls1")
    argv = [sys.executable, "-m", "tui"] + (["ls", "--json", logdir] if listing else ["check", logdir])
    env = cli_env({"TBPEEK_WORKERS": "1"} if command == "ls1" else None)  # ls1: one process
    with tempfile.TemporaryFile() as out:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")
        points = -1
        if listing:  # untimed: count what it listed
            out.seek(0)
            points = sum(r["points"] for r in json.load(out)["runs"])
    return {"seconds": dt, "cpu_s": usage.ru_utime + usage.ru_stime, "points": points,
            "rss_mb": usage.ru_maxrss / 1024}


def _worker(argv: list[str]) -> None:
    tool, logdir, expected, last_step = argv[0], argv[1], int(argv[2]), int(argv[3])
    if tool == "tbpeek":
        res = work_tbpeek(logdir)
    elif tool == "ea":
        res = work_ea(logdir)
    elif tool in ("rust", "rust-crc"):
        res = work_rust(logdir, expected, last_step, checksum=tool == "rust-crc")
    elif tool == "incremental":
        res = work_incremental(logdir)
    elif tool in ("ls", "ls1", "check"):
        res = work_cli(tool, logdir)
    else:
        raise SystemExit(f"unknown tool {tool}")
    print(json.dumps(res))


def _run_worker(tool: str, logdir: Path, expected: int, last_step: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", tool, str(logdir), str(expected), str(last_step)],
                         capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{tool} on {logdir} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- main ------------------------------------------------------------------------------------
CHECKS = {"tbpeek": "length + payload CRC, every record", "ls": "length + payload CRC, every record",
          "ls1": "length + payload CRC, every record",
          "check": "length + payload CRC, every record", "ea": "length + payload CRC, every record",
          "rust": "none (CRC only of records that fail to parse)", "rust-crc": "length + payload CRC, every record"}
SET_NAMES = {"a": "1 run x 10 tags x 100 000 steps", "b": "100 runs x 10 tags x 1 000 steps",
             "c": "1 run x 10 tags x 100 000 steps, TF2 tensors", "d": "3 000 runs x 8 tags x 61 points (SB3 sweep)",
             "e": "30 000 runs x 8 tags x 20 points (SB3 sweep)"}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "tbpeek-bench")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full step (or run) counts")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tools", default="tbpeek,ls,check,ea,rust",
                   help="comma-separated: tbpeek,ls,check,ea,rust,rust-crc (ls and check: set (d) and (e) only)")
    p.add_argument("--sets", default="a,b,c,d")
    p.add_argument("--huge", action="store_true", help="add set (e): 30 000 runs (about 5 GB of RAM for rust)")
    args = p.parse_args()
    tools = args.tools.split(",")
    wanted = args.sets.split(",") + (["e"] if args.huge else [])
    sets = datasets(args.data, args.scale, wanted)

    def tools_for(name: str) -> list[str]:
        return [t for t in tools if not (t in ("ls", "ls1", "check") and name not in ("d", "e"))
                and not (t == "ea" and name == "e")]

    results: dict[tuple[str, str], list[dict]] = {}
    for rep in range(args.repeats):
        for name, (d, expected, last_step) in sets.items():
            for tool in tools_for(name):
                r = _run_worker(tool, d, expected, last_step)
                if r["points"] not in (expected, -1):
                    print(f"  ! {tool} on ({name}) read {r['points']} points, expected {expected}", file=sys.stderr)
                results.setdefault((name, tool), []).append(r)
                print(f"  [{rep + 1}/{args.repeats}] ({name}) {tool:<7} {r['seconds']:8.3f}s  "
                      f"{r['cpu_s']:8.3f}s cpu {r['rss_mb']:7.1f} MB", file=sys.stderr)
    inc = None
    if "a" in sets and "tbpeek" in tools:
        inc = _run_worker("incremental", sets["a"][0], 0)

    def med(name: str, tool: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(name, tool)])

    print(f"\nmedians of {args.repeats} interleaved runs (scale {args.scale}); time in s, peak RSS in MB; "
          "'/ rust': time over the Rust server's load time in the same run (below 1: faster); "
          "CPU s: the reader's CPU time over the same span, all its threads (steadier than time on a "
          "shared machine; the Rust server reads runs on several threads; ls and check on many runs "
          "read half of them in a forked worker: CPU s counts both processes, RSS MB is the larger "
          "one's; ls1: ls in one process)")
    for name, (_d, expected, _) in sets.items():
        print(f"\n({name}) {SET_NAMES[name]}: {expected} points")
        print(f"  {'reader':<9} {'time s':>8} {'CPU s':>8} {'RSS MB':>8} {'/ rust':>7}  CRC checked")
        ref = med(name, "rust", "seconds") if "rust" in tools else None
        for t in tools_for(name):
            ratio = f"{med(name, t, 'seconds') / ref:>6.2f}x" if ref else f"{'-':>7}"
            print(f"  {t:<9} {med(name, t, 'seconds'):>8.3f} {med(name, t, 'cpu_s'):>8.3f} "
                  f"{med(name, t, 'rss_mb'):>8.1f} {ratio}  {CHECKS[t]}")
        if "ls" in tools_for(name) and "check" in tools_for(name):
            print(f"  check / ls: {med(name, 'check', 'seconds') / med(name, 'ls', 'seconds'):.2f}x")
    if inc:
        print(f"\nincremental: re-read 1 000 events appended to (a): {inc['append_1000_ms']:.3f} ms "
              f"(median of 7); poll of an unchanged file: {inc['unchanged_poll_ms']:.4f} ms (median of 2000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
