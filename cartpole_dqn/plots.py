"""Plots: score histograms and reward curves, with matplotlib (notebooks 01 and 03).

The plots use matplotlib's object API (the Agg backend is enough outside a notebook). Their colours
come from Okabe and Ito's colour-blind-safe palette (:data:`COLOURS`), and no two lines differ by
colour alone: each also has its own width, line style or marker. Each plot gives its figure a
short alt text saying what it shows (:func:`cartpole_dqn.media.describe`), which a notebook's
HTML export keeps.
Frames, GIFs and animations live in :mod:`cartpole_dqn.media`, playing an episode in
:mod:`cartpole_dqn.envs`; their names are re-exported here for older code
(``cartpole_dqn.plots.save_gif``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .envs import DEFAULT_THRESHOLD, record_episode
from .errors import number, whole_number
from .media import describe, gif_bytes, in_notebook, png_bytes, save_gif, show_animation, side_by_side

__all__ = [
    "COLOURS",
    "describe",
    "plot_score_histogram",
    "plot_rewards",
    # re-exported from media and envs
    "in_notebook",
    "png_bytes",
    "gif_bytes",
    "record_episode",
    "save_gif",
    "show_animation",
    "side_by_side",
]


#: Okabe and Ito's palette (https://jfly.uni-koeln.de/color/), safe for the common kinds of colour
#: blindness; matplotlib's "tableau-colorblind10" style is another such palette.
COLOURS = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}


def _new_axes(ax, figsize=(7, 3.5)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, ax = plt.subplots(figsize=figsize)
    return ax


def plot_score_histogram(
    scores: Sequence[float],
    threshold: float | None = None,
    ax=None,
    title: str = "Scores of the episodes",
):
    """Histogram of episode scores, with their mean and (optionally) the "solved" threshold (notebook 01).

    Returns the matplotlib ``Axes``. Draws into ``ax`` when given, else into a new figure.
    """
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        raise ValueError("There are no scores to plot. Play some episodes first.")
    ax = _new_axes(ax)
    bins = min(20, max(1, int(np.ptp(values)) + 1))
    ax.hist(values, bins=bins, color=COLOURS["sky blue"], edgecolor="white", label=f"{values.size} episodes")
    ax.axvline(values.mean(), color=COLOURS["black"], linewidth=1.5, label=f"mean {values.mean():.1f}")
    alt = (
        f"Histogram of {values.size} episode scores ({title}): mean {values.mean():.1f}, "
        f"lowest {values.min():g}, highest {values.max():g}, drawn as a solid line at the mean"
    )
    if threshold is not None:
        ax.axvline(threshold, color=COLOURS["bluish green"], linestyle="--", label=f"solved ({threshold:g})")
        alt += f" and a dashed line at {threshold:g}, the score that counts as solved"
    ax.set_xlabel("score (steps the pole stayed up)")
    ax.set_ylabel("episodes")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return describe(ax, alt + ".")


def plot_rewards(
    episode_rewards: Sequence[float],
    window: int = 10,
    threshold: float | None = DEFAULT_THRESHOLD,
    ax=None,
):
    """Reward per episode, its moving average over ``window`` episodes, and the "solved" line (notebook 03).

    ``threshold`` defaults to the default environment's ``reward_threshold`` (CartPole-v0 counts
    as solved at an average of 195 over 100 episodes); ``None`` draws no line. The moving average at
    episode ``i`` is the mean of the last ``window`` episodes up to ``i`` (fewer at the start).
    Returns the matplotlib ``Axes``; lines: rewards, moving average, then the threshold.
    """
    rewards = np.asarray(episode_rewards, dtype=float)
    if rewards.size == 0:
        raise ValueError("There are no episode rewards to plot. Train or test the agent first.")
    window = whole_number(window, "window")
    threshold = None if threshold is None else number(threshold, "threshold")
    ax = _new_axes(ax)
    episodes = np.arange(1, rewards.size + 1)
    sums = np.cumsum(np.insert(rewards, 0, 0.0))
    starts = np.maximum(0, episodes - window)
    moving = (sums[episodes] - sums[starts]) / (episodes - starts)
    ax.plot(
        episodes, rewards, color=COLOURS["sky blue"], linewidth=1, marker=".", markersize=4, label="reward per episode"
    )
    ax.plot(episodes, moving, color=COLOURS["blue"], linewidth=2.5, label=f"moving average ({window} episodes)")
    alt = (
        f"Line chart of the reward of each of {rewards.size} episodes (thin, with dots), from {rewards[0]:g} "
        f"in the first to {rewards[-1]:g} in the last, best {rewards.max():g}; its {window}-episode moving "
        f"average (thick) ends at {moving[-1]:.1f}"
    )
    if threshold is not None:
        ax.axhline(threshold, color=COLOURS["bluish green"], linestyle="--", label=f"solved ({threshold:g})")
        alt += f"; a dashed line at {threshold:g} marks solved"
    ax.set_xlabel("episode")
    ax.set_ylabel("reward")
    ax.legend(loc="lower right")
    return describe(ax, alt + ".")
