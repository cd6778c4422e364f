"""The greedy policy of a trained Q-network, in NumPy: one object for evaluating and deploying (notebooks 03, 04).

Once trained, a DQN policy is the network's forward pass and an ``argmax``. :class:`GreedyPolicy`
holds the network's layers as NumPy arrays, read once from a DQN agent, a Keras model or a
weights file, and answers one observation (``act``) or a batch of them (``batch_actions``, what
:func:`cartpole_dqn.evaluate` uses) with the same actions as the Keras model with those weights.
``cartpole_dqn.deploy.Controller`` and ``cartpole_dqn.evaluation.greedy_policy`` are this class.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import compat_agents
from .errors import WeightsMismatchError

__all__ = ["GreedyPolicy", "as_policy", "numpy_forward", "ACTIVATIONS", "stored_activations"]

_erf = np.vectorize(math.erf, otypes=[np.float32])


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _swish(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.exp(-x))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0, x).astype(np.float32)


#: The activations the NumPy forward pass knows, by their Keras names: every one tf-keras names.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "softmax": _softmax,
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "swish": _swish,
    "silu": _swish,  # the same function under its other name
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(np.float32(2)))),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
}

# keras-rl2's dueling network (enable_dueling_network=True): Q from [V, A] (cartpole_dqn.compat, item 9)
ACTIVATIONS.update(
    {
        f"dueling_{t}": functools.partial(compat_agents.dueling_numpy, dueling_type=t)
        for t in compat_agents.DUELING_TYPES
    }
)

Layer = tuple[np.ndarray, np.ndarray, str]


def numpy_forward(layers: Sequence[Layer], observations: np.ndarray) -> np.ndarray:
    """Q-values for a batch of observations ``(n, states)`` (or ``(n, 1, states)``), in float32."""
    x = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
    for kernel, bias, activation in layers:
        x = ACTIVATIONS[activation](x @ kernel + bias)
    return x


def stored_activations(stored) -> list[str]:
    """The activation of each Dense layer of a weights file (:class:`~cartpole_dqn.weights.StoredWeights`).

    A TensorFlow checkpoint keeps numbers, not the network's design, so the activations come
    from the file's record (``activations``). Files saved before that record existed get what
    :func:`cartpole_dqn.build_model` builds: ReLU on every hidden layer, a linear output layer.
    """
    layers = len(stored.dense_stack())
    recorded = getattr(stored, "activations", None) or (stored.metadata or {}).get("activations")
    if recorded:
        return list(recorded)
    return ["relu"] * (layers - 1) + ["linear"]


def _dense_layers_of_model(agent_or_model) -> list[Layer]:
    """``(kernel, bias, activation)`` of each Dense layer of a Keras model or a DQN agent's model."""
    model = getattr(agent_or_model, "model", agent_or_model)
    if not hasattr(model, "layers"):
        raise TypeError(
            f"A greedy policy needs a DQN agent, a Keras model or a weights file, not {type(agent_or_model).__name__}."
        )
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
        kernel, bias = layer.get_weights()
        layers.append((kernel, bias, layer.get_config()["activation"]))
    return layers


