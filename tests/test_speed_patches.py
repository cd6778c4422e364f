"""compat items 12 and 13 make training cheaper without changing it: same weights, same episodes, same metrics."""

from __future__ import annotations

import os
import subprocess
import sys

import cartpole_dqn as cd
from cartpole_dqn import compat

import numpy as np
import pytest
from rl.callbacks import Callback


@pytest.fixture(autouse=True)
def _patches_back_on():
    yield
    compat.set_fast_q_values(True)
    compat.set_fast_train_on_batch(True)


def _train(fast: bool, steps: int, seed: int = 3, **agent_kwargs):
    """Train from ``seed`` with items 12-13 on or off; the weights, episode rewards, metrics and TF calls seen."""
    compat.set_fast_q_values(fast)
    compat.set_fast_train_on_batch(fast)
    cd.reset_session(seed)
    env = cd.make_env(seed=seed)
    states, actions = cd.env_sizes(env)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(states, actions), actions, **agent_kwargs))
    calls = {"predict": 0}
    for model in (dqn.model, dqn.target_model):
        original = model.predict_on_batch

        def counting(batch, original=original):
            calls["predict"] += 1
            return original(batch)

        model.predict_on_batch = counting
    history = dqn.fit(env, nb_steps=steps, verbose=0, callbacks=[_MetricsRecorder(calls)])
    weights = dqn.model.get_weights() + dqn.target_model.get_weights()
    return weights, history.history["episode_reward"], calls


class _MetricsRecorder(Callback):
    """Keeps the metrics keras-rl2 reports after every step (loss, mae, mean_q)."""

    def __init__(self, calls: dict) -> None:
        super().__init__()
        self.calls = calls
        calls["metrics"] = []

    def on_step_end(self, step, logs=None) -> None:
        self.calls["metrics"].append(np.asarray(logs["metrics"], dtype=float))


#: training steps compared: some 20 episodes, 400 (tutorial) or 100 (series) updates after the warm-up
STEPS = 400


@pytest.mark.parametrize(
    "agent_kwargs", [{"train_interval": 1, "batch_size": 32}, {"train_interval": 4, "batch_size": 64}]
)
def test_training_is_identical_with_and_without_the_speed_patches(agent_kwargs):
    slow_weights, slow_rewards, slow_calls = _train(False, STEPS, **agent_kwargs)
    fast_weights, fast_rewards, fast_calls = _train(True, STEPS, **agent_kwargs)
    assert len(slow_rewards) > 5
    assert fast_rewards == slow_rewards
    assert all(np.array_equal(a, b) for a, b in zip(slow_weights, fast_weights, strict=True))
    assert len(fast_calls["metrics"]) == len(slow_calls["metrics"]) == STEPS
    assert all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(slow_calls["metrics"], fast_calls["metrics"], strict=True)
    )
    # and the fast run really took the fast path: no Q-value call through TensorFlow at all
    assert slow_calls["predict"] > STEPS
    assert fast_calls["predict"] == 0


def test_q_values_outside_fit_come_from_the_network_as_it_is_now():
    # The NumPy copy of the weights only lives during fit: weights changed afterwards are seen at once.
    cd.reset_session(0)
    env = cd.make_env(seed=0)
    states, actions = cd.env_sizes(env)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(states, actions), actions))
    dqn.fit(env, nb_steps=60, verbose=0)
    dqn.model.set_weights([np.zeros_like(w) for w in dqn.model.get_weights()])
    assert np.array_equal(dqn.compute_q_values([np.ones(states, dtype=np.float32)]), np.zeros(actions))


def test_numpy_q_values_match_tensorflow_for_one_state_and_for_batches():
    cd.reset_session(1)
    states, actions = 4, 2
    model = cd.build_model(states, actions)
    plan = compat._numpy_q_plan(model)
    assert plan is not None
    values = model.get_weights()
    weights = [(values[2 * i], values[2 * i + 1], activation) for i, (_, _, activation) in enumerate(plan)]
    rng = np.random.default_rng(0)
    for n in [1] * 200 + [2, 32, 64]:  # one state: NumPy alone would round differently about one time in three
        batch = rng.normal(size=(n, 1, states)).astype(np.float32)
        assert np.array_equal(compat._numpy_q_values(weights, batch), model.predict_on_batch(batch))


#: 300 training steps from seed 5; leaves the SHA-256 of the online and target weights in ``digest``
_TRAIN = """
import hashlib, cartpole_dqn as cd, tensorflow as tf
cd.reset_session(5)
env = cd.make_env(seed=5)
states, actions = cd.env_sizes(env)
dqn = cd.compile_agent(cd.build_agent(cd.build_model(states, actions), actions))
dqn.fit(env, nb_steps=300, verbose=0)
digest = hashlib.sha256(b"".join(w.tobytes() for w in dqn.model.get_weights() + dqn.target_model.get_weights()))
threads = tf.config.threading.get_inter_op_parallelism_threads()
"""


def test_running_operations_in_the_calling_thread_gives_the_same_training():
    # The setting is read when TensorFlow starts: the pool-thread run needs a process of its own;
    # this process runs operations in the calling thread (the default), and trains alongside it.
    env = dict(os.environ, CARTPOLE_DQN_TF_INLINE="0", CARTPOLE_DQN_TF_THREADS="1")
    pool = subprocess.Popen(
        [sys.executable, "-c", _TRAIN + "print(threads, digest.hexdigest())"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    here: dict = {}
    exec(_TRAIN, here)
    out, err = pool.communicate(timeout=300)
    assert pool.returncode == 0, err[-2000:]
    pool_threads, pool_digest = out.split()
    assert here["threads"] == -1, "the tests run with the default CARTPOLE_DQN_TF_INLINE=1"
    assert pool_threads == "1"  # the setting took effect there
    assert here["digest"].hexdigest() == pool_digest  # bit-identical weights after 300 training steps
