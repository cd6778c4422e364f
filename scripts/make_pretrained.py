"""Train the agent shipped in weights/dqn_pretrained.h5f, check it, and save it (``make pretrained``).

Trains with ``cd.agent.SHIPPED_RECIPE`` (one update of 32 transitions every step, learning rate 3e-3,
target update 5e-2; not notebook 03's recipe; at most 50,000 steps), but stops only at a greedy mean of
199 rather than 195, so that the shipped agent has a margin; then it tests the
greedy agent with keras-rl2's own ``dqn.test`` over 100 fresh episodes. The weights are only
written if that test mean is at least the environment's reward threshold (195): a failed
run never replaces the shipped agent.
"""

from __future__ import annotations

import argparse
import sys
import time

import cartpole_dqn as cd
from cartpole_dqn.weights import SHIPPED_WEIGHTS

#: The settings the shipped agent was trained with, pinned in the package (``cd.agent.SHIPPED_RECIPE``) so
#: that ``make pretrained`` keeps reproducing it bit for bit whatever the defaults become.
SHIPPED_RECIPE = cd.agent.SHIPPED_RECIPE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--steps", type=int, default=50_000, help="training budget (default 50,000)")
    parser.add_argument("--test-seed", type=int, default=123_456, help="seed of the 100 test episodes")
    parser.add_argument(
        "--target",
        type=float,
        default=199.0,
        help="train until the greedy mean reaches this (default 199: a margin above 195 for the shipped agent)",
    )
    args = parser.parse_args(argv)

    run = cd.train(steps=args.steps, seed=args.seed, threshold=args.target, **SHIPPED_RECIPE)
    started = time.perf_counter()
    test_env = cd.make_env(seed=args.test_seed)
    history = run.dqn.test(test_env, nb_episodes=100, visualize=False, verbose=0)
    result = cd.summarize(history.history["episode_reward"], threshold=test_env.reward_threshold)
    print(f"dqn.test over 100 episodes: {result}  [{time.perf_counter() - started:.1f} s]")
    if not result.solved:
        print("Not solved: the shipped weights were left as they were. Try another --seed.", file=sys.stderr)
        return 1
    cd.weights._save_shipped(  # the one writer of the shipped agent
        run.dqn,
        {
            "env_id": cd.DEFAULT_ENV_ID,
            "seed": args.seed,
            "steps_trained": run.steps,
            "training_seconds": round(run.seconds, 1),
            "target_greedy_mean": args.target,
            "reached_target_at_step": run.solved_at_step,
            "test_episodes": 100,
            "test_seed": args.test_seed,
            "test_mean": result.mean,
            "test_std": result.std,
            "test_min": result.min,
            "recipe": f"SHIPPED_RECIPE: {cd.agent.describe_recipe(**SHIPPED_RECIPE)}, stop when the greedy mean reaches the target",
        },
        SHIPPED_WEIGHTS,
    )
    print(f"saved {SHIPPED_WEIGHTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
