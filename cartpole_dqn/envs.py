"""Making CartPole, and the adapter that lets keras-rl2 drive a Gymnasium environment.

Introduced in notebook 01 (the environment) and used from notebook 03 on (the adapter).

keras-rl2 speaks the *old* Gym API; Gymnasium, Gym's maintained successor, changed it:

=====================  ==========================  ===================================
call                   old Gym (keras-rl2 expects)  Gymnasium
=====================  ==========================  ===================================
``reset()``            ``obs``                      ``obs, info`` (and takes ``seed=``)
``step(a)``            ``obs, reward, done, info``  ``obs, reward, terminated, truncated, info``
``render()``           ``render(mode="human")``     mode fixed at ``make(..., render_mode=...)``
=====================  ==========================  ===================================

``done`` is ``terminated or truncated``: the pole fell or the cart left the track
(terminated), or the time limit was reached (truncated, 200 steps on CartPole-v0).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from .errors import ArgumentError, CartPoleDQNError, whole_number
from .errors import seed as check_seed

__all__ = [
    "DEFAULT_ENV_ID",
    "DEFAULT_THRESHOLD",
    "GymAdapter",
    "EnvironmentSpecError",
    "check_env_id",
    "make_env",
    "make_gymnasium_env",
    "env_sizes",
    "rollout",
    "play_episode",
    "record_episode",
]

DEFAULT_ENV_ID = "CartPole-v0"
#: The default environment's "solved" bar, from its registration (195 on CartPole-v0).
DEFAULT_THRESHOLD: float | None = gym.spec(DEFAULT_ENV_ID).reward_threshold
MAX_RECORDED_FRAMES = 2_000


class EnvironmentSpecError(CartPoleDQNError, ValueError):
    """An environment id that Gymnasium does not know or cannot make here, or spaces the model cannot use."""


def _no_screen() -> bool:
    """True on Linux without a display (a server, a container, CI): a window cannot open there."""
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def check_env_id(env_id: object) -> str:
    """``env_id`` when Gymnasium registers exactly that id (``"CartPole"`` is not ``"CartPole-v1"``), else a clear error."""
    if not isinstance(env_id, str) or not env_id:
        raise EnvironmentSpecError(f"The environment id must be a non-empty string like 'CartPole-v0', not {env_id!r}.")
    if env_id not in gym.registry:
        close = ", ".join(sorted(k for k in gym.registry if k.lower().startswith(env_id.split("-")[0][:4].lower())))
        hint = (
            f"Ids are taken exactly; these exist: {close}."
            if close
            else "List the ids with `gymnasium.pprint_registry()`."
        )
        raise EnvironmentSpecError(f"Gymnasium has no environment {env_id!r}. {hint}")
    return env_id


def _missing_library(env_id: str, exc: Exception) -> EnvironmentSpecError:
    """``env_id`` is registered, but a library it needs is missing: name it and how to install it."""
    missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
    if missing:
        top = missing.split(".")[0]
        return EnvironmentSpecError(
            f"Gymnasium knows {env_id!r}, but it needs the library {top!r}, which is not installed. "
            f"Install it with `python -m pip install {top}`, or use an environment that needs nothing more, "
            f"such as {DEFAULT_ENV_ID}."
        )
    reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    return EnvironmentSpecError(
        f"Gymnasium knows {env_id!r} but cannot make it here: {reason}. "
        f"Install what it names, or use an environment that needs nothing more, such as {DEFAULT_ENV_ID}."
    )


def make_gymnasium_env(env_id: str = DEFAULT_ENV_ID, render_mode: str | None = "rgb_array") -> gym.Env:
    """``gym.make`` of exactly ``env_id``, with a clear error for an unknown id or a missing library (notebook 01)."""
    check_env_id(env_id)
    try:
        env = gym.make(env_id, render_mode=render_mode)
    # the id exists (checked above), so what fails here is a library it needs: Box2D, MuJoCo, jax, shimmy, ...
    except (gym.error.Error, ImportError) as exc:
        raise _missing_library(env_id, exc) from None
    if render_mode == "human" and _no_screen():
        warnings.warn(
            "render_mode='human': this machine has no screen (no DISPLAY), so no window can show the cart. "
            "Use render_mode='rgb_array' and cartpole_dqn.show_animation or save_gif to see episodes.",
            stacklevel=2,
        )
    return env


def env_sizes(env: Any) -> tuple[int, int]:
    """``(states, actions)`` of an environment: observation length and number of discrete actions.

    Raises :class:`EnvironmentSpecError` when the spaces do not fit this series' model (a flat
    Box observation and a Discrete action space).
    """
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(act_space, gym.spaces.Discrete):
        raise EnvironmentSpecError(
            f"DQN needs a discrete action space (a fixed list of actions), but this environment's is {act_space}. "
            "Pick an environment with Discrete actions, such as CartPole-v0."
        )
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise EnvironmentSpecError(
            f"The model expects a flat vector of numbers as observation, but this environment gives {obs_space}. "
            "Pick an environment with a 1-D Box observation, such as CartPole-v0."
        )
    return int(obs_space.shape[0]), int(act_space.n)


class GymAdapter:
    """Wraps a Gymnasium environment so that keras-rl2 can use it with the old Gym API.

    ``seed``: when given, episode ``k`` (counting from 0) starts with ``reset(seed=seed + k)``,
    so a sequence of episodes is reproducible and matches
    :func:`cartpole_dqn.evaluation.evaluate` with the same seed.

    ``render(mode="human")`` (what ``dqn.test(..., visualize=True)`` calls) draws the current
    frame inline when running in a notebook, and keeps the frames of the current episode in
    ``frames`` so that they can be replayed with :func:`cartpole_dqn.media.show_animation`.
    """

    def __init__(self, env: gym.Env, seed: int | None = None) -> None:
        self.env = env
        self.seed = seed
        self.episodes_started = 0
        self.frames: list[np.ndarray] = []
        self._display = None
        self._warned_no_display = False

    # what keras-rl2 and learners read off an environment
    @property
    def observation_space(self):
        return self.env.observation_space

    @property
    def action_space(self):
        return self.env.action_space

    @property
    def spec(self):
        return self.env.spec

    @property
    def unwrapped(self):
        return self.env.unwrapped

    @property
    def reward_threshold(self) -> float | None:
        return self.env.spec.reward_threshold if self.env.spec else None

    def reset(self) -> np.ndarray:
        """Old API: start an episode and return only the observation."""
        seed = None if self.seed is None else self.seed + self.episodes_started
        observation, _info = self.env.reset(seed=seed)
        self.episodes_started += 1
        self.frames = []
        return observation

    def step(self, action) -> tuple[np.ndarray, float, bool, dict]:
        """Old API: four values, with ``done = terminated or truncated``."""
        observation, reward, terminated, truncated, info = self.env.step(int(action))
        info = dict(info)
        info["TimeLimit.truncated"] = bool(truncated and not terminated)
        return observation, float(reward), bool(terminated or truncated), info

    def render(self, mode: str = "human"):
        """Old API render. ``mode="rgb_array"`` returns the frame; ``"human"`` shows it."""
        frame = self.env.render()
        if frame is None:
            raise RuntimeError(
                "This environment was made without render_mode='rgb_array', so it cannot draw frames. "
                "Make it with cartpole_dqn.make_env(), which sets that mode."
            )
        if mode == "rgb_array":
            return frame
        if len(self.frames) < MAX_RECORDED_FRAMES:
            self.frames.append(frame)
        self._show_live(frame)
        return None

    def _show_live(self, frame: np.ndarray) -> None:
        from .media import in_notebook, png_bytes

        if not in_notebook():
            if not self._warned_no_display:
                warnings.warn(
                    "visualize=True: there is no notebook here to draw the cart in, so nothing is shown. "
                    "The frames are kept in env.frames; write them to a file with cartpole_dqn.save_gif(env.frames, 'episode.gif').",
                    stacklevel=3,
                )
                self._warned_no_display = True
            return
        from IPython.display import display

        from .media import Still

        image = Still(png_bytes(frame, scale=0.5), "The cart and pole, drawn live as the episode is played")
        if self._display is None:
            self._display = display(image, display_id=True)
        else:
            self._display.update(image)

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return f"GymAdapter({self.env!r}, seed={self.seed})"


def make_env(env_id: str = DEFAULT_ENV_ID, seed: int | None = None) -> GymAdapter:
    """The environment keras-rl2 trains on: Gymnasium's ``env_id`` behind the old-API adapter.

    Frames can always be drawn (``render_mode="rgb_array"``); drawing costs nothing until asked for.
    """
    seed = None if seed is None else check_seed(seed)
    return GymAdapter(make_gymnasium_env(env_id, render_mode="rgb_array"), seed=seed)


# --------------------------------------------------------------------------------------------
# playing episodes: the one loop every helper uses (evaluation, the random baseline, recordings, the CLI)

#: A batch policy: observations ``(n, states)`` -> one action per row.
BatchPolicy = Callable[[np.ndarray], Sequence[int]]


def rollout(
    envs: Sequence[gym.Env],
    seeds: Sequence[int | None],
    policy: BatchPolicy | None = None,
    max_steps: int | None = None,
    on_step: Callable[[int], None] | None = None,
    on_transition: Callable[[int, np.ndarray, int, np.ndarray, bool], None] | None = None,
) -> np.ndarray:
    """Play one episode in each environment, side by side, and return their scores (summed rewards).

    Episode ``k`` starts with ``envs[k].reset(seed=seeds[k])``. Each step, ``policy`` gets the
    observations of the episodes still running, stacked, and returns their actions (one
    forward pass for all of them); ``None`` takes a random action from each environment's
    action space (seed it first for a reproducible run). An episode ends when it terminates
    or is truncated, or after ``max_steps`` steps. ``on_step(k)`` is called after the reset and
    after every step of episode ``k`` (to draw frames, for example). ``on_transition(k, observation,
    action, next_observation, terminated)`` is called after every step with what that step saw
    (to keep trajectories, as notebook 05 does).
    """
    if len(envs) != len(seeds):
        raise ValueError(f"rollout needs one seed per environment, got {len(seeds)} seeds for {len(envs)}.")
    observations = [env.reset(seed=seed)[0] for env, seed in zip(envs, seeds, strict=True)]
    scores = np.zeros(len(envs))
    alive = list(range(len(envs)))
    if on_step is not None:
        for k in alive:
            on_step(k)
    steps = 0
    while alive and (max_steps is None or steps < max_steps):
        if policy is None:
            actions = [envs[k].action_space.sample() for k in alive]
        else:
            actions = policy(np.stack([observations[k] for k in alive]))
        still_alive = []
        for k, action in zip(alive, actions, strict=True):
            before = observations[k]
            observations[k], reward, terminated, truncated, _ = envs[k].step(int(action))
            if on_transition is not None:
                on_transition(k, before, int(action), observations[k], bool(terminated))
            scores[k] += float(reward)
            if on_step is not None:
                on_step(k)
            if not (terminated or truncated):
                still_alive.append(k)
        alive = still_alive
        steps += 1
    return scores


def _one_at_a_time(policy: Callable[[np.ndarray], int] | None, env: gym.Env) -> BatchPolicy | None:
    """A batch policy (for :func:`rollout`) from a function observation -> action, whose actions are checked."""
    if policy is None:
        return None

    def checked(observation: np.ndarray):
        action = policy(observation)
        if isinstance(action, bool) or not env.action_space.contains(action):
            raise ArgumentError(
                f"The policy returned {action!r}, which is not an action: the action space of {env.spec.id} is "
                f"{env.action_space}. Return one of its actions, such as int(np.argmax(q_values))."
            )
        return action

    return lambda observations: [checked(observation) for observation in observations]


def play_episode(
    policy: Callable[[np.ndarray], int] | None = None,
    env_id: str = DEFAULT_ENV_ID,
    seed: int = 0,
    max_steps: int | None = None,
    frames: list[np.ndarray] | None = None,
) -> float:
    """Play one episode of ``env_id`` from ``reset(seed=seed)`` and return its score.

    ``policy`` maps an observation to an action; ``None`` takes random actions, from the action
    space seeded with ``seed``, so the same seed gives the same episode. When ``frames`` is a
    list, every frame is appended to it, starting with the one right after ``reset``.
    """
    seed = check_seed(seed)
    max_steps = None if max_steps is None else whole_number(max_steps, "max_steps")
    env = make_gymnasium_env(env_id, render_mode=None if frames is None else "rgb_array")
    try:
        env.action_space.seed(seed)
        on_step = None if frames is None else (lambda _k: frames.append(env.render()))
        return float(rollout([env], [seed], _one_at_a_time(policy, env), max_steps, on_step)[0])
    finally:
        env.close()


def record_episode(
    policy: Callable[[np.ndarray], int] | None = None,
    env_id: str = DEFAULT_ENV_ID,
    seed: int = 0,
    max_steps: int | None = None,
) -> tuple[list[np.ndarray], float]:
    """Play one episode and keep every frame: ``(frames, score)`` (notebook 01).

    ``policy`` maps an observation to an action; ``None`` takes random actions from the
    action space, seeded with ``seed`` (as is the environment's ``reset``), so the same seed
    gives the same episode. ``frames`` starts with the picture right after ``reset``, so it
    holds one frame more than the number of steps. ``score`` is the sum of the rewards.
    ``max_steps`` stops early; by default the episode runs until it ends (200 steps at most
    on CartPole-v0).
    """
    frames: list[np.ndarray] = []
    score = play_episode(policy, env_id, seed, max_steps, frames=frames)
    return frames, score
