"""The accuracy corpus: small real training runs whose outcomes are known, and tbpeek's verdicts on them.

    .venv/bin/pip install torch==2.13.0            # the CPU wheel on this disk (plain `torch`: a CUDA build)
    .venv/bin/pip install -e '.[calibrate]'         # stable-baselines3, gymnasium
    .venv/bin/python bench/accuracy.py train        # train every case missing from tests/corpus (CPU, minutes)
    .venv/bin/python bench/accuracy.py train --only ppo-cartpole-lr0 --force
    .venv/bin/python bench/accuracy.py table        # judge the corpus, print run / known outcome / verdict / match
    TBPEEK_SRC=/tmp/old .venv/bin/python bench/accuracy.py table   # the same with another tbpeek checkout

Each case is a real trainer (Stable-Baselines3, or a CleanRL-style PPO loop written with torch's
own SummaryWriter) run for about a minute of one CPU core, so the event files are what such
trainers really write: their tags, cadences, warm-ups, fps conventions and file names (which
carry the writer's host and PID). The known outcome of each case, and what tbpeek must say about
it, live in ``tests/corpus/outcomes.toml``; ``tests/test_corpus.py`` pins them on the committed
files (tests never train). Runs are judged as finished runs (review mode), each with its
sibling directories as related runs, as ``tbpeek check --mode review`` does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# TBPEEK_SRC=<a checkout> judges with another version of tbpeek (e.g. main's, for a before/after table).
sys.path.insert(0, os.environ.get("TBPEEK_SRC") or str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus"


# ---- training (imports torch / SB3 lazily: `table` needs neither) ----------------------------------


def _sb3(algo: str, env_id: str, steps: int, out: Path, seed: int = 0, callback: Any = None,
         n_envs: int = 1, log_interval: int | None = None, **kw: Any) -> Any:
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    cls = getattr(sb3, algo)
    model = cls("MlpPolicy", env, seed=seed, verbose=0, tensorboard_log=str(out), device="cpu", **kw)
    more = {} if log_interval is None else {"log_interval": log_interval}
    model.learn(total_timesteps=steps, callback=callback, tb_log_name=algo, **more)
    return model


def _sleep_after(n: int, seconds: float) -> Any:
    """An SB3 callback that sleeps `seconds` per env step once `n` steps are done (a throughput drop)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class SleepAfter(BaseCallback):  # type: ignore[misc]
        def _on_step(self) -> bool:
            if self.num_timesteps >= n:
                time.sleep(seconds)
            return True

    return SleepAfter()


PPO_FAST = {"n_steps": 256, "batch_size": 64, "n_epochs": 4}


def ppo_cartpole(out: Path) -> None:
    _sb3("PPO", "CartPole-v1", 40_000, out, **PPO_FAST)


def a2c_cartpole(out: Path) -> None:
    _sb3("A2C", "CartPole-v1", 60_000, out, n_envs=4, log_interval=20)


def ppo_acrobot(out: Path) -> None:
    _sb3("PPO", "Acrobot-v1", 40_000, out, **PPO_FAST)


def a2c_acrobot(out: Path) -> None:
    _sb3("A2C", "Acrobot-v1", 60_000, out, n_envs=4, log_interval=20)


def ppo_cartpole_lr_high(out: Path) -> None:
    _sb3("PPO", "CartPole-v1", 25_000, out, learning_rate=0.5, **PPO_FAST)


def ppo_acrobot_lr_high(out: Path) -> None:
    _sb3("PPO", "Acrobot-v1", 25_000, out, learning_rate=0.5, **PPO_FAST)


def ppo_cartpole_lr0(out: Path) -> None:
    _sb3("PPO", "CartPole-v1", 25_000, out, learning_rate=0.0, **PPO_FAST)


def ppo_cartpole_entropy_bonus(out: Path) -> None:
    _sb3("PPO", "CartPole-v1", 25_000, out, ent_coef=5.0, **PPO_FAST)


def ppo_pendulum(out: Path) -> None:
    # RL Zoo's tuned Pendulum settings, fewer steps: learns from about -1200 to -200.
    _sb3("PPO", "Pendulum-v1", 60_000, out, n_envs=4, n_steps=512, gae_lambda=0.95, gamma=0.9, n_epochs=10,
         learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4)


def sac_pendulum(out: Path) -> None:
    _sb3("SAC", "Pendulum-v1", 8_000, out, learning_starts=1_000, log_interval=1)


