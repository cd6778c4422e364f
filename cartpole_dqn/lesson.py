"""One DQN update, taken apart: the batch, the targets, the mask and the loss (notebook 03).

keras-rl2's ``DQNAgent.backward`` (``rl/agents/dqn.py``) does, for every training step after the
warm-up, every ``train_interval`` steps: sample ``batch_size`` transitions (s, a, r, s', done) from the replay memory; ask the *target*
network for Q_target(s'); form the target y = r + gamma * max_a' Q_target(s', a') * (1 - done);
write y into a zero vector at the action taken, with a mask that is 1 there and 0 elsewhere;
and train the *online* network on ``sum_a mask * huber(y - Q(s))`` (with keras-rl2's default
``delta_clip = inf`` that is 0.5 * (y - Q(s, a))**2), averaged over the batch. It reports three
numbers: that ``loss``, ``mae`` (the mean absolute difference between the whole target vector,
zeros included, and the whole output Q(s)) and ``mean_q`` (the mean over the batch of max_a Q(s, a)).

:func:`sample_batch` takes a batch out of the agent's memory (an episode end first, on purpose),
:func:`update_by_hand` computes all of the above in NumPy, and :func:`keras_rl2_update` lets
keras-rl2 itself run ``backward`` on the same batch and returns what it computed, so a lesson
can assert that the two agree. :func:`finished_episodes` reads the episodes back out of the memory,
and :func:`draw_dqn_loop` draws the loop as a diagram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Batch",
    "Update",
    "boltzmann_probabilities",
    "play_without_learning",
    "sample_batch",
    "update_by_hand",
    "keras_rl2_update",
    "finished_episodes",
    "draw_dqn_loop",
]


@dataclass(frozen=True)
class Batch:
    """Transitions from the replay memory, as arrays: ``indexes`` are keras-rl2's ``batch_idxs``."""

    indexes: np.ndarray
    states: np.ndarray  # (n, 1, 4): a window of one observation, as the network takes it
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    dones: np.ndarray  # 1.0 where the episode ended after this step (terminated *or* truncated)


@dataclass(frozen=True)
class Update:
    """Every number of one DQN update on a :class:`Batch`."""

    q: np.ndarray  # Q(s) from the online network, (n, actions)
    q_next: np.ndarray  # Q_target(s') from the target network, (n, actions)
    targets: np.ndarray  # y = r + gamma * max Q_target(s') * (1 - done), (n,)
    target_vectors: np.ndarray  # y at the action taken, 0 elsewhere, (n, actions)
    masks: np.ndarray  # 1 at the action taken, 0 elsewhere, (n, actions)
    loss: float
    mae: float
    mean_q: float

    @property
    def metrics(self) -> dict[str, float]:
        """The three numbers keras-rl2 reports for a training step."""
        return {"loss": self.loss, "mae": self.mae, "mean_q": self.mean_q}


def boltzmann_probabilities(q_values, tau: float = 1.0, clip: tuple[float, float] = (-500.0, 500.0)) -> np.ndarray:
    """keras-rl2's ``BoltzmannQPolicy``: P(a) = exp(clip(Q_a / tau)) / sum_b exp(clip(Q_b / tau))."""
    q = np.asarray(q_values, dtype=np.float64)
    e = np.exp(np.clip(q / tau, *clip))
    return e / e.sum(axis=-1, keepdims=True)


def play_without_learning(dqn, env, steps: int = 300) -> int:
    """Let the agent act for ``steps`` steps with its training policy, storing them in its memory, learning nothing.

    That is keras-rl2's warm-up (no update while ``step <= nb_steps_warmup``), stretched for the
    demonstration: the warm-up is raised for this one ``fit`` and put back. Returns the memory's size.
    """
    if steps < 40:
        raise ValueError(f"Play at least 40 steps, so that a batch of 32 can be sampled; got {steps}.")
    warmup = dqn.nb_steps_warmup
    dqn.nb_steps_warmup = steps + 1
    try:
        dqn.fit(env, nb_steps=steps, visualize=False, verbose=0)
    finally:
        dqn.nb_steps_warmup = warmup
    return dqn.memory.nb_entries


