"""Every adaptation keras-rl2 1.0.5 needs on today's stack, in one place.

keras-rl2 was last released in May 2021. On TensorFlow 2.21, NumPy 2 and Gymnasium it
needs the changes below. They are applied once, when ``cartpole_dqn`` is imported, and
that import must come before TensorFlow's (the notebooks' setup cells do it first).

1. Keras 2. keras-rl2 only works with Keras 2, which TensorFlow 2.16+ ships separately as
   ``tf-keras``. ``TF_USE_LEGACY_KERAS=1`` makes ``tensorflow.keras`` mean tf-keras; it has
   to be set before ``tensorflow.keras`` is first used. If Keras 3 is already loaded we
   raise :class:`KerasVersionError`, which says how to recover (restart the kernel).
2. ``rl/callbacks.py`` imports ``__version__`` from ``tensorflow.keras``, which tf-keras'
   API module no longer exports: we add it.
3. ``rl.core.Agent.fit`` counts steps and episodes with ``np.int16``. NumPy 1 widened
   ``int16 + 1`` to int64; NumPy 2 (NEP 50) keeps int16, so after 32,767 steps the counter
   wraps to -32,768 and ``fit(nb_steps=50000)`` never ends. We hand ``rl.core`` a view of
   NumPy whose ``int16`` is ``int64`` (nothing else in ``rl.core`` uses int16).
4. Saving weights over an existing file makes tf-keras ask a yes/no question on standard
   input, which hangs a notebook run headless. We turn the question into
   :class:`FileExistsError` with a message that says what to do.
5. Speed: tf-keras resets a model's metrics after every ``train_on_batch`` with one
   TensorFlow call per metric variable group (four per DQN training step, 38% of
   the step's time). :func:`set_fast_metric_reset` makes it one grouped call, with the same
   result (all metric totals and counts back to zero). On by default; the benchmark turns it
   off to measure the difference.
   TensorFlow also runs each operation with one thread (``CARTPOLE_DQN_TF_THREADS``, default 1;
   0 keeps TensorFlow's own choice): the network is tiny, so spreading its operations over
   threads costs more in hand-offs than it saves (measured: about 8% less time per step).
6. Reproducible training. With ``target_model_update < 1`` keras-rl2 adds the soft target
   update (``target = tau * online + (1 - tau) * target``) to the same TensorFlow step as the
   optimizer's update of ``online``, with nothing ordering the two: the target network reads
   the online weights sometimes before and sometimes after the update, so two runs from the
   same seeds drift apart (seen here: different weights after 3,000 steps in every run; with
   hard target updates, identical). We build those soft updates after the optimizer's, under
   a control dependency, so they always read the updated weights and training from a seed
   repeats exactly on the same machine and stack.
7. TensorFlow's start-up log noise (C++ logs, absl warnings, deprecation notices, and on
   TensorFlow 2.20 the absl/MLIR lines of the first graph run, spent at import on a tiny graph
   with stderr closed) is silenced unless ``CARTPOLE_DQN_VERBOSE_TF=1`` is set, and so are a few known, harmless
   warnings (Gymnasium's "CartPole-v0 is out of date", keras-rl2's replay-memory notice).
8. Drawing: Gymnasium draws CartPole with pygame (SDL). On Linux without a display, SDL
   prints ``XDG_RUNTIME_DIR is invalid``; the series only draws off-screen (``rgb_array``), so
   there SDL's dummy video driver is selected. And a ``render_mode="human"`` window crashes
   the process (a segmentation fault: "the kernel appears to have died") wherever OpenGL is
   Mesa's software renderer (VMs, WSL, containers, remote desktops), because Mesa then runs
   on the LLVM copy inside TensorFlow; ``SDL_FRAMEBUFFER_ACCELERATION=0`` avoids that.
   On Linux, SDL's audio is the dummy driver too: Gymnasium 1.3 (Colab's) initialises all of
   pygame, audio included, and without a sound card ALSA prints errors into the notebook.
   All are defaults only: a value the learner set wins.

Two adaptations are not patches but ordinary code elsewhere in the package:
the Gymnasium-to-Gym adapter (``cartpole_dqn.envs``) and the legacy Adam optimizer that
``DQNAgent.compile`` needs when ``target_model_update < 1`` (``cartpole_dqn.agent``).
keras-rl2 also switches the whole process to TensorFlow graph mode when ``rl.agents`` is
imported; the package builds everything with ``tensorflow.keras`` so that is harmless.
"""

from __future__ import annotations

import logging
import os
import sys
import types
import warnings

__all__ = ["KerasVersionError", "apply", "keras_is_legacy", "set_fast_metric_reset"]

_APPLIED = False


class KerasVersionError(RuntimeError):
    """TensorFlow was already using Keras 3 when the package was imported."""


