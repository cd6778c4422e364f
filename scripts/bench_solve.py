"""Benchmark: how fast does the series deliver a solved CartPole agent? (``make bench``)

Prints, in one run on this machine:

1. the cost of one training step, median ms/step, for the tutorial's setup (keras-rl2's
   per-step progress bar, tf-keras' per-metric resets) and for the series' setup
   (progress lines from ``SolveMonitor`` only, one grouped metric reset);
2. per seed: steps and seconds to solve (greedy mean >= 195 over 100 episodes, confirmed
   on 100 more), and the final agent's greedy mean over 100 fresh episodes;
3. the tutorial's fixed recipe (50,000 steps + ``dqn.test`` over 100 episodes), timed for one seed;
4. a summary line: median and max seconds to solve, seeds solved, and the ratio of the recipe's
   time to the median time to solve.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import time

import cartpole_dqn as cd
from cartpole_dqn import compat

FINAL_EVAL_SEED = 500_000  # episodes no evaluation during training ever saw
TUTORIAL_AGENT = {
    "nb_steps_warmup": cd.agent.TUTORIAL_WARMUP,
    "target_model_update": cd.agent.TUTORIAL_TARGET_MODEL_UPDATE,
}


SETUPS = {
    # name: (keras-rl2 verbose, grouped metric reset, TensorFlow threads per op; "0" = TensorFlow's choice)
    "tutorial (progress bar, per-metric reset, TF threads)": (1, False, "0"),
    "series (progress lines, grouped reset, 1 thread)": (0, True, "1"),
}


def _step_cost_worker(verbose: int, fast_reset: bool, steps: int, seed: int) -> float:
    """ms per step of one setup, in this (fresh) process."""
    compat.set_fast_metric_reset(fast_reset)
    cd.reset_session(seed)
    env = cd.make_env(seed=seed)
    states, actions = cd.env_sizes(env)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(states, actions), actions))
    with contextlib.redirect_stdout(io.StringIO()):
        dqn.fit(env, nb_steps=200, verbose=verbose)  # warm up: graph building, first calls
        started = time.perf_counter()
        dqn.fit(env, nb_steps=steps, verbose=verbose)
    return (time.perf_counter() - started) / steps * 1000


def step_cost(steps: int, rounds: int) -> dict[str, float]:
    """Median ms per training step of each setup, each run in a fresh process, in alternation."""
    samples: dict[str, list[float]] = {name: [] for name in SETUPS}
    for round_ in range(rounds):
        for name, (verbose, fast_reset, threads) in SETUPS.items():
            command = [sys.executable, __file__, "--step-cost-worker", f"{verbose},{int(fast_reset)},{steps},{round_}"]
            env = dict(os.environ, CARTPOLE_DQN_TF_THREADS=threads)
            output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            samples[name].append(float(output.strip().splitlines()[-1]))
    return {name: statistics.median(values) for name, values in samples.items()}


def evaluation_cost(model, repeats: int = 5) -> float:
    """Median seconds of a 100-episode greedy evaluation with the fast evaluator."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        cd.evaluate(model, episodes=100, seed=FINAL_EVAL_SEED)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def recipe(seed: int, steps: int) -> tuple[float, float, float]:
    """The original tutorial, in a fresh process with TensorFlow's own threading (see ``_recipe_worker``)."""
    command = [sys.executable, __file__, "--recipe-worker", f"{seed},{steps}"]
    env = dict(os.environ, CARTPOLE_DQN_TF_THREADS="0")
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    trained, total, mean = map(float, output.strip().splitlines()[-1].split())
    return trained, total, mean


