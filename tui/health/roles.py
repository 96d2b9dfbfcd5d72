"""Which tag plays which role (entropy, reward, throughput…), per library, with sign conventions.

A run's tags are matched in three passes, first match wins per role:

1. the user's explicit mapping (``--role entropy=my/tag`` or the config file's ``[roles]``);
2. the conventions of the library the run was written by (fingerprinted by a tag only that
   library writes, see ``../shared/docs/DIAGNOSTICS.md``);
3. generic name patterns (``entropy``, ``reward|return``, ``fps|sps``…).

Each role resolves to a `RoleSource`: the tags (several when a run logs one tag per worker, like
``orig_reward_0…15``), a sign (SB3's ``train/entropy_loss`` is −H) and whether the values are on
an absolute scale (nats per action) or only meaningful relative to their start (TRL PPO's
per-sequence entropy sum, TorchRL's −coef·H).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from tui.store import RunSnapshot, Series

ROLES = (
    "entropy", "reward", "episode_length", "fps", "step_time", "kl", "explained_variance",
    "value_loss", "policy_loss", "grad_norm", "learning_rate", "step_counter",
)
"""Roles a tag can play. ``fps`` is the *logged* throughput (shown, never judged: it is often a
cumulative average); ``step_counter`` is a tag whose value counts environment steps, used to
derive throughput when the x-axis counts updates."""

# Aliases users may type for --role.
ROLE_ALIASES = {"throughput": "fps", "return": "reward", "ev": "explained_variance",
                "lr": "learning_rate", "steps": "step_counter", "timesteps": "step_counter"}


class Rule(NamedTuple):  # (a NamedTuple: a frozen dataclass's making was ~0.4 ms of start-up)
    """One library convention: tags matching `pattern` play `role`."""

    role: str
    pattern: str  # regex, searched against the full tag (anchor it yourself)
    sign: float = 1.0  # multiply values by this to get the role's natural sign (+H for entropy)
    absolute: bool = True  # False: only relative changes mean something (unknown scale)
    note: str = ""


def _r(role: str, pattern: str, sign: float = 1.0, absolute: bool = True, note: str = "") -> Rule:
    return Rule(role, pattern, sign, absolute, note)


# Shared tails: RLlib nests everything under ray/tune/ (or not, depending on the logger).
_RT = r"^(?:ray/tune/)?"

# (library name, fingerprint regex, rules). Order matters: first fingerprint that matches wins,
# so more specific libraries come before ones whose tags they share.
LIBRARIES: list[tuple[str, str, list[Rule]]] = [
    ("trl-ppo", r"(^|/)objective/(entropy|rlhf_reward)$", [
        _r("entropy", r"(^|/)policy/entropy_avg$", note="per token"),
        _r("entropy", r"(^|/)objective/entropy$", absolute=False, note="per-sequence sum"),
        _r("reward", r"(^|/)objective/rlhf_reward$"),
        _r("kl", r"(^|/)objective/kl$", note="to the reference model: expected to grow"),
        _r("fps", r"(^|/)eps$"),
    ]),
    ("trl-grpo", r"(^|/)frac_reward_zero_std$", [
        _r("entropy", r"^(train/)?entropy$", absolute=False, note="per token; LLM: relative"),
        _r("reward", r"^(train/)?reward$"),
        _r("kl", r"^(train/)?kl$", note="to the reference model: expected to grow"),
        _r("step_time", r"^(train/)?step_time$"),
        _r("grad_norm", r"^(train/)?grad_norm$"),
        _r("learning_rate", r"^(train/)?learning_rate$"),
    ]),
    ("verl", r"^critic/score/mean$", [
        _r("entropy", r"^actor/entropy(_loss)?$", absolute=False, note="LLM: relative"),
        _r("reward", r"^critic/score/mean$"),
        _r("kl", r"^actor/ppo_kl$"),
        _r("fps", r"^perf/throughput$"),
        _r("grad_norm", r"^actor/grad_norm$"),
        _r("value_loss", r"^critic/vf_loss$"),
        _r("policy_loss", r"^actor/pg_loss$"),
        _r("learning_rate", r"^actor/lr$"),
    ]),
    ("openrlhf", r"(^|/)ppo_kl$|(^|/)rollout/reward_mean$", [
        _r("entropy", r"(^|/)entropy_loss$", absolute=False, note="+H despite the name; LLM: relative"),
        _r("reward", r"(^|/)rollout/reward_mean$|(^|/)reward$"),
        _r("kl", r"(^|/)ppo_kl$"),
        _r("value_loss", r"(^|/)critic_loss$"),
        _r("policy_loss", r"(^|/)policy_loss$"),
    ]),
    ("stable-baselines3", r"^rollout/ep_rew_mean$|^train/entropy_loss$", [
        _r("entropy", r"^train/entropy_loss$", sign=-1.0, note="entropy_loss is -H"),
        _r("reward", r"^rollout/ep_rew_mean$", note="mean of the last 100 episodes: lags"),
        _r("episode_length", r"^rollout/ep_len_mean$"),
        _r("fps", r"^time/fps$", note="cumulative average since start"),
        _r("kl", r"^train/approx_kl$", note="non-negative estimator"),
        _r("explained_variance", r"^train/explained_variance$"),
        _r("value_loss", r"^train/value_loss$"),
        _r("policy_loss", r"^train/policy_gradient_loss$"),
        _r("learning_rate", r"^train/learning_rate$"),
        _r("step_counter", r"^time/total_timesteps$"),
    ]),
    ("cleanrl", r"^charts/SPS$", [
        _r("entropy", r"^losses/entropy$"),
        _r("reward", r"^charts/episodic_return$", note="one point per episode"),
        _r("episode_length", r"^charts/episodic_length$"),
        _r("fps", r"^charts/SPS$", note="cumulative average since start"),
        _r("kl", r"^losses/approx_kl$", note="non-negative estimator"),
        _r("explained_variance", r"^losses/explained_variance$"),
        _r("value_loss", r"^losses/value_loss$"),
        _r("policy_loss", r"^losses/policy_loss$"),
        _r("learning_rate", r"^charts/learning_rate$"),
    ]),
    ("rllib", r"^(ray/tune/)?(env_runners|sampler_results|info/learner)|^(ray/tune/)?episode_reward_mean$"
              r"|^(ray/tune/)?learners/", [
        _r("entropy", _RT + r"learners/[^/]+/entropy$"),
        _r("entropy", _RT + r"info/learner/[^/]+/(learner_stats/)?entropy$"),
        _r("reward", _RT + r"env_runners/episode_return_mean$"),
        _r("reward", _RT + r"(env_runners/|sampler_results/)?episode_reward_mean$"),
        _r("episode_length", _RT + r"env_runners/episode_len_mean$|" + _RT + r"episode_len_mean$"),
        _r("kl", _RT + r"learners/[^/]+/mean_kl_loss$|" + _RT + r"info/learner/[^/]+/(learner_stats/)?kl$"),
        _r("explained_variance", _RT + r".*vf_explained_var$"),
        _r("value_loss", _RT + r".*vf_loss$"),
        _r("policy_loss", _RT + r".*policy_loss$"),
        _r("fps", _RT + r".*num_env_steps_sampled.*throughput.*$"),
        _r("step_counter", _RT + r"(num_env_steps_sampled_lifetime|timesteps_total|num_env_steps_sampled)$"),
    ]),
    ("ml-agents", r"^Policy/Entropy$|^Environment/Cumulative Reward$", [
        _r("entropy", r"^Policy/Entropy$"),
        _r("reward", r"^Environment/Cumulative Reward$"),
        _r("episode_length", r"^Environment/Episode Length$"),
        _r("value_loss", r"^Losses/Value Loss$"),
        _r("policy_loss", r"^Losses/Policy Loss$"),
        _r("learning_rate", r"^Policy/Learning Rate$"),
    ]),
    ("sample-factory", r"^perf/_fps$", [
        _r("entropy", r"^train/entropy$"),
        _r("reward", r"^reward/reward$|^policy_stats/avg_reward$"),
        _r("fps", r"^perf/_fps$", note="10 s window"),
        _r("kl", r"^train/kl_divergence$"),
        _r("value_loss", r"^train/value_loss$"),
        _r("grad_norm", r"^train/grad_norm$"),
    ]),
    ("rl_games", r"^performance/step_fps$", [
        _r("entropy", r"^losses/entropy$"),
        _r("reward", r"^rewards/step$|^rewards/iter$"),
        _r("episode_length", r"^episode_lengths/step$"),
        _r("fps", r"^performance/step_fps$"),
        _r("kl", r"^info/kl$"),
        _r("learning_rate", r"^info/last_lr$"),
    ]),
    ("tianshou", r"^update/ent_loss", [
        _r("entropy", r"^update/ent_loss(/mean)?$", note="+H despite the name"),
        _r("reward", r"^training/returns_stat/mean$|^train/returns_stat/mean$|^train/reward$"),
        _r("fps", r"^training/collect_speed$|^train/collect_speed$"),
    ]),
    ("torchrl", r"^train/loss_entropy$|^time/speed$", [
        _r("entropy", r"^train/loss_entropy$", sign=-1.0, absolute=False, note="-coef*H"),
        _r("reward", r"^train/reward$"),
        _r("fps", r"^time/speed$"),
    ]),
    ("openai-baselines", r"^(loss/)?policy_entropy$|^eprewmean$|^nupdates$", [
        _r("entropy", r"^(loss/)?policy_entropy$"),
        _r("reward", r"^eprewmean$"),
        _r("reward", r"^orig_reward_\d+$", note="one tag per worker, one point per episode"),
        _r("reward", r"^true_reward_\d+$", note="one tag per worker, one point per episode"),
        _r("episode_length", r"^eplenmean$"),
        _r("fps", r"^fps$", note="often a cumulative average"),
        _r("kl", r"^(loss/)?approxkl$"),
        _r("explained_variance", r"^(misc/)?explained_variance$"),
        _r("value_loss", r"^(loss/)?value_loss$"),
        _r("policy_loss", r"^(loss/)?policy_loss$"),
        _r("learning_rate", r"^learning_rate$"),
        _r("step_counter", r"^(misc/)?total_timesteps$"),
    ]),
]

# Generic fallbacks (case-insensitive). Per-worker tags (…_0, …_1) are combined.
GENERIC: list[Rule] = [
    _r("entropy", r"(?i)entropy(_avg|_mean)?$"),
    _r("reward", r"(?i)(ep(isode)?_?(rew(ard)?|return)s?(_mean)?|episodic_return|eprewmean)(_\d+)?$"),
    _r("reward", r"(?i)(^|/)(mean_|avg_)?(rewards?|returns?)(_mean|/mean)?(_\d+)?$"),
    _r("reward", r"(?i)reward(_\d+)?$"),
    _r("episode_length", r"(?i)(ep(isode)?_?len(gth)?s?)(_mean)?$"),
    _r("fps", r"(?i)(^|/|_)(fps|sps|steps_per_sec(ond)?|samples_per_sec(ond)?|throughput)$"),
    _r("step_time", r"(?i)(step_time|time_per_step|iter_time)$"),
    _r("kl", r"(?i)(approx_?kl|ppo_kl|(^|/)kl(_div(ergence)?)?)$"),
    _r("explained_variance", r"(?i)(explained_variance|explained_var|vf_explained_var)$"),
    _r("value_loss", r"(?i)(value_loss|vf_loss|critic_loss)$"),
    _r("policy_loss", r"(?i)(policy_loss|pg_loss|policy_gradient_loss)$"),
    _r("grad_norm", r"(?i)grad_norm$"),
    _r("learning_rate", r"(?i)(learning_rate|(^|/)lr)$"),
    _r("step_counter", r"(?i)(^|/)(total_timesteps|timesteps_total|total_env_steps|env_steps|"
                       r"num_env_steps_sampled(_lifetime)?|frames|global_step)$"),
]

LLM_LIBRARIES = frozenset({"trl-ppo", "trl-grpo", "verl", "openrlhf"})

_compiled: dict[str, re.Pattern[str]] = {}


def _match(pattern: str, tag: str) -> bool:
    rx = _compiled.get(pattern)
    if rx is None:
        rx = _compiled[pattern] = re.compile(pattern)
    return rx.search(tag) is not None


class RoleSource(NamedTuple):
    """Where a role's values come from."""

    role: str
    tags: tuple[str, ...]
    sign: float = 1.0
    absolute: bool = True
    origin: str = "pattern"  # "user", a library name, or "pattern"
    note: str = ""


