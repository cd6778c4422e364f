"""The score summary, the fast greedy evaluator, and training with SolveMonitor (notebook 03)."""

from __future__ import annotations

import io

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


def _damaged_policy() -> cd.Controller:
    """The shipped agent with noise added: episodes of various lengths (the shipped one always plays 200)."""
    shipped = cd.load_controller()
    rng = np.random.default_rng(0)
    for scale in (0.3, 0.6, 1.0, 2.0):
        policy = cd.Controller(tuple((k + rng.normal(0, scale, k.shape), b, a) for k, b, a in shipped.layers))
        if len(set(cd.evaluate(policy, episodes=10, seed=4).scores)) > 3:
            return policy
    raise AssertionError("no damaged copy of the shipped agent plays episodes of different lengths")


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
        history = dqn.test(cd.make_env(seed=seed), nb_episodes=10, visualize=False, verbose=0)
        fast = cd.evaluate(dqn, episodes=10, seed=seed)
        np.testing.assert_array_equal(fast.scores, history.history["episode_reward"])
    assert len(set(fast.scores)) > 1


def test_shipped_agent_plays_every_evaluation_episode_to_the_time_limit():
    # (how long 100 episodes take is measured by scripts/bench_solve.py, not asserted here)
    result = cd.evaluate(cd.load_controller(), episodes=100, seed=1)
    assert result.mean == 200.0 and result.episodes == 100


def test_evaluate_accepts_a_policy_a_weights_path_and_a_keras_model_alike():
    dqn = _shipped_agent()
    controller = cd.load_controller()
    expected = cd.evaluate(dqn, episodes=5, seed=3).scores
    for source in (dqn.model, controller, str(controller.source)):
        np.testing.assert_array_equal(cd.evaluate(source, episodes=5, seed=3).scores, expected)


def test_evaluate_streams_large_counts_in_batches_with_the_same_scores(monkeypatch):
    from cartpole_dqn import evaluation

    policy = _damaged_policy()
    at_once = cd.evaluate(policy, episodes=10, seed=4).scores
    assert len(set(at_once)) > 1  # episodes of different lengths: an off-by-one in seeds would show
    made = []
    original = evaluation.make_gymnasium_env

    def counting(*args, **kwargs):
        made.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluation, "EVAL_BATCH", 3)
    monkeypatch.setattr(evaluation, "make_gymnasium_env", counting)
    np.testing.assert_array_equal(cd.evaluate(policy, episodes=10, seed=4).scores, at_once)
    assert len(made) == 1 + 3  # one to read the spec, then one batch of 3 environments, reused


def test_evaluate_takes_a_deeper_or_wider_network():
    cd.reset_session(0)
    from tensorflow.keras.layers import Dense, Flatten
    from tensorflow.keras.models import Sequential

    model = Sequential([Flatten(input_shape=(1, 4))] + [Dense(n, activation="tanh") for n in (16, 32, 8)] + [Dense(2)])
    result = cd.evaluate(model, episodes=3)
    actions = model.predict_on_batch(np.zeros((1, 1, 4), dtype=np.float32)).argmax()
    assert result.episodes == 3 and cd.greedy_policy(model)(np.zeros(4)) == actions


def test_evaluate_refuses_a_network_with_other_actions():
    # Gymnasium's own message would be an AssertionError about an invalid action, deep in step()
    cd.reset_session(0)
    with pytest.raises(ValueError, match="chooses among 3 actions, but CartPole-v0 gives 4 and has 2"):
        cd.evaluate(cd.build_model(4, 3), episodes=2)


def test_max_steps_cuts_episodes_short():
    assert cd.evaluate(cd.load_controller(), episodes=3, max_steps=50).scores.tolist() == [50.0] * 3


def test_evaluator_refuses_a_network_for_another_environment():
    cd.reset_session(0)
    with pytest.raises(
        ValueError, match="takes 6 numbers per observation and chooses among 2 actions, but CartPole-v0 gives 4 and"
    ):
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