def _recipe_worker(seed: int, steps: int) -> tuple[float, float, float]:
    """Fixed ``steps`` of training with the tutorial's settings, then ``dqn.test`` over 100 episodes."""
    compat.set_fast_metric_reset(False)
    try:
        cd.reset_session(seed)
        env = cd.make_env(seed=seed)
        states, actions = cd.env_sizes(env)
        model = cd.build_model(states, actions)
        dqn = cd.build_agent(model, actions, **TUTORIAL_AGENT)
        cd.compile_agent(dqn, learning_rate=cd.agent.TUTORIAL_LEARNING_RATE)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            dqn.fit(env, nb_steps=steps, visualize=False, verbose=1)
        trained = time.perf_counter() - started
        history = dqn.test(cd.make_env(seed=FINAL_EVAL_SEED), nb_episodes=100, visualize=False, verbose=0)
        total = time.perf_counter() - started
    finally:
        compat.set_fast_metric_reset(True)
    return trained, total, cd.summarize(history.history["episode_reward"]).mean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds to train (default 10: seeds 0..9)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--cap", type=int, default=50_000, help="most training steps per seed (default 50,000)")
    parser.add_argument(
        "--tutorial-settings",
        action="store_true",
        help="train the seeds with the tutorial's learning rate 1e-3 and target update 1e-2 (default: the series' 3e-3, 5e-2)",
    )
    parser.add_argument("--quick", action="store_true", help="time the recipe on 10,000 steps and scale to 50,000")
    parser.add_argument("--no-recipe", action="store_true", help="skip the tutorial recipe (no ratio)")
    parser.add_argument("--step-rounds", type=int, default=3, help="rounds of the ms/step comparison (0 skips it)")
    parser.add_argument("--step-cost-worker", help=argparse.SUPPRESS)
    parser.add_argument("--recipe-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.recipe_worker:
        print(*_recipe_worker(*map(int, args.recipe_worker.split(","))))
        return 0
    if args.step_cost_worker:
        verbose, fast_reset, steps, seed = map(int, args.step_cost_worker.split(","))
        print(_step_cost_worker(verbose, bool(fast_reset), steps, seed))
        return 0
    if args.tutorial_settings:
        settings = dict(TUTORIAL_AGENT, learning_rate=cd.agent.TUTORIAL_LEARNING_RATE)
    else:
        settings = {
            "learning_rate": cd.agent.DEFAULT_LEARNING_RATE,
            "target_model_update": cd.agent.DEFAULT_TARGET_MODEL_UPDATE,
        }
    described = ", ".join(f"{key} {value:g}" for key, value in settings.items())

    if args.step_rounds:
        print(f"== cost of one training step (median of {args.step_rounds} rounds of 2,000 steps, fresh processes)")
        costs = step_cost(2_000, args.step_rounds)
        for name, ms in costs.items():
            print(f"  {name:55} {ms:5.2f} ms/step")
        before, after = costs.values()
        print(f"  speed-up {before / after:.2f}x")

    last = args.first_seed + args.seeds - 1
    print(f"\n== time to solve, seeds {args.first_seed}..{last}, {described}, cap {args.cap:,} steps")
    print(f"  {'seed':>4} {'steps to solve':>15} {'seconds':>8} {'final greedy mean (100 fresh episodes)':>40}")
    solve_seconds, solved = [], 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run = cd.train(steps=args.cap, seed=seed, progress=False, **settings)
        final = cd.evaluate(run.model, episodes=100, seed=FINAL_EVAL_SEED)
        seconds = run.seconds if run.solved else float("inf")
        solved += run.solved
        solve_seconds.append(seconds)
        steps_text = f"{run.solved_at_step:,}" if run.solved else f"not in {run.steps:,}"
        print(f"  {seed:>4} {steps_text:>15} {run.seconds:8.1f} {final.mean:40.1f}", flush=True)
    median, worst = statistics.median(solve_seconds), max(solve_seconds)

    print("\n== cost of a 100-episode greedy evaluation (last seed's agent)")
    fast_seconds = evaluation_cost(run.model)
    started = time.perf_counter()
    run.dqn.test(cd.make_env(seed=FINAL_EVAL_SEED), nb_episodes=100, visualize=False, verbose=0)
    test_seconds = time.perf_counter() - started
    print(f"  fast evaluator {fast_seconds:.2f} s (median of 5) | keras-rl2 dqn.test {test_seconds:.1f} s")

    ratio_text = "recipe not timed"
    if not args.no_recipe:
        recipe_steps = 10_000 if args.quick else 50_000
        print(
            f"\n== the tutorial's recipe: {recipe_steps:,} fixed steps + dqn.test over 100 episodes (seed {args.first_seed})"
        )
        trained, total, mean = recipe(args.first_seed, recipe_steps)
        if args.quick:
            testing = total - trained
            trained = trained * 50_000 / recipe_steps
            total = trained + testing
            print(f"  (--quick: training time scaled from {recipe_steps:,} to 50,000 steps)")
        print(f"  {total:.1f} s in all ({trained:.1f} s of training), test mean {mean:.1f}")
        ratio_text = f"recipe {total:.0f} s / median {median:.1f} s = {total / median:.1f}x faster"
    print(
        f"\nSUMMARY: solved {solved}/{args.seeds} within {args.cap:,} steps | median {median:.1f} s, "
        f"max {worst:.1f} s to solve | {ratio_text} | 100-episode evaluation {fast_seconds:.2f} s"
    )
    return 0 if solved == args.seeds else 1


if __name__ == "__main__":
    raise SystemExit(main())
