"""What a poll of an S3 logdir costs: requests and bytes, counted at a local S3 server.

A sweep of ``--runs`` runs (``sweep/lr<k>/seed<i>/``, one event file each, 8 tags) is uploaded
to moto's S3 server on 127.0.0.1. tbpeek then polls it as ``watch`` does (``rescan()`` then
``poll()``), and the server counts every request and every byte it sends:

- first read: every run read once; also with ``--latency`` seconds added to each request at
  the server (as a real network would), with the new bytes of all runs fetched together
  (concurrently) and, as the reference, one run after the other;
- idle poll: nothing changed;
- poll with new data: ``--grow`` runs got ``--records`` more records each;
- reference: the same idle poll done the per-directory way (one listing request per
  directory, as wave 1 did when its listing cache didn't hide changes: it never saw writes
  from another machine), in the same run.

Usage: ``python bench/s3.py [--runs 1000] [--grow 10] [--records 20]`` (needs the ``test``
extra: moto[server] and s3fs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from s3_moto import ACCESS_KEY, SECRET_KEY, MotoS3, Traffic  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402

from tui.ingest.tfrecord import encode_record as _record  # noqa: E402

TAGS = ("charts/episodic_return", "charts/SPS", "losses/entropy", "losses/value_loss", "losses/policy_loss",
        "losses/approx_kl", "losses/clipfrac", "charts/learning_rate")


def records(start: int, n: int, seed: int) -> bytes:
    out = []
    if start == 0:
        out.append(_record(event_pb2.Event(wall_time=1e9, file_version="brain.Event:2").SerializeToString()))
    out += [_record(event_pb2.Event(wall_time=1e9 + step, step=step * 1000, summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(seed + j + step))])).SerializeToString())
            for step in range(start, start + n) for j, tag in enumerate(TAGS)]
    return b"".join(out)


def per_directory_poll(fs: object, root: str) -> int:
    """The reference: list every directory on its own (fresh), as wave 1 did; directories listed."""
    todo, n = [root], 0
    while todo:
        d = todo.pop()
        n += 1
        listing = fs.ls(d, detail=True, refresh=True)  # type: ignore[attr-defined]
        todo += [info["name"] for info in listing if info["type"] == "directory"]
    return n


def row(label: str, t: Traffic, ms: float) -> str:
    return (f"{label:<34} {t.requests:>8} {t.ops.get('LIST', 0):>6} {t.ops.get('GET-RANGE', 0):>9} "
            f"{t.ops.get('HEAD', 0):>5} {t.bytes_out:>11,} {ms:>9.0f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--grow", type=int, default=10, help="runs that get new records before the third poll")
    ap.add_argument("--records", type=int, default=20, help="steps per run at first, and new steps per grown run")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per request for the first-read comparison")
    args = ap.parse_args()

    srv = MotoS3().start()
    os.environ.update(srv.env())
    import s3fs

    from tui.ingest import Ingestor
    from tui.store import Store

    writer = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=srv.endpoint, key=ACCESS_KEY,
                               secret=SECRET_KEY, use_listings_cache=False)
    writer.mkdir("bench")
    name = "events.out.tfevents.1700000000.bench"
    paths = [f"bench/sweep/lr{i % 10}/seed{i:05d}/{name}" for i in range(args.runs)]
    data = {p: records(0, args.records, i) for i, p in enumerate(paths)}
    t0 = time.perf_counter()
    writer.pipe(data)
    print(f"uploaded {args.runs} runs ({sum(map(len, data.values())):,} bytes) in {time.perf_counter() - t0:.1f} s")

    from tui.ingest import sources

    print(f"\nfirst read of {args.runs} runs with {args.latency * 1000:g} ms per request:")
    srv.latency = args.latency
    took = {}
    for label, total in (("fetched together", sources.PREFETCH_TOTAL), ("one after the other", 0)):
        sources.PREFETCH_TOTAL, keep = total, sources.PREFETCH_TOTAL
        probe = Ingestor(Store(), ["s3://bench/sweep"])
        probe.rescan()
        t = time.perf_counter()
        probe.poll()
        took[label] = time.perf_counter() - t
        sources.PREFETCH_TOTAL = keep
        print(f"  {label:<20} {took[label]:6.2f} s")
    print(f"  ratio {took['one after the other'] / took['fetched together']:.1f}x")
    srv.latency = 0.0

    store = Store()
    ing = Ingestor(store, ["s3://bench/sweep"])

    def measure(label: str) -> Traffic:
        before = srv.snapshot()
        t = time.perf_counter()
        ing.rescan()
        ing.poll()
        ms = (time.perf_counter() - t) * 1000
        cost = srv.snapshot() - before
        print(row(label, cost, ms))
        return cost

    print(f"\n{'per poll (rescan + poll)':<34} {'requests':>8} {'LIST':>6} {'GET-RANGE':>9} {'HEAD':>5} "
          f"{'bytes sent':>11} {'wall ms':>9}")
    measure("first read")
    assert len(store.runs()) == args.runs, len(store.runs())
    idle = measure("idle poll")
    grown = paths[:: max(1, args.runs // args.grow)][: args.grow]
    new = {p: data[p] + records(args.records, args.records, i) for i, p in enumerate(grown)}
    new_bytes = sum(len(new[p]) - len(data[p]) for p in grown)
    writer.pipe(new)
    measure(f"poll, {len(grown)} runs grew")
    print(f"{'  (new bytes in those objects)':<34} {'':>8} {'':>6} {'':>9} {'':>5} {new_bytes:>11,}")

    fs = s3fs.S3FileSystem(skip_instance_cache=True, endpoint_url=srv.endpoint, key=ACCESS_KEY, secret=SECRET_KEY)
    before = srv.snapshot()
    t = time.perf_counter()
    dirs = per_directory_poll(fs, "bench/sweep")
    ref = srv.snapshot() - before
    print(row(f"reference: per-directory listing ({dirs} dirs)", ref, (time.perf_counter() - t) * 1000))
    print(f"\nidle poll: {ref.requests / max(1, idle.requests):.0f}x fewer requests and "
          f"{ref.bytes_out / max(1, idle.bytes_out):.1f}x fewer bytes than the per-directory listing")
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
