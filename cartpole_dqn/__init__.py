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
``checkpoints``    the one write and read path of every file (GIFs, weights, ...)  01, 03
``stored``         the network in a weights file: layers, activations, fit check  03, 04
``errors``         the package's error types (one base), whole-number checks      all
``paths``          paths shown relative to the project or the working folder      all
``deploy``         ``load_controller``: observation -> action, NumPy only           04
``plots``          histograms, reward curves, inline animations, GIFs               01, 03
``doctor``         ``check_setup``: is this machine ready? (stdlib + packaging)     all
``cli``            ``python -m cartpole_dqn train | evaluate | play | doctor``      -
=================  =============================================================  ========

A setup that lacks a library (keras-rl2, Gymnasium, TensorFlow, ...) or has a broken one stops
``import cartpole_dqn`` at once with :class:`~cartpole_dqn.errors.SetupError`, which says what is
missing and chains the original error; ``python -m cartpole_dqn doctor`` (which still starts)
lists every missing piece with its fix. Keras 3 already loaded raises
:class:`~cartpole_dqn.compat.KerasVersionError` (restart first). Any other error is a bug of the
package and keeps its own traceback.
"""

from __future__ import annotations

import os
import sys

from . import compat, settings
from .doctor import check_setup, print_report
from .errors import CartPoleDQNError, SetupError, describe_setup_problem


def _version() -> str:
    """The installed distribution's version (one source: pyproject.toml)."""
    from importlib import metadata

    try:
        return metadata.version("cartpole-dqn")
    except metadata.PackageNotFoundError:  # run from a copy that was never installed
        return "0+unknown"


__version__ = _version()


def _started_from_the_command_line() -> bool:
    """``python -m cartpole_dqn`` (argv[0] is "-m" while the package loads) or the ``cartpole-dqn`` script."""
    first = os.path.basename(sys.argv[0]) if sys.argv else ""
    return first == "-m" or first.startswith("cartpole-dqn")


def _raised_by_a_library(exc: BaseException) -> bool:
    """A missing library, an adaptation that found no target, or an error raised inside a library."""
    if isinstance(exc, SetupError) or (
        isinstance(exc, ModuleNotFoundError) and not (exc.name or "").startswith(__name__)
    ):
        return True
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and not os.path.abspath(frame.tb_frame.f_code.co_filename).startswith(
        os.path.dirname(__file__)
    )


#: Why the stack could not be loaded, kept only when started as ``python -m cartpole_dqn`` (for the doctor).
_SETUP_PROBLEM: BaseException | None = None
try:
    compat.apply()  # before anything below imports TensorFlow
    # One line per module; each name imported here is also listed in __all__.
    from .agent import build_agent, compile_agent, make_optimizer, reset_session, session_of, set_seeds
    from .checks import check  # exercise checks, notebooks 01-05
    from .deploy import Controller, load_controller
    from .envs import DEFAULT_ENV_ID, EnvironmentSpecError, GymAdapter, env_sizes, make_env, make_gymnasium_env
    from .evaluation import Evaluation, evaluate, greedy_policy, random_scores, summarize
    from .insight import load_q_network  # notebook 05; also binds cd.insight
    from .lesson import update_by_hand  # notebook 03; also binds cd.lesson
    from .model import build_model
    from .plots import plot_rewards, plot_score_histogram, record_episode, save_gif, show_animation, side_by_side
    from .settings import SMOKE
    from .training import SolveMonitor, TrainingRun, train
    from .weights import (
        SHIPPED_WEIGHTS,
        WeightsCorruptError,
        WeightsError,
        WeightsMismatchError,
        WeightsNotFoundError,
        load_weights,
        save_weights,
    )
except KeyboardInterrupt:
    if _started_from_the_command_line():  # Ctrl+C while TensorFlow loads: stop quietly
        raise SystemExit(130) from None
    raise
except Exception as exc:  # noqa: BLE001 - sorted below: a library's problem, or a bug of ours
    if not _raised_by_a_library(exc):
        raise  # a bug of the package: its own traceback
    if not _started_from_the_command_line():
        if isinstance(exc, SetupError):
            raise
        raise SetupError(
            f"cartpole_dqn cannot be used: {describe_setup_problem(exc)} "
            "Run `python -m cartpole_dqn doctor` to see every missing piece and its fix."
        ) from exc
    _SETUP_PROBLEM = exc  # the command line reports it, and its doctor still runs


def __getattr__(name: str):
    """Only reached for a helper that could not be loaded: say what is missing instead of AttributeError."""
    if name in __all__ and _SETUP_PROBLEM is not None:
        raise SetupError(
            f"cartpole_dqn.{name} cannot be used: {describe_setup_problem(_SETUP_PROBLEM)} "
            "Run `python -m cartpole_dqn doctor` (or cartpole_dqn.check_setup()) to see every missing piece and its fix."
        ) from _SETUP_PROBLEM
    raise AttributeError(f"module 'cartpole_dqn' has no attribute {name!r}")


__all__ = [
    "CartPoleDQNError",
    "Controller",
    "DEFAULT_ENV_ID",
    "EnvironmentSpecError",
    "Evaluation",
    "GymAdapter",
    "SHIPPED_WEIGHTS",
    "SMOKE",
    "SetupError",
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
    "session_of",
    "set_seeds",
    "settings",
    "show_animation",
    "side_by_side",
    "summarize",
    "train",
    "update_by_hand",
]
