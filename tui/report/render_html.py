"""The review as one self-contained HTML file: inline CSS and SVG, no scripts, no network.

Everything that comes from the data (run names, tags, reasons, notes) is untrusted and goes
through `html.escape`. The page reads on a phone (a single fluid column, charts that scale).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import time
from collections.abc import Sequence

from tui.report.render_common import at, best_text, fmt_clock, fmt_date, share, timeline_clocks
from tui.report.render_text import clean, count_line
from tui.report.review_model import Review, RoleStat, RunReview, TimelineEntry
from tui.vocab import Severity, fmt_duration, fmt_num, fmt_step, plural, safe_terminal

W, H = 260, 90  # chart viewBox; scales with the page
PAD_L, PAD_R, PAD_T, PAD_B = 4, 4, 14, 14
# Verdicts of these metrics are marked on the chart of that role.
_METRIC_OF_ROLE = {"fps": "throughput", "steps_per_s": "throughput"}

CSS = """
:root{--bg:#fbfbfa;--fg:#1d1f21;--muted:#666;--card:#fff;--line:#2c6fbb;--band:#2c6fbb33;
--ok:#2e7d32;--info:#2e7d32;--warn:#b26a00;--alarm:#c62828;--border:#ddd;--badge-fg:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#16181b;--fg:#e6e6e6;--muted:#9a9a9a;--card:#1f2226;
--line:#6fa8ff;--band:#6fa8ff33;--ok:#66bb6a;--info:#66bb6a;--warn:#ffb74d;--alarm:#ef5350;--border:#333;
--badge-fg:#111}}
*{box-sizing:border-box}
body{margin:0;padding:12px;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1100px;margin:0 auto}
h1{font-size:1.4em;margin:.2em 0}
h2{font-size:1.15em;margin:1.4em 0 .5em}
h3{font-size:1.05em;margin:0;overflow-wrap:anywhere}
.muted{color:var(--muted)}
.card{background:var(--card);border:1px solid var(--border);border-left:6px solid var(--ok);
border-radius:6px;padding:10px 12px;margin:12px 0}
.card.warn{border-left-color:var(--warn)}.card.alarm{border-left-color:var(--alarm)}
.badge{display:inline-block;padding:0 .45em;border-radius:4px;color:var(--badge-fg);font-size:.8em;
font-weight:600;text-transform:uppercase;vertical-align:middle;margin-right:.4em}
.badge.ok,.badge.info{background:var(--ok)}.badge.warn{background:var(--warn)}
.badge.alarm{background:var(--alarm)}
.summary{margin:.3em 0;font-weight:600}
.facts{margin:.3em 0;color:var(--muted);font-size:.92em}
ul{margin:.3em 0;padding-left:1.2em}
li{margin:.15em 0}
.sev-warn{color:var(--warn);font-weight:600}.sev-alarm{color:var(--alarm);font-weight:600}
.sev-ok,.sev-info{color:var(--ok);font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px;margin:.6em 0}
figure{margin:0;border:1px solid var(--border);border-radius:4px;padding:4px 6px;
display:flex;flex-direction:column}
figcaption{font-size:.85em;display:flex;justify-content:space-between;column-gap:6px;flex-wrap:wrap}
figcaption b{font-weight:600}
figure svg{margin-top:auto}
svg{display:block;width:100%;height:auto}
svg text{font-size:10px;fill:var(--muted);font-family:system-ui,sans-serif;
paint-order:stroke;stroke:var(--card);stroke-width:3px;stroke-linejoin:round}
.counts b{font-weight:600}
.summary a{color:inherit;text-decoration:none}.summary a:hover{text-decoration:underline}
.note{border-left:3px solid var(--line);margin:.5em 0;padding:.2em .7em;white-space:pre-wrap}
.note b{display:inline-block;min-width:6.5em}
table{border-collapse:collapse;width:100%;font-size:.92em}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid var(--border);vertical-align:top}
.summary td:nth-child(2){overflow-wrap:anywhere}
.timeline li{list-style:none;margin-left:-1.2em}
details summary{cursor:pointer;color:var(--muted)}
@media (max-width:600px){body{padding:6px;font-size:14px}.card{padding:8px}
.charts{grid-template-columns:1fr}}
"""


def esc(text: object) -> str:
    return html.escape(clean(str(text)), quote=True)


def esc_name(text: str) -> str:
    """A name escaped on one line (a line break in it shows as ``\x0a``), with break
    opportunities after / _ - so long run names wrap on a phone."""
    return re.sub(r"([/_-])", r"\1<wbr>", html.escape(safe_terminal(text), quote=True))


def _sev(s: Severity) -> str:
    return s.label


def _y(v: float, lo: float, hi: float) -> float:
    span = hi - lo
    frac = 0.5 if span <= 0 else (v - lo) / span
    return PAD_T + (1 - frac) * (H - PAD_T - PAD_B)


def _x(x: float, x0: float, x1: float) -> float:
    span = x1 - x0
    frac = 0.5 if span <= 0 else (x - x0) / span
    return PAD_L + frac * (W - PAD_L - PAD_R)


def y_range(pts: list[tuple[float, float, float, float]]) -> tuple[float, float]:
    """The y range of a chart: the whole mean line, and the min–max band up to one line-span
    beyond it on each side, so one wild early point (explained variance of -245) can't squash
    the line flat. The band is clipped there; the caption keeps the true first/best/last."""
    m_lo = min(p[1] for p in pts)
    m_hi = max(p[1] for p in pts)
    span = m_hi - m_lo
    if span <= 0:
        span = abs(m_hi) * 0.1 or 1.0
    return max(min(p[2] for p in pts), m_lo - span), min(max(p[3] for p in pts), m_hi + span)


def _span(t0: float, t1: float) -> str:
    """``11:04 → 06:03 +1d``: short enough for a chart's corner (the card has the dates)."""
    days = (dt.date.fromtimestamp(t1) - dt.date.fromtimestamp(t0)).days
    return (f"{time.strftime('%H:%M', time.localtime(t0))} → {time.strftime('%H:%M', time.localtime(t1))}"
            + (f" +{days}d" if days else ""))


