"""fsspec URLs (object stores): polled sizes and ranged reads, on fsspec's in-memory file system."""

from __future__ import annotations

import pytest

fsspec = pytest.importorskip("fsspec")

from test_ingest_damage import FILE, records  # noqa: E402

from tui.ingest import Ingestor, LogdirError  # noqa: E402
from tui.store import Store  # noqa: E402


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    root = "/tbpeek-test"
    if fs.exists(root):
        fs.rm(root, recursive=True)
    yield fs, root
    if fs.exists(root):
        fs.rm(root, recursive=True)


def test_memory_url_runs_are_read_and_appends_picked_up(memfs):
    fs, root = memfs
    data = b"".join(records(50))
    fs.pipe(f"{root}/a/{FILE}", data)
    fs.pipe(f"{root}/b/c/{FILE}", b"".join(records(5, tag="acc")))
    store = Store()
    ing = Ingestor(store, [f"memory://{root}"])
    assert sorted(ing.rescan()) == ["a", "b/c"]
    assert ing.poll() == {"a", "b/c"}
    assert len(store.series("a", "loss")) == 50
    assert ing.watch_paths() == []  # nothing for a local file watcher: it is polled
    fs.pipe(f"{root}/a/{FILE}", data + b"".join(records(10, start=50)))  # objects are rewritten whole
    assert ing.poll() == {"a"}
    assert store.series("a", "loss").steps.tolist() == list(range(60))
    assert ing.poll() == set()


def test_missing_url_logdir(memfs):
    with pytest.raises(LogdirError, match="does not exist"):
        Ingestor(Store(), ["memory://nowhere/at/all"])


def test_listing_times_in_every_form_fsspec_file_systems_use():
    import datetime as dt

    from tui.ingest.sources import _mtime

    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert _mtime({"LastModified": t}) == t.timestamp()  # s3fs
    assert _mtime({"updated": "2026-01-02T03:04:05Z"}) == t.timestamp()  # gcsfs
    assert _mtime({"updated": "2026-01-02T03:04:05.000+00:00"}) == t.timestamp()
    assert _mtime({"mtime": 12.5}) == 12.5
    assert _mtime({"updated": "yesterday"}) == 0.0 and _mtime({}) == 0.0


def test_memory_fs_runs_take_one_listing_per_poll(memfs, monkeypatch):
    fs, root = memfs
    fs.pipe(f"{root}/a/{FILE}", b"".join(records(5)))
    fs.pipe(f"{root}/b/{FILE}", b"".join(records(5)))
    ing = Ingestor(Store(), [f"memory://{root}"])
    ing.rescan()
    ing.poll()
    calls: list[str] = []
    real_find, real_info = type(fs).find, type(fs).info
    monkeypatch.setattr(type(fs), "find", lambda self, *a, **k: calls.append("find") or real_find(self, *a, **k))
    monkeypatch.setattr(type(fs), "info", lambda self, *a, **k: calls.append("info") or real_info(self, *a, **k))
    ing.rescan()
    ing.poll()
    assert calls == ["find"]  # one listing answers discovery and every file's size
