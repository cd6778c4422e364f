"""The DQN agent from keras-rl2, with the series' recipe as defaults (notebook 03).

The recipe's settings are written once, here, as constants; ``train``, the command line, the
benchmark and ``scripts/make_pretrained.py`` (via :func:`describe_recipe`) read them from here.
(The package's ``__init__`` has already prepared TensorFlow for keras-rl2 when this module loads.)
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import tensorflow as tf
from rl.agents import DQNAgent  # (switches TensorFlow to graph mode)
from rl.memory import SequentialMemory
from rl.policy import BoltzmannQPolicy
from tensorflow.keras.optimizers.legacy import Adam

from .errors import ArgumentError, CartPoleDQNError, number, whole_number
from .errors import learning_rate as check_learning_rate
from .errors import seed as check_seed

#: The original tutorial's settings. With them, the benchmark (``scripts/bench_solve.py
#: --tutorial-settings``) saw ten seeds need from 2,000 to 30,500 steps to solve (up to 115 s),
#: some hovering just under the threshold for thousands of steps.
TUTORIAL_LEARNING_RATE = 1e-3
TUTORIAL_TARGET_MODEL_UPDATE = 1e-2
TUTORIAL_WARMUP = 10
TUTORIAL_TRAIN_INTERVAL = 1  # keras-rl2's defaults, which the tutorial kept
TUTORIAL_BATCH_SIZE = 32

#: The series' defaults. Learning rate and target update: a 3x larger learning rate learns faster,
#: and a target network that follows the trained one faster keeps the learning targets up to date
#: (either change alone still left some seeds slow). Train interval and batch size (issue 12): one
#: training step on 64 remembered transitions every 4 environment steps instead of one on 32 every
#: step, with a learning rate and target update scaled up to match, solved all 10 benchmark seeds in
#: at most 5,000 steps (median 2,000) with a quarter of the TensorFlow training calls (README).
DEFAULT_LEARNING_RATE = 1e-2
DEFAULT_TARGET_MODEL_UPDATE = 0.2
DEFAULT_WARMUP = TUTORIAL_WARMUP
DEFAULT_TRAIN_INTERVAL = 4
DEFAULT_BATCH_SIZE = 64

#: The series' recipe before issue 12: one update of 32 transitions every step. The shipped agent was
#: trained with it (``make pretrained`` reproduces it), and notebook 05's learning curves and notebook 06's
#: variants use it. Retrained on :data:`RECIPE` instead, the agent's Q-value at the start was 116, above
#: the 86.6 ceiling that notebooks 02 and 05 teach (issue 18's note), so the lessons keep this agent.
SHIPPED_RECIPE = {
    "learning_rate": 3e-3,
    "target_model_update": 5e-2,
    "nb_steps_warmup": TUTORIAL_WARMUP,
    "train_interval": TUTORIAL_TRAIN_INTERVAL,
    "batch_size": TUTORIAL_BATCH_SIZE,
}

#: The original tutorial's settings in one dict (``train(**TUTORIAL_RECIPE)``; notebook 03's ``FIXED_BUDGET``).
TUTORIAL_RECIPE = {
    "learning_rate": TUTORIAL_LEARNING_RATE,
    "target_model_update": TUTORIAL_TARGET_MODEL_UPDATE,
    "nb_steps_warmup": TUTORIAL_WARMUP,
    "train_interval": TUTORIAL_TRAIN_INTERVAL,
    "batch_size": TUTORIAL_BATCH_SIZE,
}

#: Notebook 03's recipe in one dict (``train(**RECIPE)``).
RECIPE = {
    "learning_rate": DEFAULT_LEARNING_RATE,
    "target_model_update": DEFAULT_TARGET_MODEL_UPDATE,
    "nb_steps_warmup": DEFAULT_WARMUP,
    "train_interval": DEFAULT_TRAIN_INTERVAL,
    "batch_size": DEFAULT_BATCH_SIZE,
}

#: Replay memory size (the tutorial's, unchanged) and the metric compiled into the agent.
DEFAULT_MEMORY_LIMIT = 50_000
METRICS = ("mae",)

__all__ = [
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_TARGET_MODEL_UPDATE",
    "DEFAULT_WARMUP",
    "DEFAULT_TRAIN_INTERVAL",
    "DEFAULT_BATCH_SIZE",
    "TUTORIAL_LEARNING_RATE",
    "TUTORIAL_TARGET_MODEL_UPDATE",
    "TUTORIAL_WARMUP",
    "TUTORIAL_TRAIN_INTERVAL",
    "TUTORIAL_BATCH_SIZE",
    "TUTORIAL_RECIPE",
    "DEFAULT_MEMORY_LIMIT",
    "RECIPE",
    "SHIPPED_RECIPE",
    "METRICS",
    "build_agent",
    "compile_agent",
    "describe_recipe",
    "make_optimizer",
    "reset_session",
    "session_of",
    "set_seeds",
]


def make_optimizer(learning_rate: float = DEFAULT_LEARNING_RATE) -> Adam:
    """Adam as keras-rl2 needs it.

    With ``target_model_update < 1`` keras-rl2 wraps the optimizer to add the soft target
    updates, which only works with the *legacy* Keras optimizers: the new ``Adam`` fails with
    ``'Adam' object has no attribute '_name'``.
    """
    return Adam(learning_rate=check_learning_rate(learning_rate))


def build_agent(
    model,
    actions: int,
    *,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    nb_steps_warmup: int = DEFAULT_WARMUP,
    target_model_update: float = DEFAULT_TARGET_MODEL_UPDATE,
    policy=None,
    train_interval: int = DEFAULT_TRAIN_INTERVAL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    **options,
) -> DQNAgent:
    """The tutorial's agent: Boltzmann exploration, a 50,000-step replay memory, soft target updates.

    Changes from the tutorial (see the ``DEFAULT_*`` constants): ``target_model_update`` 0.2, not 1e-2,
    and one training step on 64 transitions every 4 environment steps (``train_interval``,
    ``batch_size``) instead of one on 32 every step; they go with the learning rate 1e-2 of
    :func:`compile_agent`. Pass ``target_model_update=TUTORIAL_TARGET_MODEL_UPDATE,
    train_interval=TUTORIAL_TRAIN_INTERVAL, batch_size=TUTORIAL_BATCH_SIZE`` for the original.
    Other keyword arguments go to ``DQNAgent`` as they are (``enable_double_dqn=True``, ...).
    """
    actions, memory_limit = whole_number(actions, "actions"), whole_number(memory_limit, "memory_limit")
    nb_steps_warmup = whole_number(nb_steps_warmup, "nb_steps_warmup", minimum=0)
    train_interval, batch_size = whole_number(train_interval, "train_interval"), whole_number(batch_size, "batch_size")
    number(target_model_update, "target_model_update", above=0)  # below 1: soft updates; 1 or more: hard, every n steps
    policy = BoltzmannQPolicy() if policy is None else policy
    memory = SequentialMemory(limit=memory_limit, window_length=1)
    try:
        return DQNAgent(
            model=model,
            memory=memory,
            policy=policy,
            nb_actions=actions,
            nb_steps_warmup=nb_steps_warmup,
            target_model_update=target_model_update,
            train_interval=train_interval,
            batch_size=batch_size,
            **options,
        )
    except TypeError as exc:  # an option DQNAgent does not take: one clear line, not keras-rl2's traceback
        if not options:
            raise
        raise ArgumentError(f"DQNAgent does not take {', '.join(map(repr, options))}: {exc}") from None


def compile_agent(dqn: DQNAgent, learning_rate: float = DEFAULT_LEARNING_RATE) -> DQNAgent:
    """``dqn.compile(Adam(learning_rate), metrics=["mae"])`` with the legacy Adam keras-rl2 needs (tutorial: 1e-3)."""
    dqn.compile(make_optimizer(learning_rate), metrics=list(METRICS))
    return dqn


def describe_recipe(
    learning_rate: float = DEFAULT_LEARNING_RATE,
    target_model_update: float = DEFAULT_TARGET_MODEL_UPDATE,
    nb_steps_warmup: int = DEFAULT_WARMUP,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    train_interval: int = DEFAULT_TRAIN_INTERVAL,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> str:
    """The agent's recipe in one line, from the constants above (recorded next to saved weights)."""
    return (
        f"DQNAgent, BoltzmannQPolicy, SequentialMemory({memory_limit}), warm-up {nb_steps_warmup}, "
        f"target_model_update {target_model_update:g}, train_interval {train_interval}, batch {batch_size}, "
        f"legacy Adam {learning_rate:g}"
    )


