"""The one directory-tree tracker (tui.ingest.tree): local scans, object-store listings, problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.ingest import tree as tree_mod
from tui.ingest.remote import RemoteError
from tui.ingest.tree import REMOTE, UNREADABLE_DIR, DirTree, RemoteObject

FAR = 1e12  # a clock far in the future: no directory counts as "just changed"


def touch(p: Path, data: bytes = b"x") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def count_listings(monkeypatch) -> list[str]:
    listed: list[str] = []
    real = os.scandir

    def scandir(path):
        listed.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(tree_mod.os, "scandir", scandir)
    return listed


def test_walk_is_parents_first_in_name_order_and_only_event_files_are_tracked(tmp_path):
    touch(tmp_path / "b" / "events.out.tfevents.1")
    touch(tmp_path / "a" / "z" / "events.out.tfevents.2")
    touch(tmp_path / "a" / "notes.txt")
    touch(tmp_path / "a" / "events.out.tfevents.3")
    t = DirTree(str(tmp_path))
    ch = t.scan()
    order = [os.path.relpath(d, tmp_path) for d, _ in t.walk()]
    assert order == [".", "a", "a/z", "b"]
    assert {os.path.relpath(f, tmp_path) for f in t.files()} == {
        "b/events.out.tfevents.1", "a/z/events.out.tfevents.2", "a/events.out.tfevents.3"}
    assert ch.structure_changed and len(ch.new_dirs) == 4 and len(ch.new_files) == 3


def test_a_1500_deep_tree_needs_no_recursion(tmp_path):
    deep = str(tmp_path)
    for _ in range(1500):  # os.makedirs and Path.mkdir(parents=True) recurse themselves
        deep += "/d"
        os.mkdir(deep)
    Path(deep, "events.out.tfevents.1").write_bytes(b"x")
    t = DirTree(str(tmp_path))
    t.scan()
    assert len(list(t.walk())) == 1501
    assert [deep + "/events.out.tfevents.1"] == list(t.files())
    # Discovery on the same tree names the run by its relative path.
    from tui.ingest.discovery import Discovery, parse_spec

    try:
        runs = Discovery([parse_spec(str(tmp_path))]).scan()
        assert [r.name for r in runs] == ["/".join(["d"] * 1500)]
    finally:  # shutil.rmtree (pytest's clean-up) recurses too: take it down from the bottom
        os.unlink(deep + "/events.out.tfevents.1")
        while deep != str(tmp_path):
            os.rmdir(deep)
            deep = os.path.dirname(deep)


def test_an_unchanged_tree_is_not_listed_again(tmp_path, monkeypatch):
    for i in range(5):
        touch(tmp_path / f"r{i}" / "events.out.tfevents.1")
    t = DirTree(str(tmp_path), clock=lambda: FAR)
    t.scan()
    listed = count_listings(monkeypatch)
    ch = t.scan()
    assert listed == [] and not ch
    touch(tmp_path / "r2" / "events.out.tfevents.2")  # changes r2's mtime only
    ch = t.scan()
    assert listed == [str(tmp_path / "r2")]
    assert ch.new_files == {str(tmp_path / "r2" / "events.out.tfevents.2")}


def test_a_directory_changed_just_now_is_listed_again_until_its_mtime_is_settled(tmp_path, monkeypatch):
    touch(tmp_path / "r" / "events.out.tfevents.1")
    now = [os.stat(tmp_path / "r").st_mtime + 0.5]
    t = DirTree(str(tmp_path), clock=lambda: now[0])
    t.scan()
    listed = count_listings(monkeypatch)
    t.scan()
    assert str(tmp_path / "r") in listed  # within RACY seconds of its mtime: listed again
    listed.clear()
    now[0] += 10
    t.scan()
    t.scan()
    assert str(tmp_path / "r") not in listed[1:]


def test_changes_new_grown_replaced_and_gone(tmp_path):
    f = touch(tmp_path / "r" / "events.out.tfevents.1", b"abc")
    t = DirTree(str(tmp_path), stat_files=True, clock=lambda: FAR)
    t.scan()
    assert not t.check_files()
    with open(f, "ab") as fh:
        fh.write(b"more")
    ch = t.check_files()
    assert ch.changed_files == {str(f)} and not ch.structure_changed and ch.dirty == {str(f)}
    tmp = touch(tmp_path / "r" / "tmp", b"new file")
    os.replace(tmp, f)  # another inode under the same name
    ch = t.check_files()
    assert ch.replaced_files == {str(f)} and ch.structure_changed
    f.unlink()
    ch = t.check_files()
    assert ch.gone_files == {str(f)}
    (tmp_path / "r").rmdir()
    ch = t.scan()
    assert ch.gone_dirs == {str(tmp_path / "r")}
    assert [d for d, _ in t.walk()] == [str(tmp_path)]


def test_full_scan_finds_a_change_that_mtimes_hid(tmp_path):
    r = tmp_path / "r"
    touch(r / "events.out.tfevents.1")
    t = DirTree(str(tmp_path), clock=lambda: FAR)
    t.scan()
    st = os.stat(r)
    touch(r / "events.out.tfevents.2")
    os.utime(r, ns=(st.st_atime_ns, st.st_mtime_ns))  # as a coarse or cached mtime would (NFS)
    assert not t.scan()
    assert t.scan(full=True).new_files == {str(r / "events.out.tfevents.2")}


def test_symlinks_followed_but_never_in_a_loop(tmp_path):
    outside = tmp_path / "outside"
    touch(outside / "events.out.tfevents.1")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    (root / "loop").symlink_to(root)
    t = DirTree(str(root))
    t.scan()
    assert [os.path.relpath(d, root) for d, _ in t.walk()] == [".", "link"]
    no_links = DirTree(str(root), follow_links=False)
    no_links.scan()
    assert [d for d, _ in no_links.walk()] == [str(root)]


def test_an_unreadable_directory_is_a_problem_until_it_is_readable(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    touch(locked / "r" / "events.out.tfevents.1")
    touch(tmp_path / "ok" / "events.out.tfevents.1")
    real = os.scandir
    deny = [True]

    def scandir(path):
        if deny[0] and os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(tree_mod.os, "scandir", scandir)
    t = DirTree(str(tmp_path))
    t.scan()
    assert list(t.problems) == [str(locked)]
    p = t.problems[str(locked)]
    assert p.kind == UNREADABLE_DIR and p.path == str(locked)
    assert "Permission denied" in p.message and "chmod" in p.advice and p.to_json()["kind"] == "unreadable-dir"
    assert [os.path.relpath(f, tmp_path) for f in t.files()] == ["ok/events.out.tfevents.1"]
    deny[0] = False
    t.scan()
    assert t.problems == {}
    assert len(t.files()) == 2


def test_a_vanished_root_is_no_problem_and_comes_back(tmp_path):
    root = tmp_path / "later"
    t = DirTree(str(root))
    assert not t.scan() and t.problems == {} and list(t.walk()) == []
    touch(root / "r" / "events.out.tfevents.1")
    ch = t.scan()
    assert ch.new_files == {str(root / "r" / "events.out.tfevents.1")}


class FakeLister:
    def __init__(self, objects: list[RemoteObject]) -> None:
        self.objects = objects
        self.fail: RemoteError | None = None
        self.calls = 0

    def list_tree(self, root: str) -> list[RemoteObject]:
        self.calls += 1
        if self.fail:
            raise self.fail
        return list(self.objects)


def test_listing_mode_builds_directories_from_keys_and_reports_changes():
    root = "s3://b/sweep"
    obj = [RemoteObject(f"{root}/s1/ppo/events.out.tfevents.1", 10, 1.0),
           RemoteObject(f"{root}/s0/events.out.tfevents.1", 5, 1.0),
           RemoteObject(f"{root}/s0/config.json", 1, 1.0),
           RemoteObject("s3://b/elsewhere/events.out.tfevents.1", 1, 1.0)]
    lister = FakeLister(obj)
    t = DirTree(root, lister)
    ch = t.scan()
    assert lister.calls == 1
    assert [d for d, _ in t.walk()] == [root, f"{root}/s0", f"{root}/s1", f"{root}/s1/ppo"]
    assert set(t.files()) == {obj[0].url, obj[1].url}
    assert ch.new_files == {obj[0].url, obj[1].url}
    lister.objects = [RemoteObject(obj[0].url, 20, 2.0)]  # s0 deleted, s1 grew
    ch = t.scan()
    assert ch.changed_files == {obj[0].url} and ch.gone_files == {obj[1].url}
    assert ch.gone_dirs == {f"{root}/s0"}


def test_a_failed_listing_keeps_the_tree_and_reports_one_problem():
    root = "s3://b/sweep"
    lister = FakeLister([RemoteObject(f"{root}/s0/events.out.tfevents.1", 5, 1.0)])
    t = DirTree(root, lister)
    t.scan()
    lister.fail = RemoteError("s3://b/sweep: cannot reach http://127.0.0.1:9 (EndpointConnectionError); check")
    ch = t.scan()
    assert not ch and list(t.files()) == [f"{root}/s0/events.out.tfevents.1"]
    assert [(p.kind, p.path) for p in t.problems.values()] == [(REMOTE, root)]
    assert "cannot reach" in t.problems[root].message
    lister.fail = None
    t.scan()
    assert t.problems == {}


@pytest.mark.parametrize("name,expected", [("events.out.tfevents.1.host", True), ("tfevents", True),
                                           ("events.txt", False)])
def test_event_file_names(name, expected):
    assert tree_mod.is_event_file_name(name) is expected


def test_poll_trees_speak_the_polling_watchers_language(tmp_path):
    from tui.ingest.tree import PollTrees

    a, later = tmp_path / "a", tmp_path / "later"
    f = touch(a / "r" / "events.out.tfevents.1", b"abc")
    pt = PollTrees([str(a), str(later)])
    pt.baseline()
    dirty: set[str] = set()
    assert not pt.check_files(dirty) and not pt.check_dirs(dirty) and dirty == set()
    with open(f, "ab") as fh:
        fh.write(b"more")
    assert pt.check_files(dirty) is False and dirty == {str(f)}  # new bytes: read, no rescan
    dirty.clear()
    g = touch(later / "s" / "events.out.tfevents.2")  # a logdir that appeared, with a run
    assert pt.check_dirs(dirty) is True and dirty == {str(g)}
    dirty.clear()
    f.unlink()
    assert pt.check_files(dirty) is True and dirty == set()  # a vanished file: find runs again
    (a / "r").rmdir()
    assert pt.check_all(dirty) is True
    assert str(a / "r") not in pt.dirs and set(pt.files) == {str(g)}