def sample_batch(dqn, size: int | None = None, seed: int = 0, include_episode_end: bool = True) -> Batch:
    """A batch for a lesson: ``size`` transitions (default: the agent's ``batch_size``) from ``dqn.memory``.

    The transitions are drawn at random among those keras-rl2's ``memory.sample`` can draw, with their own
    seeded generator (not Python's ``random``, which keras-rl2 uses), and read out with ``memory.sample``
    itself. It is *not* the batch keras-rl2 would draw: with ``include_episode_end`` the first transition
    is, on purpose, one that ended an episode (done = 1), if the memory has one, so that a lesson can
    show a target without a future; keras-rl2's own batches are uniform and hold such a transition only
    by chance.
    """
    memory = dqn.memory
    entries = memory.nb_entries
    size = dqn.batch_size if size is None else size
    if entries < size + 2:
        raise ValueError(f"The replay memory holds {entries} steps; it needs at least {size + 2} to sample {size}.")
    terminals = np.array([memory.terminals[i] for i in range(entries)], dtype=bool)
    # keras-rl2's sample() turns a given index i into j = i + 1, the transition observations[j - 1] ->
    # observations[j] with done = terminals[j - 1]; it skips j when terminals[j - 2] is set (that
    # "transition" would cross from one episode into the next).
    valid = np.array([j for j in range(2, entries) if not terminals[j - 2]])
    rng = np.random.default_rng(seed)
    chosen = list(rng.choice(valid, size=size, replace=False))
    ends = [j for j in valid if terminals[j - 1]]
    if include_episode_end and ends and not any(terminals[j - 1] for j in chosen):
        chosen[0] = ends[0]
    elif include_episode_end and ends:
        first = next(i for i, j in enumerate(chosen) if terminals[j - 1])
        chosen[0], chosen[first] = chosen[first], chosen[0]
    indexes = np.array(chosen) - 1
    experiences = memory.sample(size, batch_idxs=indexes)
    return Batch(
        indexes=indexes,
        states=np.array([e.state0 for e in experiences], dtype=np.float32),
        actions=np.array([e.action for e in experiences], dtype=int),
        rewards=np.array([e.reward for e in experiences], dtype=np.float64),
        next_states=np.array([e.state1 for e in experiences], dtype=np.float32),
        dones=np.array([1.0 if e.terminal1 else 0.0 for e in experiences]),
    )


def update_by_hand(dqn, batch: Batch) -> Update:
    """One DQN update's numbers in NumPy, from the agent's online and target networks (no training)."""
    q = dqn.model.predict_on_batch(batch.states)
    q_next = dqn.target_model.predict_on_batch(batch.next_states)
    targets = batch.rewards + dqn.gamma * q_next.max(axis=1) * (1 - batch.dones)
    rows = np.arange(len(batch.actions))
    masks = np.zeros_like(q)
    masks[rows, batch.actions] = 1.0
    target_vectors = np.zeros_like(q)
    target_vectors[rows, batch.actions] = targets
    squared = 0.5 * (target_vectors - q) ** 2 * masks  # delta_clip = inf: the Huber loss is 0.5 x^2
    return Update(
        q=q,
        q_next=q_next,
        targets=targets,
        target_vectors=target_vectors,
        masks=masks,
        loss=float(squared.sum(axis=1).mean()),
        mae=float(np.abs(target_vectors - q).mean()),
        mean_q=float(q.max(axis=1).mean()),
    )


