"""Verdicts that need two metrics: a dead policy's corroborating signals, "no updates at all",
and the KL target that fits the run.

- A policy dead from its first update (entropy near 0 nats from the start) is told with what
  backs it: KL exactly 0, the reward flat at its starting level.
- No updates at all: an entropy that does not move (relative sd about 0 over the window) with KL
  about 0, or a learning rate of 0, is an alarm at once (live too): nothing is being learned,
  whatever the entropy's level says.
- The KL target (see docs_verdicts.md): the user's, else the run's own logged target, else a
  default per policy family (discrete 0.01; continuous 0.05, where healthy PPO runs at 0.02-0.05).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from tui.health.options import HealthOptions, Thresholds
from tui.health.roles import RoleMap, tag_set
from tui.health.stats import median, window
from tui.health.verdict import Severity, Verdict
from tui.store import RunSnapshot, Series
from tui.vocab.fmt import fmt_value as fmt

KL_DISCRETE = 0.01  # SB3 zoo / Spinning Up's usual target_kl for discrete PPO
KL_CONTINUOUS = 0.05  # Gaussian policies: healthy PPO (Pendulum, MuJoCo) runs at 0.02-0.05
KL_TARGET_TAG = re.compile(r"(?i)(^|/)(target_kl|kl_target|desired_kl|kl_targ)$")
STILL = 1e-4  # relative sd (sd / |level|) below which an entropy "does not move"
CONTINUOUS_TAG = re.compile(r"(?i)(^|/)(log_?std|std|action_std)$")
_NOT_POLICY = re.compile(r"(?i)reward|return|score|length|len")


def is_continuous(snap: RunSnapshot, H: np.ndarray | None, lowest: float | None = None) -> str | None:
    """Why this run's policy looks continuous (a Gaussian's entropy may sit at or below 0 nats),
    or None: clearly negative entropy values, a std / log_std tag, or a Box action space in the
    run's text summaries. `lowest`: H's smallest finite value (inf: none), when the caller has it."""
    if H is not None:
        if lowest is None:
            fin = H[np.isfinite(H)]
            lowest = float(fin.min()) if fin.size else float("inf")
        if lowest < -0.05:  # float noise around 0 is not a negative entropy
            return "entropy goes below 0"
    tag = _std_tag(tag_set(snap))
    if tag is not None:
        return f"the run logs {tag}"
    if any("Box(" in t.text for t in snap.texts.values()):
        return "a Box action space"
    return None


@lru_cache(maxsize=4096)
def _target_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in tags if KL_TARGET_TAG.search(t))


@lru_cache(maxsize=4096)
def _std_tag(tags: tuple[str, ...]) -> str | None:
    return next((t for t in tags if CONTINUOUS_TAG.search(t) and not _NOT_POLICY.search(t)), None)


def kl_target(snap: RunSnapshot, roles: RoleMap, series: dict[str, Series], opts: HealthOptions,
              continuous: Callable[[], str | None] | None = None) -> tuple[float, str]:
    """(target, where it comes from) for the KL size check. `continuous`: the run's
    `is_continuous`, when the caller has it at hand."""
    if opts.thresholds.kl_target is not None:
        return opts.thresholds.kl_target, "the configured target"
    for tag in _target_tags(tag_set(snap)):
        v = snap.series[tag].values
        v = v[np.isfinite(v)]
        if v.size and float(v[-1]) > 0:
            return float(v[-1]), f"the run's own target ({tag})"
    ent = series.get("entropy")
    if continuous() if continuous is not None else is_continuous(snap, ent.values if ent is not None else None):
        return KL_CONTINUOUS, "the default for continuous policies"
    return KL_DISCRETE, "the default for discrete policies"


def _zero_lr(lr: Series | None) -> bool:
    if lr is None or len(lr) < 2:
        return False
    recent = lr.values[-window(len(lr)):]
    return bool(np.all(recent == 0.0))


def corroborate(ent: Verdict, H: Series, kl: Verdict | None, reward: Verdict | None,
                lr: Series | None, th: Thresholds) -> Verdict:
    """The entropy verdict with what other metrics say about it (see the module docstring)."""
    signals: list[str] = []
    if kl is not None and kl.kind == "zero":
        signals.append(f"KL exactly 0 since step {kl.since_step}" if kl.since_step is not None else "KL exactly 0")
    if _zero_lr(lr):
        signals.append("the learning rate is 0")
    if ent.kind == "collapsed" and ent.evidence.get("from_first_update"):
        extra = list(signals)
        if reward is not None and reward.kind == "flat" and "first" in reward.evidence:
            extra.append(f"reward flat at its starting level ({fmt(reward.evidence['first'])})")
        if extra:
            return Verdict(ent.metric, ent.kind, ent.severity, f"{ent.reason}; {', '.join(extra)}",
                           ent.since_step, ent.since_wall_time, ent.evidence | {"corroborated": extra})
        return ent
    if ent.kind in ("collapsed", "nonfinite") or not signals:
        return ent
    v = H.values
    n = v.shape[0]
    if n < th.min_points:
        return ent
    W = window(n)
    recent = v[-W:]
    level = median(recent)
    sd = float(recent.std())
    if not np.isfinite(level) or sd > STILL * max(abs(level), 1e-12):
        return ent
    return Verdict("entropy", "not_updating", Severity.ALARM,
                   f"entropy has not moved ({fmt(level)} nats, sd {sd:.1g} over {W} points) and "
                   f"{' and '.join(signals)}: the policy is not being updated",
                   int(H.steps[-W]), float(H.wall_times[-W]),
                   ent.evidence | {"sd": sd, "level": level, "signals": signals, "shape": ent.kind})
