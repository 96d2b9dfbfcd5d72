"""Judging thousands of runs on two cores: the last runs judged in a forked child.

`judge_many`'s verdicts, for a one-shot command (``tbpeek check``): what a run is compared with
(its siblings, its seed siblings' ends) is found for all runs before the fork, so each half is
judged exactly as in one batch (`judge_with_kin`: any part of a batch gives the same verdicts
as the whole). The child shares the runs' data with the parent (copy-on-write) and sends back
its runs' judgements without their role series (``roles`` empty: the points stay in the
store). A child that fails costs only time: the parent then judges that half itself
(:mod:`tui.ingest.forked`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from tui.health.engine import RunHealth, judge_with_kin, kin_of
from tui.health.options import HealthOptions
from tui.ingest import forked
from tui.store import RunSnapshot

PARALLEL_RUNS = 400  # runs: fewer are judged in one process (a fork costs more than it saves)
LOADAVG = "/proc/loadavg"  # its 4th field: threads runnable now / threads in all
PARENT_SHARE = 0.47  # of the runs: the parent also takes the child's answer (unpickles it)


def spare_core() -> bool:
    """Whether another core is idle now: fewer threads runnable this instant (this one counted)
    than cores, as the kernel counts them (Linux's ``/proc/loadavg``; elsewhere: yes). On a
    machine busy with other work a worker adds CPU time (the fork's copied pages, the answer's
    pickling: about a quarter of the work it takes over) without saving wall time. Not the
    1-minute load average: that still counts work that ended seconds ago (a benchmark's previous
    commands) and would keep the worker away from a machine idle now."""
    try:
        with open(LOADAVG, encoding="ascii") as f:
            running = int(f.read().split()[3].partition("/")[0])
    except (OSError, ValueError, IndexError):  # not on this platform
        return True
    return running < (os.cpu_count() or 1)


def slim(hs: list[RunHealth]) -> list[RunHealth]:
    """The judgements without their role series (a report's needs: verdicts, summary, state);
    they are new, nobody else holds them."""
    for h in hs:
        h.roles = {}
    return hs


def judge_many_split(snaps: Sequence[RunSnapshot], opts: HealthOptions | None = None, now: float | None = None,
                     related: Mapping[str, Sequence[RunSnapshot]] | None = None,
                     parallel_runs: int | None = None) -> list[RunHealth]:
    """`judge_many` (in the order given, the same verdicts) with ``roles`` left empty, the last
    runs judged in a forked child when there are ``parallel_runs`` (default `PARALLEL_RUNS`) or
    more, a worker may be used (`forked.available`) and a core is spare (`spare_core`)."""
    opts = opts or HealthOptions()
    now = time.time() if now is None else now
    sibs, peers = kin_of(snaps, related)
    cut = int(len(snaps) * PARENT_SHARE)
    few = len(snaps) < max(PARALLEL_RUNS if parallel_runs is None else parallel_runs, 2)
    if few or not forked.available() or not spare_core():
        return slim(judge_with_kin(snaps, opts, now, sibs, peers))

    def theirs() -> list[RunHealth]:
        return slim(judge_with_kin(snaps[cut:], opts, now, sibs[cut:], peers[cut:]))

    with forked.Forked(theirs) as worker:
        out = slim(judge_with_kin(snaps[:cut], opts, now, sibs[:cut], peers[:cut]))
        try:
            rest: list[RunHealth] = worker.result()
        except forked.ChildFailed:
            rest = theirs()
    return out + rest
