"""One logdir-spec parser and one is_url (tui.vocab.logdir), also as discovery and status use them."""

import os

import pytest

from tui.vocab import Spec, is_url, parse_spec, spec_is_url, spec_path


def never(_path):
    return False


@pytest.mark.parametrize("path, url", [
    ("s3://bucket/runs", True), ("gs://b/x", True), ("memory://x", True), ("hdfs+x.y://h/p", True),
    ("file:///tmp/runs", False), ("FILE:///tmp", False), ("/tmp/runs", False), ("runs", False),
    ("name:s3://b", False), ("C:\\runs", False), ("://x", False), ("3s://x", False),
])
def test_is_url(path, url):
    assert is_url(path) is url


@pytest.mark.parametrize("spec, expected", [
    ("runs", Spec(None, "runs")),
    ("/tmp/runs", Spec(None, "/tmp/runs")),
    ("ppo:/tmp/runs", Spec("ppo", "/tmp/runs")),
    ("ppo:runs/a:b", Spec("ppo", "runs/a:b")),  # split once: the path may hold ':'
    ("remote:s3://b/runs", Spec("remote", "s3://b/runs")),
    ("s3://b/runs", Spec(None, "s3://b/runs")),
    ("file:///tmp/x", Spec(None, "file:///tmp/x")),
    ("C:\\x", Spec(None, "C:\\x")),  # a Windows drive, not a run named C
    ("c:\\Users\\me\\runs", Spec(None, "c:\\Users\\me\\runs")),
    (":/tmp/x", Spec(None, ":/tmp/x")),  # empty name
    ("name:", Spec(None, "name:")),  # empty path
    ("a/b:c", Spec(None, "a/b:c")),  # a separator in the name: a path
])
def test_parse_spec(spec, expected):
    assert parse_spec(spec, exists=never) == expected


def test_an_existing_path_with_a_colon_stays_a_path(tmp_path):
    d = tmp_path / "run:2024"
    d.mkdir()
    assert parse_spec(str(d)) == Spec(None, str(d))
    rel = "x:y"
    assert parse_spec(rel, exists=lambda p: p == rel) == Spec(None, rel)
    assert parse_spec(rel, exists=never) == Spec("x", "y")


def test_drive_with_forward_slash_only_on_windows():
    expected = Spec(None, "C:/runs") if os.name == "nt" else Spec("C", "/runs")
    assert parse_spec("C:/runs", exists=never) == expected


def test_spec_helpers():
    assert spec_path("ppo:/tmp/x") == "/tmp/x" and spec_path("/tmp/x") == "/tmp/x"
    assert spec_is_url("n:gs://b/x") and spec_is_url("gs://b/x") and not spec_is_url("n:/tmp/x")
    assert not spec_is_url("file:///tmp/x")


def test_discovery_and_the_status_cache_use_it(tmp_path):
    from tui.ingest.discovery import parse_spec as discovery_spec
    s = discovery_spec(f"ppo:{tmp_path}")
    assert (s.name, s.path) == ("ppo", str(tmp_path))
    assert discovery_spec("C:\\x").name is None
