"""What did the agent learn? Q-values along episodes, policy maps, drift (notebook 05).

Everything here works on a trained network's weights in NumPy, so that notebook 05 can play
hundreds of episodes side by side in seconds: :class:`~cartpole_dqn.policy.GreedyPolicy` is the forward pass,
:func:`play` steps many Gymnasium episodes at once and keeps every observation and Q-value,
:func:`policy_map` asks the network for its action on a grid of states.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .envs import DEFAULT_ENV_ID, make_gymnasium_env, rollout
from .policy import GreedyPolicy

__all__ = [
    "STATE_NAMES",
    "Rollouts",
    "load_q_network",
    "discounted_ceiling",
    "returns_to_go",
    "play",
    "hand_rule",
    "map_states",
    "policy_map",
    "read_learning_curves",
    "read_time_limits",
    "time_limit_table",
]

#: CartPole's four state variables, in the order of the observation.
STATE_NAMES = ("cart position", "cart velocity", "pole angle", "pole angular velocity")


def load_q_network(path=None) -> GreedyPolicy:
    """The trained network at ``path`` (default: the shipped agent) as NumPy arrays: a :class:`GreedyPolicy`.

    ``q.batch_q_values(states)`` gives its Q-values, ``q.act(observation)`` its greedy action. A missing or
    damaged file gives the same clear errors as in notebook 04.
    """
    return GreedyPolicy.from_weights(path)


def discounted_ceiling(gamma: float = 0.99, steps: int = 200) -> float:
    """The largest discounted return an episode of at most ``steps`` rewards of +1 can have: sum of gamma**k, k < steps."""
    return float((1 - gamma**steps) / (1 - gamma)) if gamma != 1 else float(steps)


def returns_to_go(rewards: Sequence[float], gamma: float = 0.99) -> np.ndarray:
    """For each step t, the discounted reward still to come: r_t + gamma r_(t+1) + ... to the end of the episode."""
    rewards = np.asarray(rewards, dtype=float)
    out = np.zeros_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


@dataclass
class Rollouts:
    """Episodes played side by side: per episode its observations (before each step), Q-values and actions."""

    seeds: list[int]
    observations: list[np.ndarray]
    q_values: list[np.ndarray]
    actions: list[np.ndarray]
    terminated: np.ndarray
    final_observations: np.ndarray  # the observation after each episode's last step

    @property
    def lengths(self) -> np.ndarray:
        """Steps per episode (= its score on CartPole)."""
        return np.array([len(a) for a in self.actions])


def hand_rule(observations) -> np.ndarray:
    """Push toward the side the pole is falling: right (1) when angle + angular velocity > 0, else left (0)."""
    x = np.asarray(observations, dtype=float).reshape(-1, 4)
    return (x[:, 2] + x[:, 3] > 0).astype(int)


def play(
    policy: GreedyPolicy | Callable[[np.ndarray], np.ndarray],
    env_id: str = DEFAULT_ENV_ID,
    seeds: Sequence[int] = (0,),
    max_steps: int | None = None,
) -> Rollouts:
    """Play one greedy episode per seed (``reset(seed=s)``), all side by side, and keep everything seen.

    ``policy`` is a :class:`GreedyPolicy` (greedy on its Q-values) or a function from a batch of observations
    to a batch of actions, such as :func:`hand_rule`. ``max_steps`` defaults to the environment's time limit.
    The episodes are played by :func:`cartpole_dqn.envs.rollout`, the loop every helper uses.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("Give at least one seed: one episode is played per seed.")
    batch_policy = policy.batch_actions if isinstance(policy, GreedyPolicy) else policy
    observations: list[list[np.ndarray]] = [[] for _ in seeds]
    actions: list[list[int]] = [[] for _ in seeds]
    terminated = np.zeros(len(seeds), dtype=bool)
    final: list[np.ndarray | None] = [None] * len(seeds)

    def keep(k: int, observation: np.ndarray, action: int, next_observation: np.ndarray, ended: bool) -> None:
        observations[k].append(np.array(observation, copy=True))
        actions[k].append(action)
        final[k], terminated[k] = np.array(next_observation, copy=True), ended

    envs = [make_gymnasium_env(env_id, render_mode=None) for _ in seeds]
    try:
        rollout(envs, seeds, lambda batch: np.asarray(batch_policy(batch)).reshape(-1), max_steps, on_transition=keep)
    finally:
        for env in envs:
            env.close()
    kept = [np.array(o) for o in observations]
    return Rollouts(
        seeds=seeds,
        observations=kept,
        q_values=[policy.batch_q_values(o) if isinstance(policy, GreedyPolicy) else np.zeros((0, 2)) for o in kept],
        actions=[np.array(a) for a in actions],
        terminated=terminated,
        final_observations=np.stack(final),
    )