def dqn_cartpole(out: Path) -> None:
    # RL Zoo's CartPole DQN, with a long warm-up (learning_starts): before it the loop runs
    # many times faster (no gradient steps), which is no throughput drop.
    _sb3("DQN", "CartPole-v1", 50_000, out, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
         learning_starts=10_000, gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
         exploration_fraction=0.16, exploration_final_eps=0.04, policy_kwargs={"net_arch": [64, 64]})


def ppo_cartpole_resumed(out: Path) -> None:
    """Trained to 24k steps with a checkpoint at 12k, "crashed", resumed from the checkpoint by a
    new process: steps 12k-24k are written twice, into a second event file (another PID) of the
    same run directory."""
    import subprocess

    from stable_baselines3.common.callbacks import CheckpointCallback

    ckpt = out / "_ckpt"
    _sb3("PPO", "CartPole-v1", 24_576, out, callback=CheckpointCallback(12_288, str(ckpt), name_prefix="ppo"),
         **PPO_FAST)
    path = next(ckpt.glob("ppo_12288_steps.zip"))
    time.sleep(2)  # a new event file: its name's time must differ from the first one's
    subprocess.run([sys.executable, __file__, "_resume", str(path), str(out)], check=True)
    shutil.rmtree(ckpt)


def _resume(path: str, out: str) -> None:
    import stable_baselines3 as sb3
    import torch
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    model = sb3.PPO.load(path, env=make_vec_env("CartPole-v1", n_envs=1, seed=1), device="cpu", tensorboard_log=out)
    model.learn(total_timesteps=40_000 - 12_288, tb_log_name="PPO", reset_num_timesteps=False)


def ppo_cartpole_slowdown(out: Path) -> None:
    """Full speed for 30k steps, then 2 ms of sleep per env step (a sudden, lasting ~4x drop),
    like the issue's 150 s run that dropped after 27 s."""
    _sb3("PPO", "CartPole-v1", 45_000, out, callback=_sleep_after(30_000, 0.002), **PPO_FAST)


