"""The original tutorial's fixed budget, measured: notebook 03's exercise 4 (``FIXED_BUDGET = True``).

Trains seed 0 with the tutorial's settings (``cd.agent.TUTORIAL_RECIPE``) for 50,000 steps with no early stop,
keeps the final weights (``restore_best=False``), checks the greedy mean every 500 steps as notebook 03
does, and tests the final agent on notebook 03's 100 test episodes (seeds 2024, 2025, ...). Prints the
figures exercise 4's solution quotes and writes them to ``notebooks/data/fixed_budget.json``.

    python scripts/fixed_budget.py                       # about 4 minutes on a 2-core CPU
    python scripts/fixed_budget.py --steps 2000 --out /tmp/fixed_budget.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date
from pathlib import Path

import cartpole_dqn as cd

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "fixed_budget.json"
TEST_SEED = 2024  # notebook 03's test episodes


def measure(steps: int, eval_every: int, seed: int = 0) -> dict:
    run = cd.train(
        steps=steps,
        seed=seed,
        stop_when_solved=False,
        restore_best=False,
        eval_every=eval_every,
        progress=False,
        **cd.agent.TUTORIAL_RECIPE,
    )
    final = cd.evaluate(run.dqn, "CartPole-v0", episodes=100, seed=TEST_SEED)
    after = [(step, mean) for step, mean in run.evaluations if run.solved and step > run.solved_at_step]
    below = [(step, mean) for step, mean in after if mean < 195]
    return {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "seed": seed,
        "steps": run.steps,
        "seconds": round(run.seconds, 1),
        "solved_at_step": run.solved_at_step,
        "checks_after_solved": len(after),
        "checks_below_195_after_solved": len(below),
        "lowest_after_solved": sorted(below, key=lambda item: item[1])[:2],
        "final_test_mean": round(final.mean, 1),
        "evaluations": run.evaluations,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    result = measure(args.steps, args.eval_every)
    lowest = ", ".join(f"{mean:.1f} at step {step:,}" for step, mean in result["lowest_after_solved"]) or "none"
    solved = f"{result['solved_at_step']:,}" if result["solved_at_step"] else "never"
    print(
        f"{result['steps']:,} steps in {result['seconds']:.0f} s | first solved (confirmed) at step {solved} | "
        f"after it {result['checks_below_195_after_solved']} of {result['checks_after_solved']} checks below 195 "
        f"(lowest: {lowest}) | final agent, 100 test episodes: {result['final_test_mean']:.1f}"
    )
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
