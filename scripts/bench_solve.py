"""Benchmark: how fast does the series deliver a solved CartPole agent? (``make bench``)

Prints, in one run on this machine:

1. the cost of one environment step, median ms/step, route by route: the tutorial's setup (keras-rl2's
   per-step progress bar), the series' quiet progress lines, plus the recipe's ``train_interval`` and
   batch size (visible settings only: the package patches nothing for speed);
2. per seed: steps and seconds to solve (greedy mean >= 195 over 100 episodes, confirmed
   on 200 more), and the final agent's greedy mean over 100 fresh episodes;
   with ``--peer sb3`` (``make bench PEER=sb3``), Stable-Baselines3's DQN with the RL Zoo's tuned
   hyperparameters beside it, seed by seed, alternating which runs first (``scripts/bench_sb3.py``,
   run in the interpreter named by ``SB3_PYTHON``);
3. the tutorial's fixed recipe (50,000 steps + ``dqn.test`` over 100 episodes), timed for one seed;
4. a summary line: seeds solved, median and max seconds to solve, the ratio of the recipe's
   time to the median time to solve, and with the peer its median and the ratio of the two medians.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import time

import cartpole_dqn as cd

import dqn_loop  # notebook 07's loop, from its cells (scripts/ is on the path when this file runs)

FINAL_EVAL_SEED = 500_000
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks", "data", "time_to_solve.json")
LOOP, SERIES, SB3 = "loop written out", "keras-rl2 DQNAgent", "SB3 (RL Zoo)"
SB3_SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "bench_sb3.py"
)  # episodes no evaluation during training ever saw
TUTORIAL_AGENT = {key: value for key, value in cd.agent.TUTORIAL_RECIPE.items() if key != "learning_rate"}


SETUPS = {
    # name: (keras-rl2 verbose, train_interval, batch_size)
    "tutorial (keras-rl2's progress bar, a training step every step)": (1, 1, 32),
    "quiet progress lines": (0, 1, 32),
    "+ the recipe's train_interval and batch size": (0, cd.agent.DEFAULT_TRAIN_INTERVAL, cd.agent.DEFAULT_BATCH_SIZE),
}


def _step_cost_worker(verbose: int, interval: int, batch: int, steps: int, seed: int) -> tuple[float, float]:
    """Wall-clock and CPU ms per step of one setup, in this (fresh) process."""
    cd.reset_session(seed)
    env = cd.make_env(seed=seed)
    states, actions = cd.env_sizes(env)
    model = cd.build_model(states, actions)
    dqn = cd.compile_agent(cd.build_agent(model, actions, train_interval=interval, batch_size=batch))
    with contextlib.redirect_stdout(io.StringIO()):
        dqn.fit(env, nb_steps=200, verbose=verbose)  # warm up: graph building, first calls
        started, cpu_started = time.perf_counter(), time.process_time()
        dqn.fit(env, nb_steps=steps, verbose=verbose)
    return (time.perf_counter() - started) / steps * 1000, (time.process_time() - cpu_started) / steps * 1000


def step_cost(steps: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Median wall-clock and CPU ms per training step of each setup, each in a fresh process, in alternation."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in SETUPS}
    for round_ in range(rounds):
        for name, (verbose, interval, batch) in SETUPS.items():
            spec = f"{verbose},{interval},{batch},{steps},{round_}"
            command = [sys.executable, __file__, "--step-cost-worker", spec]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            wall, cpu = map(float, output.strip().splitlines()[-1].split())
            samples[name].append((wall, cpu))
    return {
        name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        for name, values in samples.items()
    }


def evaluation_cost(model, repeats: int = 5) -> float:
    """Median seconds of a 100-episode greedy evaluation with the fast evaluator."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        cd.evaluate(model, episodes=100, seed=FINAL_EVAL_SEED)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def recipe(seed: int, steps: int) -> tuple[float, float, float]:
    """The original tutorial, in a fresh process (see ``_recipe_worker``)."""
    command = [sys.executable, __file__, "--recipe-worker", f"{seed},{steps}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    trained, total, mean = map(float, output.strip().splitlines()[-1].split())
    return trained, total, mean


def _recipe_worker(seed: int, steps: int) -> tuple[float, float, float]:
    """Fixed ``steps`` of training with the tutorial's settings, then ``dqn.test`` over 100 episodes."""
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
    return trained, total, cd.summarize(history.history["episode_reward"]).mean


def sb3_python(path: str | None) -> str:
    """The interpreter that runs SB3's side, checked: a clear error instead of a traceback."""
    if not path:
        raise SystemExit(
            "error: --peer sb3 needs a Python with stable-baselines3: set SB3_PYTHON=/path/to/venv/bin/python "
            "(docs/benchmarks.md says how that venv was made)."
        )
    try:
        check = subprocess.run([path, SB3_SCRIPT, "--check"], capture_output=True, text=True)
    except OSError as error:
        raise SystemExit(
            f"error: cannot run SB3_PYTHON={path!r} ({error.strerror}); point it at a Python interpreter."
        ) from None
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: {path} cannot run Stable-Baselines3 ({last}); install stable-baselines3 there.")
    return path


def sb3_seed(python: str, seed: int, cap: int) -> dict:
    """One seed of SB3's DQN with the RL Zoo's hyperparameters, in the SB3 interpreter."""
    command = [python, SB3_SCRIPT, "--seed", str(seed), "--cap", str(cap)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def series_seed(seed: int, cap: int, settings: dict) -> dict:
    """One seed of the series (keras-rl2), in this process; the same fields as :func:`sb3_seed`."""
    cpu_started = time.process_time()
    run = cd.train(steps=cap, seed=seed, progress=False, **settings)
    cpu_seconds = time.process_time() - cpu_started
    final = cd.evaluate(run.model, episodes=100, seed=FINAL_EVAL_SEED)
    return {
        "seed": seed,
        "solved_at_step": run.solved_at_step,
        "steps": run.steps,
        "seconds": run.seconds,
        "cpu_seconds": cpu_seconds,
        "final_mean": final.mean,
        "run": run,
    }


def loop_seed(loop: dict, seed: int, cap: int) -> dict:
    """One seed of notebook 07's loop written out (the same recipe and stop rule), in this process."""
    cpu_started = time.process_time()
    cd.reset_session(seed)
    online, target = loop["make_networks"]()
    run = loop["run_dqn"](online, target, seed, cap)
    cpu_seconds = time.process_time() - cpu_started
    final = cd.evaluate(online, episodes=100, seed=FINAL_EVAL_SEED)
    return {
        "seed": seed,
        "solved_at_step": run["solved_at"],
        "steps": run["steps"],
        "seconds": run["seconds"],
        "cpu_seconds": cpu_seconds,
        "final_mean": final.mean,
    }


def write_results(path: str, seeds: list[int], cap: int, results: dict[str, list[dict]]) -> None:
    """The per-seed figures of every route, for notebook 07 (``notebooks/data/time_to_solve.json``)."""
    keep = ("seed", "solved_at_step", "steps", "seconds", "cpu_seconds", "final_mean")
    record = {
        "written_by": "scripts/bench_solve.py (make bench PEER=sb3)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {sys.platform}",
        "cap": cap,
        "seeds": seeds,
        "runs": {name: [{key: r[key] for key in keep} for r in rows] for name, rows in results.items()},
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=1)
        file.write("\n")


def _row(result: dict) -> str:
    steps = f"{result['solved_at_step']:,}" if result["solved_at_step"] else f"not in {result['steps']:,}"
    return f"{steps:>22} {result['seconds']:8.1f} {result['cpu_seconds']:6.1f} {result['final_mean']:6.1f}"


def _solve_seconds(results: list[dict]) -> list[float]:
    return [r["seconds"] if r["solved_at_step"] else float("inf") for r in results]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds to train (default 10: seeds 0..9)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--cap", type=int, default=50_000, help="most training steps per seed (default 50,000)")
    parser.add_argument(
        "--tutorial-settings",
        action="store_true",
        help="train the seeds with the tutorial's settings (learning rate 1e-3, target update 1e-2, "
        "train_interval 1, batch 32) instead of the series' defaults",
    )
    parser.add_argument("--quick", action="store_true", help="time the recipe on 10,000 steps and scale to 50,000")
    parser.add_argument("--no-recipe", action="store_true", help="skip the tutorial recipe (no ratio)")
    parser.add_argument("--step-rounds", type=int, default=3, help="rounds of the ms/step comparison (0 skips it)")
    parser.add_argument(
        "--peer",
        choices=["sb3"],
        help="also train Stable-Baselines3's DQN (RL Zoo hyperparameters) seed by seed, alternating with the series",
    )
    parser.add_argument(
        "--sb3-python",
        default=os.environ.get("SB3_PYTHON"),
        help="Python with stable-baselines3 for --peer sb3 (default: $SB3_PYTHON)",
    )
    parser.add_argument("--results", default=RESULTS, help="where to write the per-seed figures ('' for nowhere)")
    parser.add_argument("--step-cost-worker", help=argparse.SUPPRESS)
    parser.add_argument("--recipe-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.recipe_worker:
        print(*_recipe_worker(*map(int, args.recipe_worker.split(","))))
        return 0
    if args.step_cost_worker:
        print(*_step_cost_worker(*map(int, args.step_cost_worker.split(","))))
        return 0
    peer = sb3_python(args.sb3_python) if args.peer == "sb3" else None
    if args.tutorial_settings:
        settings = dict(cd.agent.TUTORIAL_RECIPE)
    else:
        settings = dict(cd.agent.RECIPE)
    described = ", ".join(f"{key} {value:g}" for key, value in settings.items())

    if args.step_rounds:
        print(f"== cost of one training step (median of {args.step_rounds} rounds of 2,000 steps, fresh processes)")
        costs = step_cost(2_000, args.step_rounds)
        tutorial, tutorial_cpu = next(iter(costs.values()))
        for name, (ms, cpu) in costs.items():
            print(
                f"  {name:66} {ms:5.2f} ms/step ({tutorial / ms:4.2f}x the tutorial's speed) | "
                f"CPU {cpu:5.2f} ms/step ({tutorial_cpu / cpu:4.2f}x)"
            )

    last = args.first_seed + args.seeds - 1
    print(f"\n== time to solve, seeds {args.first_seed}..{last}, cap {args.cap:,} steps")
    print(f"  series: keras-rl2 DQNAgent, {described}")
    routes = {SERIES: lambda seed: series_seed(seed, args.cap, settings)}
    if not args.tutorial_settings:  # notebook 07's loop has the series' recipe only
        loop = dqn_loop.load()
        routes = {LOOP: lambda seed: loop_seed(loop, seed, args.cap), **routes}
        print("  loop:   notebook 07's cells, the same recipe and stop rule, Keras 2 in graph mode")
    header = f"  {'seed':>4}" + "".join(
        f" | {name + ' steps':>22} {'seconds':>8} {'CPU s':>6} {'final':>6}" for name in routes
    )
    if peer:
        versions = json.loads(subprocess.run([peer, SB3_SCRIPT, "--check"], capture_output=True, text=True).stdout)
        print(
            f"  SB3:    DQN, RL Zoo CartPole-v1 hyperparameters, 1 torch thread ({', '.join(f'{k} {v}' for k, v in versions.items())})"
        )
        routes[SB3] = lambda seed: sb3_seed(peer, seed, args.cap)
        header += f" | {'SB3 steps':>22} {'seconds':>8} {'CPU s':>6} {'final':>6}"
    print(f"  (seed by seed, taking turns: seed k starts with route k mod {len(routes)})")
    print(header + "   (CPU s: the process's CPU time; final: greedy mean over 100 fresh episodes)")
    results: dict[str, list[dict]] = {name: [] for name in routes}
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for seed in seeds:
        names = list(routes)
        first = seed % len(names)
        for name in names[first:] + names[:first]:
            results[name].append(routes[name](seed))
        print(f"  {seed:>4}" + "".join(f" | {_row(results[name][-1])}" for name in routes), flush=True)
    if args.results and not args.tutorial_settings:
        write_results(args.results, seeds, args.cap, results)
        print(f"  (per-seed figures written to {os.path.relpath(args.results)})")
    ours, theirs = results[SERIES], results.get(SB3, [])
    solve_seconds = _solve_seconds(ours)
    solved = sum(r["solved_at_step"] is not None for r in ours)
    median, worst = statistics.median(solve_seconds), max(solve_seconds)
    median_steps = statistics.median(r["solved_at_step"] or float("inf") for r in ours)
    run = ours[-1]["run"]

    print("\n== cost of a 100-episode greedy evaluation (last seed's agent)")
    with cd.session_of(run.dqn):  # its graph: another route may have trained after it
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
    peer_text = ""
    if peer:
        their_seconds = _solve_seconds(theirs)
        their_median = statistics.median(their_seconds)
        their_steps = statistics.median(r["solved_at_step"] or float("inf") for r in theirs)
        their_solved = sum(r["solved_at_step"] is not None for r in theirs)
        our_cpu = statistics.median(r["cpu_seconds"] for r in ours)
        their_cpu = statistics.median(r["cpu_seconds"] for r in theirs)
        print(
            f"\n== SB3 (RL Zoo hyperparameters): solved {their_solved}/{args.seeds}, median {their_median:.1f} s, "
            f"max {max(their_seconds):.1f} s, median {their_steps:,.0f} steps; evaluation "
            f"{statistics.median(r['eval_seconds'] for r in theirs):.1f} s per seed (median)"
        )
        peer_text = (
            f" | SB3 {their_solved}/{args.seeds}, median {their_median:.1f} s ({their_steps:,.0f} steps): "
            f"series median = {median / their_median:.2f} of SB3's ({their_median / median:.2f}x faster); "
            f"median CPU s {our_cpu:.1f} vs {their_cpu:.1f} ({their_cpu / our_cpu:.2f}x)"
        )
    loop_text = ""
    if LOOP in results:
        loop_seconds = _solve_seconds(results[LOOP])
        loop_median = statistics.median(loop_seconds)
        loop_solved = sum(r["solved_at_step"] is not None for r in results[LOOP])
        loop_text = f" | loop written out {loop_solved}/{args.seeds}, median {loop_median:.1f} s"
        if peer:
            loop_text += f" = {loop_median / their_median:.2f} of SB3's ({their_median / loop_median:.1f}x faster)"
    print(
        f"\nSUMMARY: solved {solved}/{args.seeds} within {args.cap:,} steps | median {median:.1f} s "
        f"({median_steps:,.0f} steps), max {worst:.1f} s to solve | {ratio_text} | "
        f"100-episode evaluation {fast_seconds:.2f} s{peer_text}{loop_text}"
    )
    return 0 if solved == args.seeds else 1


if __name__ == "__main__":
    raise SystemExit(main())
