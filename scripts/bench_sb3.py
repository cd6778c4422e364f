"""The peer in ``make bench PEER=sb3``: Stable-Baselines3's DQN under the series' rule for "solved".

Runs in a separate Python that has ``stable-baselines3``, ``torch`` and ``gymnasium`` (never a
dependency of the series: ``scripts/bench_solve.py`` finds it through ``SB3_PYTHON``). For one seed it
trains SB3's DQN with the RL Zoo's tuned CartPole-v1 hyperparameters (``HYPERPARAMETERS``, from
``hyperparams/dqn.yml`` of DLR-RM/rl-baselines3-zoo) on CartPole-v0, with the series' rule: every 500
steps the greedy agent plays 100 episodes (seeds 10,000 + k); a mean of 195 or more is confirmed on
200 other episodes (seeds 17,919 + k); evaluation time counts; at most 50,000 steps. It prints one
JSON line: steps and seconds to solve, the greedy mean over 100 fresh episodes (seeds 500,000 + k),
the CPU time of the process while training (load-independent, unlike seconds), the time spent
evaluating, and the versions used.

    $SB3_PYTHON scripts/bench_sb3.py --seed 0
    $SB3_PYTHON scripts/bench_sb3.py --check      # versions only (is this interpreter usable?)
"""

from __future__ import annotations

import argparse
import json
import time

#: RL Zoo, hyperparams/dqn.yml, "CartPole-v1" (n_timesteps 5e4, policy MlpPolicy).
HYPERPARAMETERS = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}
DEFAULT_HYPERPARAMETERS: dict = {}  # SB3's own defaults, for --defaults
ENV_ID = "CartPole-v0"
EVAL_SEED, CONFIRM_OFFSET, FINAL_EVAL_SEED = 10_000, 7_919, 500_000


def versions() -> dict[str, str]:
    import gymnasium
    import numpy
    import stable_baselines3
    import torch

    return {
        "stable-baselines3": stable_baselines3.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": numpy.__version__,
    }


def greedy_mean(q_net, episodes: int, seed: int) -> float:
    """Mean greedy score over ``episodes`` episodes (episode k: ``reset(seed=seed + k)``), stepped side by side.

    The same episodes and time limit as the series' fast evaluator: raw dynamics, 200 steps at most.
    """
    import gymnasium as gym
    import numpy as np
    import torch

    envs = [gym.make(ENV_ID).unwrapped for _ in range(episodes)]
    limit = gym.spec(ENV_ID).max_episode_steps
    observations = np.stack([env.reset(seed=seed + k)[0] for k, env in enumerate(envs)])
    scores = np.zeros(episodes)
    alive = np.arange(episodes)
    with torch.no_grad():
        for _ in range(limit):
            q_values = q_net(torch.as_tensor(observations[alive], dtype=torch.float32))
            actions = q_values.argmax(dim=1).numpy()
            still_alive = []
            for index, action in zip(alive, actions, strict=True):
                observation, reward, terminated, truncated, _ = envs[index].step(int(action))
                scores[index] += reward
                observations[index] = observation
                if not (terminated or truncated):
                    still_alive.append(index)
            alive = np.array(still_alive, dtype=int)
            if alive.size == 0:
                break
    return float(scores.mean())


def train(seed: int, cap: int = 50_000, eval_every: int = 500, defaults: bool = False) -> dict:
    """Train one seed until solved (or ``cap`` steps); what happened, as a dict."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    hyperparameters = DEFAULT_HYPERPARAMETERS if defaults else HYPERPARAMETERS
    env = gym.make(ENV_ID)
    threshold = env.spec.reward_threshold
    model = DQN("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **hyperparameters)
    state = {"solved_at": None, "eval_seconds": 0.0, "evaluations": []}

    class SolveCheck(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % eval_every:
                return True
            started = time.perf_counter()
            mean = greedy_mean(model.q_net, 100, EVAL_SEED)
            solved = mean >= threshold and greedy_mean(model.q_net, 200, EVAL_SEED + CONFIRM_OFFSET) >= threshold
            state["eval_seconds"] += time.perf_counter() - started
            state["evaluations"].append((self.num_timesteps, mean))
            if solved:
                state["solved_at"] = self.num_timesteps
                state["seconds"] = time.perf_counter() - state["started"]
                return False
            return True

    state["started"] = time.perf_counter()
    cpu_started = time.process_time()
    model.learn(total_timesteps=cap, callback=SolveCheck())
    seconds = time.perf_counter() - state["started"]
    cpu_seconds = time.process_time() - cpu_started
    return {
        "seed": seed,
        "solved_at_step": state["solved_at"],
        "steps": int(model.num_timesteps),
        "seconds": state.get("seconds", seconds),
        "cpu_seconds": cpu_seconds,
        "eval_seconds": state["eval_seconds"],
        "final_mean": greedy_mean(model.q_net, 100, FINAL_EVAL_SEED),
        "versions": versions(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cap", type=int, default=50_000)
    parser.add_argument("--defaults", action="store_true", help="SB3's default hyperparameters instead of the Zoo's")
    parser.add_argument("--check", action="store_true", help="print the versions and exit")
    args = parser.parse_args(argv)
    if args.check:
        print(json.dumps(versions()))
        return 0
    print(json.dumps(train(args.seed, args.cap, defaults=args.defaults)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
