"""The original tutorial's code runs with the series' two changes only (issue 8, point 1).

``TUTORIAL`` is the seed tutorial's code (``shared/seed-transcript.txt``: random loop with
``env.render()``, ``build_model`` before ``rl.agents`` is imported, ``Adam`` from
``tensorflow.keras.optimizers`` with ``lr=1e-3``, ``fit``, ``test`` with and without
``visualize=True``, ``save_weights(..., overwrite=True)``, ``del``, rebuild, ``load_weights``),
with exactly two changes:

1. ``import gym`` becomes ``import cartpole_dqn``: the package must come first, and the
   environment no longer comes from ``gym`` (OpenAI Gym is not installed; it breaks on NumPy 2);
2. ``gym.make('CartPole-v0')`` becomes ``cartpole_dqn.make_env('CartPole-v0')``, twice;

and small budgets (steps and episodes; marked ``# budget``). It runs in a plain Python process,
headless, as a learner's script would. The test adds probes between the cells (``PROBE_*``,
not tutorial code) to record Q-values and scores on fixed episodes before the ``del`` and after
the reload, and asserts they are identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

TUTORIAL = [
    """
    import cartpole_dqn
    import random
    """,
    """
    env = cartpole_dqn.make_env('CartPole-v0')
    states = env.observation_space.shape[0]
    actions = env.action_space.n
    """,
    """
    episodes = 3  # budget (tutorial: 10)
    for episode in range(1, episodes+1):
        state = env.reset()
        done = False
        score = 0

        while not done:
            env.render()
            action = random.choice([0,1])
            n_state, reward, done, info = env.step(action)
            score+=reward
        print('Episode:{} Score:{}'.format(episode, score))
    """,
    """
    import numpy as np
    from tensorflow.keras.models import Sequential
    from tensorflow.keras.layers import Dense, Flatten
    from tensorflow.keras.optimizers import Adam
    """,
    """
    def build_model(states, actions):
        model = Sequential()
        model.add(Flatten(input_shape=(1,states)))
        model.add(Dense(24, activation='relu'))
        model.add(Dense(24, activation='relu'))
        model.add(Dense(actions, activation='linear'))
        return model
    """,
    """
    model = build_model(states, actions)
    model.summary()
    """,
    """
    from rl.agents import DQNAgent
    from rl.policy import BoltzmannQPolicy
    from rl.memory import SequentialMemory
    """,
    """
    def build_agent(model, actions):
        policy = BoltzmannQPolicy()
        memory = SequentialMemory(limit=50000, window_length=1)
        dqn = DQNAgent(model=model, memory=memory, policy=policy,
                      nb_actions=actions, nb_steps_warmup=10, target_model_update=1e-2)
        return dqn
    """,
    """
    dqn = build_agent(model, actions)
    dqn.compile(Adam(lr=1e-3), metrics=['mae'])
    dqn.fit(env, nb_steps=300, visualize=False, verbose=1)  # budget (tutorial: 50000)
    """,
    """
    scores = dqn.test(env, nb_episodes=4, visualize=False)  # budget (tutorial: 100)
    print(np.mean(scores.history['episode_reward']))
    """,
    """
    _ = dqn.test(env, nb_episodes=2, visualize=True)  # budget (tutorial: 15)
    """,
    """
    dqn.save_weights('dqn_weights.h5f', overwrite=True)
    """,
    "PROBE_BEFORE",
    """
    del model
    del dqn
    del env
    """,
    """
    env = cartpole_dqn.make_env('CartPole-v0')
    actions = env.action_space.n
    states = env.observation_space.shape[0]
    model = build_model(states, actions)
    dqn = build_agent(model, actions)
    dqn.compile(Adam(lr=1e-3), metrics=['mae'])
    """,
    """
    dqn.load_weights('dqn_weights.h5f')
    """,
    """
    _ = dqn.test(env, nb_episodes=2, visualize=True)  # budget (tutorial: 5)
    """,
    "PROBE_AFTER",
]

_PROBE = """
import json as _json
_observations = np.random.default_rng(7).normal(size=(16, 1, 4))
_scores = dqn.test(cartpole_dqn.make_env('CartPole-v0', seed=4242), nb_episodes=3, visualize=False, verbose=0)
_optimizer = dqn.trainable_model.optimizer
_optimizer = getattr(_optimizer, 'optimizer', _optimizer)
from tensorflow.compat.v1.keras.backend import get_session as _get_session
print('PROBE ' + _json.dumps({{
    'when': '{when}',
    'q': dqn.model.predict(_observations, verbose=0).tolist(),
    'scores': _scores.history['episode_reward'],
    # the learning rate the optimizer trained with (the reloaded agent has not trained: no variable yet)
    'learning_rate': float(_get_session().run(_optimizer._get_hyper('learning_rate'))) if {trained} else None,
}}))
"""


def _script() -> str:
    cells = []
    for cell in TUTORIAL:
        if cell.startswith("PROBE_"):
            when = cell.removeprefix("PROBE_").lower()
            cells.append(_PROBE.format(when=when, trained=when == "before"))
        else:
            cells.append(textwrap.dedent(cell))
    return "\n".join(cells)


def _run_headless(script, timeout: int) -> subprocess.CompletedProcess:
    """Run ``script`` in a plain Python process, in its folder, without a display and without standard input."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_tutorial_script_runs_and_the_reload_scores_the_same(tmp_path):
    script = tmp_path / "tutorial.py"
    script.write_text(_script())
    result = _run_headless(script, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count("Episode:") == 3 and "Score:" in out
    assert "Total params: 770" in out
    assert "Training for 300 steps" in out and "Testing for 4 episodes" in out and "Testing for 2 episodes" in out
    assert (tmp_path / "dqn_weights.h5f.index").exists()
    probes = {p["when"]: p for p in (json.loads(line[6:]) for line in out.splitlines() if line.startswith("PROBE "))}
    assert set(probes) == {"before", "after"}
    assert probes["after"]["q"] == probes["before"]["q"]  # bit-identical Q-values after the reload
    assert probes["after"]["scores"] == probes["before"]["scores"]  # and the same scores on the same episodes
    # Adam(lr=1e-3): the learning rate the optimizer trained with is the one written
    assert abs(probes["before"]["learning_rate"] - 1e-3) < 1e-9
    assert "Traceback" not in result.stderr


def test_fit_with_visualize_true_in_a_plain_script_does_not_hang(tmp_path):
    # the tutorial's fit(visualize=False) as a learner flips it: no display, no notebook, no hang
    script = tmp_path / "visualize_fit.py"
    script.write_text(
        textwrap.dedent(
            """
            import cartpole_dqn
            from tensorflow.keras.optimizers import Adam
            env = cartpole_dqn.make_env('CartPole-v0')
            model = cartpole_dqn.build_model(4, 2)
            dqn = cartpole_dqn.build_agent(model, 2)
            dqn.compile(Adam(lr=1e-3), metrics=['mae'])
            # CartPole-v0 ends every episode by its 200th step, so 201 steps always finish one
            history = dqn.fit(env, nb_steps=201, visualize=True, verbose=0)
            print('frames', len(env.frames), 'steps', sum(history.history['nb_episode_steps']))
            """
        )
    )
    result = _run_headless(script, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "there is no notebook here to draw the cart in" in result.stderr
    assert int(result.stdout.split("steps")[-1]) > 0  # at least one episode played to its end