def _drawing_defaults() -> None:
    """Item 8: SDL settings for pygame, whatever the log settings (the crash guard must always apply)."""
    os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    if sys.platform.startswith("linux"):
        # The series never plays sound, but Gymnasium 1.3's renderer calls pygame.init(), which opens
        # audio: without a sound card (Colab, containers, servers) ALSA prints errors into the notebook.
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _quiet_tensorflow() -> None:
    if os.environ.get("CARTPOLE_DQN_VERBOSE_TF") == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import gymnasium.logger  # noqa: F401  (installs its own filters on import; ours must come after)

    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|tf_keras|keras|rl)\b")
    warnings.filterwarnings("ignore", message=r".*`(np\.)?random_integers` is deprecated.*")
    # Known, harmless notices that would otherwise greet a learner in every notebook:
    warnings.filterwarnings("ignore", message=r".*`Model\.state_updates` will be removed.*")
    warnings.filterwarnings("ignore", message=r".*Not enough entries to sample without replacement.*")
    warnings.filterwarnings("ignore", message=r".*The environment CartPole-v0 is out of date.*")


def _absorb_first_graph_logs(tf) -> None:
    """Run one tiny graph with stderr pointed at /dev/null (item 7, TensorFlow 2.20).

    TensorFlow 2.20 (Colab's) writes two native log lines at the first graph run of a process
    ("All log messages before absl::InitializeLog() ..." and "MLIR V1 optimization pass is not
    enabled"), ignoring ``TF_CPP_MIN_LOG_LEVEL``; in a notebook they land in the first training
    cell. They come once per process, so this spends them here, where nobody sees them.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr: nothing to hide
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            graph = tf.Graph()
            with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.constant(1.0) + 1.0)
    except Exception:  # noqa: BLE001 - only log lines are at stake: never fail the import for them
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def keras_is_legacy() -> bool:
    """True when ``tensorflow.keras`` resolves to tf-keras (Keras 2)."""
    import tensorflow as tf

    return tf.keras.layers.Dense.__module__.startswith("tf_keras")


def _tensorflow_keras_is_keras_3() -> bool:
    """Whether ``import tensorflow.keras...`` (what keras-rl2 does) would load Keras 3.

    TensorFlow decides where ``tensorflow.keras`` points when it is first imported, so once
    TensorFlow is loaded, setting ``TF_USE_LEGACY_KERAS`` no longer changes that.
    """
    import importlib.util

    spec = importlib.util.find_spec("tensorflow.keras")
    tf_keras = importlib.util.find_spec("tf_keras")
    if spec is None or tf_keras is None or not tf_keras.origin:
        return True
    tf_keras_dir = os.path.dirname(os.path.abspath(tf_keras.origin))
    return not os.path.abspath(spec.origin or "").startswith(tf_keras_dir + os.sep)


def _require_keras_2() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if "tensorflow" in sys.modules and (_tensorflow_keras_is_keras_3() or not keras_is_legacy()):
        raise KerasVersionError(
            "TensorFlow is already loaded with Keras 3, and keras-rl2 only works with Keras 2 (tf-keras). "
            "Restart the kernel (Kernel > Restart Kernel; in Colab: Runtime > Restart session) and run `import cartpole_dqn` before anything "
            "imports tensorflow or keras."
        )


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines (oneDNN, CUDA probe) kept off the terminal.

    They are written by native code straight to file descriptor 2, before any Python
    setting can stop them, so stderr is pointed at /dev/null for the import alone.
    """
    if "tensorflow" in sys.modules or os.environ.get("CARTPOLE_DQN_VERBOSE_TF") == "1":
        import tensorflow  # noqa: F401

        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some IDEs): nothing to hide
        import tensorflow  # noqa: F401

        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _set_threads(tf) -> None:
    threads = os.environ.get("CARTPOLE_DQN_TF_THREADS", "1")
    if threads in ("", "0"):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(threads))
    except (RuntimeError, ValueError):  # TensorFlow already started its thread pools: keep them
        pass


def _add_keras_version() -> None:
    import tensorflow.keras as tfk
    import tf_keras

    if not hasattr(tfk, "__version__"):
        tfk.__version__ = tf_keras.__version__


class _NumpyWithWideInt16(types.ModuleType):
    """NumPy as ``rl.core`` sees it: everything the same, except ``int16`` counts past 32,767."""

    def __init__(self) -> None:
        super().__init__("numpy")
        import numpy

        self.__dict__.update(numpy.__dict__)
        self.int16 = numpy.int64


def _widen_step_counters() -> None:
    import rl.core

    if not isinstance(rl.core.np, _NumpyWithWideInt16):
        rl.core.np = _NumpyWithWideInt16()


