"""Train the shipped agent's recipe (``cd.agent.SHIPPED_RECIPE``) from several seeds and record its greedy score (notebook 05).

Each seed trains for a fixed budget (no early stop) with ``cartpole_dqn.train``, scoring the greedy
agent on 100 episodes every ``--every`` steps. The curves go to a small JSON file that notebook 05
plots, so that a learner sees how much runs from different seeds differ without waiting for them.

    python scripts/learning_curves.py                 # seeds 0-4, 6,000 steps each (a few minutes)
    python scripts/learning_curves.py --seeds 0 1 --steps 2000 --out /tmp/curves.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cartpole_dqn as cd

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "learning_curves.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="training seeds (default 0-4)")
    parser.add_argument("--steps", type=int, default=6_000, help="training steps per seed (default 6,000)")
    parser.add_argument("--every", type=int, default=250, help="steps between greedy evaluations (default 250)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the JSON file")
    args = parser.parse_args(argv)
    if args.steps < args.every or args.every < 1:
        parser.error("--steps must be at least --every, and --every at least 1.")
    curves, seconds = {}, {}
    for seed in args.seeds:
        started = time.perf_counter()
        run = cd.train(
            steps=args.steps,
            seed=seed,
            stop_when_solved=False,
            eval_every=args.every,
            progress=False,
            **cd.agent.SHIPPED_RECIPE,
        )
        seconds[str(seed)] = round(time.perf_counter() - started, 1)
        curves[str(seed)] = [[int(step), round(float(mean), 2)] for step, mean in run.evaluations]
        print(f"seed {seed}: {len(curves[str(seed)])} evaluations, {seconds[str(seed)]} s", flush=True)
    record = {
        "what": "greedy mean score over 100 episodes (seed 10,000 + k) during training, no early stop",
        "env_id": cd.DEFAULT_ENV_ID,
        "steps": args.steps,
        "eval_every": args.every,
        "recipe": cd.agent.describe_recipe(**cd.agent.SHIPPED_RECIPE),  # what cd.train ran above
        "python": platform.python_version(),
        "seconds": seconds,
        "seeds": curves,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
