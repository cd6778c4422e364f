"""Training with a stop-when-solved check, progress lines and a safe interrupt (notebook 03).

keras-rl2's ``fit`` runs for a fixed number of steps. :class:`SolveMonitor` is a keras-rl2
callback that, every ``eval_every`` steps, scores the greedy agent with the fast evaluator
(:func:`cartpole_dqn.evaluation.evaluate`, 100 episodes in well under a second) and

* stops training once the mean reaches the environment's ``reward_threshold`` (195 on
  CartPole-v0) on 100 episodes and again on 200 others (so that a lucky set does not count),
* keeps the best weights seen and puts them back at the end if training got worse
  (DQN with a Boltzmann policy can forget what it learned),
* reports the steps and seconds it took.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
from rl.callbacks import Callback

from .agent import DEFAULT_LEARNING_RATE, build_agent, compile_agent, reset_session
from .envs import DEFAULT_ENV_ID, env_sizes, make_env
from .evaluation import evaluate
from .model import build_model

__all__ = ["SolveMonitor", "TrainingRun", "train"]


class _Solved(KeyboardInterrupt):
    """Raised inside ``fit`` to end training early.

    keras-rl2's ``fit`` has no stop flag, but it ends cleanly on ``KeyboardInterrupt``
    (the same path as pressing "interrupt kernel"), calling every callback's ``on_train_end``.
    """


class SolveMonitor(Callback):
    """Evaluate the greedy agent every ``eval_every`` steps; stop when solved; keep the best weights.

    ``stop_when_solved=False`` keeps evaluating (for the learning curve) but trains for the full budget.
    ``progress=True`` prints one line per evaluation.
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
    ) -> None:
        super().__init__()
        if eval_every < 1 or eval_episodes < 1:
            raise ValueError("eval_every and eval_episodes must be at least 1.")
        self.env_id = env_id
        self.eval_every = eval_every
        self.eval_episodes = eval_episodes
        self.eval_seed = eval_seed
        self.stop_when_solved = stop_when_solved
        self.progress = progress
        self.threshold = threshold
        self.stream = stream
        self._reset()

    def _reset(self) -> None:
        self.steps = 0
        self.episode_rewards: list[float] = []
        self.evaluations: list[tuple[int, float]] = []
        self.best_mean = -np.inf
        self.best_step: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.solved_at_step: int | None = None
        self.solved_seconds: float | None = None
        self.eval_seconds = 0.0
        self.interrupted = False
        self.restored_best = False
        self._stopped_solved = False
        self._start = time.perf_counter()
        self._end: float | None = None

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
            self._evaluate()

    def on_train_end(self, logs=None) -> None:
        self._end = time.perf_counter()
        self.interrupted = bool((logs or {}).get("did_abort")) and not self._stopped_solved
        if self.best_weights is not None and not self._stopped_solved:
            try:
                current = evaluate(self.model.model, self.env_id, self.eval_episodes, self.eval_seed).mean
            except KeyboardInterrupt:  # a second interrupt: keep the best weights without comparing
                current = -np.inf
            if current < self.best_mean:
                self.model.model.set_weights(self.best_weights)
                if hasattr(self.model, "update_target_model_hard"):  # SARSA and CEM have no target network
                    self.model.update_target_model_hard()
                self.restored_best = True
        if self.progress:
            self._print(self._closing_line())

    # ------------------------------------------------------------------------------------
    @property
    def seconds(self) -> float:
        """Seconds of training: until now while ``fit`` runs, then frozen at its end."""
        return (self._end if self._end is not None else time.perf_counter()) - self._start

    def _evaluate(self) -> None:
        started = time.perf_counter()
        result = evaluate(self.model.model, self.env_id, self.eval_episodes, self.eval_seed)
        mean = result.mean
        solved = self.threshold is not None and mean >= self.threshold
        if solved:  # confirm on twice as many episodes it has never been scored on
            confirm = evaluate(self.model.model, self.env_id, 2 * self.eval_episodes, self.eval_seed + 7_919)
            solved = confirm.mean >= self.threshold
            mean = (mean + 2 * confirm.mean) / 3
        self.eval_seconds += time.perf_counter() - started
        self.evaluations.append((self.steps, mean))
        if mean > self.best_mean:
            self.best_mean, self.best_step = mean, self.steps
            self.best_weights = [w.copy() for w in self.model.model.get_weights()]
        if self.progress:
            recent = self.episode_rewards[-10:]
            recent_text = f"{np.mean(recent):6.1f}" if recent else "     -"
            self._print(
                f"{self._bar()} step {self.steps:>6,} | {self.seconds:6.1f} s | episodes {len(self.episode_rewards):>4} | "
                f"training reward (last 10) {recent_text} | greedy test mean {mean:6.1f}"
            )
        if solved and self.solved_at_step is None:
            self.solved_at_step, self.solved_seconds = self.steps, self.seconds
            if self.stop_when_solved:
                self._stopped_solved = True
                raise _Solved()

    def _bar(self, width: int = 10) -> str:
        """``[###-------]``: how much of the step budget of ``fit`` is used."""
        budget = (getattr(self, "params", None) or {}).get("nb_steps") or 0
        filled = min(width, round(width * self.steps / budget)) if budget else 0
        return "[" + "#" * filled + "-" * (width - filled) + "]"

    def _closing_line(self) -> str:
        if self._stopped_solved:
            return f"Solved after {self.solved_at_step:,} steps in {self.solved_seconds:.1f} s (greedy mean {self.best_mean:.1f})."
        how = "Interrupted" if self.interrupted else "Finished"
        text = f"{how} after {self.steps:,} steps in {self.seconds:.1f} s"
        if self.solved_at_step is not None:
            text += f"; first solved at step {self.solved_at_step:,} ({self.solved_seconds:.1f} s)"
        else:
            text += " without reaching the threshold"
        if self.best_step is not None:
            text += f"; best greedy mean {self.best_mean:.1f} at step {self.best_step:,}"
            if self.restored_best:
                text += " (those weights were put back)"
        return text + "."

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)


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
    **agent_kwargs,
) -> TrainingRun:
    """Build environment, model and agent from ``seed`` and train for at most ``steps`` steps.

    The whole recipe of notebook 03 in one call (used by the command line and the benchmark).
    ``threshold`` replaces the environment's ``reward_threshold`` as the bar for "solved".
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    reset_session(seed)
    env = make_env(env_id, seed=seed)
    states, actions = env_sizes(env)
    model = build_model(states, actions)
    dqn = compile_agent(build_agent(model, actions, **agent_kwargs), learning_rate)
    monitor = SolveMonitor(
        env_id, eval_every, eval_episodes, stop_when_solved=stop_when_solved, progress=progress, threshold=threshold
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
