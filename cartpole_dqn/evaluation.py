"""Scoring an agent: a summary of scores, and a fast greedy evaluator (notebooks 01 and 03).

keras-rl2's ``dqn.test`` runs one TensorFlow call per step: 100 CartPole episodes take
8-15 s on a laptop CPU. :func:`evaluate` plays the same episodes with the network's
weights in NumPy (a :class:`~cartpole_dqn.policy.GreedyPolicy`), many episodes side by side
with one batched forward pass per step, and takes a fraction of a second. For the same weights
and seeds it picks the same actions as ``dqn.test`` (greedy: the action with the highest
Q-value), so it gives the same scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .envs import DEFAULT_ENV_ID, env_sizes, make_gymnasium_env, play_episode, rollout
from .errors import ArgumentError, number, whole_number
from .errors import seed as check_seed
from .policy import GreedyPolicy, as_policy, numpy_forward

__all__ = ["Evaluation", "summarize", "evaluate", "greedy_policy", "numpy_forward", "random_scores", "EVAL_BATCH"]

#: At most this many episodes are played side by side: ``evaluate(episodes=10_000_000)`` streams
#: them in batches instead of making ten million environments at once.
EVAL_BATCH = 1_000


@dataclass(frozen=True)
class Evaluation:
    """Scores of a set of episodes and what they add up to."""

    scores: np.ndarray
    threshold: float | None = None
    mean: float = field(init=False)
    std: float = field(init=False)
    min: float = field(init=False)
    max: float = field(init=False)

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=float)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "mean", float(scores.mean()))
        object.__setattr__(self, "std", float(scores.std()))
        object.__setattr__(self, "min", float(scores.min()))
        object.__setattr__(self, "max", float(scores.max()))

    @property
    def episodes(self) -> int:
        return len(self.scores)

    @property
    def solved(self) -> bool:
        """Mean score at or above the environment's ``reward_threshold`` (195 on CartPole-v0)."""
        return self.threshold is not None and self.mean >= self.threshold

    def __str__(self) -> str:
        text = (
            f"{self.episodes} episodes: mean {self.mean:.1f} ± {self.std:.1f} (min {self.min:.0f}, max {self.max:.0f})"
        )
        if self.threshold is not None:
            verdict = "SOLVED" if self.solved else "not solved"
            text += f" — {verdict} (threshold {self.threshold:g})"
        return text


def summarize(scores: Sequence[float], threshold: float | None = None) -> Evaluation:
    """Mean, standard deviation, min, max and the solved verdict of a list of episode scores."""
    threshold = None if threshold is None else number(threshold, "threshold")
    try:
        values = [number(score, "each score") for score in scores] if not isinstance(scores, str | bytes) else None
    except (ArgumentError, TypeError):
        values = None
    if not values:
        raise ArgumentError(
            f"summarize needs a list of episode scores (finite numbers, at least one), got {scores!r}. "
            "Play some episodes first, e.g. summarize(random_scores().scores)."
        )
    return Evaluation(values, threshold)


def greedy_policy(agent_or_model) -> GreedyPolicy:
    """The greedy policy of an agent or Keras model, weights read once, now: ``policy(observation) -> action``."""
    return GreedyPolicy.from_model(agent_or_model)


def evaluate(
    agent_or_model,
    env_id: str = DEFAULT_ENV_ID,
    episodes: int = 100,
    seed: int = 0,
    max_steps: int | None = None,
) -> Evaluation:
    """Greedy score of a Q-network over ``episodes`` episodes, fast.

    ``agent_or_model`` is a DQN agent, a Keras model, a :class:`~cartpole_dqn.policy.GreedyPolicy`
    or the path of a weights file. Episode ``k`` starts from ``reset(seed=seed + k)``: the same
    episodes that ``dqn.test(make_env(env_id, seed=seed), nb_episodes=episodes)`` plays, with the
    same scores. ``max_steps`` defaults to the environment's time limit (200 on CartPole-v0).
    At most :data:`EVAL_BATCH` episodes are played at once.
    """
    episodes, seed = whole_number(episodes, "episodes"), check_seed(seed)
    max_steps = None if max_steps is None else whole_number(max_steps, "max_steps")
    policy = as_policy(agent_or_model)
    first = make_gymnasium_env(env_id, render_mode=None)
    try:
        states, actions = env_sizes(first)
        spec = first.spec
    finally:
        first.close()
    if (policy.states, policy.actions) != (states, actions):
        raise ValueError(
            f"The network takes {policy.states} numbers per observation and chooses among {policy.actions} actions, "
            f"but {env_id} gives {states} and has {actions}. Evaluate it on the environment it was built for."
        )
    limit = max_steps or (spec.max_episode_steps if spec else None) or 10_000
    threshold = spec.reward_threshold if spec else None
    # The raw dynamics (no wrappers): the time limit is counted by rollout, exactly like TimeLimit does.
    envs = [make_gymnasium_env(env_id, render_mode=None).unwrapped for _ in range(min(episodes, EVAL_BATCH))]
    scores = []
    try:
        for start in range(0, episodes, EVAL_BATCH):
            batch = envs[: min(EVAL_BATCH, episodes - start)]
            seeds = [seed + start + k for k in range(len(batch))]
            scores.append(rollout(batch, seeds, policy.batch_actions, max_steps=limit))
    finally:
        for env in envs:
            env.close()
    return Evaluation(np.concatenate(scores), threshold)


def random_scores(env_id: str = DEFAULT_ENV_ID, episodes: int = 10, seed: int = 0) -> Evaluation:
    """Scores of a random agent (notebook 01's baseline), reproducible for a given seed.

    Episode ``k`` is ``play_episode(None, env_id, seed + k)``: the episodes ``python -m cartpole_dqn
    play --random --seed <seed>`` plays.
    """
    episodes, seed = whole_number(episodes, "episodes"), check_seed(seed)
    env = make_gymnasium_env(env_id, render_mode=None)
    threshold = env.spec.reward_threshold if env.spec else None
    env.close()
    return Evaluation(np.array([play_episode(None, env_id, seed + k) for k in range(episodes)]), threshold)