def policy_map(
    q: GreedyPolicy,
    x: int = 2,
    y: int = 3,
    x_range: tuple[float, float] = (-0.21, 0.21),
    y_range: tuple[float, float] = (-2.0, 2.0),
    n: int = 121,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The greedy action on an ``n`` x ``n`` grid over state variables ``x`` and ``y``, the other two at 0.

    Returns ``(xs, ys, actions)`` with ``actions[j, i]`` the action at ``(xs[i], ys[j])``
    (the layout ``plt.pcolormesh`` expects). Indexes as in :data:`STATE_NAMES`.
    """
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    actions = q.batch_actions(map_states(x, y, x_range, y_range, n))
    return xs, ys, actions.reshape(n, n)


def map_states(
    x: int = 2,
    y: int = 3,
    x_range: tuple[float, float] = (-0.21, 0.21),
    y_range: tuple[float, float] = (-2.0, 2.0),
    n: int = 121,
) -> np.ndarray:
    """The ``n * n`` states of :func:`policy_map`'s grid, row by row, shape ``(n * n, 4)``."""
    if x == y or not (0 <= x < 4 and 0 <= y < 4):
        raise ValueError(f"x and y must be two different state indexes 0-3, got {x} and {y}.")
    gx, gy = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n))
    grid = np.zeros((n * n, 4), dtype=np.float32)
    grid[:, x], grid[:, y] = gx.ravel(), gy.ravel()
    return grid


def _read_results(path: str | Path, script: str) -> dict:
    """A results file that ``scripts/<script>`` wrote, or a clear error saying how to make it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"There is no results file at {path.name}; run `python scripts/{script}` to make it.")
    return json.loads(path.read_text())


def read_learning_curves(path: str | Path) -> dict:
    """The results file of ``scripts/learning_curves.py``: ``{"seeds": {seed: [[step, greedy mean], ...]}, ...}``."""
    return _read_results(path, "learning_curves.py")


def read_time_limits(path: str | Path) -> dict:
    """The results file of ``scripts/time_limit_experiment.py``: ``{"results": {budget: {arm: {seed: figures}}}, ...}``."""
    return _read_results(path, "time_limit_experiment.py")


#: The columns of :func:`time_limit_table`: (figure in the results file, heading).
TIME_LIMIT_COLUMNS = (
    ("time_outs_stored", "time-outs stored"),
    ("q_start", "Q at the start"),
    ("q_last", "Q at the last step"),
    ("v0_mean", "v0 mean"),
    ("v1_mean", "v1 mean"),
    ("v1_reach_500", "v1 episodes at 500"),
)


def time_limit_table(record: dict) -> list[dict]:
    """One row per (budget, arm) of :func:`read_time_limits`' record: each figure's mean, min and max over the seeds."""
    rows = []
    for budget, arms in record["results"].items():
        for arm, seeds in arms.items():
            row = {"budget": int(budget), "arm": arm, "seeds": len(seeds)}
            for key, _ in TIME_LIMIT_COLUMNS:
                values = np.array([figures[key] for figures in seeds.values()], dtype=float)
                row[key] = (float(values.mean()), float(values.min()), float(values.max()))
            rows.append(row)
    return rows
