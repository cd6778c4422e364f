"""Several trainings in one process: each stays usable and saveable (issue 18, broken promise 10)."""

from __future__ import annotations

import cartpole_dqn as cd

import numpy as np


def _train(seed: int):
    return cd.train(steps=300, seed=seed, stop_when_solved=False, restore_best=False, progress=False)


def test_a_second_training_leaves_the_first_usable_and_saveable(tmp_path):
    first = _train(1)
    with cd.session_of(first.dqn):
        before = first.model.get_weights()
    scores = cd.evaluate(first.dqn, episodes=3, seed=0).scores
    second = _train(2)
    # the first run: evaluated, saved, and its keras-rl2 methods, all as before the second training
    assert np.array_equal(cd.evaluate(first.dqn, episodes=3, seed=0).scores, scores)
    saved = cd.save_weights(first.dqn, tmp_path / "first.h5f")
    with cd.session_of(first.dqn):
        assert all(np.array_equal(a, b) for a, b in zip(first.model.get_weights(), before, strict=True))
        first.dqn.test(cd.make_env(seed=0), nb_episodes=1, visualize=False, verbose=0)
    # what was saved is the first run's network, loaded into a fresh model
    fresh = cd.build_model(4, 2)
    cd.load_weights(fresh, saved)
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), before, strict=True))
    # and the second run works too
    cd.save_weights(second.dqn, tmp_path / "second.h5f")
    assert not np.array_equal(second.model.get_weights()[0], before[0])
