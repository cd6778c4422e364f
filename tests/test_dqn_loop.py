"""Notebook 07's loop written out computes what keras-rl2's fit computes (its own cells, at a small N)."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import load_script

STEPS = 120  # enough for keras-rl2 to make some of its extra updates at episode ends (asserted below)


def _load():
    return load_script("scripts/dqn_loop.py").load(proof=True)


@pytest.fixture(scope="module")
def nb():
    return _load()


def _replayed(nb, library, **options):
    online, target = nb["make_networks"]()
    online.set_weights(library["initial"])
    target.set_weights(library["initial"])
    run = nb["run_dqn"](
        online,
        target,
        0,
        STEPS,
        check_every=None,
        act=nb["replay_actions"](library["actions"]),
        sample=nb["replay_batches"](library["batches"]),
        **options,
    )
    return online, target, run


def test_the_loop_written_out_ends_with_keras_rl2s_weights_bit_for_bit(nb):
    library = nb["record_keras_rl2"](0, STEPS)
    online, target, run = _replayed(nb, library, like_keras_rl2=True)
    dqn = library["dqn"]
    assert run["updates"] == len(library["batches"]) > 0
    assert nb["same_bits"](online.get_weights(), dqn.model.get_weights())
    assert nb["same_bits"](target.get_weights(), dqn.target_model.get_weights())
    assert not nb["same_bits"](online.get_weights(), library["initial"])  # it did learn something
    regular = sum(1 for step in range(STEPS) if step > nb["WARMUP"] and step % nb["TRAIN_INTERVAL"] == 0)
    assert len(library["batches"]) > regular  # keras-rl2's extra updates at episode ends exist at this N


def test_without_the_extra_updates_or_with_a_wrong_target_the_proof_fails(nb):
    library = nb["record_keras_rl2"](0, STEPS)
    online, _, run = _replayed(nb, library, like_keras_rl2=False)
    assert run["updates"] < len(library["batches"])
    assert not nb["same_bits"](online.get_weights(), library["dqn"].model.get_weights())
    gamma = nb["GAMMA"]
    try:
        nb["GAMMA"] = 0.98  # train_step reads the notebook's GAMMA: one wrong number must show
        online, _, _ = _replayed(nb, library, like_keras_rl2=True)
    finally:
        nb["GAMMA"] = gamma
    assert not nb["same_bits"](online.get_weights(), library["dqn"].model.get_weights())


def test_the_memory_check_refuses_a_transition_it_does_not_hold(nb):
    memory = nb["ReplayMemory"](10)
    memory.add(np.zeros(4), 0, 1.0, np.ones(4), 0.0)

    class Transition:
        state0, action, reward, state1, terminal1 = [np.zeros(4)], 1, 1.0, [np.ones(4)], False

    with pytest.raises(AssertionError, match="does not hold"):
        nb["find_row"](memory, Transition())


def test_the_loop_learns_on_its_own(nb):
    nb["cd"].agent.reset_session(3)
    online, target = nb["make_networks"]()
    before = online.get_weights()
    run = nb["run_dqn"](online, target, 3, 300, check_every=None)
    assert run["updates"] == sum(1 for step in range(300) if step > nb["WARMUP"] and step % nb["TRAIN_INTERVAL"] == 0)
    assert len(run["scores"]) >= 1 and all(score >= 1 for score in run["scores"])
    assert not nb["same_bits"](online.get_weights(), before)
