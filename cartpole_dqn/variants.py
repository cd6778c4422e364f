"""Every discrete-action keras-rl2 agent and option, built the same way and timed to "solved" (notebook 06).

Each variant changes one thing from the series' per-step agent (notebook 03's network, ``BoltzmannQPolicy``
and :data:`cartpole_dqn.agent.SHIPPED_RECIPE`: learning rate 3e-3, soft target update 5e-2, warm-up 10,
one update of 32 transitions every step, the recipe the shipped agent was trained with):

==================  ==================================================================
name                what changes
==================  ==================================================================
``dqn``             nothing: the series' agent
``double``          ``enable_double_dqn=True``: the target network scores the action the
                    online network picks (less over-estimation of Q-values)
``dueling-avg``     ``enable_dueling_network=True, dueling_type="avg"``: the last layer
``dueling-max``     becomes V(s) and A(s, a), combined as V + A - mean(A), V + A - max(A)
``dueling-naive``   or V + A
``huber``           ``delta_clip=1.0``: Huber loss instead of squared error
``eps-greedy``      ``EpsGreedyQPolicy(eps=0.1)`` instead of Boltzmann
``eps-annealed``    ``LinearAnnealedPolicy``: epsilon from 1.0 down to 0.1 over the first
                    ``ANNEAL_STEPS`` steps
``greedy-test``     ``test_policy=GreedyQPolicy()`` said explicitly (keras-rl2's default)
``sarsa``           ``SARSAAgent``: on-policy, no replay memory, no target network
``cem``             ``CEMAgent``: no gradients; samples whole weight vectors, keeps the best
                    5% of 50 episodes, on keras-rl2's own example network (linear)
==================  ==================================================================

The optimizers are written as a learner would, ``Adam(learning_rate=...)`` from
``tensorflow.keras.optimizers``: ``cartpole_dqn.compat`` (item 8) makes keras-rl2 accept them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import compat

compat.apply()

import numpy as np  # noqa: E402
from rl.agents import CEMAgent, DQNAgent, SARSAAgent  # noqa: E402
from rl.memory import EpisodeParameterMemory, SequentialMemory  # noqa: E402
from rl.policy import BoltzmannQPolicy, EpsGreedyQPolicy, GreedyQPolicy, LinearAnnealedPolicy  # noqa: E402
from tensorflow.keras.layers import Dense, Flatten  # noqa: E402
from tensorflow.keras.models import Sequential  # noqa: E402
from tensorflow.keras.optimizers import Adam  # noqa: E402

from .agent import SHIPPED_RECIPE, reset_session  # noqa: E402
from .envs import DEFAULT_ENV_ID, env_sizes, make_env  # noqa: E402
from .evaluation import evaluate  # noqa: E402
from .model import build_model  # noqa: E402
from .training import SolveMonitor  # noqa: E402

__all__ = [
    "ANNEAL_STEPS",
    "TIMED",
    "VARIANTS",
    "VariantRun",
    "build_variant",
    "build_cem_model",
    "run_variant",
    "summary_rows",
]

#: The variants, in the order tables show them (see the module docstring).
VARIANTS = (
    "dqn",
    "double",
    "dueling-avg",
    "dueling-max",
    "dueling-naive",
    "huber",
    "eps-greedy",
    "eps-annealed",
    "greedy-test",
    "sarsa",
    "cem",
)

#: The variants worth timing: ``greedy-test`` trains exactly like ``dqn`` (the test policy is only
#: used by ``test``, and ``GreedyQPolicy`` is already keras-rl2's default), so timing it again adds nothing.
TIMED = tuple(name for name in VARIANTS if name != "greedy-test")

#: ``eps-annealed``: steps over which epsilon falls from 1.0 to 0.1.
ANNEAL_STEPS = 2_000

#: CEM (keras-rl2's ``examples/cem_cartpole.py``): 50 episodes per update, the best 5% kept.
CEM_BATCH, CEM_ELITE_FRAC, CEM_WARMUP = 50, 0.05, 2_000


def build_cem_model(states: int, actions: int) -> Sequential:
    """The network keras-rl2's CEM example uses: observation straight to one score per action (10 weights).

    CEM searches weight space by sampling; with the series' 770-weight network it would need far
    more episodes per update. The output is linear (the example adds a softmax; the argmax is the
    same and the fast evaluator reads Dense layers only).
    """
    model = Sequential(name="cem_policy")
    model.add(Flatten(input_shape=(1, states), name="flatten"))
    model.add(Dense(actions, activation="linear", name="scores"))
    return model


def build_variant(
    name: str, states: int, actions: int, learning_rate: float = SHIPPED_RECIPE["learning_rate"], **overrides
):
    """``(agent, keras_model)`` for variant ``name``, compiled and ready for ``fit``.

    ``overrides`` replace the agent's constructor arguments (tests use them for tiny budgets,
    e.g. ``nb_steps_warmup``). Call :func:`cartpole_dqn.reset_session` (with a seed) first, as for any model.
    """
    if name not in VARIANTS:
        raise ValueError(f"Unknown variant {name!r}; choose one of: {', '.join(VARIANTS)}.")
    if name == "cem":
        model = build_cem_model(states, actions)
        memory = EpisodeParameterMemory(limit=1_000, window_length=1)
        options = {
            "batch_size": CEM_BATCH,
            "nb_steps_warmup": CEM_WARMUP,
            "train_interval": CEM_BATCH,
            "elite_frac": CEM_ELITE_FRAC,
        }
        agent = CEMAgent(model=model, nb_actions=actions, memory=memory, **{**options, **overrides})
        agent.compile()
        return agent, model
    model = build_model(states, actions)
    if name == "sarsa":
        options = {"policy": BoltzmannQPolicy(), "nb_steps_warmup": SHIPPED_RECIPE["nb_steps_warmup"]}
        agent = SARSAAgent(model=model, nb_actions=actions, **{**options, **overrides})
    else:
        options: dict = {"policy": BoltzmannQPolicy()}
        if name == "double":
            options["enable_double_dqn"] = True
        elif name.startswith("dueling-"):
            options.update(enable_dueling_network=True, dueling_type=name.split("-", 1)[1])
        elif name == "huber":
            options["delta_clip"] = 1.0
        elif name == "eps-greedy":
            options["policy"] = EpsGreedyQPolicy(eps=0.1)
        elif name == "eps-annealed":
            options["policy"] = LinearAnnealedPolicy(
                EpsGreedyQPolicy(), attr="eps", value_max=1.0, value_min=0.1, value_test=0.05, nb_steps=ANNEAL_STEPS
            )
        elif name == "greedy-test":
            options["test_policy"] = GreedyQPolicy()
        options.update({k: v for k, v in SHIPPED_RECIPE.items() if k != "learning_rate"})
        memory = SequentialMemory(limit=50_000, window_length=1)
        agent = DQNAgent(model=model, memory=memory, nb_actions=actions, **{**options, **overrides})
    agent.compile(Adam(learning_rate=learning_rate), metrics=["mae"])
    return agent, agent.model


@dataclass
class VariantRun:
    """One training run of one variant: did it solve, after how many steps and seconds."""

    variant: str
    seed: int
    steps: int
    seconds: float
    solved_at_step: int | None
    solved_seconds: float | None
    best_mean: float
    agent: object = field(repr=False, default=None)
    evaluations: list[tuple[int, float]] = field(default_factory=list, repr=False)

    @property
    def solved(self) -> bool:
        return self.solved_at_step is not None


def run_variant(
    name: str,
    seed: int = 0,
    max_steps: int = 20_000,
    env_id: str = DEFAULT_ENV_ID,
    eval_every: int = 500,
    eval_episodes: int = 100,
    progress: bool = False,
    threshold: float | None = None,
) -> VariantRun:
    """Train variant ``name`` from ``seed`` until :class:`~cartpole_dqn.SolveMonitor` calls it solved, or ``max_steps``.

    The seed fixes the initial weights, the exploration draws, the replay samples and the
    episodes, so a run repeats exactly on the same machine. ``seconds`` include the evaluations.
    """
    reset_session(seed)
    env = make_env(env_id, seed=seed)
    states, actions = env_sizes(env)
    agent, model = build_variant(name, states, actions)
    monitor = SolveMonitor(env_id, eval_every, eval_episodes, progress=progress, threshold=threshold)
    started = time.perf_counter()
    agent.fit(env, nb_steps=max_steps, visualize=False, verbose=0, callbacks=[monitor])
    seconds = time.perf_counter() - started
    if name == "cem" and monitor.best_weights is not None:
        # CEMAgent ends fit by loading the weights of its best single training episode; keep
        # whichever scores better over the monitor's evaluation episodes.
        current = evaluate(model, env_id, eval_episodes, monitor.eval_seed).mean
        if current < monitor.best_mean:
            model.set_weights(monitor.best_weights)
    return VariantRun(
        variant=name,
        seed=seed,
        steps=monitor.steps,
        seconds=seconds,
        solved_at_step=monitor.solved_at_step,
        solved_seconds=monitor.solved_seconds,
        best_mean=float(monitor.best_mean),
        agent=agent,
        evaluations=list(monitor.evaluations),
    )


def summary_rows(runs: list[VariantRun]) -> list[dict]:
    """One row per variant: solved N/M, median and max steps and seconds over the solved runs."""
    rows = []
    for name in dict.fromkeys(run.variant for run in runs):
        mine = [run for run in runs if run.variant == name]
        solved = [run for run in mine if run.solved]
        steps = [run.solved_at_step for run in solved]
        seconds = [run.solved_seconds for run in solved]
        rows.append(
            {
                "variant": name,
                "solved": f"{len(solved)}/{len(mine)}",
                "median steps": int(np.median(steps)) if steps else None,
                "max steps": max(steps) if steps else None,
                "median s": float(np.median(seconds)) if seconds else None,
                "max s": max(seconds) if seconds else None,
                "cap": max(run.steps for run in mine if not run.solved) if len(solved) < len(mine) else None,
            }
        )
    return rows
