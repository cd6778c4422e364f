"""Using a trained agent "in production": NumPy only, no Keras model, no keras-rl2 agent (notebook 04).

Once trained, a DQN policy is just the network's forward pass and an ``argmax``.
:func:`load_controller` reads a weights file once into a :class:`Controller` (the package's one
NumPy policy, :class:`cartpole_dqn.policy.GreedyPolicy`), which answers each observation in
tens of microseconds with the same actions as the Keras model that has those weights.

A TensorFlow checkpoint stores numbers, not the network's design: the activations come from
the record saved next to the weights (files without one get what
:func:`cartpole_dqn.build_model` builds: ReLU between the layers, a linear output layer).

    >>> controller = load_controller()            # the shipped agent
    >>> action = controller.act(observation)      # 0 = push left, 1 = push right
"""

from __future__ import annotations

import os

from .policy import GreedyPolicy

__all__ = ["Controller", "load_controller"]

#: The name notebook 04 uses for the policy it deploys.
Controller = GreedyPolicy


def load_controller(path: str | os.PathLike | None = None) -> GreedyPolicy:
    """Read the weights at ``path`` (default: the shipped agent) into a NumPy policy (notebook 04).

    Errors are those of :func:`cartpole_dqn.weights.read_weights` (missing or damaged files,
    weights that are not a stack of Dense layers), each saying what to do.
    """
    return GreedyPolicy.from_weights(path)
