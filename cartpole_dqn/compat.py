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
   repeats exactly on the same machine and stack. The soft updates are remembered through
   weak references only, so a graph cleared by ``reset_session`` is freed (a strong reference
   kept every old graph alive: about 2 MB more per build cycle).
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
9. Optimizers as learners write them. keras-rl2 compiles its training model in graph mode,
   which needs tf-keras' *legacy* optimizers; the ones ``from tensorflow.keras.optimizers``
   gives fail there (``'Adam' object has no attribute '_name'`` when ``DQNAgent`` wraps it for
   soft target updates, ``... no attribute 'get_updates'`` in ``SARSAAgent``). (a) Adadelta,
   Adagrad, Adam, Adamax, Ftrl, Nadam, RMSprop and SGD accept the old ``lr=`` again as
   ``learning_rate=`` (tf-keras would log a line and silently keep 0.001) and remember their
   arguments; (b) the ``compile`` of ``DQNAgent``, ``SARSAAgent``, ``NAFAgent`` and
   ``DDPGAgent`` first turns the optimizer into its legacy twin with the same arguments
   (:func:`legacy_optimizer`; a string such as ``"adam"`` too). Tests read the learning rate
   back from the optimizer that trained.
10. The dueling network. ``DQNAgent(enable_dueling_network=True)`` ends its network in a
   ``Lambda`` around a Python lambda, and cloning the target network from the model's config
   then fails: tf-keras refuses to deserialize Python code ("potential risk of arbitrary code
   execution"). Rather than switch that safety off, ``DQNAgent`` builds the same head
   (``Dense(actions + 1)``, then V + A - mean/max A, or V + A) with a named, registered layer
   (:func:`dueling_layer_class`) that clones from its config; :func:`dueling_numpy` is its
   NumPy twin for the fast evaluator. Both new layers have fixed names (an automatic
   ``dense_1`` clashed with the series' own layer names). An unknown ``dueling_type`` is a
   ``ValueError``, not an ``assert``.
11. ``CEMAgent`` (no gradients) samples training actions with ``exp(s) / sum(exp(s))`` of the
   network's outputs; with a linear output layer and CEM's initial weights (standard deviation
   1) ``exp`` overflows and the run stops with "probabilities contain NaN". We subtract the
   largest output first: the same probabilities, no overflow. ``SARSAAgent`` needs nothing
   beyond item 9. Both then train, save and reload as written (tests).

12. Speed, without changing results: keras-rl2's ``DQNAgent`` asks TensorFlow for Q-values with
   ``predict_on_batch`` once per environment step (to pick the action) and once per training
   step (the target network's values for the sampled batch); each call costs far more in
   framework overhead than the arithmetic of a 770-parameter network. During ``fit``,
   :func:`set_fast_q_values` computes those Q-values in NumPy from a copy of the weights that is
   read with one TensorFlow call after each training step (and at each episode start), so with
   ``train_interval=k`` an environment step costs no TensorFlow call at all in k-1 of k steps.
   tf-keras' metric reset after the training step (item 5) runs in that same call.
   The NumPy forward pass gives bit-for-bit the Q-values TensorFlow gives on this stack
   (tests train with and without it and compare the weights); it covers ``Flatten``/``Dense``
   stacks with ReLU or linear activations, and anything else keeps keras-rl2's own path.

13. Speed, without changing results: tf-keras' ``train_on_batch`` checks and converts its
   inputs on every call (about a fifth of a training step). keras-rl2 calls it with the same kind
   of input every time, so :func:`set_fast_train_on_batch` works out on the first call how tf-keras
   feeds the training function, checks that it rebuilds exactly that feed, and from then on feeds
   the training function directly (other kinds of calls take tf-keras' own path).

14. Speed, without changing results: with one thread per operation (item 5), TensorFlow still hands
   every graph run to a pool thread and waits for it; on a busy machine each hand-off waits for the
   scheduler. A negative ``inter_op_parallelism_threads`` makes it run the operations in the calling
   thread instead (same operations, same order of the updates, same weights: tested). Only with the
   default ``CARTPOLE_DQN_TF_THREADS=1``; ``CARTPOLE_DQN_TF_INLINE=0`` keeps the pool thread.

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
import weakref
from typing import TYPE_CHECKING

from .errors import CartPoleDQNError

if TYPE_CHECKING:
    import numpy as np

# NumPy (like TensorFlow) is imported inside the functions that use it: the doctor imports this
# module, and it must run on a machine where NumPy itself is missing or broken.

__all__ = [
    "KerasVersionError",
    "apply",
    "keras_is_legacy",
    "set_fast_metric_reset",
    "set_fast_q_values",
    "set_fast_train_on_batch",
]

_APPLIED = False


class KerasVersionError(CartPoleDQNError, RuntimeError):
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

    try:
        return tf.keras.layers.Dense.__module__.startswith("tf_keras")
    except (AttributeError, ImportError):  # no Keras at all (tf-keras missing, Keras 3 missing)
        return False


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


def keras_3_in_use() -> bool:
    """Whether TensorFlow, already loaded, uses Keras 3 (also when tf-keras is missing); False before it loads."""
    return "tensorflow" in sys.modules and (_tensorflow_keras_is_keras_3() or not keras_is_legacy())


def _require_keras_2() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if keras_3_in_use():
        from .doctor import restart_advice

        raise KerasVersionError(
            "TensorFlow is already loaded with Keras 3, and keras-rl2 only works with Keras 2 (tf-keras). "
            f"{restart_advice()} and run `import cartpole_dqn` before anything imports tensorflow or keras."
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


def _ops_in_caller_thread(tf) -> None:
    """Item 14: TensorFlow runs a graph's operations in the thread that calls it (see the docstring)."""
    if os.environ.get("CARTPOLE_DQN_TF_THREADS", "1") != "1" or os.environ.get("CARTPOLE_DQN_TF_INLINE", "1") != "1":
        return
    try:
        tf.config.threading.set_inter_op_parallelism_threads(-1)  # negative: the caller's thread, no hand-off
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


#: The tf-keras methods items 5 and 13 replace, as they were before: (class, name) -> method.
_ORIGINAL_METHODS: dict[tuple[type, str], object] = {}


def _original_method(owner: type, name: str):
    """``owner.name`` as it was before this module first replaced it."""
    if (owner, name) not in _ORIGINAL_METHODS:
        _ORIGINAL_METHODS[owner, name] = getattr(owner, name)
    return _ORIGINAL_METHODS[owner, name]


def set_fast_metric_reset(enabled: bool = True) -> None:
    """Reset all metrics of a graph-mode Keras model with one TensorFlow call (see item 5)."""
    import tensorflow as tf
    from tf_keras.src import backend
    from tf_keras.src.engine import training_v1
    from tf_keras.src.metrics import base_metric

    original = _original_method(training_v1.Model, "reset_metrics")
    if not enabled:
        training_v1.Model.reset_metrics = original
        return
    zeroing_resets = (base_metric.Metric.reset_state, base_metric.Reduce.reset_state)

    def reset_metrics(self) -> None:
        if tf.executing_eagerly() or self._distribution_strategy:
            return original(self)
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


#: soft target updates made by keras-rl2, by target variable: id -> (weak target, weak source, tau).
#: Weak references only: a strong one would keep every graph built since start-up alive
#: (each ``reset_session`` leaked about 2 MB, measured over 50 cycles).
_SOFT_UPDATES: dict[int, tuple[weakref.ref, weakref.ref, float]] = {}


def _forget_dead_soft_updates() -> None:
    """Drop the entries whose variables were freed (their graph was cleared by ``reset_session``)."""
    for key in [key for key, (target, source, _) in _SOFT_UPDATES.items() if target() is None or source() is None]:
        del _SOFT_UPDATES[key]


def _known_soft_update(target_weight) -> tuple | None:
    """``(source, tau)`` when keras-rl2 made a soft update of ``target_weight``, else None."""
    known = _SOFT_UPDATES.get(id(target_weight))
    if known is None or known[0]() is not target_weight:
        return None
    source = known[1]()
    return None if source is None else (source, known[2])


def _ordered_soft_updates() -> None:
    import rl.util
    import tensorflow as tf

    original = getattr(rl.util.get_soft_target_model_updates, "__wrapped__", rl.util.get_soft_target_model_updates)

    def get_soft_target_model_updates(target, source, tau):
        updates = original(target, source, tau)
        source_weights = source.trainable_weights + sum([layer.non_trainable_weights for layer in source.layers], [])
        _forget_dead_soft_updates()
        for (target_weight, _value), source_weight in zip(updates, source_weights, strict=True):
            _SOFT_UPDATES[id(target_weight)] = (weakref.ref(target_weight), weakref.ref(source_weight), tau)
        return updates  # unchanged (variable, value) pairs: other users of the function see no difference

    get_soft_target_model_updates.__wrapped__ = original

    def get_updates(self, params, loss):
        updates = self.optimizer.get_updates(params=params, loss=loss)
        ordered = []
        with tf.control_dependencies(updates):  # read the online weights after the optimizer changed them
            for update in self.additional_updates:
                target_weight = update[0]
                known = _known_soft_update(target_weight)
                if known is not None:
                    source_weight, tau = known
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


# --- items 9-11: what keras-rl2 code from its popular years writes (issue 8) ----------------
__all__ += ["DUELING_TYPES", "dueling_layer_class", "dueling_numpy", "legacy_optimizer"]

#: new tf-keras optimizer class name -> module path of its legacy twin (``tf_keras.optimizers.legacy``)
_LEGACY_TWINS = ("Adadelta", "Adagrad", "Adam", "Adamax", "Ftrl", "Nadam", "RMSprop", "SGD")
#: options of the new optimizers that the legacy ones do without when left at these values
_NEW_ONLY_DEFAULTS = {
    "weight_decay": (None, 0, 0.0),
    "use_ema": (False,),
    "ema_momentum": None,  # any value: only used with use_ema=True
    "ema_overwrite_frequency": None,
    "jit_compile": None,  # XLA switch; no effect in graph mode
    "adaptive_epsilon": (False,),
    "name": None,
}


def _accept_lr(cls) -> None:
    """Item 9a: make ``cls(lr=x)`` mean ``cls(learning_rate=x)`` and remember the arguments."""
    original = cls.__dict__["__init__"]
    if getattr(original, "_cartpole_dqn", False):
        return

    def __init__(self, *args, **kwargs):
        if "lr" in kwargs:
            if args or "learning_rate" in kwargs:
                raise TypeError(
                    f"{cls.__name__}() got the learning rate twice (lr= and learning_rate=). "
                    "Pass it once, as learning_rate=..."
                )
            kwargs["learning_rate"] = kwargs.pop("lr")
        original(self, *args, **kwargs)
        self._cartpole_dqn_arguments = (args, dict(kwargs))

    __init__._cartpole_dqn = True
    __init__.__wrapped__ = original
    __init__.__doc__ = original.__doc__
    cls.__init__ = __init__


def legacy_optimizer(optimizer):
    """The legacy tf-keras optimizer keras-rl2 needs, built from the one a learner wrote (item 9).

    Legacy optimizers and anything that is not a new tf-keras optimizer are returned unchanged;
    a string such as ``"adam"`` becomes the legacy class with its defaults. The new optimizer's
    constructor arguments (``learning_rate`` or ``lr``, betas, momentum, clipping, ...) are passed
    on; options only the new optimizers have raise ``ValueError`` when set (there is no legacy
    equivalent to honour them with).
    """
    import inspect

    from tf_keras.optimizers import legacy
    from tf_keras.src.optimizers import optimizer as new_optimizer

    if isinstance(optimizer, str):
        from tf_keras.src import optimizers

        return optimizers.get(optimizer, use_legacy_optimizer=True)
    if isinstance(optimizer, list | tuple):
        return type(optimizer)(legacy_optimizer(o) for o in optimizer)
    if not isinstance(optimizer, new_optimizer.Optimizer):
        return optimizer
    base = next(
        (c for c in type(optimizer).__mro__ if c.__name__ in _LEGACY_TWINS and "optimizers" in c.__module__), None
    )
    if base is None:
        raise ValueError(
            f"keras-rl2 trains in TensorFlow's graph mode, which needs a legacy optimizer, and {type(optimizer).__name__} "
            f"has none. Use one of {', '.join(_LEGACY_TWINS)} (from tensorflow.keras.optimizers)."
        )
    target = getattr(legacy, base.__name__)
    args, kwargs = getattr(optimizer, "_cartpole_dqn_arguments", ((), None))
    if kwargs is None:  # made before the package was imported: its config is all we have
        kwargs = {k: v for k, v in optimizer.get_config().items() if k != "is_legacy_optimizer"}
    bound = inspect.signature(base.__init__).bind(optimizer, *args, **kwargs).arguments
    bound.pop("self", None)
    bound.update(bound.pop("kwargs", {}))
    accepted = set(inspect.signature(target.__init__).parameters) | {"clipnorm", "clipvalue", "global_clipnorm"}
    passed = {}
    for key, value in bound.items():
        if key in accepted:
            passed[key] = value
        elif key in _NEW_ONLY_DEFAULTS:
            harmless = _NEW_ONLY_DEFAULTS[key]
            if harmless is not None and value not in harmless:
                raise ValueError(
                    f"{base.__name__}({key}={value!r}) has no equivalent in the legacy optimizer that keras-rl2 "
                    f"needs, so it cannot be honoured. Leave {key} out."
                )
        else:
            raise ValueError(f"{base.__name__}: the option {key}={value!r} has no legacy equivalent; leave it out.")
    return target(**passed)


def _agents_take_any_optimizer() -> None:
    """Item 9b: every keras-rl2 agent's ``compile`` converts the optimizer first."""
    import rl.agents

    for name in ("DQNAgent", "SARSAAgent", "NAFAgent", "DDPGAgent"):
        agent_class = getattr(rl.agents, name, None)
        original = agent_class.__dict__.get("compile") if agent_class is not None else None
        if original is None or getattr(original, "_cartpole_dqn", False):
            continue

        def compile(self, optimizer, *args, _original=original, **kwargs):
            return _original(self, legacy_optimizer(optimizer), *args, **kwargs)

        compile._cartpole_dqn = True
        compile.__wrapped__ = original
        compile.__doc__ = original.__doc__
        agent_class.compile = compile


def _optimizers_accept_lr() -> None:
    import tf_keras.optimizers as optimizers

    for name in _LEGACY_TWINS:
        _accept_lr(getattr(optimizers, name))


DUELING_TYPES = ("avg", "max", "naive")
_DuelingCombine = None


def dueling_layer_class():
    """The layer that combines V(s) and A(s, a) into Q(s, a) in keras-rl2's dueling network (item 10).

    keras-rl2 writes it as a ``Lambda`` around a Python lambda; tf-keras refuses to rebuild that
    from a config ("arbitrary code execution"), which is what cloning the target network does. This
    named, registered layer does the same arithmetic and clones from its config safely.
    """
    global _DuelingCombine
    if _DuelingCombine is not None:
        return _DuelingCombine
    import tensorflow as tf
    import tf_keras

    @tf_keras.saving.register_keras_serializable(package="cartpole_dqn")
    class DuelingCombine(tf_keras.layers.Layer):
        """``y = [V, A_1..A_n]`` -> ``Q_i = V + A_i - mean(A)`` (avg), ``- max(A)`` (max) or ``+ 0`` (naive)."""

        def __init__(self, dueling_type: str = "avg", **kwargs) -> None:
            super().__init__(**kwargs)
            if dueling_type not in DUELING_TYPES:
                raise ValueError(f"dueling_type must be one of {DUELING_TYPES}, got {dueling_type!r}.")
            self.dueling_type = dueling_type

        def call(self, y):
            value, advantage = y[:, :1], y[:, 1:]
            if self.dueling_type == "avg":
                return value + advantage - tf.reduce_mean(advantage, axis=1, keepdims=True)
            if self.dueling_type == "max":
                return value + advantage - tf.reduce_max(advantage, axis=1, keepdims=True)
            return value + advantage

        def compute_output_shape(self, input_shape):
            return tf.TensorShape(input_shape[:-1] + [input_shape[-1] - 1])

        def get_config(self):
            return {**super().get_config(), "dueling_type": self.dueling_type}

    _DuelingCombine = DuelingCombine
    return DuelingCombine


def dueling_numpy(y, dueling_type: str):
    """NumPy twin of the dueling layer, for the fast evaluator: ``(n, actions + 1)`` -> ``(n, actions)``."""
    value, advantage = y[:, :1], y[:, 1:]
    if dueling_type == "avg":
        return value + advantage - advantage.mean(axis=1, keepdims=True)
    if dueling_type == "max":
        return value + advantage - advantage.max(axis=1, keepdims=True)
    return value + advantage


def _dueling_without_lambda() -> None:
    """Item 10: build keras-rl2's dueling head with :func:`dueling_layer_class` instead of a ``Lambda``."""
    from rl.agents import dqn
    from tf_keras.layers import Dense
    from tf_keras.models import Model

    original = dqn.DQNAgent.__init__
    if getattr(original, "_cartpole_dqn", False):
        return

    def __init__(
        self,
        model,
        policy=None,
        test_policy=None,
        enable_double_dqn=False,
        enable_dueling_network=False,
        dueling_type="avg",
        *args,
        **kwargs,
    ):
        if enable_dueling_network and dueling_type not in DUELING_TYPES:
            raise ValueError(f"dueling_type must be one of {DUELING_TYPES}, got {dueling_type!r}.")
        original(self, model, policy, test_policy, enable_double_dqn, False, dueling_type, *args, **kwargs)
        if enable_dueling_network:  # keras-rl2's construction, with the named layer in place of its Lambda
            nb_action = model.output.shape[-1]
            # named layers: an automatic name ("dense_1") can clash with one the learner's model uses
            y = Dense(nb_action + 1, activation="linear", name="dueling_value_and_advantages")(model.layers[-2].output)
            q_values = dueling_layer_class()(dueling_type, name=f"dueling_{dueling_type}_q_values")(y)
            self.model = Model(inputs=model.input, outputs=q_values)
            self.enable_dueling_network = True

    __init__._cartpole_dqn = True
    __init__.__wrapped__ = original
    __init__.__doc__ = original.__doc__
    dqn.DQNAgent.__init__ = __init__


def _stable_cem_sampling() -> None:
    """Item 11: ``CEMAgent`` samples its training actions with a softmax that cannot overflow."""
    import numpy as np
    from rl.agents import cem

    original = cem.CEMAgent.select_action
    if getattr(original, "_cartpole_dqn", False):
        return

    def select_action(self, state, stochastic=False):
        if not (stochastic or self.training):
            return original(self, state, stochastic)
        batch = np.array([state], dtype=object)
        if self.processor is not None:
            batch = self.processor.process_state_batch(batch)
        scores = np.asarray(self.model.predict_on_batch(batch), dtype=np.float64).flatten()
        weights = np.exp(scores - scores.max())  # the same probabilities as exp(s) / sum(exp(s))
        return np.random.choice(np.arange(self.nb_actions), p=weights / weights.sum())

    select_action._cartpole_dqn = True
    select_action.__wrapped__ = original
    cem.CEMAgent.select_action = select_action


# Item 12: Q-values in NumPy during fit -----------------------------------------------------
_ORIGINAL_DQN_METHODS: dict[str, object] = {}
_EXACT_ACTIVATIONS = ("linear", "relu")


def _numpy_q_plan(model) -> list | None:
    """``[(kernel, bias, activation), ...]`` variables of a Flatten/Dense stack, or None if it is anything else."""
    plan = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Flatten", "InputLayer"):
            continue
        if kind != "Dense" or not layer.use_bias:
            return None
        activation = getattr(layer.activation, "__name__", "")
        if activation not in _EXACT_ACTIVATIONS:
            return None
        plan.append((layer.kernel, layer.bias, activation))
    return plan or None


def _numpy_q_values(weights: list, batch) -> np.ndarray:
    """Q-values of a batch with the package's one NumPy forward pass, bit for bit what TensorFlow computes."""
    import numpy as np

    from .policy import numpy_forward

    x = np.asarray(batch, dtype=np.float32)
    n = len(x)
    x = x.reshape(n, -1)
    if n == 1:  # NumPy multiplies a single row with another kernel (other rounding) than TensorFlow
        x = np.concatenate([x, x])
    return numpy_forward(weights, x)[:n]


class _FastQ:
    """Per-agent state of item 12: the variable plans and the NumPy copy of both networks' weights."""

    def __init__(self, agent) -> None:
        self.online = _numpy_q_plan(agent.model)
        self.target = _numpy_q_plan(agent.target_model) if getattr(agent, "target_model", None) is not None else None
        self.usable = self.online is not None and self.target is not None
        self.weights: dict[str, list] | None = None
        self.metric_reset = None  # built after the first training step, when every metric exists
        self.metric_reset_built = False

    def current(self) -> dict[str, list]:
        if self.weights is None:
            self.fetch()
        return self.weights

    def fetch(self, also=None) -> None:
        """Read both networks' weights in one TensorFlow call (running the op ``also`` in the same call)."""
        from tf_keras.src import backend

        variables = [v for kernel, bias, _ in self.online + self.target for v in (kernel, bias)]
        if also is None:
            values = backend.batch_get_value(variables)
        else:
            values = backend.get_session().run([also, *variables])[1:]
        plan = self.online + self.target
        layers = [(values[2 * i], values[2 * i + 1], act) for i, (_, _, act) in enumerate(plan)]
        self.weights = {"online": layers[: len(self.online)], "target": layers[len(self.online) :]}


def _metric_zeroing_op(model):
    """One op that zeroes all of ``model``'s metric totals and counts, or None if some metric resets otherwise."""
    import tensorflow as tf
    from tf_keras.src.metrics import base_metric

    if model is None or tf.executing_eagerly():
        return None
    zeroing = (base_metric.Metric.reset_state, base_metric.Reduce.reset_state)
    metrics = model._get_training_eval_metrics()
    if not all(type(metric).reset_state in zeroing for metric in metrics):
        return None
    variables = [v for metric in metrics for v in metric.variables]
    return tf.group(*[v.assign(tf.zeros_like(v)) for v in variables]) if variables else None


def _fast_q(agent) -> _FastQ | None:
    """The agent's item-9 state while ``fit`` runs (None outside ``fit`` or for unsupported networks)."""
    state = agent.__dict__.get("_cartpole_dqn_fast_q")
    return state if state is not None and state.usable else None


def set_fast_q_values(enabled: bool = True) -> None:
    """Compute ``DQNAgent``'s Q-values in NumPy during ``fit`` (see item 12); ``False`` restores keras-rl2's."""
    from rl.agents.dqn import DQNAgent

    if not _ORIGINAL_DQN_METHODS:
        for name in ("fit", "reset_states", "compute_batch_q_values", "backward"):
            _ORIGINAL_DQN_METHODS[name] = DQNAgent.__dict__.get(name)
    for name, original in _ORIGINAL_DQN_METHODS.items():  # back to keras-rl2's methods
        if original is None:
            if name in DQNAgent.__dict__:
                delattr(DQNAgent, name)
        else:
            setattr(DQNAgent, name, original)
    if not enabled:
        return
    fit, reset_states = DQNAgent.fit, DQNAgent.reset_states
    compute_batch_q_values, backward = DQNAgent.compute_batch_q_values, DQNAgent.backward

    def fast_fit(self, *args, **kwargs):
        self._cartpole_dqn_fast_q = _FastQ(self) if self.compiled else None
        try:
            return fit(self, *args, **kwargs)
        finally:
            self._cartpole_dqn_fast_q = None

    def fast_reset_states(self) -> None:
        state = _fast_q(self)
        if state is not None:  # a callback may have changed the weights between episodes
            state.weights = None
        return reset_states(self)

    def fast_compute_batch_q_values(self, state_batch):
        state = _fast_q(self)
        if state is None:
            return compute_batch_q_values(self, state_batch)
        q_values = _numpy_q_values(state.current()["online"], self.process_state_batch(state_batch))
        assert q_values.shape == (len(state_batch), self.nb_actions)
        return q_values

    def fast_backward(self, reward, terminal):
        state = _fast_q(self)
        trains = state is not None and self.training and self.step > self.nb_steps_warmup
        if not trains or self.step % self.train_interval != 0:
            return backward(self, reward, terminal)
        weights = state.current()
        shims = {
            (self.model, "predict_on_batch"): lambda batch: _numpy_q_values(weights["online"], batch),
            (self.target_model, "predict_on_batch"): lambda batch: _numpy_q_values(weights["target"], batch),
        }
        # The metric reset tf-keras runs after the training step is deferred to the weight read that
        # follows it: one TensorFlow call instead of two, same values.
        defer = state.metric_reset is not None
        if defer:
            shims[(self.trainable_model, "reset_metrics")] = lambda: None
        saved = {key: key[0].__dict__.get(key[1]) for key in shims}
        for (model, name), shim in shims.items():
            object.__setattr__(model, name, shim)
        try:
            return backward(self, reward, terminal)
        finally:
            for (model, name), before in saved.items():
                if before is None:
                    object.__delattr__(model, name)
                else:
                    object.__setattr__(model, name, before)
            if defer:  # the training step changed both networks: read them now, resetting the metrics
                state.fetch(also=state.metric_reset)
            else:
                state.weights = None
                if not state.metric_reset_built:
                    state.metric_reset = _metric_zeroing_op(self.trainable_model)
                    state.metric_reset_built = True

    DQNAgent.fit = fast_fit
    DQNAgent.reset_states = fast_reset_states
    DQNAgent.compute_batch_q_values = fast_compute_batch_q_values
    DQNAgent.backward = fast_backward


# Item 13: train_on_batch without re-checking the same kind of input every call ----------------


def _feed_plan(model, x: list, y: list) -> list | None:
    """How tf-keras turns ``x, y`` into the train function's inputs, checked on this call's data.

    Returns one entry per input of the train function: ``("data", i, ndim, dtype)`` for the i-th
    array of ``x + y``, ``("ones", shape_tail, dtype)`` for a default sample weight, ``("value", v)``
    for the learning phase. None when tf-keras feeds anything this plan cannot rebuild.
    """
    import numpy as np
    from tf_keras.src import backend
    from tf_keras.src.engine import training_utils_v1

    xs, ys, weights = model._standardize_user_data(x, y, extract_tensors_from_dataset=True)
    fed = training_utils_v1.ModelInputs(xs).as_list() + list(ys or []) + list(weights or [])
    if not isinstance(backend.symbolic_learning_phase(), int):
        fed += [True]
    arrays, plan = list(x) + list(y), []
    for index, value in enumerate(fed):
        if index < len(arrays) and isinstance(value, np.ndarray):
            plan.append(("data", index, value.ndim, value.dtype))
        elif isinstance(value, np.ndarray) and value.size and np.all(value == 1):
            plan.append(("ones", value.shape[1:], value.dtype))
        elif isinstance(value, bool):
            plan.append(("value", value))
        else:
            return None
    rebuilt = _feed(plan, arrays)
    same = len(rebuilt) == len(fed) and all(
        type(a) is type(b) and (not isinstance(a, np.ndarray) or (a.dtype == b.dtype and np.array_equal(a, b)))
        for a, b in zip(rebuilt, fed, strict=True)
    )
    return plan if same else None


def _feed(plan: list, arrays: list) -> list:
    """The train function's inputs for ``arrays`` (= x + y), following ``plan``."""
    import numpy as np

    n = len(arrays[0])
    fed = []
    for entry in plan:
        if entry[0] == "data":
            _, index, ndim, dtype = entry
            value = np.asarray(arrays[index], dtype=dtype)
            fed.append(value.reshape(n, 1) if value.ndim == 1 and ndim == 2 else value)
        elif entry[0] == "ones":
            fed.append(np.ones((n, *entry[1]), dtype=entry[2]))
        else:
            fed.append(entry[1])
    return fed


def set_fast_train_on_batch(enabled: bool = True) -> None:
    """Graph-mode ``train_on_batch`` that skips tf-keras' per-call input checks after the first call (item 13)."""
    import numpy as np
    import tensorflow as tf
    from tf_keras.src.engine import training_v1

    original = _original_method(training_v1.Model, "train_on_batch")
    if not enabled:
        training_v1.Model.train_on_batch = original
        return

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True):
        simple = (
            sample_weight is None
            and class_weight is None
            and isinstance(x, list)
            and isinstance(y, list)
            and all(isinstance(a, np.ndarray) for a in x + y)
            and not tf.executing_eagerly()
            and not self.run_eagerly
            and not self._distribution_strategy
        )
        key = (len(x), len(y))
        cached = self.__dict__.get("_cartpole_dqn_feed")
        function = getattr(self, "train_function", None)
        if simple and cached is not None and cached[:2] == (key, function) and function is not None:
            outputs = function(_feed(cached[2], list(x) + list(y)))
            if reset_metrics:
                self.reset_metrics()
            return outputs[0] if len(outputs) == 1 else outputs
        plan = _feed_plan(self, x, y) if simple else None
        result = original(
            self, x, y, sample_weight=sample_weight, class_weight=class_weight, reset_metrics=reset_metrics
        )
        if plan is not None:  # the next call of this kind feeds the function tf-keras has just used
            object.__setattr__(self, "_cartpole_dqn_feed", (key, getattr(self, "train_function", None), plan))
        return result

    training_v1.Model.train_on_batch = train_on_batch


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
    _ops_in_caller_thread(tf)
    if os.environ.get("CARTPOLE_DQN_VERBOSE_TF") != "1":
        _absorb_first_graph_logs(tf)  # after the thread settings: they must precede TensorFlow's first run
    _add_keras_version()
    _widen_step_counters()
    _ordered_soft_updates()
    _no_overwrite_prompt()
    set_fast_metric_reset(True)
    _optimizers_accept_lr()  # items 9-10: keras-rl2 code as learners write it (issue 8)
    _agents_take_any_optimizer()
    _dueling_without_lambda()
    _stable_cem_sampling()
    set_fast_q_values(True)  # items 12-13: speed without changing results (issue 12)
    set_fast_train_on_batch(True)
    _APPLIED = True
