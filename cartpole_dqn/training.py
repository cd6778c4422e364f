"""Training with a stop-when-solved check, progress lines and a safe interrupt (notebook 03).

keras-rl2's ``fit`` runs for a fixed number of steps. :class:`SolveMonitor` is a keras-rl2
callback that, every ``eval_every`` steps, scores the greedy agent with the fast evaluator
(:func:`cartpole_dqn.evaluation.evaluate`, 100 episodes in well under a second) and

* stops training once the mean reaches the environment's ``reward_threshold`` (195 on
  CartPole-v0) on 100 episodes and again on 200 others (so that a lucky set does not count),
* keeps the best weights seen and, with ``restore_best=True``, puts them back at the end if
  training got worse (DQN with a Boltzmann policy can forget what it learned),
* prints one line per check saying what was checked and why training goes on.

Each of these is its own small piece below (:class:`Check`, :func:`check_greedy`,
:class:`BestWeights`, :func:`progress_line`); the monitor only wires them to keras-rl2's hooks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from rl.callbacks import Callback

from .agent import DEFAULT_LEARNING_RATE, build_agent, compile_agent, reset_session
from .console import say
from .envs import DEFAULT_ENV_ID, check_env_id, env_sizes, make_env
from .errors import learning_rate as check_learning_rate
from .errors import number, whole_number
from .errors import seed as check_seed
from .evaluation import evaluate
from .model import build_model

__all__ = ["SolveMonitor", "TrainingRun", "train", "Check", "check_greedy", "BestWeights", "progress_line"]

#: The confirmation plays this many times as many episodes as the first check ...
CONFIRMATION_FACTOR = 2
#: ... from seeds this far past the first check's: a prime well above any ``eval_episodes`` used,
#: so that the confirmation episodes are new ones (seeds ``eval_seed + 7,919 ...``).
CONFIRMATION_SEED_OFFSET = 7_919


@dataclass(frozen=True)
class Check:
    """One greedy check during training: the mean on the usual episodes and, if it was high enough,
    the mean on the confirmation episodes."""

    step: int
    mean: float
    episodes: int
    threshold: float | None
    confirmation_mean: float | None = None
    confirmation_episodes: int = 0

    @property
    def reached(self) -> bool:
        """The first mean reached the threshold (so a confirmation was played)."""
        return self.threshold is not None and self.mean >= self.threshold

    @property
    def solved(self) -> bool:
        """Both the first mean and the confirmation reached the threshold."""
        return self.reached and self.confirmation_mean is not None and self.confirmation_mean >= self.threshold


def check_greedy(model, env_id: str, episodes: int, seed: int, threshold: float | None, step: int) -> Check:
    """Score the greedy policy of ``model`` on ``episodes`` episodes from ``seed``; confirm on new ones if solved."""
    first = evaluate(model, env_id, episodes, seed).mean
    if threshold is None or first < threshold:
        return Check(step, first, episodes, threshold)
    confirmation_episodes = CONFIRMATION_FACTOR * episodes
    confirmation = evaluate(model, env_id, confirmation_episodes, seed + CONFIRMATION_SEED_OFFSET).mean
    return Check(step, first, episodes, threshold, confirmation, confirmation_episodes)


class BestWeights:
    """The weights of the best check so far (highest mean on the usual evaluation episodes)."""

    def __init__(self) -> None:
        self.mean = -np.inf
        self.step: int | None = None
        self.weights: list[np.ndarray] | None = None

    def offer(self, check: Check, model) -> None:
        """Keep a copy of ``model``'s weights when ``check`` beats the best so far."""
        if check.mean > self.mean:
            self.mean, self.step = check.mean, check.step
            self.weights = [w.copy() for w in model.get_weights()]

    def restore(self, dqn) -> None:
        """Put the best weights back into the agent's network and its target network."""
        dqn.model.set_weights(self.weights)
        if hasattr(dqn, "update_target_model_hard"):  # SARSA and CEM have no target network
            dqn.update_target_model_hard()


def progress_line(check: Check, seconds: float, episode_rewards: list[float], bar: str, stopping: bool) -> str:
    """One line per check: training so far, what was checked, and why training goes on (or not)."""
    recent = episode_rewards[-10:]
    recent_text = f"{np.mean(recent):6.1f}" if recent else "     -"
    text = (
        f"{bar} step {check.step:>6,} | {seconds:6.1f} s | episodes {len(episode_rewards):>4} | "
        f"training reward (last 10) {recent_text} | greedy mean {check.mean:6.1f} on {check.episodes} episodes"
    )
    if not check.reached:
        return text
    text += (
        f" ≥ {check.threshold:g} → confirmation on {check.confirmation_episodes} new episodes: "
        f"{check.confirmation_mean:.1f}"
    )
    if not check.solved:
        return text + ", not yet"
    return text + (", solved" if stopping else ", solved (training goes on: stop_when_solved=False)")


