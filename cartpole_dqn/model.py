"""The Q-network: a small Keras ``Sequential`` model (notebook 02)."""

from __future__ import annotations

from collections.abc import Sequence

from tensorflow.keras import activations
from tensorflow.keras.layers import Dense, Flatten
from tensorflow.keras.models import Sequential

from .errors import ArgumentError, whole_number

__all__ = ["build_model"]


def build_model(states: int, actions: int, hidden: int | Sequence[int] = 24, activation: str = "relu") -> Sequential:
    """The tutorial's network: ``(1, states)`` in, one Q-value per action out.

    ``Flatten`` turns keras-rl2's ``(window_length=1, states)`` observation into a vector;
    two ``Dense(hidden, relu)`` layers learn features; ``Dense(actions, linear)`` gives one
    unbounded Q-value per action. With 4 states, 2 actions and 24 units: 770 parameters.
    ``hidden`` may also list the width of each hidden layer (``hidden=(32, 16, 8)``), and
    ``activation`` names their activation; the JSON record of saved weights keeps both.
    """
    states = whole_number(states, "states")
    actions = whole_number(actions, "actions")
    if isinstance(hidden, Sequence) and not isinstance(hidden, str):
        if not hidden:
            raise ArgumentError("build_model needs at least one hidden layer width in hidden, got an empty sequence.")
        widths = [whole_number(width, "each hidden width") for width in hidden]
    else:
        widths = [whole_number(hidden, "hidden")] * 2
    if not isinstance(activation, str) or not activation:
        raise ArgumentError(f"build_model needs an activation name such as 'relu' or 'tanh', got {activation!r}.")
    try:
        activations.get(activation)
    except ValueError:
        raise ArgumentError(
            f"build_model does not know the activation {activation!r}; Keras knows e.g. 'relu', 'tanh', 'elu', 'sigmoid'."
        ) from None
    model = Sequential(name="q_network")
    model.add(Flatten(input_shape=(1, states), name="flatten"))
    for number, width in enumerate(widths, start=1):
        model.add(Dense(width, activation=activation, name=f"dense_{number}"))
    model.add(Dense(actions, activation="linear", name="q_values"))
    return model
