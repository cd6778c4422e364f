"""Scoring an agent: a summary of scores, and a fast greedy evaluator (notebooks 01 and 03).

keras-rl2's ``dqn.test`` runs one TensorFlow call per step: 100 CartPole episodes take
8-15 s on a laptop CPU. :func:`evaluate` plays the same episodes with the network's
weights in NumPy, all episodes side by side with one batched forward pass per step, and
takes a fraction of a second. For the same weights and seeds it picks the same actions
as ``dqn.test`` (greedy: the action with the highest Q-value), so it gives the same scores.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import compat
from .envs import DEFAULT_ENV_ID, env_sizes, make_gymnasium_env

__all__ = ["Evaluation", "summarize", "evaluate", "greedy_policy", "numpy_forward", "dense_layers", "random_scores"]

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}

# keras-rl2's dueling network (enable_dueling_network=True): Q from [V, A] (cartpole_dqn.compat, item 10)
_ACTIVATIONS.update(
    {f"dueling_{t}": functools.partial(compat.dueling_numpy, dueling_type=t) for t in compat.DUELING_TYPES}
)


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
    values = np.asarray(list(scores), dtype=float)
    if values.size == 0:
        raise ValueError("No scores to summarise: play at least one episode first.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Scores must be finite numbers, got {values.tolist()!r}.")
    if threshold is not None and not math.isfinite(threshold):
        raise ValueError(f"The threshold must be a finite number or None, got {threshold!r}.")
    return Evaluation(values, threshold)


def _keras_model(agent_or_model):
    return getattr(agent_or_model, "model", agent_or_model)


def dense_layers(agent_or_model) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """The network as ``(kernel, bias, activation)`` triples, read from a Keras model or a DQN agent.

    Supports what this series builds: ``Flatten``, ``Dense`` (and ``InputLayer``/``Activation``-free
    ``Dense`` stacks). Anything else raises ``TypeError`` with the layer's name.
    """
    model = _keras_model(agent_or_model)
    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Flatten", "InputLayer"):
            continue
        if kind == "DuelingCombine" and layers:  # keras-rl2's dueling head: fold it into the Dense before it
            layers[-1] = (*layers[-1][:2], f"dueling_{layer.dueling_type}")
            continue
        if kind != "Dense":
            raise TypeError(
                f"The fast evaluator only understands Flatten and Dense layers; {layer.name!r} is a {kind}."
            )
        activation = layer.get_config()["activation"]
        if activation not in _ACTIVATIONS:
            raise TypeError(f"The fast evaluator does not know the activation {activation!r} of layer {layer.name!r}.")
        kernel, bias = layer.get_weights()
        layers.append((kernel.astype(np.float32), bias.astype(np.float32), activation))
    return layers


def numpy_forward(layers: list[tuple[np.ndarray, np.ndarray, str]], observations: np.ndarray) -> np.ndarray:
    """Q-values for a batch of observations ``(n, states)`` (or ``(n, 1, states)``), in float32."""
    x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
    for kernel, bias, activation in layers:
        x = _ACTIVATIONS[activation](x @ kernel + bias)
    return x


def greedy_policy(agent_or_model) -> Callable[[np.ndarray], int]:
    """A function observation -> action that picks the highest Q-value (weights read once, now)."""
    layers = dense_layers(agent_or_model)

    def act(observation: np.ndarray) -> int:
        return int(np.argmax(numpy_forward(layers, np.asarray(observation)[None])[0]))

    return act


def evaluate(
    agent_or_model,
    env_id: str = DEFAULT_ENV_ID,
    episodes: int = 100,
    seed: int = 0,
    max_steps: int | None = None,
) -> Evaluation:
    """Greedy score of a Q-network over ``episodes`` episodes, fast.

    Episode ``k`` starts from ``reset(seed=seed + k)``: the same episodes that
    ``dqn.test(make_env(env_id, seed=seed), nb_episodes=episodes)`` plays, with the same scores.
    ``max_steps`` defaults to the environment's time limit (200 on CartPole-v0).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}.")
    layers = dense_layers(agent_or_model)
    first = make_gymnasium_env(env_id, render_mode=None)
    states, _ = env_sizes(first)
    if layers[0][0].shape[0] != states:
        raise ValueError(
            f"The network takes {layers[0][0].shape[0]} numbers per observation, but {env_id} gives {states}. "
            "Evaluate it on the environment it was built for."
        )
    limit = max_steps or (first.spec.max_episode_steps if first.spec else None) or 10_000
    threshold = first.spec.reward_threshold if first.spec else None
    # The raw dynamics (no wrappers): the time limit is counted here, exactly like TimeLimit does.
    envs = [first.unwrapped] + [make_gymnasium_env(env_id, render_mode=None).unwrapped for _ in range(episodes - 1)]
    observations = np.stack([env.reset(seed=seed + k)[0] for k, env in enumerate(envs)])
    scores = np.zeros(episodes)
    alive = np.arange(episodes)
    for _ in range(limit):
        actions = np.argmax(numpy_forward(layers, observations[alive]), axis=1)
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
    for env in envs:
        env.close()
    return Evaluation(scores, threshold)


def random_scores(env_id: str = DEFAULT_ENV_ID, episodes: int = 10, seed: int = 0) -> Evaluation:
    """Scores of a random agent (notebook 01's baseline), reproducible for a given seed."""
    env = make_gymnasium_env(env_id, render_mode=None)
    env.action_space.seed(seed)
    scores = []
    for k in range(episodes):
        env.reset(seed=seed + k)
        score, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            score += reward
            done = terminated or truncated
        scores.append(score)
    env.close()
    return Evaluation(np.array(scores), env.spec.reward_threshold if env.spec else None)