@pytest.mark.parametrize("restore_best", [True, False])
def test_monitor_keeps_the_best_weights_when_training_ends_unsolved(restore_best):
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
    monitor = SolveMonitor(
        eval_every=100, eval_episodes=10, threshold=1e9, stream=out, restore_best=restore_best
    )  # never "solved"
    dqn.fit(env, nb_steps=400, visualize=False, verbose=0, callbacks=[monitor, Collapse()])
    means = dict(monitor.evaluations)
    assert monitor.solved_at_step is None and monitor.best_step in (100, 200)
    assert means[300] < monitor.best_mean and means[400] < monitor.best_mean
    if not restore_best:  # the tutorial exactly: the final (collapsed) weights stay
        assert not monitor.restored_best and "restore_best=False" in out.getvalue()
        assert cd.evaluate(model, episodes=10, seed=monitor.eval_seed).mean == means[400]
        return
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
    assert lines[0].endswith("on 3 episodes") and lines[-1].startswith("Finished after 200 steps")
    assert [step for step, _ in monitor.evaluations] == [100, 200]


def _check(mean, confirmation=None):
    from cartpole_dqn.training import Check

    return Check(4_500, mean, 100, 195.0, confirmation, 0 if confirmation is None else 200)


def test_progress_line_says_what_was_checked_and_why_training_goes_on():
    from cartpole_dqn.training import progress_line

    def line(check, stopping=True):
        return progress_line(check, 12.0, [150.0] * 12, "[#---------]", stopping).split(" | ")[-1]

    assert line(_check(182.3)) == "greedy mean  182.3 on 100 episodes"
    assert line(_check(196.2, 191.4)) == (
        "greedy mean  196.2 on 100 episodes ≥ 195 → confirmation on 200 new episodes: 191.4, not yet"
    )
    assert line(_check(196.2, 197.0)).endswith("confirmation on 200 new episodes: 197.0, solved")
    assert line(_check(196.2, 197.0), stopping=False).endswith("solved (training goes on: stop_when_solved=False)")


def test_confirmation_plays_new_episodes_and_gates_solved():
    from cartpole_dqn.training import CONFIRMATION_SEED_OFFSET, check_greedy

    policy = _damaged_policy()
    first = cd.evaluate(policy, episodes=10, seed=50).mean
    confirmation = cd.evaluate(policy, episodes=20, seed=50 + CONFIRMATION_SEED_OFFSET).mean
    below = check_greedy(policy, cd.DEFAULT_ENV_ID, 10, 50, first + 1, step=7)
    assert (below.mean, below.confirmation_mean, below.reached, below.solved) == (first, None, False, False)
    bar = min(first, confirmation)
    met = check_greedy(policy, cd.DEFAULT_ENV_ID, 10, 50, bar, step=7)
    assert (met.confirmation_mean, met.confirmation_episodes, met.solved) == (confirmation, 20, True)
    if confirmation < first:  # reached on the first set, not on the new one
        assert not check_greedy(policy, cd.DEFAULT_ENV_ID, 10, 50, first, step=7).solved


def test_train_passes_restore_best_to_the_monitor(monkeypatch):
    from cartpole_dqn import training

    made = []

    class Recorded(SolveMonitor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(training, "SolveMonitor", Recorded)
    run = cd.train(steps=100, seed=0, eval_every=100, eval_episodes=3, progress=False, restore_best=False)
    assert run.steps == 100 and [monitor.restore_best for monitor in made] == [False]


def test_cli_evaluate_reads_the_weights_once_and_builds_no_keras_model(monkeypatch, capsys):
    from cartpole_dqn import cli, model, weights

    reads = []
    original = weights.read_weights

    def counted(path=None):
        reads.append(path)
        return original(path)

    def no_keras(*args, **kwargs):
        raise AssertionError("cli evaluate built a Keras model")

    monkeypatch.setattr(weights, "read_weights", counted)
    monkeypatch.setattr(model, "build_model", no_keras)
    assert cli.main(["evaluate", "--episodes", "3", "--seed", "5"]) == 0
    assert len(reads) == 1
    printed = capsys.readouterr().out
    assert "3 episodes: mean 200.0" in printed


def test_cli_play_scores_match_the_rollout_of_the_same_seeds(capsys):
    from cartpole_dqn import cli
    from cartpole_dqn.envs import play_episode

    assert cli.main(["play", "--random", "--episodes", "3", "--seed", "11"]) == 0
    printed = capsys.readouterr().out
    expected = [play_episode(None, seed=11 + k) for k in range(3)]
    assert [f"episode {k + 1}: score {score:g}" in printed for k, score in enumerate(expected)] == [True] * 3
    assert cd.random_scores(episodes=3, seed=11).scores.tolist() == expected  # one random baseline
