"""The Gymnasium-to-old-Gym adapter, the Q-network and the agent (notebooks 02 and 03)."""

from __future__ import annotations

import warnings

import cartpole_dqn as cd

import numpy as np
import pytest


def test_adapter_speaks_the_old_gym_api():
    env = cd.make_env(seed=3)
    observation = env.reset()
    assert isinstance(observation, np.ndarray) and observation.shape == (4,)
    result = env.step(0)
    assert len(result) == 4
    observation, reward, done, info = result
    assert observation.shape == (4,) and reward == 1.0 and done is False and isinstance(info, dict)


def test_adapter_done_covers_termination_and_the_time_limit():
    env = cd.make_env(seed=0)
    env.reset()
    steps, done = 0, False
    while not done:  # always pushing left: the pole falls (terminated)
        _, _, done, info = env.step(0)
        steps += 1
    assert steps < 200 and info["TimeLimit.truncated"] is False

    controller = cd.load_controller()  # the shipped agent balances until the 200-step limit (truncated)
    observation, steps, done = env.reset(), 0, False
    while not done:
        observation, _, done, info = env.step(controller.act(observation))
        steps += 1
    assert steps == 200 and info["TimeLimit.truncated"] is True


def test_adapter_seeds_each_episode_reproducibly():
    first = [cd.make_env(seed=11).reset() for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    env = cd.make_env(seed=11)
    episode_0, episode_1 = env.reset(), env.reset()
    assert not np.array_equal(episode_0, episode_1)  # episode k uses seed 11 + k
    np.testing.assert_array_equal(episode_1, cd.make_gymnasium_env(render_mode=None).reset(seed=12)[0])


def test_render_human_outside_a_notebook_warns_once_and_keeps_frames():
    env = cd.make_env(seed=0)
    env.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env.render(mode="human")
        env.step(1)
        env.render(mode="human")
    messages = [str(w.message) for w in caught if "visualize=True" in str(w.message)]
    assert len(messages) == 1 and "env.frames" in messages[0]
    assert len(env.frames) == 2 and env.frames[0].shape == (400, 600, 3)
    assert env.render(mode="rgb_array").shape == (400, 600, 3)


def test_dqn_test_with_visualize_true_does_not_crash():
    cd.reset_session(0)
    model = cd.build_model(4, 2)
    dqn = cd.compile_agent(cd.build_agent(model, 2))
    env = cd.make_env(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = dqn.test(env, nb_episodes=1, visualize=True, verbose=0)
    steps = history.history["nb_steps"][0]
    assert len(env.frames) == steps  # one frame drawn per step


def test_model_shapes_and_770_parameters():
    cd.reset_session(0)
    model = cd.build_model(4, 2)
    assert model.input_shape == (None, 1, 4)
    assert model.output_shape == (None, 2)
    assert [layer.count_params() for layer in model.layers] == [0, 120, 600, 50]
    assert model.count_params() == 770
    q_values = model.predict_on_batch(np.zeros((3, 1, 4), dtype=np.float32))
    assert q_values.shape == (3, 2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_model_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="states must be a whole number of at least 1"):
        cd.build_model(bad, 2)


def test_agent_trains_and_its_weights_change():
    cd.reset_session(1)
    env = cd.make_env(seed=1)
    model = cd.build_model(*cd.env_sizes(env))
    dqn = cd.compile_agent(cd.build_agent(model, 2))
    before = [w.copy() for w in model.get_weights()]
    history = dqn.fit(env, nb_steps=300, visualize=False, verbose=0)
    after = model.get_weights()
    assert sum(history.history["nb_episode_steps"]) <= 300
    assert all(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    # the target network follows the trained one (soft updates), but is not identical to it
    target = dqn.target_model.get_weights()
    assert not np.array_equal(target[0], after[0])


def test_tutorial_settings_are_kept_as_constants():
    assert cd.agent.TUTORIAL_LEARNING_RATE == 1e-3
    assert cd.agent.TUTORIAL_TARGET_MODEL_UPDATE == 1e-2
    assert cd.agent.TUTORIAL_WARMUP == 10
    assert cd.agent.TUTORIAL_RECIPE == {  # in one dict, as train(**TUTORIAL_RECIPE) takes them
        "learning_rate": 1e-3,  # Adam(lr=1e-3)
        "target_model_update": 1e-2,
        "nb_steps_warmup": 10,
        "train_interval": 1,  # keras-rl2's defaults, which the tutorial kept
        "batch_size": 32,
    }
    cd.reset_session(0)
    dqn = cd.build_agent(cd.build_model(4, 2), 2, target_model_update=cd.agent.TUTORIAL_TARGET_MODEL_UPDATE)
    assert dqn.target_model_update == 1e-2 and dqn.nb_steps_warmup == 10
    assert dqn.memory.limit == 50_000 and dqn.memory.window_length == 1
    assert type(dqn.policy).__name__ == "BoltzmannQPolicy"