class RoleMap(NamedTuple):
    library: str | None
    sources: dict[str, RoleSource]  # role -> where its values come from

    @property
    def llm(self) -> bool:
        return self.library in LLM_LIBRARIES


def normalise_role(name: str) -> str:
    """'throughput' -> 'fps', etc. Raises ValueError for an unknown role."""
    key = name.strip().lower().replace("-", "_")
    key = ROLE_ALIASES.get(key, key)
    if key not in ROLES:
        raise ValueError(f"unknown role {name!r}: use one of {', '.join(ROLES)}")
    return key


def guess_library(tags: list[str]) -> str | None:
    for name, fingerprint, _ in LIBRARIES:
        if any(_match(fingerprint, t) for t in tags):
            return name
    return None


def _rules_for(library: str | None) -> list[tuple[str, Rule]]:
    out: list[tuple[str, Rule]] = []
    for name, _, rules in LIBRARIES:
        if name == library:
            out += [(name, r) for r in rules]
    out += [("pattern", r) for r in GENERIC]
    return out


def assign_roles(tags: list[str], overrides: dict[str, str] | None = None) -> RoleMap:
    """Map tags to roles. `overrides`: role -> tag (exact name) from the user."""
    tags = sorted(tags)
    library = guess_library(tags)
    sources: dict[str, RoleSource] = {}
    taken: set[str] = set()
    for role, tag in (overrides or {}).items():
        role = normalise_role(role)
        if tag in tags:
            sources[role] = RoleSource(role, (tag,), origin="user")
            taken.add(tag)
    for origin, rule in _rules_for(library):
        if rule.role in sources:
            continue
        hits = tuple(t for t in tags if t not in taken and _match(rule.pattern, t))
        if hits:
            sources[rule.role] = RoleSource(rule.role, hits, rule.sign, rule.absolute, origin, rule.note)
            taken.update(hits)
    return RoleMap(library, sources)


