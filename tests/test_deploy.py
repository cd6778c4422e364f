"""The NumPy controller: same actions as the Keras model, clear errors for bad observations."""

from __future__ import annotations

from cartpole_dqn import build_model, make_gymnasium_env, reset_session
from cartpole_dqn.deploy import Controller, load_controller
from cartpole_dqn.weights import WeightsCorruptError, WeightsMismatchError, WeightsNotFoundError, save_weights

import numpy as np
import pytest


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A model with non-trivial weights (scaled up so both actions get chosen) and its saved file."""
    reset_session(3)
    model = build_model(4, 2)
    rng = np.random.default_rng(3)
    model.set_weights([w + rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
    path = save_weights(model, tmp_path_factory.mktemp("deploy") / "agent.h5f")
    return model, path


def test_same_actions_and_q_values_as_the_keras_model(saved):
    model, path = saved
    controller = load_controller(path)
    assert isinstance(controller, Controller)
    assert (controller.states, controller.actions) == (4, 2)
    observations = np.random.default_rng(0).normal(scale=[1.0, 2.0, 0.2, 2.0], size=(500, 4)).astype(np.float32)
    keras_q = model.predict(observations[:, None, :], verbose=0)
    ours_q = np.stack([controller.q_values(obs) for obs in observations])
    actions = np.array([controller.act(obs) for obs in observations])
    assert ours_q.shape == (500, 2) and ours_q.dtype == np.float32
    np.testing.assert_allclose(ours_q, keras_q, rtol=1e-5, atol=1e-5)
    assert np.array_equal(actions, np.argmax(keras_q, axis=1))
    assert set(actions) == {0, 1}  # the comparison covered both actions


def test_plays_cartpole_like_the_keras_model(saved):
    model, path = saved
    controller = load_controller(path)
    env = make_gymnasium_env("CartPole-v0", render_mode=None)
    observation, _ = env.reset(seed=1)
    for _ in range(50):
        action = controller(observation)
        keras_action = int(np.argmax(model.predict(observation[None, None, :], verbose=0)[0]))
        assert action == keras_action
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
    env.close()


def test_keras_rl2_window_shape_is_accepted(saved):
    _, path = saved
    controller = load_controller(path)
    observation = np.array([0.01, -0.02, 0.03, 0.04])
    assert controller.act(observation[None, :]) == controller.act(observation)
    assert controller.act(list(observation)) == controller.act(observation)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (np.zeros(3), r"must be 4 numbers \(shape \(4,\)\), got shape \(3,\)"),
        (np.zeros((2, 4)), r"got shape \(2, 4\)"),
        ("left", r"must be 4 numbers"),
        ((np.zeros(4), {}), r"\(observation, info\) pair.*observation, info = env.reset\(\)"),
        (np.array([0.0, np.nan, 0.0, 0.0]), r"NaN or infinite"),
    ],
)
def test_bad_observations_raise_a_clear_value_error(saved, bad, expected):
    _, path = saved
    with pytest.raises(ValueError, match=expected):
        load_controller(path).act(bad)


def test_controller_weights_are_read_once_and_frozen(saved, tmp_path):
    _, path = saved
    controller = load_controller(path)
    kernel = controller.layers[0][0]
    with pytest.raises(ValueError):
        kernel[0, 0] = 1.0
    assert "4 -> 24 -> 24 -> 2" in repr(controller)


def test_file_errors_are_the_weights_errors(saved, tmp_path):
    _, path = saved
    with pytest.raises(WeightsNotFoundError, match="missing.h5f.index"):
        load_controller(tmp_path / "missing.h5f")
    broken = tmp_path / "broken.h5f"
    for file in path.parent.glob("agent.h5f.*"):
        (tmp_path / file.name.replace("agent", "broken")).write_bytes(file.read_bytes())
    data = tmp_path / "broken.h5f.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:50])
    with pytest.raises(WeightsCorruptError):
        load_controller(broken)


def test_non_dense_weights_are_refused(tmp_path):
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(4,)), tf.keras.layers.BatchNormalization()])
    path = save_weights(model, tmp_path / "odd.h5f")
    with pytest.raises(WeightsMismatchError, match="not a stack of Dense layers"):
        load_controller(path)