class _Solved(KeyboardInterrupt):
    """Raised inside ``fit`` to end training early.

    keras-rl2's ``fit`` has no stop flag, but it ends cleanly on ``KeyboardInterrupt``
    (the same path as pressing "interrupt kernel"), calling every callback's ``on_train_end``.
    """


class SolveMonitor(Callback):
    """Evaluate the greedy agent every ``eval_every`` steps; stop when solved; keep the best weights.

    ``stop_when_solved=False`` keeps evaluating (for the learning curve) but trains for the full budget.
    ``restore_best=False`` leaves the final weights in place (the original tutorial: the agent
    tested is the one training ended with). ``progress=True`` prints one line per evaluation.
    ``evaluations`` lists ``(step, mean on the eval_episodes episodes)``; ``checks`` the full :class:`Check` s.
    """

    def __init__(
        self,
        env_id: str = DEFAULT_ENV_ID,
        eval_every: int = 500,
        eval_episodes: int = 100,
        eval_seed: int = 10_000,
        stop_when_solved: bool = True,
        progress: bool = True,
        threshold: float | None = None,
        stream=None,
        restore_best: bool = True,
    ) -> None:
        super().__init__()
        self.env_id = env_id
        self.eval_every = whole_number(eval_every, "eval_every")
        self.eval_episodes = whole_number(eval_episodes, "eval_episodes")
        self.eval_seed = check_seed(eval_seed, "eval_seed")
        self.stop_when_solved = stop_when_solved
        self.restore_best = restore_best
        self.progress = progress
        self.threshold = threshold
        self.stream = stream
        self._reset()

    def _reset(self) -> None:
        self.steps = 0
        self.episode_rewards: list[float] = []
        self.checks: list[Check] = []
        self.best = BestWeights()
        self.solved_at_step: int | None = None
        self.solved_seconds: float | None = None
        self.eval_seconds = 0.0
        self.interrupted = False
        self.restored_best = False
        self._stopped_solved = False
        self._start = time.perf_counter()
        self._end: float | None = None

    # what the notebooks and train() read -------------------------------------------------
    @property
    def evaluations(self) -> list[tuple[int, float]]:
        """``(step, greedy mean)`` of every check, on the same ``eval_episodes`` episodes each time."""
        return [(check.step, check.mean) for check in self.checks]

    @property
    def best_mean(self) -> float:
        return self.best.mean

    @property
    def best_step(self) -> int | None:
        return self.best.step

    @property
    def best_weights(self) -> list[np.ndarray] | None:
        return self.best.weights

    @property
    def seconds(self) -> float:
        """Seconds of training: until now while ``fit`` runs, then frozen at its end."""
        return (self._end if self._end is not None else time.perf_counter()) - self._start

    # keras-rl2 hooks -------------------------------------------------------------------
    def on_train_begin(self, logs=None) -> None:
        self._reset()
        if self.threshold is None:
            spec = getattr(self.env, "spec", None)
            self.threshold = spec.reward_threshold if spec is not None else None

    def on_episode_end(self, episode, logs=None) -> None:
        self.episode_rewards.append(float((logs or {}).get("episode_reward", np.nan)))

    def on_step_end(self, step, logs=None) -> None:
        self.steps += 1
        if self.steps % self.eval_every == 0:
            self._check()

    def on_train_end(self, logs=None) -> None:
        self._end = time.perf_counter()
        self.interrupted = bool((logs or {}).get("did_abort")) and not self._stopped_solved
        if self.restore_best and self.best.weights is not None and not self._stopped_solved:
            self._restore_if_worse()
        if self.progress:
            self._print(self._closing_line())

    # the pieces, wired ------------------------------------------------------------------
    def _check(self) -> None:
        started = time.perf_counter()
        check = check_greedy(
            self.model.model, self.env_id, self.eval_episodes, self.eval_seed, self.threshold, self.steps
        )
        self.eval_seconds += time.perf_counter() - started
        self.checks.append(check)
        self.best.offer(check, self.model.model)
        if self.progress:
            self._print(progress_line(check, self.seconds, self.episode_rewards, self._bar(), self.stop_when_solved))
        if check.solved and self.solved_at_step is None:
            self.solved_at_step, self.solved_seconds = self.steps, self.seconds
            if self.stop_when_solved:
                self._stopped_solved = True
                raise _Solved()

    def _restore_if_worse(self) -> None:
        """Put the best weights back if the final ones score lower on the usual evaluation episodes."""
        try:
            current = evaluate(self.model.model, self.env_id, self.eval_episodes, self.eval_seed).mean
        except KeyboardInterrupt:  # a second interrupt: keep the best weights without comparing
            current = -np.inf
        if current < self.best.mean:
            self.best.restore(self.model)
            self.restored_best = True

    def _bar(self, width: int = 10) -> str:
        """``[###-------]``: how much of the step budget of ``fit`` is used."""
        budget = (getattr(self, "params", None) or {}).get("nb_steps") or 0
        filled = min(width, round(width * self.steps / budget)) if budget else 0
        return "[" + "#" * filled + "-" * (width - filled) + "]"

    def _closing_line(self) -> str:
        if self._stopped_solved:
            last = self.checks[-1]
            return (
                f"Solved after {self.solved_at_step:,} steps in {self.solved_seconds:.1f} s (greedy mean "
                f"{last.mean:.1f} on {last.episodes} episodes, {last.confirmation_mean:.1f} on "
                f"{last.confirmation_episodes} new ones)."
            )
        how = "Interrupted" if self.interrupted else "Finished"
        text = f"{how} after {self.steps:,} steps in {self.seconds:.1f} s"
        if self.solved_at_step is not None:
            text += f"; first solved at step {self.solved_at_step:,} ({self.solved_seconds:.1f} s)"
        else:
            text += " without reaching the threshold"
        if self.best.step is not None:
            text += f"; best greedy mean {self.best.mean:.1f} at step {self.best.step:,}"
            if self.restored_best:
                text += " (those weights were put back)"
            elif not self.restore_best:
                text += " (the final weights were kept: restore_best=False)"
        return text + "."

    def _print(self, text: str) -> None:
        say(text, self.stream)


