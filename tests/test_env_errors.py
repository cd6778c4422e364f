"""Environments the series cannot use: an unknown id, and spaces DQN's model cannot handle."""

from __future__ import annotations

from cartpole_dqn import EnvironmentSpecError, env_sizes, make_env, make_gymnasium_env

import pytest


def test_unknown_id_is_a_clear_error():
    with pytest.raises(EnvironmentSpecError, match="Gymnasium has no environment 'CartPoel-v0'") as info:
        make_env("CartPoel-v0")
    assert isinstance(info.value, ValueError)  # the command line reports it as one line
    assert "\n" not in str(info.value)


def test_continuous_actions_are_refused_by_env_sizes():
    env = make_gymnasium_env("Pendulum-v1", render_mode=None)
    with pytest.raises(
        EnvironmentSpecError, match="DQN needs a discrete action space.*Pick an environment with Discrete actions"
    ):
        env_sizes(env)
    env.close()


def test_cartpole_sizes():
    assert env_sizes(make_env("CartPole-v0")) == (4, 2)
