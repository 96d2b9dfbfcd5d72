"""The review as Markdown, to paste into a lab notebook or an issue."""

from __future__ import annotations

import re

from tui.report.render_common import SEVERITY_MARK, at, best_text, fmt_clock, share, sparkline, timeline_clocks
from tui.report.render_text import clean, count_line, one_line, period_line
from tui.report.review_model import Review, RunReview
from tui.vocab import fmt_duration, fmt_num, fmt_step, plural

# Inline markup and table pipes; `<` and `&` become entities (raw HTML in an issue is live). A
# `>` opens nothing in the middle of a line, so it stays: `44.7 -> 38.2` reads as written.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: str, lines: bool = False) -> str:
    """Escape untrusted text for Markdown: control characters (`one_line`; with `lines`, line
    breaks become spaces instead, for notes), inline markup, table pipes and raw HTML (for
    text in the middle of a line: a `>` is left as it is)."""
    text = (clean(text) if lines else one_line(text)).replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _run(r: RunReview, now: float) -> list[str]:
    facts = [r.state, fmt_duration(r.duration)]
    if r.last_step is not None:
        facts.append(f"step {fmt_step(r.last_step)}")
    if r.steps_per_s is not None:
        facts.append(f"{fmt_num(r.steps_per_s)} steps/s")
    facts.append(f"{fmt_clock(r.first_wall, now)} → {fmt_clock(r.last_wall, now)}")
    if r.restarts:
        facts.append(f"{len(r.restarts)} restarts")
    if r.group:
        facts.append(f"seed group {md(r.group)}")
    out = [f"### {SEVERITY_MARK[r.worst]} {md(r.name)} — {r.worst.label}", ""]
    if r.summary:  # the run's verdict in one sentence, first
        out += [f"**{md(r.summary)}**", ""]
    out += [" · ".join(facts), ""]
    if r.note is not None:
        for label, text in (("Question", r.note.question), ("Expectation", r.note.expectation),
                            ("Outcome", r.note.outcome)):
            if text.strip():
                out.append(f"> **{label}:** {md(text.strip(), lines=True)}  ")
        out.append("")
    if r.verdicts:
        out.extend(f"- **{v.severity.label}** {v.metric} {v.kind.replace('_', ' ')}: {md(v.reason)}"
                   for v in r.verdicts)
        out.append("")
    if r.roles:
        out += ["| role | first | best | last | trend |", "|---|---:|---:|---:|---|"]
        for st in r.roles:
            out.append(f"| {st.role} | {fmt_num(st.first)} | {best_text(st.best, st.best_dir)} | "
                       f"{fmt_num(st.last)} | `{sparkline(st.spark, 32)}` |")
        out.append("")
    if r.timeline:
        out.append("Timeline" + (f" ({r.timeline_omitted} earlier changes not shown)" if r.timeline_omitted else "")
                   + ":")
        out.append("")
        clocks = timeline_clocks([e.wall_time for e in r.timeline], now)
        out.extend(f"- {at(clock, e.step)} · **{e.label}**" + (f" — {md(e.reason)}" if e.reason else "")
                   for e, clock in zip(r.timeline, clocks, strict=True))
        out.append("")
    for key, msg in sorted(r.problems.items()):
        out.append(f"- problem: {md(key)}: {md(msg)}")
    if r.restarts:
        out.append("Restarts: " + ", ".join(f"{md(x.tag)} back to step {fmt_step(x.step)} at "
                                            f"{fmt_clock(x.wall_time, now)}" for x in r.restarts[:10]))
        out.append("")
    return out


def render_md(review: Review) -> str:
    """The whole review as GitHub-flavoured Markdown."""
    now = review.generated
    runs = review.visible()
    out = ["# tbpeek review", "", period_line(review) + f" · {count_line(review)}", ""]
    if runs:
        out += ["| | run | state | worst verdict |", "|---|---|---|---|"]
        for r in runs:
            top = r.verdicts[0] if r.verdicts else None
            what = f"{top.metric} {top.kind.replace('_', ' ')}" if top else "—"
            out.append(f"| {SEVERITY_MARK[r.worst]} | {md(r.name)} | {r.state} | {r.worst.label}: {md(what)} |")
        out.append("")
    else:
        out += ["No run wrote anything in this period.", ""]
    out += ["## Runs", ""] if runs else []
    for r in runs:
        out += _run(r, now)
    if review.groups:
        out += ["## Seed groups", "", "| group | healthy | members |", "|---|---|---|"]
        for g in review.groups:
            out.append(f"| {md(g.key)} | {g.label} | {', '.join(md(m) for m in g.members)} |")
        out.append("")
    lk = review.looks
    if review.looks_error:
        out += ["## Looks", "", f"Look log unreadable: {md(review.looks_error)}", ""]
    elif lk is not None:
        out += ["## Looks", ""]
        if lk.count == 0:
            out += ["No looks logged in this period.", ""]
        else:
            out += [f"{plural(lk.count, 'look')} · {lk.scheduled} scheduled · {plural(len(lk.overrides), 'override')} · "
                    f"{plural(len(lk.breakthroughs), 'alarm breakthrough')} · **{share(lk.nothing_new_share)} found "
                    "nothing new**", ""]
            for t, reason in lk.overrides:
                out.append(f"- override {fmt_clock(t, now)}: {md(reason)}")
            for t, run, reason in lk.breakthroughs:
                out.append(f"- alarm {fmt_clock(t, now)}: {md(run)} — {md(reason)}")
            out.append("")
    return "\n".join(out)
