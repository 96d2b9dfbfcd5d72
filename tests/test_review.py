"""The end-of-day review: timeline, looks, notes, sorting, and the three formats."""

from __future__ import annotations

import html.parser
import re
import time

import numpy as np
import pytest

from tui.health.verdict import Severity
from tui.looks.log import Look, append_look, read_looks
from tui.notes import Note, NoteStore
from tui.report.render_html import render_html
from tui.report.render_md import render_md
from tui.report.render_text import render_text
from tui.report.review import build_review, parse_since, render
from tui.report.review_model import role_stat, summarise_looks, timeline
from tui.store import Series, Store

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
N = 400
END = T0 + N * 30.0


@pytest.fixture(autouse=True)
def _utc(monkeypatch):
    """Clock times in the review are local: pin the zone so the expected strings hold."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _add(store: Store, name: str, entropy, reward, path: str | None = None) -> None:
    steps = np.arange(N) * 1000
    walls = T0 + np.arange(N) * 30.0
    store.ensure_run(name, path or f"/exp/{name}")
    store.append(name, "policy_entropy", steps, walls, entropy)
    store.append(name, "eprewmean", steps, walls, reward)


def collapse_store() -> Store:
    """'collapse': entropy healthy, then collapses at step 250k while the reward falls back.
    'healthy_seed1/2': healthy. 'old': wrote nothing after T0 + 1 h."""
    rng = np.random.default_rng(0)
    st = Store()
    ent = np.log(6) * (0.8 + rng.normal(0, 0.02, N))
    ent[:50] = np.log(6) * (0.99 + rng.normal(0, 0.005, 50))
    ent[250:] = 0.02 + rng.normal(0, 0.002, N - 250)
    rew = np.concatenate([np.linspace(-21, 5, 250), np.linspace(5, -20, N - 250)]) + rng.normal(0, 0.5, N)
    _add(st, "collapse", ent, rew)
    for seed in (1, 2):
        h = np.log(6) * (0.55 + 0.44 * np.exp(-np.arange(N) / 80) + rng.normal(0, 0.02, N))
        _add(st, f"healthy_seed{seed}", h, np.linspace(-21, 15, N) + rng.normal(0, 0.5, N))
    st.ensure_run("old", "/exp/old")
    st.append("old", "policy_entropy", np.arange(10), T0 - 86400 * 3 + np.arange(10) * 60.0,
              np.full(10, 1.79))
    return st


@pytest.fixture(scope="module")
def review_all():
    from tui.health import HealthOptions

    return build_review(collapse_store().snapshots(), since=T0 - 3600, now=END + 5 * 3600,
                        opts=HealthOptions(actions=6), notes=NoteStore("/nonexistent-notes-dir"),
                        include_all=False, looks=[])


# ---- parse_since ------------------------------------------------------------------------------

def test_parse_since_forms():
    now = 1_700_050_000.0  # 2023-11-15 12:06:40 UTC
    assert parse_since("24h", now) == now - 86400
    assert parse_since("90m", now) == now - 5400
    assert parse_since("today", now) == 1_700_006_400.0  # 2023-11-15 00:00 UTC
    assert parse_since("yesterday", now) == 1_700_006_400.0 - 86400
    assert parse_since("2023-11-14", now) == 1_699_920_000.0
    assert parse_since("2023-11-14T13:00", now) == 1_699_920_000.0 + 13 * 3600
    with pytest.raises(ValueError, match="use a duration"):
        parse_since("last tuesday", now)


# ---- the timeline -------------------------------------------------------------------------------

def test_timeline_of_a_run_whose_verdict_changes(review_all):
    (run,) = [r for r in review_all.runs if r.name == "collapse"]
    kinds = [(e.metric, e.kind) for e in run.timeline]
    # healthy first, then collapsed: in that order, with the step where the collapse began
    assert ("entropy", "healthy") in kinds and ("entropy", "collapsed") in kinds
    assert kinds.index(("entropy", "healthy")) < kinds.index(("entropy", "collapsed"))
    col = next(e for e in run.timeline if (e.metric, e.kind) == ("entropy", "collapsed"))
    assert 240_000 <= col.step <= 260_000
    assert col.wall_time == pytest.approx(T0 + col.step / 1000 * 30.0, abs=60)
    assert ("throughput", "ended") in kinds  # the present state closes the timeline
    assert all(e.kind != "too_early" for e in run.timeline)  # not news
    walls = [e.wall_time for e in run.timeline]
    assert walls == sorted(walls)
    # and as a person reads it: "23:37 · step 247k · entropy collapsed"
    clock = time.strftime("%H:%M", time.gmtime(col.wall_time))
    step = f"{col.step // 1000}k"
    assert f"{clock} · step {step} · entropy collapsed" in render_text(review_all)


def test_timeline_keeps_the_period_and_the_most_recent():
    class C:
        def __init__(self, i):
            self.metric, self.old_kind, self.new_kind = "entropy", None, f"k{i}"
            self.severity, self.step, self.wall_time, self.reason = Severity.OK, i, 100.0 + i, ""

    entries, omitted = timeline([C(i) for i in range(50)], since=110.0)
    assert entries[0].step == 20 and entries[-1].step == 49 and omitted == 10  # 40 in period, last 30
    entries, omitted = timeline([C(i) for i in range(5)], since=None)
    assert [e.step for e in entries] == [0, 1, 2, 3, 4] and omitted == 0


# ---- per run ------------------------------------------------------------------------------------

def test_runs_worst_first_with_state_duration_and_untouched_left_out(review_all):
    names = [r.name for r in review_all.runs]
    assert names[0] == "collapse"
    assert review_all.runs[0].worst == Severity.ALARM
    assert [r.name for r in review_all.visible()] == ["collapse", "healthy_seed1", "healthy_seed2"]
    assert review_all.untouched == 1 and "old" in [r.name for r in review_all.visible(True)]
    run = review_all.runs[0]
    assert run.state == "ended"
    assert run.duration == pytest.approx((N - 1) * 30.0)
    assert run.steps_per_s == pytest.approx(1000 / 30.0)
    ent = {s.role: s for s in run.roles}["entropy"]
    assert ent.first == pytest.approx(np.log(6), rel=0.02) and ent.last < 0.05
    rew = {s.role: s for s in run.roles}["reward"]
    assert rew.best_dir == "max" and rew.best == pytest.approx(5, abs=2) and rew.last < -15
    text = render_text(review_all)
    assert "1 untouched in this period left out" in text
    assert "old" not in re.findall(r"^\S+ \w+\s+(\S+)$", text, re.M)


def test_seed_group_in_review(review_all):
    (g,) = review_all.groups
    assert g.key == "healthy_seed*" and g.label == "2/2 healthy"
    assert {r.group for r in review_all.runs if r.name.startswith("healthy")} == {"healthy_seed*"}
    assert "healthy_seed*  2/2 healthy" in render_text(review_all)


def test_role_stat_counts_nonfinite_and_buckets():
    s = Series.from_lists(range(100), [float(i) for i in range(100)],
                          [float("nan") if i == 50 else float(i) for i in range(100)])
    st = role_stat("reward", s, points=10)
    assert st.nonfinite == 1 and st.first == 0 and st.last == 99 and st.best == 99
    assert len(st.spark) == 10 and st.spark_lo[0] == 0 and st.spark_hi[-1] == 99


def test_restarts_and_notes_and_problems_appear(tmp_path):
    st = Store()
    st.ensure_run("r", str(tmp_path / "r"))
    st.append("r", "loss", [0, 1, 2, 3], [T0, T0 + 1, T0 + 2, T0 + 3], [1, 2, 3, 4])
    st.append("r", "loss", [1, 2], [T0 + 10, T0 + 11], [5, 6])  # restart back to step 1
    st.set_problem("r", "events.out.x", "damaged record at byte 120")
    notes = NoteStore(tmp_path / "notes")
    notes.save(Note(str(tmp_path / "r"), question="Is <b>lr</b> too high?", expectation="loss falls"))
    rv = build_review(st.snapshots(), since=T0, now=T0 + 20, notes=notes, looks=None)
    (run,) = rv.runs
    assert len(run.restarts) == 1 and run.note.question == "Is <b>lr</b> too high?"
    text = render_text(rv)
    assert "restarts: 1 (loss back to step 1" in text
    assert "question:   Is <b>lr</b> too high?" in text and "expect:     loss falls" in text
    assert "problem: events.out.x: damaged record at byte 120" in text
    page = render_html(rv)
    assert "Is &lt;b&gt;lr&lt;/b&gt; too high?" in page and "<b>lr</b>" not in page
    assert "Is &lt;b>lr&lt;/b> too high?" in render_md(rv)


# ---- looks --------------------------------------------------------------------------------------

def test_look_summary_from_a_synthetic_look_log(tmp_path):
    log = tmp_path / "looks.jsonl"
    day = T0
    looks = [
        Look(day - 7200, day - 7000, "scheduled", found_new=True),  # before the period
        Look(day + 60, day + 240, "scheduled", found_new=False),
        Look(day + 1800, day + 1980, "scheduled", found_new=False),
        Look(day + 2000, day + 2100, "override", reason="want to see if lr fix works", found_new=False),
        Look(day + 3000, day + 3100, "alarm", reason="entropy collapsed", run="ppo_seed3", found_new=True),
        Look(day + 3600, None, "scheduled"),  # still open, found_new unknown
        Look(day + 4000, day + 4100, "budget_off", found_new=False),
    ]
    for lk in looks:
        append_look(lk, log)
    s = summarise_looks(read_looks(log), since=day, until=day + 5000)
    assert s.count == 6 and s.scheduled == 3 and s.budget_off == 1
    assert s.overrides == ((day + 2000, "want to see if lr fix works"),)
    assert s.breakthroughs == ((day + 3000, "ppo_seed3", "entropy collapsed"),)
    assert (s.found_nothing, s.judged) == (4, 5) and s.nothing_new_share == pytest.approx(0.8)
    rv = build_review([], since=day, now=day + 5000, looks=read_looks(log))
    text = render_text(rv)
    assert "6 looks · 3 scheduled · 1 override · 1 alarm breakthrough · 1 with the budget off · " \
           "80% found nothing new" in text
    assert "override 22:46: want to see if lr fix works" in text
    assert "alarm    23:03: ppo_seed3 — entropy collapsed" in text
    assert "80% found nothing new" in render_md(rv) and "80% found nothing new" in render_html(rv)


def test_no_looks_says_so():
    rv = build_review([], since=T0, now=T0 + 10, looks=[])
    assert "no looks logged in this period" in render_text(rv)
    assert "No run wrote anything in this period." in render_text(rv)


# ---- formats ------------------------------------------------------------------------------------

class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_with_runs_and_charts(review_all):
    page = render_html(review_all)
    p = _Page()
    p.feed(page)
    names = [t for t, _ in p.tags]
    sections = [a for t, a in p.tags if t == "section"]
    assert len(sections) == 3  # the touched runs
    text = "".join(p.text)
    for run in ("collapse", "healthy_seed1", "healthy_seed2"):
        assert run in text
    figures = [a["data-role"] for t, a in p.tags if t == "figure"]
    assert names.count("svg") == len(figures) >= 6  # entropy + reward (+ throughput) per run
    assert "entropy" in figures and "reward" in figures
    assert names.count("polyline") >= 6  # every chart with data draws its line
    # no external references of any kind
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(names)
    for _, attrs in p.tags:
        assert not {"src", "xlink:href", "action"} & set(attrs)
        assert attrs.get("href", "#").startswith("#")  # in-page links only (summary -> card)
    ids = {a["id"] for _, a in p.tags if "id" in a}
    assert {a["href"][1:] for t, a in p.tags if t == "a"} <= ids and ids
    assert not re.search(r"https?://|@import|url\(", page)
    assert '<meta name="viewport"' in page and "@media (max-width:600px)" in page


def test_html_escapes_untrusted_names_reasons_and_tags():
    st = Store()
    evil = '<script>alert("x")</script>'
    st.ensure_run(evil, "/exp/evil")
    st.append(evil, "policy_entropy", np.arange(30), T0 + np.arange(30.0), np.full(30, 1.0))
    rv = build_review(st.snapshots(), since=T0, now=T0 + 40, looks=[
        Look(T0 + 1, T0 + 2, "override", reason="<img src=x onerror=alert(1)>")])
    page = render_html(rv)
    assert "<script>" not in page and "<img" not in page
    p = _Page()
    p.feed(page)
    assert not {"script", "img"} & {t for t, _ in p.tags}
    assert evil in "".join(p.text)  # shown as text, exactly as named
    assert "<img src=x onerror=alert(1)>" in "".join(p.text)
    md = render_md(rv)
    assert "<script>" not in md and "<img" not in md
    assert "<script>" in render_text(rv)  # plain text shows the name as written


def test_text_strips_terminal_control_codes():
    st = Store()
    st.ensure_run("run\x1b[2J", "/exp/x")
    st.append("run\x1b[2J", "loss", [0, 1], [T0, T0 + 1], [1.0, 2.0])
    text = render_text(build_review(st.snapshots(), since=T0, now=T0 + 5))
    assert "\x1b" not in text and "run\\x1b[2J" in text  # shown literally, as a visible escape


def test_markdown_tables_and_sparklines(review_all):
    md = render_md(review_all)
    assert md.startswith("# tbpeek review")
    assert "| ■ | collapse | ended | alarm: entropy collapsed |" in md or \
           "| ■ | collapse | ended | alarm: reward collapsed |" in md
    assert "### ■ collapse — alarm" in md
    assert re.search(r"\| entropy \| 1\.\d+ \| — \| 0\.0\d+ \| `[▁▂▃▄▅▆▇█]{32}` \|", md)
    assert "healthy\\_seed\\*" in md  # markdown specials escaped


def test_render_rejects_unknown_format(review_all):
    assert render(review_all, "text") == render_text(review_all)
    with pytest.raises(ValueError, match="unknown format"):
        render(review_all, "pdf")


def test_known_histories_are_used_instead_of_a_replay():
    from tui.health import VerdictChange

    st = collapse_store()
    known = [VerdictChange("entropy", "healthy", "collapsed", Severity.ALARM, 123_000, T0 + 3690.0, "from the app")]
    rv = build_review(st.snapshots(), since=T0 - 3600, now=END, histories={"collapse": known}, looks=None)
    (run,) = [r for r in rv.runs if r.name == "collapse"]
    assert [(e.step, e.reason) for e in run.timeline] == [(123_000, "from the app")]
    (other,) = [r for r in rv.runs if r.name == "healthy_seed1"]
    assert other.timeline  # replayed as usual
