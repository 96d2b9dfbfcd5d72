"""Tag roles per library, sign conventions, combination of per-worker tags, user mapping."""

from __future__ import annotations

import numpy as np
import pytest
from health_synth import T0, curve, snapshot

from tui.health import HealthOptions, judge, role_series
from tui.health.roles import assign_roles, combine, guess_library, infer_actions
from tui.store import Series


@pytest.mark.parametrize("tags,library,entropy,sign,absolute", [
    (["rollout/ep_rew_mean", "train/entropy_loss", "time/fps"], "stable-baselines3", "train/entropy_loss", -1, True),
    (["charts/SPS", "losses/entropy", "charts/episodic_return"], "cleanrl", "losses/entropy", 1, True),
    (["policy_entropy", "fps", "nupdates", "total_timesteps", "eprewmean"], "openai-baselines", "policy_entropy", 1, True),
    (["ray/tune/env_runners/episode_return_mean", "ray/tune/learners/default_policy/entropy"], "rllib",
     "ray/tune/learners/default_policy/entropy", 1, True),
    (["ray/tune/episode_reward_mean", "ray/tune/info/learner/default_policy/learner_stats/entropy"], "rllib",
     "ray/tune/info/learner/default_policy/learner_stats/entropy", 1, True),
    (["Policy/Entropy", "Environment/Cumulative Reward"], "ml-agents", "Policy/Entropy", 1, True),
    (["perf/_fps", "train/entropy", "reward/reward"], "sample-factory", "train/entropy", 1, True),
    (["performance/step_fps", "losses/entropy", "rewards/step"], "rl_games", "losses/entropy", 1, True),
    (["update/ent_loss/mean", "training/returns_stat/mean"], "tianshou", "update/ent_loss/mean", 1, True),
    (["train/loss_entropy", "train/reward", "time/speed"], "torchrl", "train/loss_entropy", -1, False),
    (["train/frac_reward_zero_std", "train/entropy", "train/reward"], "trl-grpo", "train/entropy", 1, False),
    (["train/objective/entropy", "train/objective/rlhf_reward", "train/policy/entropy_avg"], "trl-ppo",
     "train/policy/entropy_avg", 1, True),
    (["critic/score/mean", "actor/entropy"], "verl", "actor/entropy", 1, False),
    (["train/ppo_kl", "train/entropy_loss", "train/rollout/reward_mean"], "openrlhf", "train/entropy_loss", 1, False),
])
def test_library_conventions(tags, library, entropy, sign, absolute):
    roles = assign_roles(tags)
    assert roles.library == library
    src = roles.sources["entropy"]
    assert src.tags == (entropy,) and src.sign == sign and src.absolute == absolute
    assert "reward" in roles.sources


def test_trl_ppo_without_per_token_entropy_is_relative():
    roles = assign_roles(["train/objective/entropy", "train/objective/rlhf_reward"])
    assert roles.sources["entropy"].absolute is False  # a per-sequence sum


def test_unknown_library_falls_back_to_patterns():
    roles = assign_roles(["my/policy_entropy_avg", "eval/episode_return", "speed/sps", "global_step"])
    assert roles.library is None
    assert roles.sources["entropy"].tags == ("my/policy_entropy_avg",)
    assert roles.sources["reward"].tags == ("eval/episode_return",)
    assert roles.sources["fps"].tags == ("speed/sps",)
    assert roles.sources["step_counter"].tags == ("global_step",)


def test_user_mapping_wins():
    roles = assign_roles(["policy_entropy", "weird/h"], {"entropy": "weird/h"})
    assert roles.sources["entropy"].tags == ("weird/h",) and roles.sources["entropy"].origin == "user"
    with pytest.raises(ValueError, match="unknown role"):
        HealthOptions(roles={"entropie": "x"})
    assert HealthOptions(roles={"throughput": "x"}).roles == {"fps": "x"}


