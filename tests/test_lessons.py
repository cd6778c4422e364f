"""The lesson helpers: exercise checks, the DQN update by hand, and notebook 05's insight tools."""

from __future__ import annotations

import json
import math

import cartpole_dqn as cd
from cartpole_dqn import insight, lesson
from cartpole_dqn.checks import QUESTIONS, check

import numpy as np
import pytest

# --- exercise checks ---------------------------------------------------------------------------


def test_check_accepts_the_right_answer_and_explains(capsys):
    assert check("02.1", sum(0.99**k for k in range(200)))
    assert "right" in capsys.readouterr().out
    assert not check("02.1", 100.0)  # the value without a time limit: a hint, not a pass
    assert "not yet" in capsys.readouterr().out


def test_every_question_answer_is_what_its_formula_gives():
    expected = {
        "01.1": 9.5618,
        "01.2": 180.0,
        "02.1": 86.6020,
        "02.2": 2.9701,
        "03.1": 42.58,
        "03.2": 0.7311,
        "03.3": 3.3282,
        "04.1": 99.3430,
        "04.2": 0.6225,
        "05.1": 39.4994,
        "05.2": 100.0,
        "07.1": 497.0,
        "07.2": 0.0037779,
    }
    assert set(QUESTIONS) == set(expected)
    for key, value in expected.items():
        assert QUESTIONS[key].answer == pytest.approx(value, abs=1e-3), key


def test_check_rejects_unknown_questions_and_non_numbers():
    with pytest.raises(KeyError, match="no exercise"):
        check("09.9", 1.0)
    with pytest.raises(TypeError, match="as a number"):
        check("01.1", "nine")
    assert not check("01.1", math.nan)


# --- Boltzmann ---------------------------------------------------------------------------------


def test_boltzmann_probabilities_follow_keras_rl2s_policy():
    from rl.policy import BoltzmannQPolicy

    probabilities = lesson.boltzmann_probabilities([45.0, 46.0])
    assert probabilities[1] == pytest.approx(1 / (1 + math.exp(-1.0)))
    # keras-rl2's own draws land on "right" with that frequency
    np.random.seed(0)
    policy = BoltzmannQPolicy()
    draws = [policy.select_action(np.array([45.0, 46.0])) for _ in range(4000)]
    assert np.mean(draws) == pytest.approx(probabilities[1], abs=0.03)
    # huge Q-values are clipped like keras-rl2 does, not overflowed
    assert np.all(np.isfinite(lesson.boltzmann_probabilities([1e6, 1e6 + 1])))


# --- the DQN update by hand ---------------------------------------------------------------------


@pytest.fixture
def filled_agent():
    cd.reset_session(0)
    model = cd.build_model(4, 2)
    dqn = cd.compile_agent(cd.build_agent(model, 2))
    lesson.play_without_learning(dqn, cd.make_env(seed=5), steps=120)
    return dqn


def test_play_without_learning_fills_the_memory_and_learns_nothing(filled_agent):
    dqn = filled_agent
    assert dqn.memory.nb_entries > 120  # every step, plus one entry per episode end
    assert dqn.nb_steps_warmup == cd.agent.DEFAULT_WARMUP  # put back
    assert dqn.step == 120  # fit counted the steps; with a warm-up of 121 none of them trained
    with pytest.raises(ValueError, match="at least 40"):
        lesson.play_without_learning(dqn, cd.make_env(seed=5), steps=10)


def test_sample_batch_returns_real_transitions_with_an_episode_end_first(filled_agent):
    dqn = filled_agent
    batch = lesson.sample_batch(dqn, seed=3)  # the agent's batch size
    assert batch.states.shape == batch.next_states.shape == (dqn.batch_size, 1, 4)
    assert batch.dones[0] == 1.0 and set(np.unique(batch.dones)) <= {0.0, 1.0}
    memory = dqn.memory
    for i, index in enumerate(batch.indexes):  # observation j - 1 -> observation j, j = index + 1
        j = index + 1
        assert np.array_equal(batch.states[i, 0], memory.observations[j - 1])
        assert np.array_equal(batch.next_states[i, 0], memory.observations[j])
        assert batch.actions[i] == memory.actions[j - 1]
        assert batch.dones[i] == float(memory.terminals[j - 1])
        assert not memory.terminals[j - 2]  # never a jump from one episode into the next
    for i in np.flatnonzero(batch.dones == 0):  # within an episode the cart moves by one step
        assert np.abs(batch.next_states[i, 0, 0] - batch.states[i, 0, 0]) < 0.05


