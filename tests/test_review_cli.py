"""`tbpeek review` from the command line: real event files written by the test, and Rahtz's runs."""

from __future__ import annotations

import html.parser
import time

import numpy as np
import pytest
from eventfiles import Writer

from tui.cli import main
from tui.notes import Note, NoteStore

RAHTZ_RUNS = [
    "fps1_0c803e5/baselines", "fps1_0c803e5/true_reward",
    "moving_dot-end_to_end-synthetic_prefs_bf708da/a2c", "moving_dot-end_to_end-synthetic_prefs_bf708da/a2c_misc",
    "pong-end_to_end-synthetic_prefs-1_81a378f/a2c", "pong-end_to_end-synthetic_prefs-1_81a378f/a2c_misc",
    "pong-original_rewards_7417fd8/a2c", "pong-original_rewards_7417fd8/a2c_misc",
]


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Three fresh runs (two seeds of one config and one stale run from last week)."""
    root = tmp_path_factory.mktemp("logs")
    now = time.time()
    rng = np.random.default_rng(3)
    for name, start in (("ppo_seed1", now - 7200), ("ppo_seed2", now - 7200), ("stale", now - 8 * 86400)):
        with Writer(root / name) as w:
            for i in range(200):
                wall = start + i * 30
                w.scalar("losses/entropy", float(np.log(4) * (0.6 + 0.4 * np.exp(-i / 40)) + rng.normal(0, 0.01)),
                         i * 512, wall)
                w.scalar("charts/episodic_return", float(i / 10 + rng.normal(0, 0.5)), i * 512, wall)
                w.scalar("charts/SPS", 17.0, i * 512, wall)
    return root


def test_review_text_leaves_untouched_runs_out(logdir, capsys):
    assert main(["review", str(logdir), "--since", "24h"]) == 0
    out = capsys.readouterr().out
    assert "ppo_seed1" in out and "ppo_seed2" in out
    assert "stale" not in out.split("Seed groups")[0]
    assert "1 untouched in this period left out; --all shows them" in out
    assert "ppo_seed*  2/2 healthy" in out
    assert main(["review", str(logdir), "--since", "24h", "--all"]) == 0
    assert "stale" in capsys.readouterr().out


def test_review_files_in_each_format_with_notes(logdir, tmp_path, capsys):
    NoteStore().save(Note(str(logdir / "ppo_seed1"), question="does seed 1 learn?", expectation="yes"))
    for ext in ("md", "html", "txt"):
        out = tmp_path / f"r.{ext}"
        assert main(["review", str(logdir), "-o", str(out)]) == 0
        assert f"wrote {out}" in capsys.readouterr().err
        text = out.read_text()
        assert "does seed 1 learn?" in text
    assert (tmp_path / "r.md").read_text().startswith("# tbpeek review")
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "r.txt").read_text().startswith("tbpeek review")


@pytest.mark.parametrize("argv, message", [
    (["--since", "someday"], "can't read --since"),
    (["--seed-pattern", "("], "not a valid regular expression"),
    (["--role", "entropy"], "expected ROLE=TAG"),
    (["-o", "/nonexistent-dir/x.html"], "can't write /nonexistent-dir/x.html"),
])
def test_review_usage_errors_exit_2(logdir, capsys, argv, message):
    assert main(["review", str(logdir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_review_of_a_missing_logdir_exits_2(tmp_path, capsys):
    assert main(["review", str(tmp_path / "nope")]) == 2
    assert "tbpeek review:" in capsys.readouterr().err


class _Sections(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.h3: list[str] = []
        self.svgs = 0
        self._in = False

    def handle_starttag(self, tag, attrs):
        self.svgs += tag == "svg"
        if tag == "h3":
            self._in, self.h3 = True, [*self.h3, ""]

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.h3[-1] += data


def _badge_and_name(h3: str) -> tuple[str, str]:
    for label in ("alarm", "warn", "info", "ok"):
        if h3.startswith(label):
            return label, h3[len(label):]
    raise AssertionError(f"no severity badge in {h3!r}")


def test_rahtz_review_worst_first_in_every_format(rahtz, tmp_path, capsys):
    # The runs are from 2018: nothing touched in the last day.
    assert main(["review", str(rahtz)]) == 0
    assert "0 runs (8 untouched in this period left out" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["review", str(rahtz), "--all", "-o", str(out)]) == 0
    p = _Sections()
    p.feed(out.read_text())
    heads = [_badge_and_name(h) for h in p.h3]
    assert sorted(name for _, name in heads) == sorted(RAHTZ_RUNS)
    # the three known failures lead, each an alarm; the others follow
    assert [badge for badge, _ in heads] == ["alarm"] * 3 + [b for b, _ in heads[3:]]
    assert "alarm" not in [badge for badge, _ in heads[3:]]
    assert {name for _, name in heads[:3]} == {
        "fps1_0c803e5/baselines", "moving_dot-end_to_end-synthetic_prefs_bf708da/a2c",
        "pong-end_to_end-synthetic_prefs-1_81a378f/a2c"}
    assert p.svgs >= 20
    md = tmp_path / "r.md"
    assert main(["review", str(rahtz), "--all", "-o", str(md)]) == 0
    text = md.read_text()
    assert "**throughput slow decay**" in text and "**throughput sudden drop**" in text
    assert "**entropy pinned at max, now alarm**" in text
