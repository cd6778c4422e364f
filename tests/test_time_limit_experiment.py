"""scripts/time_limit_experiment.py: its replay memory, and its two arms at a tiny budget (notebook 05)."""

import random

import numpy as np
import pytest
from cli_helpers import load_script
from rl.memory import SequentialMemory


@pytest.fixture(scope="module")
def experiment():
    return load_script("scripts/time_limit_experiment.py")


def fill(memory, note, episodes):
    """Append transitions in the order keras-rl2's fit does: each step, then the last state with terminal=False.

    ``episodes`` is a list of (length, ending) with ending "fall" or "time-out". Observation k is [k, episode].
    """
    for e, (length, ending) in enumerate(episodes):
        for t in range(length):
            last = t == length - 1
            info = {"TimeLimit.truncated": last and ending == "time-out"}
            note.process_step(None, 1.0, last, info)
            memory.append(np.array([t, e], dtype=float), t % 2, 1.0, last)
        memory.append(np.array([length, e], dtype=float), 0, 0.0, False)  # fit's extra forward/backward at done


EPISODES = [(7, "fall"), (5, "time-out"), (9, "fall"), (5, "time-out"), (6, "fall")]


def test_without_bootstrap_the_memory_samples_exactly_what_keras_rl2s_does(experiment):
    note = experiment.NoteTimeOuts()
    ours, theirs = experiment.TimeOutMemory(100, note, bootstrap=False), SequentialMemory(limit=100, window_length=1)
    fill(ours, note, EPISODES)
    fill(theirs, experiment.NoteTimeOuts(), EPISODES)
    for draw in range(5):
        random.seed(draw)
        mine = ours.sample(16)
        random.seed(draw)
        reference = theirs.sample(16)
        for a, b in zip(mine, reference, strict=True):
            assert np.array_equal(a.state0, b.state0) and np.array_equal(a.state1, b.state1)
            assert (a.action, a.reward, a.terminal1) == (b.action, b.reward, b.terminal1)


def test_with_bootstrap_a_time_out_is_not_terminal_and_a_fall_still_is(experiment):
    note = experiment.NoteTimeOuts()
    memory = experiment.TimeOutMemory(100, note, bootstrap=True)
    fill(memory, note, EPISODES)
    assert sum(memory.time_outs) == 2
    random.seed(0)
    seen = memory.sample(len(memory.observations) - 2)  # all transitions, without replacement
    lengths = dict(enumerate(length for length, _ in EPISODES))
    ends = {}
    for e in seen:
        (t0, ep0), (t1, ep1) = e.state0[0], e.state1[0]
        assert ep0 == ep1 and t1 == t0 + 1  # never a step from one episode into the next
        if t1 == lengths[ep0]:
            ends[int(ep0)] = e.terminal1
        else:
            assert not e.terminal1
    assert ends == {0: True, 1: False, 2: True, 3: False, 4: True}  # falls terminal, time-outs bootstrap


def test_two_arms_at_a_tiny_budget_are_the_same_network_when_no_time_out_was_stored(experiment):
    # 40 steps cannot hold a 200-step episode, so no time-out is stored and the two arms must agree exactly
    record = experiment.run([3], [20, 40], episodes=3)
    assert record["ceiling"] == pytest.approx(86.6, abs=0.01)
    assert record["budgets"] == [20, 40]
    for budget in ("20", "40"):
        fall, not_fall = (record["results"][budget][arm]["3"] for arm in experiment.ARMS)
        assert fall["time_outs_stored"] == not_fall["time_outs_stored"] == 0
        assert fall == not_fall
    assert record["results"]["20"]["time-out = fall"]["3"] != record["results"]["40"]["time-out = fall"]["3"]
