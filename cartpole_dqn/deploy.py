"""Using a trained agent "in production": NumPy only, no Keras model, no keras-rl2 agent (notebook 04).

Once trained, a DQN policy is just the network's forward pass and an ``argmax``. A
:class:`Controller` reads the weights file once, keeps the layers as NumPy arrays and
answers each observation in tens of microseconds, with the same actions as the Keras model that
has those weights (the forward pass is :func:`cartpole_dqn.evaluation.numpy_forward`).

A TensorFlow checkpoint stores numbers, not the network's design: the controller assumes
what :func:`cartpole_dqn.build_model` builds (Dense layers, ReLU between them, a linear
output layer with one Q-value per action).

    >>> controller = load_controller()            # the shipped agent
    >>> action = controller.act(observation)      # 0 = push left, 1 = push right
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .evaluation import numpy_forward
from .weights import read_weights

__all__ = ["Controller", "load_controller"]


@dataclass(frozen=True)
class Controller:
    """A greedy policy from saved weights: ``act(observation) -> action``.

    ``layers`` are ``(kernel, bias, activation)`` triples as :func:`~cartpole_dqn.evaluation.numpy_forward`
    uses them; ``source`` is the weights file they were read from. A controller can be passed
    wherever a policy function is expected (``record_episode(controller)``): calling it is ``act``.
    """

    layers: tuple[tuple[np.ndarray, np.ndarray, str], ...]
    source: Path

    @property
    def states(self) -> int:
        """How many numbers an observation has (4 on CartPole)."""
        return int(self.layers[0][0].shape[0])

    @property
    def actions(self) -> int:
        """How many actions there are to choose from (2 on CartPole)."""
        return int(self.layers[-1][0].shape[1])

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
        return numpy_forward(list(self.layers), self._observation(observation))[0]

    def act(self, observation) -> int:
        """The action with the highest Q-value (ties: the lowest action number, like ``np.argmax``)."""
        return int(np.argmax(self.q_values(observation)))

    __call__ = act

    def __repr__(self) -> str:
        sizes = [self.states] + [kernel.shape[1] for kernel, _, _ in self.layers]
        return f"Controller({' -> '.join(map(str, sizes))}, from {str(self.source)!r})"


def load_controller(path: str | os.PathLike | None = None) -> Controller:
    """Read the weights at ``path`` (default: the shipped agent) into a :class:`Controller` (notebook 04).

    Errors are those of :func:`cartpole_dqn.weights.read_weights` (missing or damaged files,
    weights that are not a stack of Dense layers), each saying what to do.
    """
    stored = read_weights(path)
    stack = stored.dense_stack()
    layers = tuple(
        (kernel.astype(np.float32), bias.astype(np.float32), "linear" if k == len(stack) - 1 else "relu")
        for k, (kernel, bias) in enumerate(stack)
    )
    for kernel, bias, _ in layers:
        kernel.setflags(write=False)
        bias.setflags(write=False)
    return Controller(layers, stored.path)
