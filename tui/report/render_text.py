"""The review as plain text for the terminal (unicode sparklines; colour only when asked: `Paint`)."""

from __future__ import annotations

from tui.report.colour import NAME_STYLE, NO_PAINT, PROBLEM_STYLE, Paint
from tui.report.render_common import (
    SEVERITY_MARK,
    STATE_MARK,
    at,
    best_text,
    fmt_clock,
    fmt_date,
    share,
    sparkline,
    timeline_clocks,
)
from tui.report.review_model import Review, RunReview
from tui.vocab import fmt_duration, fmt_num, fmt_step, plural, safe_terminal


def clean(text: str) -> str:
    """Text that may span lines (a note), made safe: control characters become visible escapes
    (`tui.vocab.safe_terminal`) so it can't drive the terminal; its line breaks stay."""
    return "\n".join(safe_terminal(line) for line in text.split("\n"))


def one_line(text: str) -> str:
    """A name, tag or reason, made safe: every control character, a line break too, becomes a
    visible escape, so a name can't forge a line of the report (`tui.vocab.safe_terminal`)."""
    return safe_terminal(text)


def period_line(review: Review) -> str:
    return f"since {fmt_date(review.since)} · until {fmt_date(review.until)}"


def count_line(review: Review, hint: str = "") -> str:
    """``5 runs (3 untouched in this period left out)`` or, with --all, ``… (3 untouched included)``."""
    shown = len(review.visible())
    if review.include_all:
        extra = f" ({review.untouched} untouched in this period included)" if review.untouched else ""
    else:
        hidden = len(review.runs) - shown
        extra = f" ({hidden} untouched in this period left out{hint})" if hidden else ""
    return f"{shown} runs{extra}"


def run_lines(r: RunReview, now: float, spark_width: int = 32, paint: Paint = NO_PAINT) -> list[str]:
    """The lines of one run's section (shared with the TUI's review screen, which paints
    nothing: `paint` is for a terminal)."""
    head = (f"{paint.severity(f'{SEVERITY_MARK[r.worst]} {r.worst.label.upper():<5}', r.worst)}  "
            f"{paint(one_line(r.name), NAME_STYLE)}")
    facts = [f"{STATE_MARK.get(r.state, '')} {r.state}", fmt_duration(r.duration)]
    if r.last_step is not None:
        facts.append(f"step {fmt_step(r.last_step)}")
    if r.steps_per_s is not None:
        facts.append(f"{fmt_num(r.steps_per_s)} steps/s")
    facts.append(f"{fmt_clock(r.first_wall, now)} → {fmt_clock(r.last_wall, now)}")
    if r.group:
        facts.append(f"group {one_line(r.group)}")
    out = [head]
    if r.summary:  # the run's verdict in one sentence, first
        out.append("  " + one_line(r.summary))
    out.append("  " + " · ".join(facts))
    if r.verdicts:
        out.append("  verdicts:")
        out.extend(f"    {paint.severity(f'{SEVERITY_MARK[v.severity]} {v.severity.label:<5}', v.severity)} {v.metric} "
                   f"{v.kind.replace('_', ' ')} — {one_line(v.reason)}" for v in r.verdicts)
    if r.timeline:
        more = f" ({r.timeline_omitted} earlier not shown)" if r.timeline_omitted else ""
        out.append(f"  timeline{more}:")
        clocks = timeline_clocks([e.wall_time for e in r.timeline], now)
        out.extend(f"    {at(clock, e.step)} · {e.label}" + (f" — {one_line(e.reason)}" if e.reason else "")
                   for e, clock in zip(r.timeline, clocks, strict=True))
    if r.roles:
        out.append(f"  {'role':<19}{'first':>11}{'best':>12}{'last':>11}  trend")
        out.extend(f"  {st.role:<19}{fmt_num(st.first):>11}{best_text(st.best, st.best_dir):>12}"
                   f"{fmt_num(st.last):>11}  {sparkline(st.spark, spark_width)}"
                   + (f"  ({st.nonfinite} non-finite)" if st.nonfinite else "") for st in r.roles)
    if r.restarts:
        shown = ", ".join(f"{one_line(x.tag)} back to step {fmt_step(x.step)} at {fmt_clock(x.wall_time, now)}"
                          for x in r.restarts[:5])
        extra = f", … {len(r.restarts) - 5} more" if len(r.restarts) > 5 else ""
        out.append(f"  restarts: {len(r.restarts)} ({shown}{extra})")
    for key, msg in sorted(r.problems.items()):
        out.append(paint(f"  problem: {one_line(key)}: {one_line(msg)}", PROBLEM_STYLE))
    if r.note is not None:
        for label, text in (("question", r.note.question), ("expect", r.note.expectation),
                            ("outcome", r.note.outcome)):
            if text.strip():
                body = clean(text.strip()).replace("\n", "\n" + " " * 14)
                out.append(f"  {label + ':':<12}{body}")
    return out


def looks_lines(review: Review, now: float) -> list[str]:
    if review.looks_error:
        return ["Looks", f"  look log unreadable: {one_line(review.looks_error)}"]
    lk = review.looks
    if lk is None:
        return []
    if lk.count == 0:
        return ["Looks", "  no looks logged in this period"]
    out = ["Looks",
           f"  {plural(lk.count, 'look')} · {lk.scheduled} scheduled · {plural(len(lk.overrides), 'override')} · "
           f"{plural(len(lk.breakthroughs), 'alarm breakthrough')}"
           + (f" · {lk.budget_off} with the budget off" if lk.budget_off else "")
           + f" · {share(lk.nothing_new_share)} found nothing new"]
    for t, reason in lk.overrides:
        out.append(f"  override {fmt_clock(t, now)}: {one_line(reason)}")
    for t, run, reason in lk.breakthroughs:
        out.append(f"  alarm    {fmt_clock(t, now)}: {one_line(run)} — {one_line(reason)}")
    return out


def render_text(review: Review, paint: Paint = NO_PAINT) -> str:
    """The whole review as terminal text (with `paint`: severities in colour, in words too)."""
    now = review.generated
    runs = review.visible()
    out = [f"tbpeek review · {period_line(review)}",
           count_line(review, "; --all shows them"), ""]
    if not runs:
        out += ["No run wrote anything in this period.", ""]
    for r in runs:
        out += [*run_lines(r, now, paint=paint), ""]
    if review.groups:
        out.append("Seed groups")
        for g in review.groups:
            out.append(f"  {paint.severity(SEVERITY_MARK[g.worst], g.worst)} {one_line(g.key)}  {g.label}  "
                       f"({', '.join(one_line(m) for m in g.members)})")
        out.append("")
    looks = looks_lines(review, now)
    if looks:
        out += [*looks, ""]
    return "\n".join(out)
