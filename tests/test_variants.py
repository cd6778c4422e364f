"""Every keras-rl2 discrete agent and option (issue 8): trains, saves/reloads exactly, works with the series' tools.

Tiny budgets: each variant is built and trained once (a parametrized module fixture) and shared by its tests.
Whether each one *solves* CartPole is measured by ``scripts/bench_variants.py``, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import cartpole_dqn as cd
from cartpole_dqn import compat_agents, variants

import numpy as np
import pytest
import tensorflow as tf
from rl.agents import DQNAgent, SARSAAgent
from rl.memory import SequentialMemory
from tensorflow.keras.optimizers import SGD, Adam, AdamW, RMSprop

STEPS = 120  # training steps per variant: enough for many updates after the warm-up of 10
#: CEM at a tiny budget: an update of its weight distribution every 4 episodes, from the 20th step on
CEM_SMALL = {"batch_size": 4, "train_interval": 4, "elite_frac": 0.5, "nb_steps_warmup": 20}
OBSERVATIONS = np.random.default_rng(0).normal(size=(64, 1, 4)).astype(np.float32)


def _build(name: str):
    return variants.build_variant(name, 4, 2, **(CEM_SMALL if name == "cem" else {}))


@dataclass
class Trained:
    name: str
    agent: object
    model: object
    before: list  # the weights before training
    after: list  # and after


@pytest.fixture(scope="module", params=variants.VARIANTS)
def trained(request) -> Trained:
    """One variant, trained STEPS steps in a session of its own.

    Module scope with parameters: pytest runs the tests of one variant together, so each variant
    is trained once, and each in a small graph (one graph holding every variant made each later
    graph operation several times slower).
    """
    name = request.param
    cd.reset_session(0)
    agent, model = _build(name)
    before = [w.copy() for w in model.get_weights()]
    agent.fit(cd.make_env(seed=1), nb_steps=STEPS if name != "cem" else 600, visualize=False, verbose=0)
    return Trained(name, agent, model, before, model.get_weights())


def test_variant_trains(trained):
    if trained.name == "cem":
        # CEM has no gradient steps: it updates a distribution over weight vectors (theta, its means
        # then its spreads) and ends fit holding the best episode's weights, which may be the first
        agent = trained.agent
        assert not np.allclose(agent.theta[agent.num_weights :], 1.0)  # the spreads moved off their start
        assert agent.best_seen[0] > -np.inf
        np.testing.assert_array_equal(np.concatenate([w.ravel() for w in trained.after]), agent.best_seen[1])
        return
    changed = [not np.array_equal(b, a) for b, a in zip(trained.before, trained.after, strict=True)]
    assert all(changed), f"{trained.name}: some layers did not change: {changed}"


def test_variant_save_and_reload_is_exact(trained, tmp_path):
    name, agent, model = trained.name, trained.agent, trained.model
    path = str(tmp_path / f"{name}.h5f")
    agent.save_weights(path, overwrite=True)
    fresh, fresh_model = _build(name)  # new random weights
    assert not np.array_equal(fresh_model.predict(OBSERVATIONS, verbose=0), model.predict(OBSERVATIONS, verbose=0))
    fresh.load_weights(path)
    for saved, loaded in zip(model.get_weights(), fresh_model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, loaded)
    np.testing.assert_array_equal(fresh_model.predict(OBSERVATIONS, verbose=0), model.predict(OBSERVATIONS, verbose=0))
    if hasattr(fresh, "target_model"):  # DQN: load_weights also resets the target network
        for a, b in zip(fresh.target_model.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_fast_evaluator_plays_like_agent_test(trained):
    agent, model = trained.agent, trained.model
    # the fast evaluator's network is exactly the Keras model (incl. the dueling head)
    np.testing.assert_allclose(
        cd.greedy_policy(model).batch_q_values(OBSERVATIONS),
        model.predict(OBSERVATIONS, verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )
    history = agent.test(cd.make_env(seed=123), nb_episodes=3, visualize=False, verbose=0)
    fast = cd.evaluate(agent, episodes=3, seed=123)
    assert list(fast.scores) == history.history["episode_reward"]


@pytest.mark.parametrize("name", ["dqn", "dueling-max", "sarsa", "cem"])
def test_solve_monitor_stops_each_kind_of_agent(name):
    # a threshold every agent reaches: the monitor must evaluate this agent's network and stop fit
    cd.reset_session(2)
    agent, _ = _build(name)
    monitor = cd.SolveMonitor(eval_every=25, eval_episodes=3, threshold=1.0, progress=False)
    agent.fit(cd.make_env(seed=2), nb_steps=1_000, visualize=False, verbose=0, callbacks=[monitor])
    assert monitor.solved_at_step == 25
    assert monitor.steps == 25
    assert not monitor.interrupted


@pytest.mark.parametrize("name", ["sarsa", "cem"])
def test_solve_monitor_restores_best_weights_without_a_target_network(name):
    # SARSA and CEM have no target network: restoring the best weights must not need one
    cd.reset_session(3)
    agent, model = _build(name)
    best = [np.full_like(w, 0.5) for w in model.get_weights()]
    monitor = cd.SolveMonitor(threshold=1e9, eval_episodes=2, progress=False)
    monitor.set_model(agent)
    monitor.on_train_begin()
    monitor.best.weights, monitor.best.mean = best, np.inf
    monitor.on_train_end({})
    assert monitor.restored_best
    for a, b in zip(model.get_weights(), best, strict=True):
        np.testing.assert_array_equal(a, b)


def test_run_variant_reports_a_solved_run():
    run = variants.run_variant("dqn", seed=0, max_steps=200, eval_every=100, eval_episodes=3, threshold=1.0)
    assert run.solved and run.solved_at_step == 100 and run.steps == 100
    assert run.seconds > 0 and run.best_mean >= 1.0
    rows = variants.summary_rows([run])
    assert rows[0]["variant"] == "dqn" and rows[0]["solved"] == "1/1" and rows[0]["median steps"] == 100


def test_unknown_variant_and_dueling_type_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown variant 'dueling'"):
        variants.build_variant("dueling", 4, 2)
    cd.reset_session(0)
    with pytest.raises(ValueError, match="dueling_type must be one of"):
        DQNAgent(
            model=cd.build_model(4, 2),
            nb_actions=2,
            memory=SequentialMemory(limit=10, window_length=1),
            enable_dueling_network=True,
            dueling_type="mean",
        )


# --- the learning rate a learner writes is the one that trains (compat item 9) ----------------


def _dqn(optimizer, target_model_update=1e-2):
    agent = DQNAgent(
        model=cd.build_model(4, 2),
        nb_actions=2,
        memory=SequentialMemory(limit=100, window_length=1),
        nb_steps_warmup=10,
        target_model_update=target_model_update,
    )
    agent.compile(optimizer, metrics=["mae"])
    return agent


def _learning_rate_in_use(agent) -> float:
    """The learning rate variable of the optimizer the training model ran with, read from the TF session.

    The agent trains a few steps first: the optimizer creates (and initialises) that variable
    when the first training step is built.
    """
    agent.fit(cd.make_env(seed=0), nb_steps=agent.nb_steps_warmup + 5, visualize=False, verbose=0)
    optimizer = agent.trainable_model.optimizer
    optimizer = getattr(optimizer, "optimizer", optimizer)  # keras-rl2's AdditionalUpdatesOptimizer wraps it
    assert "legacy" in type(optimizer).__module__
    return float(tf.compat.v1.keras.backend.get_session().run(optimizer._get_hyper("learning_rate")))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Adam(lr=0.0123), 0.0123),  # the tutorial's spelling
        (lambda: Adam(learning_rate=0.0045), 0.0045),
        (lambda: Adam(0.0067), 0.0067),
        (lambda: RMSprop(lr=0.0021), 0.0021),
        (lambda: SGD(lr=0.05, momentum=0.9), 0.05),
        (lambda: "adam", 0.001),
    ],
)
def test_optimizer_a_learner_writes_trains_with_its_learning_rate(make, expected):
    cd.reset_session(0)
    agent = _dqn(make())  # soft target updates: keras-rl2 wraps the optimizer
    assert _learning_rate_in_use(agent) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("make", "expected"), [(lambda: Adam(lr=0.0123), 0.0123), (lambda: "adam", 0.001)])
def test_the_learning_rate_holds_with_hard_updates_and_for_sarsa(make, expected):
    # compat converts the optimizer where each agent's compile starts, before any wrapping, so the
    # spellings above need not be repeated on every path: two of them on the other two
    cd.reset_session(0)
    agent = _dqn(make(), target_model_update=100)  # hard target updates: the optimizer unwrapped
    assert _learning_rate_in_use(agent) == pytest.approx(expected, rel=1e-6)
    sarsa = SARSAAgent(model=cd.build_model(4, 2), nb_actions=2)
    sarsa.compile(make(), metrics=["mae"])
    assert _learning_rate_in_use(sarsa) == pytest.approx(expected, rel=1e-6)


def test_other_optimizer_settings_carry_over():
    cd.reset_session(0)
    agent = _dqn(SGD(lr=0.05, momentum=0.9, nesterov=True, clipnorm=1.0))
    assert _learning_rate_in_use(agent) == pytest.approx(0.05)
    optimizer = agent.trainable_model.optimizer.optimizer
    session = tf.compat.v1.keras.backend.get_session()
    assert session.run(optimizer._get_hyper("momentum")) == pytest.approx(0.9)
    assert optimizer.nesterov is True and optimizer.clipnorm == 1.0


def test_sgd_step_size_scales_with_the_learning_rate_given():
    # the strongest check: one SGD update with lr= a and with 2a from the same weights moves them 1:2
    cd.reset_session(0)
    rng = np.random.default_rng(0)
    states, targets = rng.normal(size=(32, 1, 4)), rng.normal(size=(32, 2))
    masks = np.zeros((32, 2), dtype=np.float32)
    masks[np.arange(32), rng.integers(0, 2, 32)] = 1.0
    deltas = []
    initial = None
    for lr in (0.01, 0.02):
        agent = _dqn(SGD(lr=lr), target_model_update=100)
        initial = initial or agent.model.get_weights()
        agent.model.set_weights(initial)
        agent.trainable_model.train_on_batch([states, targets, masks], [np.zeros(32), targets])
        deltas.append(
            np.concatenate([(a - b).ravel() for a, b in zip(agent.model.get_weights(), initial, strict=True)])
        )
    assert np.abs(deltas[0]).max() > 0
    np.testing.assert_allclose(deltas[1], 2 * deltas[0], rtol=1e-3, atol=1e-7)


def test_optimizer_settings_without_legacy_equivalent_are_clear_errors():
    with pytest.raises(TypeError, match="learning rate twice"):
        Adam(0.1, lr=0.2)
    with pytest.raises(ValueError, match="weight_decay=0.1.*Leave weight_decay out"):
        compat_agents.legacy_optimizer(Adam(weight_decay=0.1))
    with pytest.raises(ValueError, match="AdamW has none"):
        compat_agents.legacy_optimizer(AdamW())
    legacy = tf.keras.optimizers.legacy.Adam(learning_rate=0.5)
    assert compat_agents.legacy_optimizer(legacy) is legacy


def test_dueling_head_names_cannot_clash_with_the_series_model():
    # the series names its layers dense_1/dense_2; an automatically named "dense_1" head would clash
    cd.reset_session(0)
    tf.keras.layers.Dense(1)  # takes the automatic name "dense"; the next unnamed Dense would be "dense_1"
    agent, model = _build("dueling-avg")
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names)) and "dense_1" in names


def test_cem_sampling_does_not_overflow_on_large_outputs():
    # keras-rl2 samples with exp(s) / sum(exp(s)): outputs near 1,000 gave "probabilities contain NaN"
    from rl.agents import CEMAgent
    from rl.memory import EpisodeParameterMemory

    cd.reset_session(0)
    model = cd.build_model(4, 2)
    agent = CEMAgent(model=model, nb_actions=2, memory=EpisodeParameterMemory(limit=10, window_length=1))
    agent.compile()
    weights = model.get_weights()
    weights[-1] = np.array([1000.0, 0.0], dtype=np.float32)  # the output bias
    weights[-2] = np.zeros_like(weights[-2])
    model.set_weights(weights)
    agent.training = True
    state = np.zeros((1, 4), dtype=np.float32)
    assert {agent.select_action(state) for _ in range(20)} == {0}  # softmax puts all the probability on 0
    agent.training = False
    assert agent.select_action(state) == 0  # the greedy path is keras-rl2's own