def set_seeds(seed: int) -> None:
    """Seed Python's ``random`` (replay sampling), NumPy (Boltzmann draws) and TensorFlow (initial weights).

    The environment has its own seed: pass ``seed=`` to :func:`cartpole_dqn.make_env`.
    """
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def reset_session(seed: int | None = None) -> None:
    """Start a fresh TensorFlow graph (and re-seed it), so that cells can be run again.

    keras-rl2 runs TensorFlow in graph mode, and models built again and again in one graph slow
    down and clash. Networks built before keep their weights: the package's functions
    (``evaluate``, ``save_weights``, ...) still work on them, and keras-rl2's own methods do inside
    ``with session_of(dqn):``. (``tf.keras.backend.clear_session()`` would close them for good.)
    """
    old_graph = tf.compat.v1.get_default_graph()
    # the old graph keeps its session (and so the weights in it) for as long as something uses the graph
    old_graph.cartpole_dqn_session = tf.compat.v1.keras.backend.get_session()
    tf.compat.v1.reset_default_graph()
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)  # what tf-keras gives its own sessions
    tf.compat.v1.keras.backend.set_session(tf.compat.v1.Session(graph=tf.compat.v1.get_default_graph(), config=config))
    if seed is not None:
        set_seeds(seed)


@contextlib.contextmanager
def session_of(agent_or_model):
    """Run TensorFlow calls on ``agent_or_model`` in its own graph, also after :func:`reset_session`."""
    model = getattr(agent_or_model, "model", agent_or_model)
    weights = getattr(model, "weights", None) or []
    graph = getattr(weights[0], "graph", None) if weights else None
    if graph is None or graph is tf.compat.v1.get_default_graph():
        yield
        return
    session = getattr(graph, "cartpole_dqn_session", None)
    if session is None:
        raise CartPoleDQNError(
            "This network belongs to a TensorFlow graph that was closed (by tf.keras.backend.clear_session()). "
            "Build it again, or load the weights you saved from it."
        )
    with graph.as_default(), session.as_default():
        yield