def chart_svg(st: RoleStat, markers: Sequence[TimelineEntry] = (), now: float | None = None) -> str:
    """An inline SVG line chart over wall time: bucket mean line over the bucket min–max band,
    with verdict change markers at their clock times."""
    pts = [(x, m, a, b) for x, m, a, b in zip(st.spark_x, st.spark, st.spark_lo, st.spark_hi, strict=True)
           if math.isfinite(m)]
    title = f"<title>{esc(st.role)}: first {fmt_num(st.first)}, last {fmt_num(st.last)}</title>"
    if not pts:
        return (f'<svg viewBox="0 0 {W} {H}" role="img" class="chart">{title}'
                f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no finite values</text></svg>')
    lo, hi = y_range(pts)
    x0, x1 = st.spark_x[0], st.spark_x[-1]
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" class="chart">', title]
    if len(pts) > 1:
        top = " ".join(f"{_x(x, x0, x1):.1f},{_y(min(b, hi), lo, hi):.1f}" for x, _, _, b in pts)
        bot = " ".join(f"{_x(x, x0, x1):.1f},{_y(max(a, lo), lo, hi):.1f}" for x, _, a, _ in reversed(pts))
        parts.append(f'<polygon points="{top} {bot}" style="fill:var(--band);stroke:none"/>')
        line = " ".join(f"{_x(x, x0, x1):.1f},{_y(m, lo, hi):.1f}" for x, m, _, _ in pts)
        parts.append(f'<polyline points="{line}" style="fill:none;stroke:var(--line);stroke-width:1.6;'
                     'stroke-linejoin:round"/>')
    else:
        x, m, _, _ = pts[0]
        parts.append(f'<circle cx="{_x(x, x0, x1):.1f}" cy="{_y(m, lo, hi):.1f}" r="2.5" style="fill:var(--line)"/>')
    for e in markers:
        if e.wall_time is None or not (st.first_wall <= e.wall_time <= st.last_wall):
            continue
        mx = _x(min(max(e.wall_time, x0), x1), x0, x1)
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" '
                     f'style="stroke:var(--{_sev(e.severity)});stroke-width:1;stroke-dasharray:3 2">'
                     f'<title>{esc(fmt_step(e.step))}: {esc(e.label)}</title></line>')
    parts.append(f'<text x="{PAD_L}" y="10">{esc(fmt_num(hi))}</text>')
    parts.append(f'<text x="{PAD_L}" y="{H - 2}">{esc(fmt_num(lo))}</text>')
    parts.append(f'<text x="{W - PAD_R}" y="{H - 2}" text-anchor="end">{esc(_span(st.first_wall, st.last_wall))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _run(r: RunReview, now: float, index: int = 0) -> str:
    sev = _sev(r.worst)
    facts = [esc(r.state), esc(fmt_duration(r.duration))]
    if r.last_step is not None:
        facts.append(f"step {esc(fmt_step(r.last_step))}")
    if r.steps_per_s is not None:
        facts.append(f"{esc(fmt_num(r.steps_per_s))} steps/s")
    facts.append(f"{esc(fmt_clock(r.first_wall, now))} → {esc(fmt_clock(r.last_wall, now))}")
    if r.restarts:
        facts.append(f"{len(r.restarts)} restart{'s' if len(r.restarts) != 1 else ''}")
    if r.group:
        facts.append(f"seed group {esc(r.group)}")
    out = [f'<section class="card {sev}" id="run-{index}">',
           f'<h3><span class="badge {sev}">{esc(r.worst.label)}</span>{esc_name(r.name)}</h3>']
    if r.summary:  # the run's verdict in one sentence, first
        out.append(f'<p class="summary">{esc(r.summary)}</p>')
    out.append(f'<div class="facts">{" · ".join(facts)}</div>')
    if r.note is not None:
        rows = [(label, text.strip()) for label, text in (("Question", r.note.question),
                ("Expectation", r.note.expectation), ("Outcome", r.note.outcome)) if text.strip()]
        out.append('<div class="note">' + "<br>".join(f"<b>{label}</b> {esc(text)}" for label, text in rows)
                   + "</div>")
    if r.verdicts:
        out.append("<ul>" + "".join(
            f'<li><span class="sev-{_sev(v.severity)}">{esc(v.severity.label)}</span> '
            f'{esc(v.metric)} {esc(v.kind.replace("_", " "))}: {esc(v.reason)}</li>' for v in r.verdicts)
                   + "</ul>")
    if r.roles:
        out.append('<div class="charts">')
        for st in r.roles:
            markers = [e for e in r.timeline if e.metric == _METRIC_OF_ROLE.get(st.role, st.role)]
            nf = f" · {st.nonfinite} non-finite" if st.nonfinite else ""
            best = f" · best {best_text(st.best, st.best_dir)}" if st.best is not None else ""
            out.append(f'<figure data-role="{esc(st.role)}"><figcaption><b>{esc(st.role)}</b>'
                       f'<span class="muted">first {esc(fmt_num(st.first))}{esc(best)} · last '
                       f'{esc(fmt_num(st.last))}{esc(nf)}</span></figcaption>{chart_svg(st, markers, now)}</figure>')
        out.append("</div>")
    if r.timeline:
        more = (f' <span class="muted">({r.timeline_omitted} earlier changes not shown)</span>'
                if r.timeline_omitted else "")
        items = "".join(
            f'<li>{esc(at(clock, e.step))} · '
            f'<span class="sev-{_sev(e.severity)}">{esc(e.label)}</span>'
            + (f' <span class="muted">— {esc(e.reason)}</span>' if e.reason else "") + "</li>"
            for e, clock in zip(r.timeline, timeline_clocks([e.wall_time for e in r.timeline], now), strict=True))
        out.append(f'<details open><summary>Timeline ({len(r.timeline)}){more}</summary>'
                   f'<ul class="timeline">{items}</ul></details>')
    if r.restarts:
        items = "".join(f"<li>{esc(x.tag)} back to step {esc(fmt_step(x.step))} at "
                        f"{esc(fmt_clock(x.wall_time, now))} ({x.dropped} points dropped)</li>"
                        for x in r.restarts[:20])
        out.append(f"<details><summary>Restarts ({len(r.restarts)})</summary><ul>{items}</ul></details>")
    if r.problems:
        out.append("<ul>" + "".join(f'<li class="sev-warn">{esc(k)}: {esc(m)}</li>'
                                    for k, m in sorted(r.problems.items())) + "</ul>")
    out.append(f'<div class="facts" style="word-break:break-all">{esc(r.path)}</div>')
    out.append("</section>")
    return "\n".join(out)


def render_html(review: Review) -> str:
    """The whole review as one HTML document (no external references of any kind)."""
    now = review.generated
    runs = review.visible()
    period = f"since {fmt_date(review.since)} · until {fmt_date(review.until)}"
    body = [f"<h1>tbpeek review</h1><p class=\"muted\">{esc(period)} · {esc(count_line(review))}</p>"]
    if runs:
        counts = {s: sum(1 for r in runs if r.worst == s) for s in Severity}
        body.append(f'<p class="counts"><b class="sev-alarm">{counts[Severity.ALARM]} alarm</b> · '
                    f'<b class="sev-warn">{counts[Severity.WARN]} warn</b> · '
                    f'<b class="sev-ok">{counts[Severity.OK] + counts[Severity.INFO]} ok</b></p>')
        rows = []
        for i, r in enumerate(runs, 1):
            top = r.verdicts[0] if r.verdicts else None
            what = f"{top.metric} {top.kind.replace('_', ' ')}" if top else "—"
            # An in-page link to the run's card (a fragment: nothing leaves the file).
            rows.append(f'<tr><td><span class="badge {_sev(r.worst)}">{esc(r.worst.label)}</span></td>'
                        f'<td><a href="#run-{i}">{esc_name(r.name)}</a></td><td>{esc(r.state)}</td>'
                        f"<td>{esc(what)}</td></tr>")
        body.append('<table class="summary"><thead><tr><th></th><th>run</th><th>state</th>'
                    "<th>worst verdict</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    else:
        body.append("<p>No run wrote anything in this period.</p>")
    if review.groups:
        group_rows = "".join(f'<tr><td><span class="badge {_sev(g.worst)}">{esc(g.label)}</span></td>'
                             f"<td>{esc(g.key)}</td><td>{', '.join(esc(m) for m in g.members)}</td></tr>"
                             for g in review.groups)
        body.append(f'<h2>Seed groups</h2><table><tbody>{group_rows}</tbody></table>')
    lk = review.looks
    if review.looks_error:
        body.append(f"<h2>Looks</h2><p class=\"sev-warn\">Look log unreadable: {esc(review.looks_error)}</p>")
    elif lk is not None:
        body.append("<h2>Looks</h2>")
        if lk.count == 0:
            body.append("<p class=\"muted\">No looks logged in this period.</p>")
        else:
            body.append(f"<p>{plural(lk.count, 'look')} · {lk.scheduled} scheduled · {plural(len(lk.overrides), 'override')} · "
                        f"{plural(len(lk.breakthroughs), 'alarm breakthrough')} · <b>{esc(share(lk.nothing_new_share))} "
                        "found nothing new</b></p>")
            items = [f"<li>override {esc(fmt_clock(t, now))}: {esc(reason)}</li>" for t, reason in lk.overrides]
            items += [f'<li><span class="sev-alarm">alarm</span> {esc(fmt_clock(t, now))}: {esc(run)} — '
                      f"{esc(reason)}</li>" for t, run, reason in lk.breakthroughs]
            if items:
                body.append("<ul>" + "".join(items) + "</ul>")
    if runs:
        body.append("<h2>Runs</h2>")
        body += [_run(r, now, i) for i, r in enumerate(runs, 1)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>tbpeek review · {esc(fmt_date(review.until))}</title><style>{CSS}</style></head>"
            "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")
