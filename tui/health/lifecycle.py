"""A run's life: live, stalled (hung) or ended, with the writer process as evidence (DIAGNOSTICS.md §5).

The clock alone can't tell a finished run from a hung one. The event file names can: they carry
the writer's host and PID (`tui.vocab.writer`). On this host, a silent run whose writer has
exited has *ended*; one whose writer is alive is *stalled*, a stronger alarm ("process alive,
silent 12 min: hung?"). Without evidence, the clock decides, as before.

An ended run is news, not an alarm: an info line "finished at step N". It is a warning when it
ended badly: a NaN just before the end, or far fewer steps than its seed siblings reached.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from tui.health.kin import PeerEnds, peer_ends
from tui.health.options import Thresholds
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot
from tui.vocab.fmt import fmt_span as _dur
from tui.vocab.runstate import RunState, StallRule, liveness
from tui.vocab.writer import WriterEvidence, run_writer

EVIDENCE_AFTER = 20.0  # seconds of silence before the writer process is asked about (cheap, not free)
ALIVE_RECHECK = 1.0  # seconds between two looks at a writer that was alive (the tracker's own clock step)
SHORT_OF_SIBLINGS = 0.5  # ended below this share of its siblings' median last step: abnormal


def writer_evidence(snap: RunSnapshot, cache: dict[str, object] | None = None, now: float = 0.0) -> WriterEvidence | None:
    """The writer evidence of a local run (None for URLs), cached in `cache` for an unchanged run:
    an exited writer stays exited, a missing PID stays missing; an alive one is looked at again
    every ALIVE_RECHECK seconds."""
    if "://" in snap.path:
        return None
    if cache is not None:
        hit = cache.get("writer")
        if isinstance(hit, tuple):
            ev, at = hit
            if isinstance(ev, WriterEvidence) and (ev.alive is not True or now - float(at) < ALIVE_RECHECK):
                return ev
    # The event files the ingest listed last (no directory listing per run); a snapshot that
    # doesn't know them (a store filled by hand) lists the directory.
    ev = run_writer([f for f in snap.files if ".tfevents." in os.path.basename(f)] if snap.files else snap.path)
    if cache is not None:
        cache["writer"] = (ev, now)
    return ev


_RULE: list[tuple[Thresholds, StallRule]] = []  # the last thresholds' rule (a batch of runs shares them)


def stall_rule(th: Thresholds) -> StallRule:
    """The run-state rule with the thresholds `th` (made once for a batch's runs)."""
    if _RULE and _RULE[0][0] is th:
        return _RULE[0][1]
    rule = StallRule(th.stall_floor, th.stall_warn, th.stall_alarm, th.ended_after)
    _RULE[:] = [(th, rule)]
    return rule


def judge_life(snap: RunSnapshot, gap: float | None, now: float, th: Thresholds, mode: str,
                   writer: WriterEvidence | None = None) -> Verdict | None:
    """stalled / ended, or None while the run writes at its usual pace: `tui.vocab.liveness`
    (the one run-state rule) with the writer evidence, in words.

    An ended run is "finished at step N" (why: the writer exited, or the silence); a stalled
    run whose writer lives is "process alive, silent 12 min: hung?".
    """
    last_wall = snap.last_wall_time
    if last_wall is None:
        return None
    alive = writer.alive if writer is not None else None
    lv = liveness(last_wall, now, gap, mode=mode, writer_alive=alive, rule=stall_rule(th))
    if lv.state is RunState.LIVE:
        return None
    silent = lv.silent or 0.0
    g = gap or 0.0
    ev: dict[str, object] = {"silent_s": silent, "usual_gap_s": g, "last_write": last_wall, "basis": lv.basis}
    if writer is not None and writer.pid is not None:
        ev["writer_pid"], ev["writer"] = writer.pid, writer.reason
    step = snap.last_step
    at = f" at step {step}" if step is not None else ""
    if lv.state is RunState.ENDED:
        why = f"{writer.reason}, last write {_dur(silent)} ago" if alive is False and writer is not None \
            else f"no writes for {_dur(silent)}"
        return Verdict("throughput", "ended", Severity.INFO, f"finished{at}: {why}", step, last_wall, ev)
    sev = Severity.ALARM if lv.alarm else Severity.WARN
    times = f" ({silent / g:.0f}x the usual {_dur(g)} gap)" if g else ""
    if alive:
        return Verdict("throughput", "stalled", sev, f"process alive, silent {_dur(silent)}{times}: hung?",
                       None, last_wall, ev)
    return Verdict("throughput", "stalled", sev, f"no writes for {_dur(silent)}{times}", None, last_wall, ev)


TAIL = 3  # points at the end of each tag where a NaN/Inf means the run ended badly


def tails_finite(snaps: Sequence[RunSnapshot]) -> list[bool]:
    """For each run: are the last points of all its tags finite? (All runs' tails in one look.)"""
    tails = [s.values[-TAIL:] for snap in snaps for s in snap.series.values()]
    if not tails:
        return [True] * len(snaps)
    flat = np.concatenate(tails)
    ok = np.isfinite(flat)
    if ok.all():
        return [True] * len(snaps)
    # Per run: the span of `flat` its tails fill.
    sizes = [sum(min(TAIL, len(s)) for s in snap.series.values()) for snap in snaps]
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], np.cumsum(~ok)))  # NaN/Inf among the first i values
    starts = ends - np.asarray(sizes)
    return [bool(x) for x in before[ends] - before[starts] == 0]


def abnormal_end(snap: RunSnapshot, related: Sequence[RunSnapshot], peers: PeerEnds | bool | None = False,
                 tails_ok: bool | None = None) -> str | None:
    """Why an ended run ended badly, or None: a NaN/Inf among the last points of any tag, or far
    fewer steps than its seed siblings (runs beside it with the same tags) reached.

    `peers`: `kin.peer_ends` of the run, when the caller has it for the whole group (False:
    found from `related` here); `tails_ok`: `tails_finite` of the run, when the caller has it."""
    if not (tails_finite([snap])[0] if tails_ok is None else tails_ok):
        for tag, s in sorted(snap.series.items()):
            tail = s.values[-TAIL:]
            if tail.size and not np.isfinite(tail).all():
                return f"{tag} was {tail[~np.isfinite(tail)][0]} just before the end"
    mine = snap.last_step
    if mine is None:
        return None
    if peers is False:
        peers = peer_ends([snap, *(r for r in related if r.name != snap.name)])[0]
    if isinstance(peers, tuple):
        count, typical = peers
        if mine < SHORT_OF_SIBLINGS * typical:
            sib = "its sibling" if count == 1 else f"its {count} siblings"
            return f"far fewer steps than {sib} in {os.path.basename(os.path.dirname(os.path.normpath(snap.path))) or 'its folder'} (median {typical:.0f})"
    return None