def test_per_worker_rewards_are_combined():
    tags = {f"orig_reward_{i}": curve(np.full(50, float(i)), dt=7.0 + i, t0=T0 + i) for i in range(16)}
    snap = snapshot(tags)
    roles = assign_roles(list(snap.series))
    assert len(roles.sources["reward"].tags) == 16
    reward = role_series(snap)["reward"]
    assert len(reward) == 16 * 50
    assert np.all(np.diff(reward.wall_times) >= 0)  # merged in time order
    assert set(np.unique(reward.values)) == {float(i) for i in range(16)}
    v = judge(snap, now=float(snap.last_wall_time)).verdict("reward")
    assert v is not None and v.evidence["points"] == 800


def test_combine_on_a_shared_step_grid_averages():
    a = Series(np.arange(5), np.arange(5.0), np.full(5, 1.0))
    b = Series(np.arange(5), np.arange(5.0) + 0.5, np.full(5, 3.0))
    c = combine([a, b])
    assert np.allclose(c.values, 2.0) and np.array_equal(c.steps, np.arange(5))


def test_sb3_sign_gives_plus_h():
    x = np.linspace(1.7, 1.2, 100)
    snap = snapshot({"train/entropy_loss": curve(-x), "rollout/ep_rew_mean": curve(np.linspace(0, 5, 100))})
    assert np.allclose(role_series(snap)["entropy"].values, x)


def test_infer_actions():
    assert infer_actions(np.array([1.5, np.log(6) - 0.001, 1.6])) == 6
    assert infer_actions(np.array([0.8 * np.log(6)])) is None  # not at ln of an integer
    assert infer_actions(np.array([np.nan])) is None


def test_guess_library_none_for_plain_tags():
    assert guess_library(["loss", "accuracy"]) is None


def test_llm_entropy_is_always_relative():
    # TRL GRPO per-token entropy starting at ln 3 by chance: not a 3-action policy.
    x = np.log(3) * np.concatenate([np.linspace(1.0, 0.4, 200), np.full(100, 0.4)])
    snap = snapshot({"train/entropy": curve(x), "train/reward": curve(np.linspace(0, 1, 300)),
                     "train/frac_reward_zero_std": curve(np.zeros(300))})
    h = judge(snap, now=float(snap.last_wall_time))
    assert h.library == "trl-grpo"
    v = h.verdict("entropy")
    assert v.evidence["scale"] == "initial" and "actions" not in v.evidence
    assert v.kind in ("healthy", "plateau") and v.severity <= 1
    assert abs(v.evidence["level"] - 0.4) < 0.02  # relative to its start


def test_reward_of_a_rewards_only_sibling_is_context():
    """Baselines/Rahtz: rewards live in a sibling run. A pinned entropy whose sibling's reward
    rises is one severity lower than one whose sibling's reward is flat."""
    from tui.health import siblings

    n = 400
    ent = curve(np.minimum(np.log(6), np.log(6) * 0.999 + np.random.default_rng(1).normal(0, 0.003, n)), dt=30.0)
    rising = curve(np.concatenate([np.full(200, -21.0), np.linspace(-21, 10, 200)]), dt=30.0)
    flat = curve(np.full(n, -21.0) + np.random.default_rng(2).normal(0, 0.3, n), dt=30.0)
    for reward, expected in ((rising, 2), (flat, 3)):
        a = snapshot({"policy_entropy": ent}, name="exp/a2c", path="/logs/exp/a2c")
        b = snapshot({f"orig_reward_{i}": reward for i in range(2)}, name="exp/a2c_misc", path="/logs/exp/a2c_misc")
        rel = siblings([a, b])
        v = judge(a, now=float(a.last_wall_time), related=rel["exp/a2c"]).verdict("entropy")
        assert v.kind == "pinned_at_max" and int(v.severity) == expected
        assert judge(a, now=float(a.last_wall_time)).verdict("entropy").severity == 3  # no context: alarm
