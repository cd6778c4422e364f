"""``cd.train`` trains exactly what keras-rl2, written out by hand, trains: the package adds no speed
patch and no hidden change. Same seeds, same steps -> bit-identical weights of both networks."""

from __future__ import annotations

import random

import cartpole_dqn as cd

import numpy as np
import pytest
import tensorflow as tf

STEPS = 300
SEED = 3


def _by_hand(target_model_update, train_interval, batch_size, learning_rate, **options):
    """The tutorial's keras-rl2 code with the recipe's numbers (plus ``import cartpole_dqn``'s adaptations)."""
    from rl.agents import DQNAgent
    from rl.memory import SequentialMemory
    from rl.policy import BoltzmannQPolicy
    from tensorflow.keras.layers import Dense, Flatten
    from tensorflow.keras.models import Sequential
    from tensorflow.keras.optimizers.legacy import Adam

    tf.keras.backend.clear_session()
    random.seed(SEED)
    np.random.seed(SEED)
    tf.random.set_seed(SEED)
    env = cd.make_env(seed=SEED)  # keras-rl2 needs the old Gym API: the package's adapter
    model = Sequential(
        [
            Flatten(input_shape=(1, 4)),
            Dense(24, activation="relu"),
            Dense(24, activation="relu"),
            Dense(2, activation="linear"),
        ]
    )
    dqn = DQNAgent(
        model=model,
        memory=SequentialMemory(limit=50_000, window_length=1),
        policy=BoltzmannQPolicy(),
        nb_actions=2,
        nb_steps_warmup=10,
        target_model_update=target_model_update,
        train_interval=train_interval,
        batch_size=batch_size,
        **options,
    )
    dqn.compile(Adam(learning_rate=learning_rate), metrics=["mae"])
    history = dqn.fit(env, nb_steps=STEPS, visualize=False, verbose=0)
    return dqn.model.get_weights() + dqn.target_model.get_weights(), history.history["episode_reward"]


CASES = {
    "soft target (the recipe)": {"target_model_update": 0.2, "train_interval": 4, "batch_size": 64},
    "hard target every 10 steps": {"target_model_update": 10, "train_interval": 4, "batch_size": 64},
    "hard target every 50 steps": {"target_model_update": 50, "train_interval": 4, "batch_size": 64},
    "tutorial's soft target, every step": {"target_model_update": 1e-2, "train_interval": 1, "batch_size": 32},
    "double DQN": {"target_model_update": 0.2, "train_interval": 4, "batch_size": 64, "enable_double_dqn": True},
    "dueling DQN": {"target_model_update": 0.2, "train_interval": 4, "batch_size": 64, "enable_dueling_network": True},
}


@pytest.mark.parametrize("case", CASES)
def test_train_is_keras_rl2_as_written_by_hand(case):
    settings = CASES[case]
    learning_rate = 1e-2
    expected, expected_rewards = _by_hand(learning_rate=learning_rate, **settings)
    run = cd.train(
        steps=STEPS,
        seed=SEED,
        stop_when_solved=False,
        restore_best=False,
        progress=False,
        learning_rate=learning_rate,
        **settings,
    )
    got = run.dqn.model.get_weights() + run.dqn.target_model.get_weights()
    assert run.steps == STEPS and len(expected_rewards) > 5
    assert run.episode_rewards[: len(expected_rewards)] == expected_rewards
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_package_replaces_only_the_listed_methods_of_keras_rl2_and_tf_keras():
    # the comparison above runs in one process, where a replaced class method would act on both
    # sides: so check that every method of keras-rl2's agents and of tf-keras' models is the
    # library's own, except the adaptations compat.py lists (4, 5, 8, 9, 10)
    import rl.agents
    import rl.util
    import tf_keras

    allowed = {
        ("DQNAgent", "__init__"),
        ("CEMAgent", "select_action"),
        ("AdditionalUpdatesOptimizer", "get_updates"),
        *((agent, "save_weights") for agent in ("DQNAgent", "NAFAgent", "SARSAAgent", "CEMAgent", "DDPGAgent")),
        *((agent, "compile") for agent in ("DQNAgent", "SARSAAgent", "NAFAgent", "DDPGAgent")),
    }
    classes = [getattr(rl.agents, n) for n in ("DQNAgent", "NAFAgent", "SARSAAgent", "CEMAgent", "DDPGAgent")]
    # in graph mode a model is one of tf-keras' v1 classes: take the class of a real one
    classes += [rl.util.AdditionalUpdatesOptimizer, tf_keras.Model, type(cd.build_model(4, 2))]
    replaced = set()
    for cls in classes:
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                module = getattr(value, "__module__", None) or ""
                if callable(value) and module.startswith("cartpole_dqn"):
                    replaced.add((klass.__name__, name))
    assert replaced and replaced <= allowed, replaced - allowed