def combine(parts: list[Series], sign: float = 1.0) -> Series:
    """One series from several tags of one role.

    Tags logged together (same steps, wall times within 1 s: per-policy aggregates) are
    averaged per step. Otherwise (per-worker episode rewards, each with its own episode counter as step)
    the points are merged in wall-time order and the step becomes the running count of points.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return Series(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))
    if len(parts) == 1:
        p = parts[0]
        return p if sign == 1.0 else Series(p.steps, p.wall_times, p.values * sign)
    first = parts[0]
    if all(len(p) == len(first) and np.array_equal(p.steps, first.steps)
           and np.allclose(p.wall_times, first.wall_times, rtol=0, atol=1.0) for p in parts[1:]):
        vals = np.mean(np.stack([p.values for p in parts]), axis=0)
        walls = np.max(np.stack([p.wall_times for p in parts]), axis=0)
        return Series(first.steps, walls, vals * sign)
    walls = np.concatenate([p.wall_times for p in parts])
    vals = np.concatenate([p.values for p in parts])
    order = np.argsort(walls, kind="stable")
    return Series(np.arange(1, walls.shape[0] + 1, dtype=np.int64), walls[order], vals[order] * sign)


# ---- action count ------------------------------------------------------------------------
# Discrete action counts of common environments (minimal action sets for Atari).
KNOWN_ACTIONS = {
    "pong": 6, "breakout": 4, "spaceinvaders": 6, "enduro": 9, "seaquest": 18, "qbert": 6,
    "beamrider": 9, "mspacman": 9, "asteroids": 14, "montezumarevenge": 18, "freeway": 3,
    "cartpole": 2, "acrobot": 3, "mountaincar": 3, "lunarlander": 4, "frozenlake": 4,
    "taxi": 6, "cliffwalking": 4, "movingdot": 5,
}


# Patterns searched with `re.search` (compiled on the first search, cached by `re`: most runs have
# no text summaries to search, and compiling these at import was ~0.35 ms of `check`'s start-up).
_DISCRETE = r"Discrete\((\d+)\)"
_NACT = r"(?i)\b(?:n_actions|num_actions|action_dim|n_act)\b\s*[:=]\s*(\d+)"
_ENV = r"(?i)\b([a-z]+)(?:noframeskip)?-v\d+\b"


def actions_from_texts(texts: dict[str, str]) -> int | None:
    """An action count from hyperparameter text summaries, or None."""
    for text in texts.values():
        m = re.search(_DISCRETE, text) or re.search(_NACT, text)
        if m:
            return int(m.group(1))
    for text in texts.values():
        for m in re.finditer(_ENV, text):
            name = m.group(1).lower().replace("noframeskip", "")
            if name in KNOWN_ACTIONS:
                return KNOWN_ACTIONS[name]
    return None


def infer_actions(entropy: np.ndarray, max_actions: int = 1000) -> int | None:
    """Infer |A| from the largest entropy seen, when it sits at ln of an integer.

    Policies start near uniform, so max H ≈ ln|A|. DIAGNOSTICS.md's n̂ = ceil(exp(max H) − 0.02)
    alone turns any maximum into some count (a policy that started at 0.8·ln 6 would be a
    pinned 5-action one); we also require exp(max H) to be within 0.3 of n̂ (for 18 actions: a
    start above 0.995·ln 18), else the count is unknown and entropy is judged relative to its
    start. (0.9·ln 6 = ln 5.02 can't be told from a 5-action policy by its maximum alone: pass
    --actions when it matters.)
    """
    if entropy.size == 0:
        return None
    hmax = float(entropy.max())
    if not np.isfinite(hmax):
        finite = entropy[np.isfinite(entropy)]
        if finite.size == 0:
            return None
        hmax = float(finite.max())
    if hmax <= 0.3 or hmax > np.log(max_actions):
        return None
    x = float(np.exp(hmax))
    n = int(np.ceil(x - 0.02))
    if n < 2 or n - x > 0.3:
        return None
    return n


def tag_set(snap: RunSnapshot) -> tuple[str, ...]:
    """The run's tags, sorted: the key of every cache of what a tag set decides (roles, growth
    tags, a std tag). Found by the order the run wrote its tags in (a sweep's runs share it),
    so a batch sorts each tag set once, not once per run and check."""
    return _sorted_tags(tuple(snap.series))


@lru_cache(maxsize=4096)
def _sorted_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(tags))


def snapshot_roles(snap: RunSnapshot, overrides: dict[str, str] | None = None) -> RoleMap:
    return assign_roles(list(snap.series), overrides)


def series_for(snap: RunSnapshot, src: RoleSource) -> Series:
    if len(src.tags) == 1:  # most roles: one tag (what `combine` does with one part, without the lists)
        s = snap.series.get(src.tags[0])
        if s is not None and s.steps.shape[0]:
            return s if src.sign == 1.0 else Series(s.steps, s.wall_times, s.values * src.sign)
    return combine([snap.series[t] for t in src.tags if t in snap.series], src.sign)
