"""What did the agent learn? Q-values along episodes, policy maps, drift (notebook 05).

Everything here works on a trained network's weights in NumPy, so that notebook 05 can play
hundreds of episodes side by side in seconds: :class:`QNetwork` is the forward pass,
:func:`play` steps many Gymnasium episodes at once and keeps every observation and Q-value,
:func:`policy_map` asks the network for its action on a grid of states.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .envs import DEFAULT_ENV_ID, make_gymnasium_env

__all__ = [
    "STATE_NAMES",
    "QNetwork",
    "Rollouts",
    "load_q_network",
    "discounted_ceiling",
    "returns_to_go",
    "play",
    "hand_rule",
    "map_states",
    "policy_map",
    "read_learning_curves",
]

#: CartPole's four state variables, in the order of the observation.
STATE_NAMES = ("cart position", "cart velocity", "pole angle", "pole angular velocity")

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
}


@dataclass(frozen=True)
class QNetwork:
    """A Dense Q-network as NumPy arrays: ``q(observations)`` gives one row of Q-values per observation."""

    layers: tuple[tuple[np.ndarray, np.ndarray, str], ...]

    @classmethod
    def from_model(cls, model) -> QNetwork:
        """Read the Dense layers (kernel, bias, activation) of a Keras model or a keras-rl2 agent."""
        model = getattr(model, "model", model)
        layers = []
        for layer in model.layers:
            if type(layer).__name__ != "Dense":
                continue
            activation = layer.get_config()["activation"]
            if activation not in _ACTIVATIONS:
                raise ValueError(f"QNetwork knows relu and linear layers, not {activation!r} ({layer.name!r}).")
            kernel, bias = layer.get_weights()
            layers.append((kernel.astype(np.float32), bias.astype(np.float32), activation))
        if not layers:
            raise ValueError("The model has no Dense layers: build it with cartpole_dqn.build_model.")
        return cls(tuple(layers))

    def __call__(self, observations) -> np.ndarray:
        x = np.asarray(observations, dtype=np.float32)
        x = x.reshape(1, -1) if x.ndim == 1 else x.reshape(len(x), -1)
        for kernel, bias, activation in self.layers:
            x = _ACTIVATIONS[activation](x @ kernel + bias)
        return x

    def act(self, observation) -> int:
        """The greedy action for one observation."""
        return int(np.argmax(self(observation)[0]))


def load_q_network(path=None) -> QNetwork:
    """The trained network at ``path`` (default: the shipped agent) as a :class:`QNetwork`.

    It is loaded into :func:`cartpole_dqn.build_model`'s network with :func:`cartpole_dqn.load_weights`,
    so a missing or damaged file gives the same clear errors as in notebook 04.
    """
    from .agent import reset_session
    from .model import build_model
    from .weights import SHIPPED_WEIGHTS, load_weights

    reset_session()
    model = build_model(4, 2)
    load_weights(model, SHIPPED_WEIGHTS if path is None else path)
    return QNetwork.from_model(model)


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
    policy: QNetwork | Callable[[np.ndarray], np.ndarray],
    env_id: str = DEFAULT_ENV_ID,
    seeds: Sequence[int] = (0,),
    max_steps: int | None = None,
) -> Rollouts:
    """Play one greedy episode per seed (``reset(seed=s)``), all side by side, and keep everything seen.

    ``policy`` is a :class:`QNetwork` (greedy on its Q-values) or a function from a batch of observations
    to a batch of actions, such as :func:`hand_rule`. ``max_steps`` defaults to the environment's time limit.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("Give at least one seed: one episode is played per seed.")
    envs = [make_gymnasium_env(env_id, render_mode=None) for _ in seeds]
    limit = max_steps or envs[0].spec.max_episode_steps or 10_000
    raw = [env.unwrapped for env in envs]  # the time limit is counted here
    current = np.stack([env.reset(seed=s)[0] for env, s in zip(raw, seeds, strict=True)])
    observations = [[] for _ in seeds]
    q_values = [[] for _ in seeds]
    actions = [[] for _ in seeds]
    terminated = np.zeros(len(seeds), dtype=bool)
    alive = list(range(len(seeds)))
    for _ in range(limit):
        batch = current[alive]
        q = policy(batch) if isinstance(policy, QNetwork) else None
        chosen = np.argmax(q, axis=1) if q is not None else np.asarray(policy(batch)).reshape(-1)
        still = []
        for row, index in enumerate(alive):
            observations[index].append(current[index].copy())
            actions[index].append(int(chosen[row]))
            if q is not None:
                q_values[index].append(q[row])
            current[index], _, ended, _, _ = raw[index].step(int(chosen[row]))
            terminated[index] = ended
            if not ended:
                still.append(index)
        alive = still
        if not alive:
            break
    for env in envs:
        env.close()
    return Rollouts(
        seeds=seeds,
        observations=[np.array(o) for o in observations],
        q_values=[np.array(q) if q else np.zeros((0, 2)) for q in q_values],
        actions=[np.array(a) for a in actions],
        terminated=terminated,
        final_observations=current.copy(),
    )


def policy_map(
    q: QNetwork,
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
    actions = np.argmax(q(map_states(x, y, x_range, y_range, n)), axis=1)
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


def read_learning_curves(path: str | Path) -> dict:
    """The results file of ``scripts/learning_curves.py``: ``{"seeds": {seed: [[step, greedy mean], ...]}, ...}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"There is no learning-curve file at {path.name}; run `python scripts/learning_curves.py` to make it."
        )
    return json.loads(path.read_text())
