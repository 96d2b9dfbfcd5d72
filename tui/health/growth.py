"""Step-time and memory growth (DIAGNOSTICS.md §4): the throughput decay test, rising.

A step that takes longer and longer, or memory that keeps climbing, is a leak (a growing graph,
a cache, a list of tensors kept alive). Tags: TRL ``train/step_time``, OpenRLHF
``train/timing/*``, verl ``timing_s/*`` and ``perf/time_per_step``, any ``step_time`` / ``time_per_step``
(each timing tag is judged, the fastest-growing one is reported),
and any tag with ``memory`` (or ``mem_``) in its name. After a warm-up (the first 10 % of the
points: allocators and caches fill early), with at least `decay_intervals` points: growth when
the rank correlation with time is at least -decay_rho (+0.7) and the late third's median is at
least 1/decay_ratio (about +11 %) of the early third's.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from tui.health.options import Thresholds
from tui.health.roles import tag_set
from tui.health.stats import median, spearman
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot, Series
from tui.vocab.fmt import fmt_value as fmt

STEP_TIME = re.compile(r"(?i)(^|/)(step_time|time_per_step|iter_time|perf/time_per_step)$"
                       r"|(^|/)timing/[^/]+$|(^|/)timing_s/[^/]+$")  # OpenRLHF train/timing/*, verl timing_s/*
MEMORY = re.compile(r"(?i)memory|(^|/|_)mem(_|$)")
_NOT = re.compile(r"(?i)throughput|tokens|fps|per_sec|/min$|/mean_free|free")  # rates and free memory shrink on purpose


def growth_tags(snap: RunSnapshot) -> dict[str, list[str]]:
    """metric ("step_time" / "memory") -> the run's tags that measure it."""
    return {k: list(v) for k, v in _growth_tags(tag_set(snap)).items()}


@lru_cache(maxsize=4096)
def _growth_tags(tags: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for tag in tags:
        if _NOT.search(tag):
            continue
        if STEP_TIME.search(tag):
            out["step_time"] = (*out.get("step_time", ()), tag)
        elif MEMORY.search(tag):
            out["memory"] = (*out.get("memory", ()), tag)
    return out


def judge_growing(metric: str, tag: str, s: Series, th: Thresholds) -> Verdict | None:
    """A 'growing' verdict for one tag, or None when it isn't growing (or can't be judged)."""
    v, t, st = s.values, s.wall_times, s.steps
    ok = np.isfinite(v)
    if not ok.all():
        v, t, st = v[ok], t[ok], st[ok]
    skip = int(0.1 * v.shape[0])
    v, t, st = v[skip:], t[skip:], st[skip:]
    m = v.shape[0]
    if m < th.decay_intervals:
        return None
    third = max(1, m // 3)
    early, late = float(median(v[:third])), float(median(v[-third:]))
    if not early > 0 or late * th.decay_ratio < early:
        return None
    rho = spearman(t, v)
    if not rho >= -th.decay_rho:
        return None
    what = "each step takes longer" if metric == "step_time" else "memory keeps growing"
    return Verdict(metric, "growing", Severity.WARN,
                   f"{what}: {tag} {fmt(early)} -> {fmt(late)} ({late / early - 1:+.0%}, Spearman {rho:.2f}) - a leak?",
                   int(st[0]), float(t[0]), {"tag": tag, "early": early, "late": late, "rho": rho, "points": int(m)})


def judge_growth(snap: RunSnapshot, series: dict[str, Series], th: Thresholds) -> list[Verdict]:
    """One verdict per metric (step_time, memory) the run logs: the worst-growing tag, or ok."""
    out: list[Verdict] = []
    tags = _growth_tags(tag_set(snap))
    if "step_time" not in tags and "step_time" in series:
        out.append(judge_growing("step_time", "step time", series["step_time"], th)
                   or Verdict("step_time", "steady", Severity.OK, "step time steady"))
    for metric, names in tags.items():
        found = [g for g in (judge_growing(metric, t, snap.series[t], th) for t in names) if g is not None]
        if found:
            out.append(max(found, key=lambda g: g.evidence["late"] / g.evidence["early"]))
        else:
            out.append(Verdict(metric, "steady", Severity.OK,
                               f"{'step time' if metric == 'step_time' else 'memory'} steady ({len(names)} tag"
                               f"{'s' if len(names) != 1 else ''})", evidence={"tags": list(names)}))
    return out