def _no_overwrite_prompt() -> None:
    from tf_keras.src.utils import io_utils

    def refuse(filepath: str) -> bool:
        raise FileExistsError(
            f"Weights already exist at {filepath!r}; keras-rl2 would ask on standard input and hang. "
            "Pass overwrite=True to replace them, or choose another file name."
        )

    io_utils.ask_to_proceed_with_overwrite = refuse
    # tf-keras modules that imported the function by name get the same replacement
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("tf_keras") and getattr(mod, "ask_to_proceed_with_overwrite", None):
            mod.ask_to_proceed_with_overwrite = refuse


_original_reset_metrics = None


def set_fast_metric_reset(enabled: bool = True) -> None:
    """Reset all metrics of a graph-mode Keras model with one TensorFlow call (see item 5)."""
    global _original_reset_metrics
    import tensorflow as tf
    from tf_keras.src import backend
    from tf_keras.src.engine import training_v1
    from tf_keras.src.metrics import base_metric

    if _original_reset_metrics is None:
        _original_reset_metrics = training_v1.Model.reset_metrics
    if not enabled:
        training_v1.Model.reset_metrics = _original_reset_metrics
        return
    zeroing_resets = (base_metric.Metric.reset_state, base_metric.Reduce.reset_state)

    def reset_metrics(self) -> None:
        if tf.executing_eagerly() or self._distribution_strategy:
            return _original_reset_metrics(self)
        metrics = self._get_training_eval_metrics()
        cached = getattr(self, "_cartpole_dqn_reset", None)
        if cached is None or cached[0] != len(metrics):
            zeroed = [m for m in metrics if type(m).reset_state in zeroing_resets]
            variables = [v for m in zeroed for v in m.variables]
            op = tf.group(*[v.assign(tf.zeros_like(v)) for v in variables]) if variables else None
            others = [m for m in metrics if m not in zeroed]
            cached = self._cartpole_dqn_reset = (len(metrics), op, others)
        _, op, others = cached
        if op is not None:
            backend.get_session().run(op)
        for metric in others:
            metric.reset_state()

    training_v1.Model.reset_metrics = reset_metrics


#: soft target updates made by keras-rl2, by target variable: id -> (target, source, tau)
_SOFT_UPDATES: dict[int, tuple] = {}


def _ordered_soft_updates() -> None:
    import rl.util
    import tensorflow as tf

    original = getattr(rl.util.get_soft_target_model_updates, "__wrapped__", rl.util.get_soft_target_model_updates)

    def get_soft_target_model_updates(target, source, tau):
        updates = original(target, source, tau)
        source_weights = source.trainable_weights + sum([layer.non_trainable_weights for layer in source.layers], [])
        for (target_weight, _value), source_weight in zip(updates, source_weights, strict=True):
            _SOFT_UPDATES[id(target_weight)] = (target_weight, source_weight, tau)
        return updates  # unchanged (variable, value) pairs: other users of the function see no difference

    get_soft_target_model_updates.__wrapped__ = original

    def get_updates(self, params, loss):
        updates = self.optimizer.get_updates(params=params, loss=loss)
        ordered = []
        with tf.control_dependencies(updates):  # read the online weights after the optimizer changed them
            for update in self.additional_updates:
                target_weight = update[0]
                known = _SOFT_UPDATES.get(id(target_weight))
                if known is not None and known[0] is target_weight:
                    _, source_weight, tau = known
                    value = tau * tf.identity(source_weight) + (1.0 - tau) * tf.identity(target_weight)
                    ordered.append((target_weight, value))
                else:
                    ordered.append(update)
        self.updates = list(updates) + ordered
        return self.updates

    rl.util.get_soft_target_model_updates = get_soft_target_model_updates
    rl.util.AdditionalUpdatesOptimizer.get_updates = get_updates
    for name in ("rl.agents.dqn", "rl.agents.ddpg"):  # they copied the function with `from rl.util import *`
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "get_soft_target_model_updates"):
            module.get_soft_target_model_updates = get_soft_target_model_updates


def apply() -> None:
    """Apply every adaptation listed in the module docstring (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _drawing_defaults()
    _quiet_tensorflow()
    _require_keras_2()
    _import_tensorflow_quietly()
    import tensorflow as tf

    if os.environ.get("CARTPOLE_DQN_VERBOSE_TF") != "1":
        tf.get_logger().setLevel(logging.ERROR)
        tf.autograph.set_verbosity(0)
        try:
            from tensorflow.python.util import deprecation

            deprecation._PRINT_DEPRECATION_WARNINGS = False
        except ImportError:  # pragma: no cover - private module moved
            pass
    _set_threads(tf)
    if os.environ.get("CARTPOLE_DQN_VERBOSE_TF") != "1":
        _absorb_first_graph_logs(tf)  # after the thread settings: they must precede TensorFlow's first run
    _add_keras_version()
    _widen_step_counters()
    _ordered_soft_updates()
    _no_overwrite_prompt()
    set_fast_metric_reset(True)
    _APPLIED = True
