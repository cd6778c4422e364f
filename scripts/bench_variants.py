"""Benchmark: every keras-rl2 discrete agent and option, steps and seconds to solve CartPole (``make bench-variants``).

For each variant of :mod:`cartpole_dqn.variants` and each seed, trains until
:class:`cartpole_dqn.SolveMonitor` calls CartPole-v0 solved (greedy mean >= 195 on 100
episodes, confirmed on 200 others) or the step cap is reached, then prints one table:
solved N/seeds, median and max steps and seconds to solve (over the solved runs), and the
greedy mean of the final agent on 100 episodes no evaluation saw. The same rows go to
``notebooks/data/bench_variants.json`` (``--out``), rewritten after every variant, so that notebook 06
can show them beside its own short grid; variants measured by an earlier run stay in the file
unless this run measures them again.

Training is reproducible from a seed, so the steps repeat exactly; the seconds depend on the
machine and its load.

    python scripts/bench_variants.py                     # 10 seeds, every timed variant (make bench-variants)
    python scripts/bench_variants.py --seeds 3 --variants dqn sarsa --max-steps 10000
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cartpole_dqn as cd
from cartpole_dqn import variants

FINAL_EVAL_SEED = 500_000  # episodes no evaluation during training ever saw
OUT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "bench_variants.json"


def write_results(path: Path, rows: list[dict], seeds: range) -> None:
    """Merge ``rows`` into the JSON file at ``path`` (one entry per variant), with when and where they were measured."""
    record = json.loads(path.read_text()) if path.exists() else {}
    record["what"] = (
        "every keras-rl2 variant on CartPole-v0: solved N/seeds (greedy mean >= 195 on 100 episodes, confirmed "
        "on 200 others), median and max steps and seconds to solve over the solved runs, median greedy mean "
        "of the final agents on 100 episodes (seed 500,000 + k)"
    )
    measured = {
        "seeds": f"{seeds.start}-{seeds.stop - 1}",
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    variants_done = record.setdefault("variants", {})
    for row in rows:
        variants_done[row["variant"]] = {**row, **measured}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")


def _fmt(value, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, from --first-seed (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=30_000, help="step cap per run (default 30,000)")
    parser.add_argument("--cem-max-steps", type=int, default=60_000, help="step cap for CEM (default 60,000)")
    parser.add_argument("--variants", nargs="+", default=list(variants.TIMED), choices=variants.VARIANTS)
    parser.add_argument("--out", type=Path, default=OUT, help="JSON file the rows are merged into")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.max_steps < 1 or args.cem_max_steps < 1:
        parser.error("--seeds, --max-steps and --cem-max-steps must be at least 1")

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(
        f"{len(args.variants)} variants x {args.seeds} seeds ({seeds.start}-{seeds.stop - 1}), CartPole-v0", flush=True
    )
    started = time.perf_counter()
    rows = []
    for name in args.variants:
        cap = args.cem_max_steps if name == "cem" else args.max_steps
        runs, finals = [], []
        for seed in seeds:
            run = variants.run_variant(name, seed, max_steps=cap)
            final = cd.evaluate(run.agent.model, episodes=100, seed=FINAL_EVAL_SEED).mean
            runs.append(run)
            finals.append(final)
            outcome = (
                f"solved at {run.solved_at_step:,} steps, {run.solved_seconds:.1f} s" if run.solved else "not solved"
            )
            print(f"  {name:<14} seed {seed}: {outcome} (cap {cap:,}); final greedy mean {final:.1f}", flush=True)
        row = variants.summary_rows(runs)[0]
        row["final"] = statistics.median(finals)
        row["cap"] = cap
        rows.append(row)
        write_results(args.out, [row], seeds)

    print()
    header = (
        "| variant | solved | median steps | max steps | median s | max s | final greedy mean (median) | step cap |"
    )
    print(header)
    print("|" + "---|" * 8)
    for row in rows:
        print(
            f"| {row['variant']} | {row['solved']} | {_fmt(row['median steps'], ',')} | {_fmt(row['max steps'], ',')} | "
            f"{_fmt(row['median s'], '.1f')} | {_fmt(row['max s'], '.1f')} | {row['final']:.1f} | {row['cap']:,} |"
        )
    print(f"\nTotal {time.perf_counter() - started:.0f} s. Rows written to {args.out.name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
