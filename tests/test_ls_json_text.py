"""``tbpeek ls --json`` writes each run's JSON directly (no dict per tag): the text is exactly
what ``json.dumps`` makes of ``run_json``, whatever the names and numbers."""

from __future__ import annotations

import json
import math

import pytest

from tui.ingest.reader import FileState
from tui.report.ls import run_json, run_json_text
from tui.store import Problem, ProblemKind, Store
from tui.vocab import natural_key

NAMES = ["loss", 'q"uote\\back', "ünï/cødé", "ctl\x1b[31m\x00", "", "a" * 300, "tab\there"]
VALUES = [0.0, -0.0, 1.5, -2.25e-12, 3.0e300, 1 / 3, 7.0, float("nan"), float("inf"), float("-inf"), -1e7]


def _store() -> Store:
    st = Store()
    st.ensure_run("r", "/logs/r \"x\"")
    for k, tag in enumerate(NAMES):
        v = VALUES[k % len(VALUES)]
        st.append("r", tag, [0, 5, 9], [1.7e9, 1.7e9 + 0.125, 1.7e9 + k], [1.0, 2.0, v])
    st.append("r", "restarted", [0, 1, 2], [1.7e9] * 3, [1.0] * 3)
    st.append("r", "restarted", [1], [1.7e9 + 5], [2.0])
    st.set_text("r", "hparams", 0, 1.7e9, "lr: 0.1 \"ü\"")
    st.set_file_version("r", "brain.Event:2")
    st.set_last_write("r", 1.7e9 + 3)
    st.set_problems("r", "/logs/r/f", [Problem(ProblemKind.BAD_CHECKSUM, "/logs/r/f", "1 record skipped", offset=12,
                                               count=1)])
    for tag, v in zip(["v_" + str(i) for i in range(len(VALUES))], VALUES, strict=True):
        st.append("r", tag, [3], [1.7e9], [v])
    return st


def test_the_text_is_json_dumps_of_run_json():
    st = _store()
    snap = st.snapshot("r")
    files = [FileState("r", "/logs/r/f", 120, 130, 7, 1, "damaged: ü", 10, None),
             FileState("r", "/logs/r/g\u2028\"", 0, 0, 0, 0, None, 0, "event file was deleted")]
    want = json.dumps(run_json(snap, files, 1.8e9), allow_nan=False)
    assert run_json_text(snap, files, 1.8e9) == want
    back = json.loads(want)
    assert {t["tag"] for t in back["tags"]} >= set(NAMES)
    assert any(t["last_value"] is None and t["last_value_text"] == "nan" for t in back["tags"])


def test_an_empty_run_and_a_bad_number():
    st = Store()
    st.ensure_run("e", "/e")
    snap = st.snapshot("e")
    assert run_json_text(snap, [], 0.0) == json.dumps(run_json(snap, [], 0.0), allow_nan=False)
    st.ensure_run("w", "/w")
    st.append("w", "t", [1], [math.inf], [1.0])  # a wall time JSON can't hold reaches last_write
    snap = st.snapshot("w")
    with pytest.raises(ValueError):
        json.dumps(run_json(snap, [], 0.0), allow_nan=False)
    with pytest.raises(ValueError):
        run_json_text(snap, [], 0.0)


@pytest.mark.parametrize("last", [0.25, -0.0, 1e-300, -3.5e300, 123456789.0, float("nan"), float("inf")])
def test_runs_sharing_their_tags_one_format_per_run(last):
    """The common case (every tag has points, every number finite) fills one cached format per
    tag set; a non-finite number or a tag without points takes the tag-by-tag way: the same
    text either way, and a tag's name with ``%`` or quotes in it stays literal."""
    st = Store()
    tags = ["100% done", 'say "%s"', "%(x)d", "plain", "rollout/ep_rew_mean"]
    for r in ("a", "b", "c"):
        st.ensure_run(r, f"/logs/{r}")
        for k, tag in enumerate(tags):
            st.append(r, tag, [1, 2 ** 40 + k], [1.7e9, 1.7e9 + 0.1 * k], [0.5, last if r != "a" else k / 7])
    st.ensure_run("d", "/logs/d")
    st.append("d", "x", [1], [1.7e9], [1.0])
    st.append("d", "x", [0], [1.7e9], [2.0])  # a restart ...
    st.append("d", "y", [3], [1.7e9], [last])
    for r in ("a", "b", "c", "d"):
        snap = st.snapshot(r)
        want = json.dumps(run_json(snap, [], 1.8e9), allow_nan=False)
        assert run_json_text(snap, [], 1.8e9) == want
        assert [t["tag"] for t in json.loads(want)["tags"]] == sorted(snap.series, key=natural_key)