@dataclass
class TrainingRun:
    """What :func:`train` returns: the trained agent and how training went."""

    dqn: object
    model: object
    env: object
    episode_rewards: list[float]
    steps: int
    seconds: float
    solved_at_step: int | None
    best_mean: float
    evaluations: list[tuple[int, float]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def solved(self) -> bool:
        return self.solved_at_step is not None


def train(
    steps: int = 50_000,
    seed: int = 0,
    env_id: str = DEFAULT_ENV_ID,
    stop_when_solved: bool = True,
    eval_every: int = 500,
    eval_episodes: int = 100,
    progress: bool = True,
    callbacks: list | None = None,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    threshold: float | None = None,
    restore_best: bool = True,
    **agent_kwargs,
) -> TrainingRun:
    """Build environment, model and agent from ``seed`` and train for at most ``steps`` steps.

    The whole recipe of notebook 03 in one call (used by the command line and the benchmark).
    ``threshold`` replaces the environment's ``reward_threshold`` as the bar for "solved";
    ``restore_best=False`` keeps the final weights (see :class:`SolveMonitor`).
    """
    steps, seed, learning_rate = whole_number(steps, "steps"), check_seed(seed), check_learning_rate(learning_rate)
    eval_every, eval_episodes = whole_number(eval_every, "eval_every"), whole_number(eval_episodes, "eval_episodes")
    threshold, env_id = None if threshold is None else number(threshold, "threshold"), check_env_id(env_id)
    reset_session(seed)
    env = make_env(env_id, seed=seed)
    states, actions = env_sizes(env)
    model = build_model(states, actions)
    dqn = compile_agent(build_agent(model, actions, **agent_kwargs), learning_rate)
    monitor = SolveMonitor(
        env_id,
        eval_every,
        eval_episodes,
        stop_when_solved=stop_when_solved,
        progress=progress,
        threshold=threshold,
        restore_best=restore_best,
    )
    started = time.perf_counter()
    dqn.fit(env, nb_steps=steps, visualize=False, verbose=0, callbacks=[monitor, *(callbacks or [])])
    return TrainingRun(
        dqn=dqn,
        model=model,
        env=env,
        episode_rewards=monitor.episode_rewards,
        steps=monitor.steps,
        seconds=time.perf_counter() - started,
        solved_at_step=monitor.solved_at_step,
        best_mean=float(monitor.best_mean),
        evaluations=monitor.evaluations,
        interrupted=monitor.interrupted,
    )
