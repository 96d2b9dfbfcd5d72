"""The run's one-line summary is shown first: in each run card of the review (text, Markdown,
HTML) and, by its head, in ``tbpeek status``'s line."""

from __future__ import annotations

import html
import json
import math

from test_review import T0, collapse_store

from tui.health import HealthOptions, judge, siblings
from tui.notes import NoteStore
from tui.report.render_html import render_html
from tui.report.render_md import md as md_escape
from tui.report.render_md import render_md
from tui.report.render_text import render_text
from tui.report.review import build_review
from tui.report.status import fields
from tui.report.status_cache import RunSummary as CachedRun
from tui.report.status_cache import Summary

END = T0 + 400 * 30.0


def _review():
    return build_review(collapse_store().snapshots(), since=T0 - 3600, now=END + 5 * 3600,
                        opts=HealthOptions(actions=6), notes=NoteStore("/nonexistent-notes-dir"), looks=[])


def _summaries() -> dict[str, str]:
    """Each run's summary as `check` computes it (review mode: the runs have ended)."""
    snaps = collapse_store().snapshots()
    rel = siblings(snaps)
    opts = HealthOptions(actions=6, mode="review")
    out = {}
    for s in snaps:
        h = judge(s, opts, END + 5 * 3600, rel[s.name])
        assert h.summary is not None
        out[s.name] = h.summary.text
    return out


def test_each_run_card_starts_with_the_runs_summary():
    review, summaries = _review(), _summaries()
    shown = review.visible()
    assert shown and all(r.summary == summaries[r.name] for r in shown)
    text = render_text(review).splitlines()
    md = render_md(review).splitlines()
    page = render_html(review)
    for r in shown:
        # text: the line right under the run's head line
        i = next(k for k, line in enumerate(text) if line.endswith(f"  {r.name}") and line.lstrip()[0] in "■▲●")
        assert text[i + 1] == f"  {r.summary}"
        # Markdown: the first paragraph under the heading
        j = next(k for k, line in enumerate(md) if line.startswith("### ") and f" {r.name} " in line.replace("\\", ""))
        assert md[j + 2] == f"**{md_escape(r.summary)}**"
        # HTML: the first thing in the card after its heading
        card = page.split(f'id="run-{[x.name for x in shown].index(r.name) + 1}"', 1)[1]
        after_head = card.split("</h3>", 1)[1]
        assert after_head.lstrip().startswith(f'<p class="summary">{html.escape(r.summary, quote=True)}</p>')
    assert any("unlearned" in r.summary or "collapsed" in r.summary for r in shown if r.name == "collapse")


def test_the_summary_in_the_review_is_safe_text():
    """A summary quotes reasons, and reasons quote tags from event files: shown as text."""
    from dataclasses import replace

    review = _review()
    evil = 'broken: <img src=x onerror=alert(1)> [bold]x[/] *y* \x1b[2J'
    review = replace(review, runs=tuple(replace(r, summary=evil) for r in review.runs))
    text, md, page = render_text(review), render_md(review), render_html(review)
    assert "\x1b" not in text and "  broken: <img src=x onerror=alert(1)> [bold]x[/] *y* \\x1b[2J" in text
    assert "<img" not in md and "\\*y\\*" in md
    assert "<img" not in page and html.escape("<img src=x onerror=alert(1)>") in page


def _cached(run: str, head: str, kind: str = "collapsed", sev: int = 3) -> CachedRun:
    return CachedRun(run, 1, 0.0, [("entropy", kind, sev, "why")], last_write=0.0, head=head, state="live")


def test_the_status_line_names_the_worst_run_by_its_summary_head():
    runs = [_cached("seaquest", "learned nothing", "pinned_at_max"), _cached("zz", "dead"), _cached("zzz", "broken", "nonfinite")]
    f = fields(Summary("k", ["/x"], 0.0, runs), next_look=None, now=10.0)
    assert f["line"] == "▲ seaquest: learned nothing (+2 more)" and f["problem"] == "learned nothing"
    # A head that doesn't name the problem ("learning ...; but throughput dropped") gives way to the verdict.
    runs = [CachedRun("breakout", 1, 0.0, [("throughput", "sudden_drop", 3, "x")], last_write=0.0, head="learning")]
    assert fields(Summary("k", ["/x"], 0.0, runs), None, 10.0)["line"] == "▲ breakout: throughput sudden drop"
    runs = [CachedRun("pong", 1, 0.0, [("entropy", "collapsed", 3, "x")], last_write=0.0, head="not learning yet")]
    assert fields(Summary("k", ["/x"], 0.0, runs), None, 10.0)["line"] == "▲ pong: entropy collapsed"
    # No head (a cache written before heads): the verdict in words, as before.
    runs = [CachedRun("c", 1, 0.0, [("entropy", "pinned_at_max", 3, "h")], last_write=0.0)]
    assert fields(Summary("k", ["/x"], 0.0, runs), None, 10.0)["line"] == "▲ c: entropy pinned at max"
    # Safe for tmux: a name can't inject a format.
    runs = [_cached("#[fg=red]x", "dead")]
    assert fields(Summary("k", ["/x"], 0.0, runs), None, 10.0)["line"] == "▲ ##[fg=red]x: dead"


def test_the_cache_keeps_each_runs_head_and_state(tmp_path):
    """Written by a real refresh from event files, read back from the summary file."""
    from eventfiles import Writer

    from tui.report.status_cache import Paths, load_summary, refresh

    logdir = tmp_path / "logs"
    with Writer(logdir / "pinned") as w:
        t = T0
        for i in range(60):
            w.scalar("policy_entropy", math.log(6) - 1e-5 * (i % 3), 2048 * (i + 1), t + 30 * i)
            w.scalar("eprewmean", -21.0 + 0.01 * (i % 2), 2048 * (i + 1), t + 30 * i)
    paths = Paths(tmp_path / "state", "k")
    s = refresh([str(logdir)], HealthOptions(actions=6), paths, "k", now=T0 + 60 * 30 + 10)
    (run,) = s.runs
    assert run.state == "live" and run.head == "fine"  # pinned for 30 min only: early, as judged live
    again = load_summary(paths.summary)
    assert again is not None and again.runs[0].head == run.head and again.runs[0].state == run.state
    assert json.loads(paths.summary.read_text())["runs"][0]["head"] == run.head