@dataclass(frozen=True)
class GreedyPolicy:
    """A greedy policy in NumPy: ``act(observation) -> action``, the action with the highest Q-value.

    ``layers`` are ``(kernel, bias, activation)`` triples (read-only float32 arrays); ``source``
    is the weights file they were read from, if any. Calling a policy is ``act``, so it can be
    passed wherever a policy function is expected (``record_episode(policy)``).
    Build one with :meth:`from_model`, :meth:`from_weights` or :func:`as_policy`.
    """

    layers: tuple[Layer, ...]
    source: Path | None = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("A greedy policy needs at least one Dense layer.")
        checked = []
        for kernel, bias, activation in self.layers:
            if activation not in ACTIVATIONS:
                raise WeightsMismatchError(
                    f"The NumPy policy does not know the activation {activation!r} (it knows {', '.join(ACTIVATIONS)}). "
                    "Use a model built with one of those."
                )
            kernel, bias = np.array(kernel, dtype=np.float32), np.array(bias, dtype=np.float32)
            kernel.setflags(write=False)
            bias.setflags(write=False)
            checked.append((kernel, bias, activation))
        object.__setattr__(self, "layers", tuple(checked))

    @classmethod
    def from_model(cls, agent_or_model) -> GreedyPolicy:
        """The policy of a DQN agent or a Keras model, with its weights as they are now."""
        from .agent import session_of

        with session_of(agent_or_model):
            return cls(tuple(_dense_layers_of_model(agent_or_model)))

    @classmethod
    def from_stored(cls, stored) -> GreedyPolicy:
        """The policy of weights already read with :func:`cartpole_dqn.weights.read_weights`."""
        stack = stored.dense_stack()
        activations = stored_activations(stored)
        if len(activations) != len(stack):
            raise ValueError(
                f"The record next to {stored.path} lists {len(activations)} activations for {len(stack)} layers. "
                "Save the weights again with save_weights."
            )
        return cls(tuple((k, b, a) for (k, b), a in zip(stack, activations, strict=True)), stored.path)

    @classmethod
    def from_weights(cls, path: str | os.PathLike | None = None) -> GreedyPolicy:
        """The policy of a weights file (default: the shipped agent). Errors are those of ``read_weights``."""
        from .weights import read_weights

        return cls.from_stored(read_weights(path))

    @property
    def states(self) -> int:
        """How many numbers an observation has (4 on CartPole)."""
        return int(self.layers[0][0].shape[0])

    @property
    def actions(self) -> int:
        """How many actions there are to choose from (2 on CartPole)."""
        kernel, _, activation = self.layers[-1]
        # a dueling head's last Dense layer has one output more: the state's value V beside the advantages
        return int(kernel.shape[1]) - (1 if activation.startswith("dueling_") else 0)

    def _observation(self, observation) -> np.ndarray:
        if isinstance(observation, tuple) and len(observation) == 2 and isinstance(observation[1], dict):
            raise ValueError(
                "This is an (observation, info) pair, as Gymnasium's reset() returns it. "
                "Unpack it first: observation, info = env.reset(), then pass observation."
            )
        try:
            array = np.asarray(observation, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(
                f"An observation must be {self.states} numbers, got {type(observation).__name__} {observation!r:.60}."
            ) from None
        if array.shape not in ((self.states,), (1, self.states)):
            raise ValueError(
                f"An observation must be {self.states} numbers (shape ({self.states},)), got shape {array.shape}. "
                "Pass one observation as the environment returns it."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"The observation contains NaN or infinite values: {array.reshape(-1).tolist()}.")
        return array.reshape(1, self.states)

    def q_values(self, observation) -> np.ndarray:
        """The network's Q-value of each action for one observation: an array of shape ``(actions,)``."""
        return numpy_forward(self.layers, self._observation(observation))[0]

    def act(self, observation) -> int:
        """The action with the highest Q-value (ties: the lowest action number, like ``np.argmax``)."""
        return int(np.argmax(self.q_values(observation)))

    __call__ = act

    def batch_q_values(self, observations: np.ndarray) -> np.ndarray:
        """The Q-values of each row of ``observations`` ``(n, states)``: an array ``(n, actions)``, one forward pass."""
        return numpy_forward(self.layers, observations)

    def batch_actions(self, observations: np.ndarray) -> np.ndarray:
        """The greedy action for each row of ``observations`` ``(n, states)``: one forward pass for all."""
        return np.argmax(numpy_forward(self.layers, observations), axis=1)

    def __repr__(self) -> str:
        sizes = [self.states] + [kernel.shape[1] for kernel, _, _ in self.layers]
        where = f", from {str(self.source)!r}" if self.source is not None else ""
        return f"{type(self).__name__}({' -> '.join(map(str, sizes))}{where})"


def as_policy(agent_model_or_policy) -> GreedyPolicy:
    """A :class:`GreedyPolicy` from a policy (returned as is), a DQN agent, a Keras model, or a weights path."""
    if isinstance(agent_model_or_policy, GreedyPolicy):
        return agent_model_or_policy
    if isinstance(agent_model_or_policy, str | os.PathLike):
        return GreedyPolicy.from_weights(agent_model_or_policy)
    return GreedyPolicy.from_model(agent_model_or_policy)
