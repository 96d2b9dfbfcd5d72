"""S3 logdirs against a real S3 API on 127.0.0.1 (moto's server, started by the fixture).

What a poll costs is counted at the server: one listing of the whole prefix per poll, and
ranged reads of only the bytes appended since the last poll.
"""

from __future__ import annotations

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from eventfiles import Writer
from test_ingest_damage import FILE, records

from tui.ingest import Ingestor, load
from tui.ingest.tree import REMOTE
from tui.store import Store

pytest_plugins = ["s3_moto"]  # the fixtures: moto_s3 (the server), s3 (env + a fresh bucket)


def counts(store: Store) -> dict[str, dict[str, tuple[int, float | None]]]:
    """Per run, per tag: number of points and the last value."""
    out: dict[str, dict[str, tuple[int, float | None]]] = {}
    for snap in store.snapshots():
        out[snap.name] = {t: (len(s), float(s.values[-1]) if len(s) else None) for t, s in snap.series.items()}
    return out


def make_sweep(root, runs: int = 4) -> None:
    for i in range(runs):
        sub = root / f"seed{i}" / ("ppo" if i % 2 else "")
        with Writer(sub, suffix=f".{i}") as w:
            for step in range(0, 40 * (i + 1), 4):
                w.scalar("charts/episodic_return", step * 0.1 + i, step, 1e9 + step)
                w.scalar("losses/entropy", 1.0 - step / 1000, step, 1e9 + step)
    with Writer(root / "seed0", suffix=".second") as w:  # a second event file in one run
        w.scalar("charts/SPS", 900.0, 1000, 2e9)


def test_point_counts_equal_the_same_runs_on_disk(s3, tmp_path):
    make_sweep(tmp_path / "sweep")
    s3.upload_tree(tmp_path / "sweep", "logs/sweep")
    on_disk = load([str(tmp_path / "sweep")])
    on_s3 = load([s3.url("logs/sweep")])
    assert on_s3.runs() == on_disk.runs() == ["seed0", "seed1/ppo", "seed2", "seed3/ppo"]
    assert counts(on_s3) == counts(on_disk)
    assert sum(n for tags in counts(on_s3).values() for n, _ in tags.values()) > 100


def test_real_runs_read_from_s3_equal_the_same_runs_on_disk(s3, rahtz):
    s3.upload_tree(rahtz, "rahtz")  # copied to the test's bucket, read in place on disk
    on_disk = load([str(rahtz)])
    on_s3 = load([s3.url("rahtz")])
    assert on_s3.runs() == on_disk.runs() and len(on_disk.runs()) >= 5
    assert counts(on_s3) == counts(on_disk)


def test_an_idle_poll_is_one_listing_and_nothing_else(s3):
    for i in range(6):
        s3.put(f"logs/r{i}/{FILE}", b"".join(records(20)))
    ing = Ingestor(Store(), [s3.url("logs")])
    ing.rescan()
    ing.poll()
    before = s3.server.snapshot()
    assert ing.rescan() == []
    assert ing.poll() == set()
    idle = s3.server.snapshot() - before
    assert dict(idle.ops) == {"LIST": 1}


def test_a_growing_object_is_picked_up_by_a_ranged_read_of_the_new_bytes(s3):
    first = b"".join(records(50))
    s3.put(f"logs/a/{FILE}", first)
    s3.put(f"logs/b/{FILE}", b"".join(records(5, tag="acc")))
    store = Store()
    ing = Ingestor(store, [s3.url("logs")])
    assert sorted(ing.rescan()) == ["a", "b"]
    assert ing.poll() == {"a", "b"}
    more = b"".join(records(10, start=50))
    s3.put(f"logs/a/{FILE}", first + more)  # objects are rewritten whole; the reader sees growth
    before = s3.server.snapshot()
    assert ing.rescan() == []
    assert ing.poll() == {"a"}
    cost = s3.server.snapshot() - before
    assert store.series("a", "loss").steps.tolist() == list(range(60))
    assert dict(cost.ops) == {"LIST": 1, "GET-RANGE": 1}
    assert cost.bytes_by_op["GET-RANGE"] == len(more) + 4  # the new bytes, and 4 that prove it grew


