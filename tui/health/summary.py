"""One line per run: the run's verdict in a sentence, across its metrics and sibling directories.

    "learned nothing: reward never improved in 25088 steps; entropy at its maximum for its whole life"
    "fine: reward rose 22.3 -> 225, entropy fell to 0.77 of max"
    "learning: reward rose 35 -> 180 so far; but throughput dropped from 2600 to 500 steps/s"

The head word says what happened to learning, the reward first (it is what training is for),
then entropy; the severity is the worst of all the run's verdicts, and a warning or alarm the
sentence doesn't already tell is added after "but". Heads: ``broken`` (NaN/Inf), ``learned
nothing`` / ``not learning yet`` (reward flat, policy not updating), ``unlearned`` (the reward
fell back), ``fine`` / ``learning`` (the reward rose), ``dead`` (entropy collapsed, no reward to
tell), ``too early``, ``nothing to judge``; otherwise the worst verdict's severity word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from tui.health.verdict import Severity, Verdict, worst
from tui.vocab.fmt import fmt_step
from tui.vocab.fmt import fmt_value as fmt


class RunSummary(NamedTuple):  # (not a frozen dataclass: ~0.4 ms less start-up)
    """A run's verdict in one sentence.

    Attributes:
        severity: the worst severity of the run's verdicts (borrowed sibling verdicts included).
        head: the sentence's first words ("fine", "learned nothing", …), for filters and colour.
        text: the sentence, ``"<head>: <details>"``.
        state: "live", "stalled" or "ended" (from the liveness verdict).
    """

    severity: Severity
    head: str
    text: str
    state: str = "live"

    def to_json(self) -> dict[str, Any]:
        return {"severity": self.severity.label, "head": self.head, "text": self.text, "state": self.state}


_WARN = Severity.WARN


def _entropy_words(e: Verdict | None) -> str:
    """A few words on a healthy-ish entropy, or ''."""
    if e is None or e.evidence.get("continuous") or "level" not in e.evidence:
        return ""
    level = float(e.evidence["level"])
    how = e.evidence.get("scale")
    if e.kind == "healthy":
        if how in ("actions", "inferred", "texts"):
            return f"entropy fell to {level:.2f} of max" if level < 0.95 else f"entropy at {level:.2f} of max"
        if how == "initial":
            return f"entropy at {level:.0%} of its start"
    if e.kind == "collapsed" and e.severity <= Severity.INFO:
        return "entropy converged near 0 (a nearly deterministic policy)"
    return ""


def summarize(verdicts: Sequence[Verdict], borrowed: Sequence[Verdict] = (), last_step: int | None = None,
              final: bool = False, state: str | None = None) -> RunSummary:
    """The run's one-line verdict.

    Args:
        verdicts: the run's own verdicts.
        borrowed: verdicts of sibling directories that speak for this run (the reward written
            into a separate subfolder, as OpenAI baselines and Rahtz do).
        last_step: the run's last step ("never improved in 1.5M steps", `fmt_step`).
        final: the run has ended (past tense, no "yet").
        state: "live" / "stalled" / "ended" when known (the liveness verdict may be hidden by a
            worse throughput verdict); default: read off the verdicts.
    """
    own = {v.metric: v for v in verdicts}
    for v in borrowed:
        own.setdefault(v.metric, v)
    everything = list(own.values())
    w = worst(everything)
    if w is None:
        return RunSummary(Severity.OK, "nothing to judge", "nothing to judge: no entropy, reward or throughput tags")
    sev = w.severity
    life = own.get("throughput")
    if state is None:
        state = "ended" if life is not None and life.kind == "ended" else \
            "stalled" if life is not None and life.kind == "stalled" else "live"
    final = final or state == "ended"
    ent, rew = own.get("entropy"), own.get("reward")
    told: set[str] = set()

    bad = None
    for v in everything:
        if v.kind == "nonfinite" or v.kind == "nan":
            bad = v
            break
    judged_reward = rew is not None and "first" in rew.evidence
    if bad is not None:
        head, text = "broken", bad.reason
        told.add(bad.metric)
    elif ent is not None and ent.kind == "not_updating":
        head = "learned nothing" if final else "not learning"
        text, told = ent.reason, {"entropy", "kl", "reward"}
    elif judged_reward and rew is not None and rew.kind == "flat":
        head = "learned nothing" if final else "not learning yet"
        where = f" in {fmt_step(last_step)} steps" if last_step is not None else ""
        text = (f"reward never improved{where} (flat around {fmt(rew.evidence['last'])})" if final
                else f"reward flat around {fmt(rew.evidence['last'])} after {fmt_step(last_step)} steps")
        told.add("reward")
        if ent is not None and ent.severity >= Severity.WARN:
            text += f"; {ent.reason}"
            told.add("entropy")
    elif judged_reward and rew is not None and rew.kind == "collapsed":
        head, text = "unlearned", rew.reason
        told.add("reward")
    elif judged_reward and rew is not None and rew.kind == "improving":
        e = rew.evidence
        head = "fine" if sev <= Severity.INFO else "learning"
        text = f"reward rose {fmt(e['first'])} -> {fmt(e['last'])}" + ("" if final else " so far")
        words = _entropy_words(ent)
        if words:
            text += f", {words}"
        told.add("reward")
    elif ent is not None and ent.kind == "collapsed" and ent.severity >= Severity.WARN:
        head, text = "dead" if ent.evidence.get("from_first_update") else "collapsed", ent.reason
        told.add("entropy")
    elif (ent is not None and ent.kind == "too_early") or (rew is not None and not judged_reward and ent is None):
        early = ent or rew
        head, text = "too early", early.reason if early is not None else "too few points"
    elif sev <= Severity.INFO:
        words = _entropy_words(ent)
        head, text = "fine", words or w.reason
    else:
        head, text = w.severity.label, w.reason
        told.add(w.metric)

    top = None  # the first of the most severe warnings or alarms the sentence doesn't tell yet
    for v in everything:
        if v.severity >= _WARN and v.metric not in told and (top is None or v.severity > top.severity):
            top = v
    if top is not None:
        text += f"; but {top.reason}"
    return RunSummary(sev, head, f"{head}: {text}", state)
