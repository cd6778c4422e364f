"""The Q-network: a small Keras ``Sequential`` model (notebook 02)."""

from __future__ import annotations

import operator

from . import compat

compat.apply()

from tensorflow.keras.layers import Dense, Flatten  # noqa: E402
from tensorflow.keras.models import Sequential  # noqa: E402

__all__ = ["build_model"]


def _positive_int(name: str, value) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        number = 0
    if number < 1 or isinstance(value, bool):
        raise ValueError(f"build_model needs a positive whole number for {name}, got {value!r}.")
    return number


def build_model(states: int, actions: int, hidden: int = 24) -> Sequential:
    """The tutorial's network: ``(1, states)`` in, one Q-value per action out.

    ``Flatten`` turns keras-rl2's ``(window_length=1, states)`` observation into a vector;
    two ``Dense(hidden, relu)`` layers learn features; ``Dense(actions, linear)`` gives one
    unbounded Q-value per action. With 4 states, 2 actions and 24 units: 770 parameters.
    """
    states, actions, hidden = (
        _positive_int(n, v) for n, v in (("states", states), ("actions", actions), ("hidden", hidden))
    )
    model = Sequential(name="q_network")
    model.add(Flatten(input_shape=(1, states), name="flatten"))
    model.add(Dense(hidden, activation="relu", name="dense_1"))
    model.add(Dense(hidden, activation="relu", name="dense_2"))
    model.add(Dense(actions, activation="linear", name="q_values"))
    return model