def keras_rl2_update(dqn, batch: Batch) -> dict[str, float]:
    """Let keras-rl2's own ``DQNAgent.backward`` train on exactly ``batch`` once and return its metrics.

    This is a real training step: the online network and (softly) the target network change.
    ``backward`` first stores the agent's most recent step in the memory, as it always does; the
    batch it then samples is pinned to ``batch.indexes``. Build a fresh agent before training for real.
    """
    memory = dqn.memory
    original = memory.sample
    if getattr(dqn, "recent_observation", None) is None:
        raise ValueError("The agent has not acted yet: let it play (dqn.fit) before asking for an update.")
    memory.sample = lambda size, batch_idxs=None: original(size, batch.indexes)
    saved_step, saved_training = dqn.step, dqn.training
    try:
        dqn.training = True
        # past the warm-up, on a step keras-rl2 trains at (a multiple of train_interval)
        dqn.step = (dqn.nb_steps_warmup // dqn.train_interval + 1) * dqn.train_interval
        values = dqn.backward(0.0, terminal=False)
    finally:
        del memory.sample
        dqn.step, dqn.training = saved_step, saved_training
    return {name: float(v) for name, v in zip(dqn.metrics_names, values, strict=False)}


def finished_episodes(dqn) -> list[np.ndarray]:
    """The finished episodes in ``dqn.memory``, oldest first: per episode its states, shape ``(steps + 1, 4)``.

    Row t is the state the agent acted in at step t; the last row is the state the episode ended in.
    keras-rl2 stores each step with ``terminal`` set on the last one, and after it one extra entry, the
    final state (the reason the memory holds more entries than steps). An episode still running, or one
    the memory has partly forgotten (only the last ``limit`` entries are kept), is left out.
    """
    memory = dqn.memory
    entries = memory.nb_entries
    full = entries == memory.limit  # the oldest entries may be the end of a forgotten episode
    episodes, start = [], 0
    for i in range(entries):
        if memory.terminals[i] and i + 1 < entries:
            if not (full and start == 0):
                episodes.append(np.array([memory.observations[k] for k in range(start, i + 2)], dtype=np.float64))
            start = i + 2
    return episodes


def draw_dqn_loop(ax=None, train_interval: int = 4, target_model_update: float = 0.2):
    """A diagram of DQN's loop: environment -> memory -> batch -> target network -> loss -> online network.

    The labels say how often: a training step every ``train_interval`` environment steps, and, as part of
    each training step, the soft target update (keras-rl2 adds it to the optimizer's updates,
    ``AdditionalUpdatesOptimizer`` in ``rl/util.py``, so it runs with every ``train_on_batch``).
    The figure carries an alt text (:func:`cartpole_dqn.media.describe`) that says the same.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    boxes = {
        "env": (0.9, 2.4, "environment\n(CartPole)"),
        "online": (0.9, 0.6, "online network\nQ(s, ·)"),
        "memory": (3.6, 2.4, "replay memory\nlast 50,000 steps"),
        "batch": (6.3, 2.4, "random batch\n(s, a, r, s', done)"),
        "target": (9.0, 2.4, "target network\ny = r + γ max Q_target(s')"),
        "loss": (6.3, 0.6, "loss\n½ (y − Q(s, a))², mean"),
    }
    for x, y, text in boxes.values():
        ax.text(x, y, text, ha="center", va="center", fontsize=9, bbox={"boxstyle": "round", "fc": "#e8f0fb"})
    every = "random sample,\nevery step" if train_interval == 1 else f"random sample,\nevery {train_interval} steps"
    if target_model_update < 1:
        copy = (
            f"after each training step:\ntarget ← {1 - target_model_update:g}·target + {target_model_update:g}·online"
        )
    else:
        copy = f"copied every {int(target_model_update):,} steps (target_model_update)"
    arrows = [
        ("online", "env", "action a\n(Boltzmann)"),
        ("env", "memory", "s, a, r, s', done"),
        ("memory", "batch", every),
        ("batch", "target", "s'"),
        ("target", "loss", "targets y"),
        ("batch", "loss", "s, a"),
        ("loss", "online", "gradient step\n(Adam)"),
        ("online", "target", ""),
    ]
    for start, end, label in arrows:
        (x0, y0, _), (x1, y1, _) = boxes[start], boxes[end]
        style = "->,head_width=0.25" if label else "->,head_width=0.2"
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={"arrowstyle": style, "color": "grey" if not label else "black", "shrinkA": 38, "shrinkB": 38},
        )
        if label:
            lift = 0.3 if y0 == y1 == 2.4 else 0.1  # above the top row's boxes
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + lift, label, ha="center", va="bottom", fontsize=8, color="dimgray")
    ax.text(2.6, 1.12, copy, fontsize=8, color="grey", rotation=12, va="bottom")
    ax.set_xlim(-0.4, 10.6)
    ax.set_ylim(0, 3.1)
    ax.axis("off")
    from .media import describe

    how_often = "every step" if train_interval == 1 else f"every {train_interval} environment steps"
    alt = (
        "Diagram of DQN's loop: the online network acts in the environment; each step goes into the replay memory; "
        f"{how_often} a random batch is drawn, the target network computes the targets y, the loss trains the "
        f"online network; the target network is {copy.replace(chr(10), ' ')}."
    )
    return describe(ax, alt)