def cleanrl_ppo_cartpole(out: Path) -> None:
    """A CleanRL-style PPO loop (ppo.py, shrunk), logging CleanRL's tags with torch's SummaryWriter."""
    import gymnasium as gym
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(0)
    n_envs, n_steps, total, lr = 4, 128, 60_000, 2.5e-4
    envs = gym.vector.SyncVectorEnv([lambda: gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"))
                                     for _ in range(n_envs)])
    writer = SummaryWriter(str(out / "CartPole-v1__ppo__0"))
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n|env_id|CartPole-v1|\n|learning_rate|{lr}|")

    def layer(i: int, o: int, std: float = 2 ** 0.5) -> nn.Linear:
        lin = nn.Linear(i, o)
        nn.init.orthogonal_(lin.weight, std)
        nn.init.constant_(lin.bias, 0.0)
        return lin

    critic = nn.Sequential(layer(4, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, 1, 1.0))
    actor = nn.Sequential(layer(4, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, 2, 0.01))
    params = list(critic.parameters()) + list(actor.parameters())
    opt = torch.optim.Adam(params, lr=lr, eps=1e-5)
    obs_b = torch.zeros((n_steps, n_envs, 4))
    act_b, logp_b, rew_b, done_b, val_b = (torch.zeros((n_steps, n_envs)) for _ in range(5))
    global_step, start = 0, time.time()
    obs, _ = envs.reset(seed=0)
    obs_t, done_t = torch.tensor(obs, dtype=torch.float32), torch.zeros(n_envs)
    for update in range(1, total // (n_envs * n_steps) + 1):
        opt.param_groups[0]["lr"] = lr * (1.0 - (update - 1.0) / (total // (n_envs * n_steps)))
        for t in range(n_steps):
            global_step += n_envs
            obs_b[t], done_b[t] = obs_t, done_t
            with torch.no_grad():
                dist = torch.distributions.Categorical(logits=actor(obs_t))
                a = dist.sample()
                logp_b[t], val_b[t] = dist.log_prob(a), critic(obs_t).flatten()
            act_b[t] = a
            obs, r, term, trunc, info = envs.step(a.numpy())
            rew_b[t] = torch.tensor(r, dtype=torch.float32)
            obs_t, done_t = torch.tensor(obs, dtype=torch.float32), torch.tensor(np.logical_or(term, trunc), dtype=torch.float32)
            if "episode" in info:
                for i in np.flatnonzero(info["_episode"]):
                    writer.add_scalar("charts/episodic_return", float(info["episode"]["r"][i]), global_step)
                    writer.add_scalar("charts/episodic_length", float(info["episode"]["l"][i]), global_step)
        with torch.no_grad():
            nxt = critic(obs_t).flatten()
            adv, last = torch.zeros_like(rew_b), torch.zeros(n_envs)
            for t in reversed(range(n_steps)):
                nonterm = 1.0 - (done_t if t == n_steps - 1 else done_b[t + 1])
                nv = nxt if t == n_steps - 1 else val_b[t + 1]
                delta = rew_b[t] + 0.99 * nv * nonterm - val_b[t]
                adv[t] = last = delta + 0.99 * 0.95 * nonterm * last
            ret = adv + val_b
        b_obs, b_act, b_logp = obs_b.reshape(-1, 4), act_b.reshape(-1), logp_b.reshape(-1)
        b_adv, b_ret, b_val = adv.reshape(-1), ret.reshape(-1), val_b.reshape(-1)
        idx = np.arange(n_envs * n_steps)
        for _ in range(4):
            np.random.shuffle(idx)
            for s in range(0, idx.size, 128):
                mb = idx[s:s + 128]
                dist = torch.distributions.Categorical(logits=actor(b_obs[mb]))
                logp = dist.log_prob(b_act[mb])
                ratio = (logp - b_logp[mb]).exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - (logp - b_logp[mb])).mean()
                a = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                pg = torch.max(-a * ratio, -a * ratio.clamp(0.8, 1.2)).mean()
                v_loss = 0.5 * ((critic(b_obs[mb]).flatten() - b_ret[mb]) ** 2).mean()
                ent = dist.entropy().mean()
                loss = pg - 0.01 * ent + 0.5 * v_loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
        var_y = float(b_ret.var())
        ev = float("nan") if var_y == 0 else 1 - float((b_ret - b_val).var()) / var_y
        writer.add_scalar("charts/learning_rate", opt.param_groups[0]["lr"], global_step)
        writer.add_scalar("losses/value_loss", float(v_loss), global_step)
        writer.add_scalar("losses/policy_loss", float(pg), global_step)
        writer.add_scalar("losses/entropy", float(ent), global_step)
        writer.add_scalar("losses/approx_kl", float(approx_kl), global_step)
        writer.add_scalar("losses/explained_variance", ev, global_step)
        writer.add_scalar("charts/SPS", int(global_step / (time.time() - start)), global_step)
    writer.close()
    envs.close()


CASES: dict[str, Callable[[Path], None]] = {
    "ppo-cartpole": ppo_cartpole,
    "a2c-cartpole": a2c_cartpole,
    "ppo-acrobot": ppo_acrobot,
    "a2c-acrobot": a2c_acrobot,
    "ppo-cartpole-lr-high": ppo_cartpole_lr_high,
    "ppo-acrobot-lr-high": ppo_acrobot_lr_high,
    "ppo-cartpole-lr0": ppo_cartpole_lr0,
    "ppo-cartpole-entropy-bonus": ppo_cartpole_entropy_bonus,
    "ppo-pendulum": ppo_pendulum,
    "sac-pendulum": sac_pendulum,
    "dqn-cartpole": dqn_cartpole,
    "ppo-cartpole-resumed": ppo_cartpole_resumed,
    "ppo-cartpole-slowdown": ppo_cartpole_slowdown,
    "cleanrl-ppo-cartpole": cleanrl_ppo_cartpole,
}


def train(names: list[str], corpus: Path, force: bool) -> None:
    import torch

    torch.set_num_threads(1)  # 2 shared cores: one run at a time, one thread
    for name in names:
        out = corpus / name
        if out.exists() and any(out.rglob("*tfevents*")) and not force:
            print(f"{name}: already there (--force to train again)")
            continue
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        t0, c0 = time.time(), time.process_time()
        try:
            CASES[name](out)
        except Exception as e:  # one broken case must not lose the others' runs
            print(f"{name}: FAILED: {type(e).__name__}: {e}")
            continue
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(f"{name}: {time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU, {size / 1024:.0f} KiB")


# ---- judging ----------------------------------------------------------------------------------


def load_outcomes(corpus: Path = CORPUS) -> dict[str, dict[str, Any]]:
    """The known outcomes (tests/corpus/outcomes.toml): case -> {outcome, summary, expect: [...]}."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with open(corpus / "outcomes.toml", "rb") as f:
        return dict(tomllib.load(f))


def judge_case(name: str, corpus: Path = CORPUS) -> list[Any]:
    """RunHealth of every run (event-file directory) of one case, judged as a finished run."""
    from tui.health import HealthOptions, judge, siblings
    from tui.ingest import load

    snaps = load([str(corpus / name)]).snapshots()
    rel = siblings(snaps)
    opts = HealthOptions(mode="review")
    out = []
    for s in snaps:
        now = float(s.last_wall_time or 0.0) + 3600.0
        out.append(judge(s, opts, now=now, related=rel[s.name]))
    return out


def mismatches(case: dict[str, Any], healths: list[Any]) -> list[str]:
    """What the verdicts got wrong against the case's expectations ([] when all hold)."""
    from tui.health import Severity

    bad: list[str] = []
    if not healths:
        return ["no runs"]
    for exp in case.get("expect", []):
        metric = exp["metric"]
        found = [h.verdict(metric) for h in healths if h.verdict(metric) is not None]
        if exp.get("absent"):
            if found:
                bad.append(f"{metric}: expected none, got {found[0].kind}")
            continue
        if not found:
            bad.append(f"{metric}: no verdict")
            continue
        v = max(found, key=lambda x: x.severity)
        kinds = exp.get("kind")
        if kinds and v.kind not in kinds:
            bad.append(f"{metric}: {v.kind} ({v.severity.label}) not {'/'.join(kinds)}")
        if "severity_min" in exp and v.severity < Severity.parse(exp["severity_min"]):
            bad.append(f"{metric}: {v.severity.label} below {exp['severity_min']}")
        if "severity_max" in exp and v.severity > Severity.parse(exp["severity_max"]):
            bad.append(f"{metric} {v.kind}: {v.severity.label} above {exp['severity_max']}")
        bad += [f"{metric}: reason lacks {w!r}: {v.reason}" for w in exp.get("reason_has", []) if w not in v.reason]
        bad += [f"{metric}: reason says {w!r}: {v.reason}" for w in exp.get("reason_lacks", []) if w in v.reason]
    want = case.get("summary")
    if want:
        line = run_line(healths)
        if line is not None and not line.startswith(want):
            bad.append(f"summary {line!r} doesn't start with {want!r}")
    return bad


def run_line(healths: list[Any]) -> str | None:
    """The case's one-line verdict (its first run's; None before tbpeek had one)."""
    line = getattr(healths[0], "summary", None) if healths else None
    return str(line.text) if line is not None else None


def verdict_text(healths: list[Any]) -> str:
    line = run_line(healths)
    if line:
        return line
    from tui.health import worst

    w = worst([v for h in healths for v in h.verdicts])
    return f"{w.severity.label}: {w.metric} {w.kind}: {w.reason}" if w else "-"


def table(corpus: Path, names: list[str] | None = None, width: int = 70) -> int:
    outcomes = load_outcomes(corpus)
    rows = []
    for name, case in outcomes.items():
        if names and name not in names:
            continue
        if not (corpus / name).is_dir():
            rows.append((name, case["outcome"], "(not trained)", "-"))
            continue
        hs = judge_case(name, corpus)
        bad = mismatches(case, hs)
        rows.append((name, case["outcome"], verdict_text(hs), "yes" if not bad else "NO: " + "; ".join(bad)))
    wn = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{wn}}  expected: {r[1]}")
        print(f"{'':<{wn}}  tbpeek:   {r[2][:width * 2]}")
        print(f"{'':<{wn}}  match:    {r[3]}")
    ok = sum(1 for r in rows if r[3] == "yes")
    print(f"{ok} of {len(rows)} cases match their known outcome")
    return 0 if ok == len(rows) else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_resume"]:  # the resumed run's second process (ppo_cartpole_resumed)
        _resume(argv[1], argv[2])
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["train", "table", "all"], nargs="?", default="all")
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--only", nargs="*", default=None, help="case names")
    p.add_argument("--force", action="store_true", help="train again even when the case exists")
    a = p.parse_args(argv)
    names = a.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}: choose from {', '.join(CASES)}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if a.what in ("train", "all"):
        train(names, a.corpus, a.force)
    if a.what in ("table", "all"):
        return table(a.corpus, a.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
