"""Does treating the 200-step time-out as a fall shape what the agent learns? Two arms, many seeds (notebook 05).

keras-rl2's ``fit`` uses one ``done`` for two jobs: it resets the environment when ``done`` is true, and it
stores ``done`` with the transition as its terminal flag, so that the learning target is ``y = r`` (no
bootstrap). Our adapter (``cartpole_dqn/envs.py``) returns ``done = terminated or truncated``, so a time-out
at step 200 is stored like a fall. The two arms:

* ``time-out = fall``: today's training, as ``make pretrained`` does it (``cd.agent.SHIPPED_RECIPE``). It uses
  the memory below with ``bootstrap=False``, which samples exactly what keras-rl2's ``SequentialMemory`` does.
* ``time-out = not a fall``: the same, with ``bootstrap=True``. Two small pieces make it: :class:`NoteTimeOuts`, a keras-rl2
  ``Processor`` that passes every step through unchanged and notes whether it was a time-out (the adapter's
  ``info["TimeLimit.truncated"]``), and :class:`TimeOutMemory`, a ``SequentialMemory`` that stores that note
  next to each transition and, when it hands out a time-out transition, gives its terminal flag as False,
  so that the target is ``y = r + gamma * max Q_target(s')`` with ``s'`` the real last state. ``done`` is
  untouched, so ``fit`` still resets after 200 steps.

Each arm trains every seed for 2,000 steps and is measured after 1,000 (the shipped agent's budget: arm
"time-out = fall", seed 0, 1,000 steps *is* the shipped agent) and after 2,000 steps, with the weights it has
then: 100 greedy episodes on CartPole-v0 (Q-values along them) and 100 on CartPole-v1 (500-step limit).
The figures go to ``notebooks/data/time_limits.json``, which notebook 05 reads.

    python scripts/time_limit_experiment.py               # seeds 0-19, measured at 1,000 and 2,000 steps (~10 min)
    python scripts/time_limit_experiment.py --seeds 0 1 --steps 300 600 --out /tmp/time_limits.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import deque
from importlib.metadata import version
from pathlib import Path

import cartpole_dqn as cd  # first: it makes TensorFlow use Keras 2, which keras-rl2 needs

import numpy as np
from rl.callbacks import Callback
from rl.core import Processor
from rl.memory import SequentialMemory, sample_batch_indexes

OUT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "time_limits.json"
ARMS = {"time-out = fall": False, "time-out = not a fall": True}  # name: bootstrap through time-outs?
GAMMA = 0.99  # keras-rl2's default, which the series keeps
EPISODES = 100  # greedy test episodes per environment, seeds 0-99 (as in notebook 05)


class NoteTimeOuts(Processor):
    """A keras-rl2 processor that changes nothing and notes whether the last step was a time-out.

    ``fit`` calls ``process_step`` right after each ``env.step`` and right before storing the transition.
    """

    def __init__(self) -> None:
        self.timed_out = False

    def process_step(self, observation, reward, done, info):
        self.timed_out = bool(info.get("TimeLimit.truncated", False))
        return observation, reward, done, info


class TimeOutMemory(SequentialMemory):
    """keras-rl2's replay memory, which can hand out a time-out as *not* terminal (``bootstrap=True``).

    It stores, next to each transition, whether it ended in a time-out (read from ``note``). It draws its
    batches with keras-rl2's own calls in keras-rl2's order, so with ``bootstrap=False`` it samples exactly
    what ``SequentialMemory`` samples. The stored terminal flags still mark the episode ends, which is how
    ``SequentialMemory`` avoids the step from an episode's last state to the next episode's first.
    """

    def __init__(self, limit: int, note: NoteTimeOuts, bootstrap: bool) -> None:
        super().__init__(limit=limit, window_length=1)
        self.note, self.bootstrap = note, bootstrap
        self.time_outs: deque[bool] = deque(maxlen=limit)

    def append(self, observation, action, reward, terminal, training=True):
        super().append(observation, action, reward, terminal, training=training)
        if training:
            self.time_outs.append(bool(terminal) and self.note.timed_out)

    def sample(self, batch_size, batch_idxs=None):
        if batch_idxs is None:  # the draws of SequentialMemory.sample, made here so that we know the indexes
            batch_idxs = sample_batch_indexes(self.window_length, self.nb_entries - 1, size=batch_size)
            batch_idxs = [int(i) for i in batch_idxs]
            for n, i in enumerate(batch_idxs):
                while self.terminals[i - 1]:  # the first step of an episode has no previous state: draw again
                    i = sample_batch_indexes(self.window_length + 1, self.nb_entries, size=1)[0] - 1
                batch_idxs[n] = int(i)
        experiences = super().sample(batch_size, batch_idxs)
        if not self.bootstrap:
            return experiences
        return [
            e._replace(terminal1=False) if self.time_outs[i] else e
            for i, e in zip(batch_idxs, experiences, strict=True)
        ]


class Snapshots(Callback):
    """Keeps the greedy policy (weights copied into NumPy) and the number of stored time-outs at given steps."""

    def __init__(self, at_steps) -> None:
        super().__init__()
        self.at_steps, self.steps, self.taken = set(at_steps), 0, {}

    def on_step_end(self, step, logs=None) -> None:
        self.steps += 1
        if self.steps in self.at_steps:
            self.taken[self.steps] = (cd.greedy_policy(self.model), int(sum(self.model.memory.time_outs)))


def train_arm(seed: int, bootstrap: bool, budgets: list[int], recipe: dict | None = None) -> dict:
    """Train one agent as ``cd.train`` does (same seeding, environment, network, agent) for ``max(budgets)`` steps.

    Returns ``{budget: (greedy policy at that step, time-outs stored by then)}``. The first ``n`` steps of a
    longer run are the ``n``-step run, so one run gives every budget. ``bootstrap=False`` is today's training.
    """
    recipe = dict(cd.agent.SHIPPED_RECIPE if recipe is None else recipe)
    learning_rate = recipe.pop("learning_rate")
    cd.agent.reset_session(seed)
    env = cd.make_env(seed=seed)
    states, actions = cd.env_sizes(env)
    note = NoteTimeOuts()
    dqn = cd.agent.build_agent(cd.build_model(states, actions), actions, processor=note, **recipe)
    dqn.memory = TimeOutMemory(cd.agent.DEFAULT_MEMORY_LIMIT, note, bootstrap)  # the only change to the agent
    cd.agent.compile_agent(dqn, learning_rate)
    snapshots = Snapshots(budgets)
    dqn.fit(env, nb_steps=max(budgets), visualize=False, verbose=0, callbacks=[snapshots])
    return snapshots.taken


def measure(q, episodes: int = EPISODES) -> dict:
    """What notebook 05 measures on the shipped agent, for any network: Q-values along v0 episodes, and v1 survival."""
    v0 = cd.insight.play(q, "CartPole-v0", seeds=range(episodes))
    observations = np.concatenate(v0.observations)
    q_taken = np.concatenate([values.max(axis=1) for values in v0.q_values])
    full = [values.max(axis=1) for values in v0.q_values if len(values) == 200]
    v1 = cd.insight.play(q, "CartPole-v1", seeds=range(episodes))
    return {
        "v0_mean": float(v0.lengths.mean()),
        "q_start": float(np.mean([values[0].max() for values in v0.q_values])),
        "q_last": float(np.mean([values[-1].max() for values in v0.q_values])),
        # over the episodes that ran all 200 steps: Q at steps 0, 50, 100, 150, 199
        "q_along_full_episodes": [round(float(v), 2) for v in np.mean(full, axis=0)[[0, 50, 100, 150, 199]]]
        if full
        else None,
        "corr_q_position": float(np.corrcoef(observations[:, 0], q_taken)[0, 1]),
        "final_position": float(np.mean(v0.final_observations[:, 0])),
        "v1_mean": float(v1.lengths.mean()),
        "v1_reach_500": int(np.sum(v1.lengths == 500)),
    }


def run(seeds: list[int], budgets: list[int], episodes: int = EPISODES) -> dict:
    """Both arms for every seed, measured at every budget: the record that is written to the JSON file."""
    budgets = sorted(set(budgets))
    results: dict[str, dict[str, dict[str, dict]]] = {str(b): {arm: {} for arm in ARMS} for b in budgets}
    started = time.perf_counter()
    for seed in seeds:
        for arm, bootstrap in ARMS.items():
            t0 = time.perf_counter()
            for budget, (q, time_outs) in train_arm(seed, bootstrap, budgets).items():
                figures = {**measure(q, episodes), "time_outs_stored": time_outs}
                results[str(budget)][arm][str(seed)] = {
                    k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()
                }
                print(
                    f"seed {seed:2} {arm:22} {budget:>6,} steps: {time_outs:3} time-outs stored, Q at the start "
                    f"{figures['q_start']:6.1f}, v0 mean {figures['v0_mean']:5.1f}, v1 mean {figures['v1_mean']:5.1f} "
                    f"({figures['v1_reach_500']} at 500)",
                    flush=True,
                )
            print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    return {
        "what": "two ways to store CartPole-v0's 200-step time-out in keras-rl2's replay memory, same seeds",
        "arms": {
            arm: ("bootstrap through time-outs" if b else "time-outs stored as terminal") for arm, b in ARMS.items()
        },
        "env_id": "CartPole-v0",
        "budgets": budgets,
        "recipe": cd.agent.describe_recipe(**cd.agent.SHIPPED_RECIPE),
        "gamma": GAMMA,
        "ceiling": cd.insight.discounted_ceiling(GAMMA, 200),
        "test_episodes": episodes,
        "seeds": [int(s) for s in seeds],
        "versions": {
            "python": platform.python_version(),
            **{name: version(name) for name in ("tensorflow", "tf-keras", "keras-rl2", "gymnasium", "numpy")},
        },
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)), help="training seeds (default 0-19)")
    parser.add_argument(
        "--steps", type=int, nargs="+", default=[1_000, 2_000], help="budgets to measure at (default 1,000 and 2,000)"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the JSON file")
    args = parser.parse_args(argv)
    if min(args.steps) < 20:
        parser.error("--steps must be at least 20 (the warm-up is 10 steps).")
    record = run(args.seeds, args.steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out.name} in {record['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