def test_new_bytes_of_many_runs_are_fetched_together_and_only_once(s3, monkeypatch):
    data = {i: b"".join(records(20 + i)) for i in range(6)}
    s3.fs.pipe({f"{s3.bucket}/logs/r{i}/{FILE}": d for i, d in data.items()})
    s3.put("logs/r0/checkpoint.pt", b"x" * 5000)  # not an event file: never read
    store = Store()
    ing = Ingestor(store, [s3.url("logs")])
    fs = ing._disc.sources[0].fs
    batches: list[int] = []
    real = fs.cat_ranges

    def spy(paths, *a, **k):
        batches.append(len(paths))
        return real(paths, *a, **k)

    monkeypatch.setattr(fs, "cat_ranges", spy)  # s3fs runs the ranges of one call concurrently
    ing.rescan()
    before = s3.server.snapshot()
    assert ing.poll() == {f"r{i}" for i in range(6)}
    first = s3.server.snapshot() - before
    assert batches == [6] and first.ops["GET-RANGE"] == 6  # one batch of concurrent ranged reads
    assert first.bytes_by_op["GET-RANGE"] == sum(map(len, data.values()))
    assert [len(store.series(f"r{i}", "loss")) for i in range(6)] == [20 + i for i in range(6)]
    more = {i: b"".join(records(5, start=20 + i)) for i in (1, 3, 4)}
    s3.fs.pipe({f"{s3.bucket}/logs/r{i}/{FILE}": data[i] + m for i, m in more.items()})
    before = s3.server.snapshot()
    ing.rescan()
    assert ing.poll() == {"r1", "r3", "r4"}
    cost = s3.server.snapshot() - before
    assert batches == [6, 3] and dict(cost.ops) == {"LIST": 1, "GET-RANGE": 3}
    assert cost.bytes_by_op["GET-RANGE"] == sum(len(m) + 4 for m in more.values())
    assert [len(store.series(f"r{i}", "loss")) for i in range(6)] == [20, 26, 22, 28, 29, 25]


def test_a_poll_without_a_rescan_still_sees_new_bytes(s3):
    data = b"".join(records(10))
    s3.put(f"logs/a/{FILE}", data)
    store = Store()
    ing = Ingestor(store, [s3.url("logs")])
    ing.rescan()
    ing.poll()
    s3.put(f"logs/a/{FILE}", data + b"".join(records(3, start=10)))
    assert ing.poll() == {"a"}  # the second stat since the last listing lists again
    assert len(store.series("a", "loss")) == 13


def test_a_listing_is_paginated_and_complete(s3):
    run = b"".join(records(2))
    s3.fs.pipe({f"{s3.bucket}/logs/r{i:04d}/{'events.out.tfevents.1' if i % 201 == 0 else 'note.txt'}":
                run if i % 201 == 0 else b"x" for i in range(1005)})  # more than one page of 1 000 keys
    ing = Ingestor(Store(), [s3.url("logs")])
    before = s3.server.snapshot()
    assert ing.rescan() == [f"r{i:04d}" for i in range(0, 1005, 201)]
    assert (s3.server.snapshot() - before).ops["LIST"] == 2


def test_a_deleted_object_and_a_deleted_run(s3):
    s3.put(f"logs/a/{FILE}", b"".join(records(10)))
    s3.put(f"logs/b/{FILE}", b"".join(records(10)))
    s3.put("logs/b/events.out.tfevents.2.host", b"".join(records(4, tag="acc")))
    store = Store()
    ing = Ingestor(store, [s3.url("logs")])
    ing.rescan()
    ing.poll()
    s3.fs.rm(f"{s3.bucket}/logs/b/events.out.tfevents.2.host")
    s3.fs.rm(f"{s3.bucket}/logs/a", recursive=True)
    assert ing.rescan() == []
    ing.poll()
    snaps = {s.name: s for s in store.snapshots()}
    assert any("no longer exists" in m for m in snaps["a"].problems.values())
    assert len(store.series("a", "loss")) == 10  # the data read before is kept
    assert len(store.series("b", "acc")) == 4
    assert not any("no longer exists" in m for m in snaps["b"].problems.values())
    s3.put(f"logs/a/{FILE}", b"".join(records(12)))  # the run comes back
    ing.rescan()
    ing.poll()
    snaps = {s.name: s for s in store.snapshots()}
    assert not any("no longer exists" in m for m in snaps["a"].problems.values())
    assert len(store.series("a", "loss")) == 12


def test_an_endpoint_that_goes_away_is_a_problem_not_a_crash_and_runs_stay(s3, monkeypatch):
    from s3_moto import MotoS3

    other = MotoS3().start()  # its own server, so that stopping it leaves the others' alone
    monkeypatch.setenv("AWS_ENDPOINT_URL", other.endpoint)
    s3.put(f"logs/a/{FILE}", b"".join(records(10)))  # moto's buckets are shared by both servers
    store = Store()
    ing = Ingestor(store, [s3.url("logs")])
    ing.rescan()
    ing.poll()
    other.stop()
    assert ing.rescan() == []
    ing.poll()
    probs = ing.problems()
    assert [(p.kind, p.path) for p in probs] == [(REMOTE, s3.url("logs"))]
    assert "cannot reach" in probs[0].message and "does not exist" not in probs[0].message
    snap = store.snapshots()[0]
    assert snap.name == "a" and len(store.series("a", "loss")) == 10
    assert not any("no longer exists" in m for m in snap.problems.values())
