"""The score summary, the fast greedy evaluator, and training with SolveMonitor (notebook 03)."""

from __future__ import annotations

import io
import time

import cartpole_dqn as cd
from cartpole_dqn.training import SolveMonitor

import numpy as np
import pytest


def test_summary_on_known_scores():
    result = cd.summarize([200, 190, 195, 200], threshold=195)
    assert result.mean == pytest.approx(196.25)
    assert result.std == pytest.approx(np.std([200, 190, 195, 200]))
    assert (result.min, result.max, result.episodes) == (190, 200, 4)
    assert result.solved
    assert "SOLVED" in str(result) and "196.2" in str(result)
    below = cd.summarize([194.9], threshold=195)
    assert not below.solved and "not solved" in str(below)
    assert not cd.summarize([500], threshold=None).solved  # no threshold: no verdict


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")]])
def test_summary_refuses_empty_or_nan(bad):
    with pytest.raises(ValueError):
        cd.summarize(bad)


def test_random_scores_are_reproducible():
    first, second = cd.random_scores(episodes=5, seed=3), cd.random_scores(episodes=5, seed=3)
    np.testing.assert_array_equal(first.scores, second.scores)
    assert first.threshold == 195.0 and first.mean < 100


def _shipped_agent():
    cd.reset_session(0)
    model = cd.build_model(4, 2)
    dqn = cd.compile_agent(cd.build_agent(model, 2))
    cd.load_weights(dqn)
    return dqn


def test_fast_evaluator_gives_the_same_scores_as_dqn_test():
    dqn = _shipped_agent()
    # a damaged copy of the solved agent, so that episodes end at different lengths
    weights = dqn.model.get_weights()
    rng = np.random.default_rng(0)
    for scale in (0.15, 0.3, 0.6, 1.0):
        dqn.model.set_weights([w + rng.normal(0, scale, w.shape).astype(w.dtype) for w in weights])
        if len(set(cd.evaluate(dqn, episodes=20, seed=0).scores)) > 3:
            break
    for seed in (0, 77):
        history = dqn.test(cd.make_env(seed=seed), nb_episodes=20, visualize=False, verbose=0)
        fast = cd.evaluate(dqn, episodes=20, seed=seed)
        np.testing.assert_array_equal(fast.scores, history.history["episode_reward"])
    assert len(set(fast.scores)) > 1


def test_fast_evaluator_takes_under_a_second_for_100_episodes():
    dqn = _shipped_agent()
    cd.evaluate(dqn, episodes=5)  # first call pays for imports
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = cd.evaluate(dqn, episodes=100, seed=1)
        timings.append(time.perf_counter() - started)
    assert result.mean == 200.0  # every episode runs the full 200 steps: the slowest case
    assert np.median(timings) < 1.0


def test_evaluator_refuses_a_network_for_another_environment():
    cd.reset_session(0)
    with pytest.raises(ValueError, match="takes 6 numbers per observation, but CartPole-v0 gives 4"):
        cd.evaluate(cd.build_model(6, 2), episodes=2)


def test_greedy_policy_matches_the_keras_model():
    dqn = _shipped_agent()
    policy = cd.greedy_policy(dqn)
    states = np.random.default_rng(1).uniform(-0.3, 0.3, (64, 4)).astype(np.float32)
    keras_actions = dqn.model.predict_on_batch(states[:, None, :]).argmax(axis=1)
    assert [policy(s) for s in states] == keras_actions.tolist()


def test_monitor_stops_training_once_solved():
    # a threshold any agent reaches: training must stop at the first evaluation
    run = cd.train(steps=5_000, seed=0, eval_every=100, eval_episodes=5, threshold=5.0, progress=False)
    assert run.solved and run.solved_at_step == 100 and run.steps == 100
    assert not run.interrupted and len(run.evaluations) == 1


def test_monitor_keeps_the_best_weights_when_training_ends_unsolved():
    import rl.callbacks

    class Collapse(rl.callbacks.Callback):
        """Wreck the network after step 250, as a diverging DQN would."""

        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_step_end(self, step, logs=None):
            self.steps += 1
            if self.steps == 250:
                self.model.model.set_weights([np.zeros_like(w) for w in self.model.model.get_weights()])

    cd.reset_session(2)
    env = cd.make_env(seed=2)
    model = cd.build_model(4, 2)
    dqn = cd.compile_agent(cd.build_agent(model, 2), learning_rate=1e-5)
    cd.load_weights(dqn)  # start from the solved, shipped agent
    out = io.StringIO()
    monitor = SolveMonitor(eval_every=100, eval_episodes=10, threshold=1e9, stream=out)  # never "solved"
    dqn.fit(env, nb_steps=400, visualize=False, verbose=0, callbacks=[monitor, Collapse()])
    means = dict(monitor.evaluations)
    assert monitor.solved_at_step is None and monitor.best_step in (100, 200)
    assert means[300] < monitor.best_mean and means[400] < monitor.best_mean
    assert monitor.restored_best
    for kept, now in zip(monitor.best_weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)  # the model holds the best weights seen again
    for kept, target in zip(monitor.best_weights, dqn.target_model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, target)
    assert "(those weights were put back)" in out.getvalue()


def test_monitor_progress_lines():
    out = io.StringIO()
    cd.reset_session(0)
    env = cd.make_env(seed=0)
    dqn = cd.compile_agent(cd.build_agent(cd.build_model(4, 2), 2))
    monitor = SolveMonitor(eval_every=100, eval_episodes=3, stop_when_solved=False, stream=out)
    dqn.fit(env, nb_steps=200, visualize=False, verbose=0, callbacks=[monitor])
    lines = out.getvalue().splitlines()
    assert [line.split("|")[0].strip() for line in lines[:2]] == [
        "[#####-----] step    100",
        "[##########] step    200",
    ]
    assert "greedy test mean" in lines[0] and lines[-1].startswith("Finished after 200 steps")
    assert [step for step, _ in monitor.evaluations] == [100, 200]
