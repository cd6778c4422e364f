"""The keras-rl2 adaptations in cartpole_dqn.compat (each seen failing without it)."""

from __future__ import annotations

import builtins
from importlib import metadata

import cartpole_dqn as cd
from cartpole_dqn import compat

import numpy as np
import pytest
import rl.core
import tensorflow as tf


class _RandomAgent(rl.core.Agent):
    """The smallest keras-rl2 agent: random actions, no learning. Exercises Agent.fit's own loop."""

    compiled = True

    def __init__(self):
        super().__init__()
        self.rng = np.random.default_rng(0)

    def forward(self, observation):
        return int(self.rng.integers(2))

    def backward(self, reward, terminal):
        return []

    def reset_states(self):
        pass

    @property
    def metrics_names(self):
        return []


def test_fit_with_more_than_32767_steps_ends():
    # NumPy 2 keeps keras-rl2's np.int16 step counter at int16: without the patch it wraps
    # at 32,767 and `while self.step < nb_steps` never ends.
    agent = _RandomAgent()
    history = agent.fit(cd.make_env(seed=0), nb_steps=33_000, visualize=False, verbose=0)
    assert agent.step == 33_000
    assert sum(history.history["nb_episode_steps"]) <= 33_000
    assert isinstance(rl.core.np.int16(0), np.int64)
    assert rl.core.np.float32 is np.float32  # everything else in rl.core's NumPy is unchanged


def test_tensorflow_keras_is_keras_2_and_graph_mode():
    assert compat.keras_is_legacy()
    assert not tf.executing_eagerly()  # keras-rl2 switched graph mode on, process-wide
    import tensorflow.keras as tfk

    assert tfk.__version__ == metadata.version("tf-keras")  # rl/callbacks.py imports this


def test_saving_over_existing_weights_never_asks_on_stdin(tmp_path, monkeypatch):
    def no_input(*args, **kwargs):
        raise AssertionError("input() was called: a headless run would hang here")

    monkeypatch.setattr(builtins, "input", no_input)
    cd.reset_session(0)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
    path = str(tmp_path / "dqn_weights.h5f")
    dqn.save_weights(path)  # keras-rl2's own method
    with pytest.raises(FileExistsError, match="Pass overwrite=True"):
        dqn.save_weights(path)
    dqn.save_weights(path, overwrite=True)


def test_grouped_metric_reset_gives_per_batch_metrics_like_the_original():
    # tf-keras resets metrics after every train_on_batch, so the metrics of batch B must not
    # depend on the batch trained before it. A learning rate of 0 keeps the weights fixed.
    from tensorflow.keras import backend

    cd.reset_session(5)
    from tensorflow.keras.optimizers.legacy import Adam  # cd.make_optimizer refuses 0: a learner's mistake

    dqn = cd.build_agent(cd.build_model(4, 2), 2)
    dqn.compile(Adam(learning_rate=0.0), metrics=["mae"])
    model = dqn.trainable_model
    rng = np.random.default_rng(5)

    def batch():
        states = rng.normal(size=(32, 1, 4)).astype(np.float32)
        targets = rng.normal(size=(32, 2)).astype(np.float32)
        masks = np.eye(2, dtype=np.float32)[rng.integers(2, size=32)]
        return [states, targets, masks], [np.zeros(32, dtype=np.float32), targets]

    batch_a, batch_b = batch(), batch()
    results = {}
    for fast in (False, True):
        compat.set_fast_metric_reset(fast)
        try:
            model.reset_metrics()
            alone = model.train_on_batch(*batch_b)
            model.train_on_batch(*batch_a)
            after_a = model.train_on_batch(*batch_b)
            np.testing.assert_allclose(after_a, alone, rtol=1e-6)  # nothing carried over from batch A
            model.reset_metrics()
            variables = [v for m in model.metrics for v in m.variables]
            assert variables and all(not np.any(value) for value in backend.batch_get_value(variables))
            results[fast] = np.array(alone)
        finally:
            compat.set_fast_metric_reset(True)
    np.testing.assert_allclose(results[True], results[False], rtol=1e-6)


def test_tensorflow_log_noise_is_off_by_default():
    import logging

    assert tf.get_logger().level == logging.ERROR


def _train_weights(seed: int, steps: int = 400) -> list[np.ndarray]:
    cd.reset_session(seed)
    env = cd.make_env(seed=seed)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
    initial_target = [w.copy() for w in dqn.target_model.get_weights()]
    dqn.fit(env, nb_steps=steps, visualize=False, verbose=0)
    target = dqn.target_model.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(initial_target, target, strict=True))  # soft updates ran
    return dqn.model.get_weights() + target


def test_training_from_a_seed_is_reproducible():
    # keras-rl2 runs the soft target update in the same TensorFlow step as the optimizer's
    # update, unordered; compat orders them, so two runs from one seed end bit-identical.
    first, second = _train_weights(3), _train_weights(3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = _train_weights(4)
    assert not np.array_equal(first[0], other[0])


def test_soft_target_update_follows_the_online_network():
    # target = tau * online + (1 - tau) * target, once per training step, after the optimizer's update
    cd.reset_session(0)
    env = cd.make_env(seed=0)
    model = cd.build_model(4, 2)
    dqn = cd.compile_agent(cd.build_agent(model, 2, target_model_update=1.0 - 1e-9), learning_rate=1e-2)
    dqn.fit(env, nb_steps=50, visualize=False, verbose=0)
    # with tau ~ 1 the target is the online network as it is after the last update
    for online, target in zip(model.get_weights(), dqn.target_model.get_weights(), strict=True):
        np.testing.assert_allclose(target, online, rtol=1e-5, atol=1e-6)


def test_import_sets_the_drawing_and_sound_defaults_even_with_verbose_tensorflow():
    import os
    import subprocess
    import sys

    code = "import os, cartpole_dqn; print(*(os.environ.get(k) for k in ('SDL_FRAMEBUFFER_ACCELERATION', 'SDL_AUDIODRIVER')))"
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_FRAMEBUFFER_ACCELERATION", "SDL_AUDIODRIVER")}
    env["CARTPOLE_DQN_VERBOSE_TF"] = "1"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    # ALSA and its error lines (in Colab, containers, servers) are Linux only, and so is the sound default
    sound = "dummy" if sys.platform.startswith("linux") else "None"
    assert result.stdout.strip().splitlines()[-1].split() == ["0", sound], result.stderr[-500:]


def test_a_sound_driver_the_learner_chose_is_kept(monkeypatch):
    import os
    import sys

    monkeypatch.setenv("SDL_AUDIODRIVER", "pulse")
    compat._drawing_defaults()  # what the import runs (checked in a fresh process above)
    assert os.environ["SDL_AUDIODRIVER"] == "pulse"
    monkeypatch.delenv("SDL_AUDIODRIVER")
    compat._drawing_defaults()
    assert os.environ.get("SDL_AUDIODRIVER") == ("dummy" if sys.platform.startswith("linux") else None)


def test_reset_session_frees_the_previous_graph():
    # compat remembers keras-rl2's soft target updates; it must not keep their graph alive
    import gc
    import weakref

    cd.reset_session(0)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
    old_graph = weakref.ref(tf.compat.v1.get_default_graph())
    old_target = weakref.ref(dqn.target_model.trainable_weights[0])
    assert compat._known_soft_update(old_target()) is not None  # the soft update is known while it lives
    del dqn
    cd.reset_session(1)
    gc.collect()
    assert old_target() is None and old_graph() is None
    cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
    assert all(target() is not None for target, _, _ in compat._SOFT_UPDATES.values())  # dead entries dropped
