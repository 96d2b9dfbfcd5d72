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
