"""One-line answer checks for the lessons' exercises: ``cd.check("03.2", 0.73)``.

Each question of the form "compute this number" has an entry here with the right value, how
close an answer must be, a hint for a wrong answer and the reasoning for a right one. The
values are derived, not typed in: each is computed from the formula it asks about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .agent import DEFAULT_TARGET_MODEL_UPDATE, DEFAULT_TRAIN_INTERVAL, DEFAULT_WARMUP
from .console import say

__all__ = ["QUESTIONS", "Question", "check"]

GAMMA = 0.99


def _geometric(steps: int, gamma: float = GAMMA) -> float:
    return (1 - gamma**steps) / (1 - gamma)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass(frozen=True)
class Question:
    """A numeric exercise: the answer, the tolerance (absolute), a hint and the explanation."""

    answer: float
    tolerance: float
    hint: str
    explanation: str


QUESTIONS: dict[str, Question] = {
    "01.1": Question(
        _geometric(10),
        0.01,
        "Add the ten rewards of +1, each weighed by 0.99 to the power of how many steps ahead it is (0 to 9).",
        "1 + 0.99 + 0.99² + … + 0.99⁹ = (1 − 0.99¹⁰) / (1 − 0.99) ≈ 9.56: a little less than the score of 10.",
    ),
    "01.2": Question(
        0.6 * 200 + 0.4 * 150,
        0.5,
        "Solved is about the mean score over 100 episodes: weigh each score by how many episodes had it.",
        "(60 × 200 + 40 × 150) / 100 = 180, below 195: not solved, although most episodes were perfect.",
    ),
    "02.1": Question(
        _geometric(200),
        0.1,
        "At most 200 rewards of +1; the k-th one ahead counts 0.99^k. Sum the geometric series.",
        "(1 − 0.99²⁰⁰) / (1 − 0.99) ≈ 86.6: no Q-value on CartPole-v0 should be larger.",
    ),
    "02.2": Question(
        _geometric(3),
        0.01,
        "Three rewards are left (this step and two more) before the 200-step limit ends the episode.",
        "1 + 0.99 + 0.99² = 2.9701: near the time limit even a perfect state is worth little.",
    ),
    "03.1": Question(
        1 + GAMMA * 42.0,
        0.01,
        "y = r + γ · max over a' of Q_target(s', a'), and the future counts because done = 0.",
        "1 + 0.99 × max(40, 42) = 42.58. With done = 1 it would be just r = 1.",
    ),
    "03.2": Question(
        _sigmoid(46.0 - 45.0),
        0.005,
        "With two actions exp(Q_right) / (exp(Q_left) + exp(Q_right)) = 1 / (1 + exp(−(Q_right − Q_left))).",
        "sigmoid(46 − 45) = sigmoid(1) ≈ 0.731: only the difference of the Q-values matters, not their size.",
    ),
    "03.3": Question(
        0.5 * (1 + GAMMA * 42.0 - 40.0) ** 2,
        0.01,
        "keras-rl2's loss for one transition is ½ (y − Q(s, a))², with y from question 03.1 and Q(s, a) = 40.",
        "½ × (42.58 − 40)² = ½ × 2.58² ≈ 3.33. The other action's Q-value is masked out: it adds nothing.",
    ),
    "04.1": Question(
        _geometric(500),
        0.1,
        "Like 02.1, but CartPole-v1 allows 500 steps.",
        "(1 − 0.99⁵⁰⁰) / (1 − 0.99) ≈ 99.3: with γ = 0.99, rewards 500 steps ahead count almost nothing.",
    ),
    "04.2": Question(
        _sigmoid(0.5),
        0.005,
        "The controller is greedy; the training policy was Boltzmann: P(right) = sigmoid(Q_right − Q_left).",
        "sigmoid(0.5) ≈ 0.622: during training this state's push was still a 62/38 coin; the controller always pushes right.",
    ),
    "05.1": Question(
        _geometric(50),
        0.05,
        "At step 150 of an episode that runs to 200, 50 rewards are still to come.",
        "(1 − 0.99⁵⁰) / (1 − 0.99) ≈ 39.5: the 'true' value falls as the time limit nears.",
    ),
    "05.2": Question(
        1 / (1 - GAMMA),
        0.5,
        "With no time limit the rewards go on for ever: the geometric series 1 + γ + γ² + … .",
        "1 / (1 − 0.99) = 100: the '100' of older texts is the value of an episode that never ends.",
    ),
    "07.1": Question(
        sum(1 for step in range(2_000) if step > DEFAULT_WARMUP and step % DEFAULT_TRAIN_INTERVAL == 0),
        0.5,
        "Count the steps of range(2000) above the warm-up of 10 that are multiples of the train interval 4.",
        "Steps 12, 16, …, 1,996: (1,996 − 12) / 4 + 1 = 497 updates, a quarter of the steps.",
    ),
    "07.2": Question(
        (1 - DEFAULT_TARGET_MODEL_UPDATE) ** 25,
        0.0005,
        "Each soft update leaves (1 − τ) of the gap between target and online weights; 100 steps are 25 updates.",
        "0.8²⁵ ≈ 0.0038: after 25 updates the target has all but caught up; it lags by a few updates only.",
    ),
}


def check(question: str, answer: float) -> bool:
    """Check a numeric answer to exercise ``question`` (e.g. ``"03.1"``); print why it is right or a hint."""
    if question not in QUESTIONS:
        raise KeyError(f"There is no exercise {question!r} to check; the numbers are {', '.join(QUESTIONS)}.")
    q = QUESTIONS[question]
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"Give the answer to {question} as a number, got {answer!r}.") from None
    right = math.isfinite(value) and abs(value - q.answer) <= q.tolerance
    say(f"{question}: {'right' if right else 'not yet'}. {q.explanation if right else q.hint}")
    return right
