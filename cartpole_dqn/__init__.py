"""cartpole_dqn: the helper package of the CartPole DQN notebook series.

Import it before TensorFlow: it applies the adaptations keras-rl2 needs (see
``cartpole_dqn.compat``) and then exposes the helpers the notebooks use:

=================  =============================================================  ========
module             what it holds                                                  notebook
=================  =============================================================  ========
``compat``         every patch of keras-rl2 / TensorFlow, and why                 all
``envs``           making CartPole; the Gymnasium-to-old-Gym adapter               01, 03
``model``          ``build_model``: the Keras Q-network                            02
``agent``          ``build_agent``, the legacy Adam, seeds                          03
``evaluation``     score summaries, the fast greedy evaluator                       01, 03
``training``       ``SolveMonitor`` (stop when solved), ``train``                   03
``weights``        saving and loading weights with clear errors                     03, 04
``deploy``         ``load_controller``: observation -> action, NumPy only           04
``plots``          histograms, reward curves, inline animations, GIFs               01, 03
``doctor``         ``check_setup``: is this machine ready?                          all
=================  =============================================================  ========
"""

from . import compat

compat.apply()

from . import settings  # noqa: E402
from .agent import Adam, DQNAgent, build_agent, compile_agent, make_optimizer, reset_session, set_seeds  # noqa: E402
from .checks import check  # noqa: E402  (exercise checks, notebooks 01-05)
from .deploy import Controller, load_controller  # noqa: E402
from .doctor import check_setup, print_report  # noqa: E402
from .envs import DEFAULT_ENV_ID, EnvironmentSpecError, GymAdapter, env_sizes, make_env, make_gymnasium_env  # noqa: E402
from .evaluation import Evaluation, evaluate, greedy_policy, random_scores, summarize  # noqa: E402
from .insight import QNetwork, load_q_network  # noqa: E402  (notebook 05; also binds cd.insight)
from .lesson import update_by_hand  # noqa: E402  (notebook 03; also binds cd.lesson)
from .model import build_model  # noqa: E402
from .plots import (  # noqa: E402
    plot_rewards,
    plot_score_histogram,
    record_episode,
    save_gif,
    show_animation,
    side_by_side,
)
from .settings import SMOKE  # noqa: E402
from .training import SolveMonitor, TrainingRun, train  # noqa: E402
from .weights import (  # noqa: E402
    SHIPPED_WEIGHTS,
    WeightsCorruptError,
    WeightsError,
    WeightsMismatchError,
    WeightsNotFoundError,
    load_weights,
    save_weights,
)

__version__ = "1.0.0"

__all__ = [
    "Adam",
    "Controller",
    "DEFAULT_ENV_ID",
    "DQNAgent",
    "EnvironmentSpecError",
    "Evaluation",
    "GymAdapter",
    "QNetwork",
    "SHIPPED_WEIGHTS",
    "SMOKE",
    "SolveMonitor",
    "TrainingRun",
    "WeightsCorruptError",
    "WeightsError",
    "WeightsMismatchError",
    "WeightsNotFoundError",
    "build_agent",
    "build_model",
    "check",
    "check_setup",
    "compat",
    "compile_agent",
    "env_sizes",
    "evaluate",
    "greedy_policy",
    "insight",
    "lesson",
    "load_q_network",
    "load_controller",
    "load_weights",
    "make_env",
    "make_gymnasium_env",
    "make_optimizer",
    "plot_rewards",
    "plot_score_histogram",
    "print_report",
    "random_scores",
    "record_episode",
    "reset_session",
    "save_gif",
    "save_weights",
    "set_seeds",
    "settings",
    "show_animation",
    "side_by_side",
    "summarize",
    "train",
    "update_by_hand",
]