def test_update_by_hand_equals_keras_rl2s_backward(filled_agent):
    dqn = filled_agent
    assert dqn.train_interval > 1  # keras-rl2 trains only on steps that are multiples of train_interval
    batch = lesson.sample_batch(dqn, seed=1)
    by_hand = lesson.update_by_hand(dqn, batch)
    assert by_hand.targets[0] == pytest.approx(batch.rewards[0])  # done: no future
    assert np.all(by_hand.masks.sum(axis=1) == 1)
    before = [w.copy() for w in dqn.model.get_weights()]
    by_keras = lesson.keras_rl2_update(dqn, batch)
    assert list(by_keras) == ["loss", "mae", "mean_q"]
    assert [by_hand.loss, by_hand.mae, by_hand.mean_q] == pytest.approx(list(by_keras.values()), rel=1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(before, dqn.model.get_weights(), strict=True))  # it trained
    assert "sample" not in vars(dqn.memory)  # the pinned sampler is gone again


def test_the_hand_update_detects_a_wrong_target(filled_agent):
    """The comparison can fail: targets without the (1 - done) factor give another loss."""
    dqn = filled_agent
    batch = lesson.sample_batch(dqn, seed=1)
    wrong = lesson.Batch(batch.indexes, batch.states, batch.actions, batch.rewards, batch.next_states, batch.dones * 0)
    by_keras = lesson.keras_rl2_update(dqn, batch)
    assert lesson.update_by_hand(dqn, wrong).loss != pytest.approx(by_keras["loss"], rel=1e-5)


# --- notebook 05 ---------------------------------------------------------------------------------


def test_returns_to_go_and_the_ceiling():
    assert insight.discounted_ceiling(0.99, 200) == pytest.approx(86.602, abs=1e-3)
    assert insight.discounted_ceiling(0.99, 1) == 1.0
    to_go = insight.returns_to_go(np.ones(200), 0.99)
    assert to_go[0] == pytest.approx(86.602, abs=1e-3) and to_go[-1] == 1.0
    assert to_go[150] == pytest.approx(QUESTIONS["05.1"].answer)


def test_play_scores_like_the_packages_evaluator():
    q = cd.load_q_network()
    runs = insight.play(q, "CartPole-v0", seeds=range(10, 30))
    reference = cd.evaluate(_shipped_model(), "CartPole-v0", episodes=20, seed=10)
    assert np.array_equal(runs.lengths, reference.scores)
    assert all(len(o) == len(v) == n for o, v, n in zip(runs.observations, runs.q_values, runs.lengths, strict=True))


def _shipped_model():
    cd.reset_session()
    model = cd.build_model(4, 2)
    cd.load_weights(model, cd.SHIPPED_WEIGHTS)
    return model


def test_numpy_q_values_equal_keras():
    model = _shipped_model()
    states = np.random.default_rng(0).uniform(-0.2, 0.2, size=(50, 1, 4)).astype(np.float32)
    assert np.allclose(cd.greedy_policy(model).batch_q_values(states), model.predict_on_batch(states), atol=1e-5)


def test_hand_rule_balances_and_policy_maps_line_up():
    runs = insight.play(insight.hand_rule, "CartPole-v0", seeds=range(5))
    assert list(runs.lengths) == [200] * 5 and not runs.terminated.any()
    q = cd.load_q_network()
    xs, ys, actions = insight.policy_map(q, n=11)
    states = insight.map_states(n=11)
    assert actions.shape == (11, 11)
    assert np.array_equal(actions.ravel(), q.batch_actions(states))
    assert states[12, 2] == pytest.approx(xs[1]) and states[12, 3] == pytest.approx(ys[1])
    with pytest.raises(ValueError, match="two different"):
        insight.policy_map(q, 2, 2)


def test_learning_curves_file_is_read_and_a_missing_one_explained(tmp_path):
    curves = insight.read_learning_curves(cd.settings.PROJECT_ROOT / "notebooks" / "data" / "learning_curves.json")
    assert len(curves["seeds"]) >= 3
    assert all(points[-1][0] == curves["steps"] for points in curves["seeds"].values())
    recorded = json.loads((cd.settings.PROJECT_ROOT / "notebooks" / "data" / "learning_curves.json").read_text())
    assert recorded["recipe"] == cd.agent.describe_recipe(**cd.agent.SHIPPED_RECIPE)  # what learning_curves.py trains
    with pytest.raises(FileNotFoundError, match="learning_curves.py"):
        insight.read_learning_curves(tmp_path / "nope.json")


def test_finished_episodes_reads_every_finished_episode_back_out_of_the_memory(filled_agent):
    dqn = filled_agent
    episodes = lesson.finished_episodes(dqn)
    assert len(episodes) == sum(dqn.memory.terminals[i] for i in range(dqn.memory.nb_entries)) >= 2
    steps = sum(len(e) - 1 for e in episodes)  # each holds its steps' states plus the final state
    assert steps <= 120 and dqn.memory.nb_entries == steps + len(episodes) + (120 - steps)
    for e in episodes:  # random play ends by a fall: the final state is outside CartPole's bounds
        assert e.shape[1] == 4
        assert abs(e[-1, 0]) > 2.4 or abs(e[-1, 2]) > 0.2095
        assert np.all(np.abs(np.diff(e[:, 0])) < 0.05)  # one episode: the cart moves a little each step
    assert np.array_equal(episodes[1][0], dqn.memory.observations[len(episodes[0])])  # the entry after the final state


def test_the_loop_diagram_says_how_often_the_target_network_moves():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = lesson.draw_dqn_loop(train_interval=4, target_model_update=0.2)
    alt = getattr(ax.figure, cd.media.ALT_ATTRIBUTE)
    assert "every 4 environment steps" in alt and "after each training step: target ← 0.8·target" in alt, alt
    texts = ["".join(t.get_text() for t in ax.texts)]
    texts.append("".join(t.get_text() for t in lesson.draw_dqn_loop(train_interval=1, target_model_update=1e-2).texts))
    texts.append(
        "".join(t.get_text() for t in lesson.draw_dqn_loop(train_interval=1, target_model_update=10_000).texts)
    )
    plt.close("all")
    assert "every 4 steps" in texts[0] and "after each training step:\ntarget ← 0.8·target + 0.2·online" in texts[0]
    assert "every step" in texts[1] and "0.99·target + 0.01·online" in texts[1]
    assert "copied every 10,000 steps" in texts[2]


# --- notebook 03's Q-table --------------------------------------------------------------------


def notebook_03_table():
    from jupyter_kernel import code_cells, index_of

    sources = code_cells("03_training.ipynb")
    namespace: dict = {"np": np, "cd": cd, "SEED": 0, "gamma": 0.99}
    exec(sources[index_of(sources, "def make_grid")], namespace)
    exec(sources[index_of(sources, "def q_learning")], namespace)
    return namespace


def test_notebook_03s_q_table_learns_on_two_numbers_and_counts_its_visits():
    nb = notebook_03_table()
    grid = nb["make_grid"]([2, 3])
    table, visits = nb["q_learning"](grid, episodes=300)
    assert table.shape == (6, 6, 2) and visits.shape == (6, 6)
    policy = lambda states: [int(np.argmax(table[nb["grid_cell"](s, grid)])) for s in states]  # noqa: E731
    played = insight.play(policy, "CartPole-v0", seeds=range(2024, 2044))
    assert played.lengths.mean() > 100  # a random agent lasts about 22 steps
    assert np.all(table[visits == 0] == 0)  # a cell never acted in learns nothing
    assert nb["make_grid"]([0, 1, 2, 3], bins=6)[0].shape == (5,)  # 5 inner edges: 6 bins
    assert nb["grid_cell"](np.array([0.0, 0.0, 0.5, -5.0]), grid) == (5, 0)  # beyond the limits: the outer bins


def test_time_limits_file_is_read_tabled_and_a_missing_one_explained(tmp_path):
    record = insight.read_time_limits(cd.settings.PROJECT_ROOT / "notebooks" / "data" / "time_limits.json")
    assert len(record["seeds"]) >= 20 and record["ceiling"] == pytest.approx(86.6, abs=0.01)
    rows = insight.time_limit_table(record)
    assert len(rows) == len(record["budgets"]) * len(record["arms"])
    for row in rows:
        assert row["seeds"] == len(record["seeds"])
        mean, low, high = row["q_start"]
        assert low <= mean <= high
    # today's arm, seed 0, at 1,000 steps is the shipped agent's training: same Q at the start
    shipped = insight.play(insight.load_q_network(), "CartPole-v0", seeds=range(record["test_episodes"]))
    seed_0 = record["results"]["1000"]["time-out = fall"]["0"]
    assert np.mean([values[0].max() for values in shipped.q_values]) == pytest.approx(seed_0["q_start"], abs=1e-3)
    with pytest.raises(FileNotFoundError, match="time_limit_experiment.py"):
        insight.read_time_limits(tmp_path / "nope.json")
