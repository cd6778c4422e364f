"""Every adaptation keras-rl2 1.0.5 needs on today's stack, in one place.

keras-rl2 was last released in May 2021. On TensorFlow 2.21, NumPy 2 and Gymnasium it fails
in the ways listed below; ``import cartpole_dqn`` applies these adaptations once, and it must
come before TensorFlow's import (the notebooks' first code cell does it). None of them changes
what keras-rl2 computes, with one exception said in item 5; none touches a private part of
TensorFlow or tf-keras. Each one first looks for what it changes, and if that is missing (another
version of a library) the import stops with :class:`AdaptationError`, naming the item and the
versions, instead of going on without it.

1. Keras 2. keras-rl2 only works with Keras 2, which TensorFlow 2.16+ ships separately as
   ``tf-keras``. ``TF_USE_LEGACY_KERAS=1`` makes ``tensorflow.keras`` mean tf-keras; it has to be
   set before TensorFlow is first imported. Prevents: every keras-rl2 call failing on Keras 3.
   If Keras 3 is already loaded, :class:`KerasVersionError` says how to recover (restart).
2. ``rl/callbacks.py`` does ``from tensorflow.keras import __version__``, which tf-keras' API no
   longer exports. Prevents: ``ImportError: cannot import name '__version__'`` at ``import rl``.
   We add the attribute (``tf_keras.__version__``).
3. ``rl.core.Agent.fit`` counts steps with ``np.int16``; NumPy 2 (NEP 50) keeps ``int16 + 1`` an
   int16, so after 32,767 steps the counter wraps and ``fit(nb_steps=50000)`` never ends.
   Prevents: that endless loop. ``rl.core`` gets a view of NumPy whose ``int16`` is ``int64``.
4. keras-rl2's ``save_weights`` defaults to ``overwrite=False``, and tf-keras then asks a yes/no
   question on standard input when the file exists. Prevents: a notebook run headless hanging
   forever. Each agent's ``save_weights`` raises ``FileExistsError`` instead (then nothing is
   asked: an existing file was refused, a new one is simply written).
5. Soft target updates in a fixed order. With ``target_model_update < 1`` keras-rl2 adds
   ``target = tau * online + (1 - tau) * target`` to the TensorFlow step that also updates
   ``online``, with nothing ordering the two, so the target network reads the online weights
   sometimes before and sometimes after the update, and two runs from the same seeds drift
   apart. Prevents: training that cannot be repeated. The soft updates run after the
   optimizer's (``tf.control_dependencies``): of the two results keras-rl2 can give, always the
   same one. This is the one item that chooses what keras-rl2 computes; notebook 03 says so.
6. Quiet start-up: TensorFlow's C++ and absl log lines, its deprecation notices and a few known,
   harmless warnings (Gymnasium's "CartPole-v0 is out of date", keras-rl2's replay-memory
   notice) are silenced unless ``CARTPOLE_DQN_VERBOSE_TF=1``. Prevents: screens of logs in
   every notebook. (Warnings and logs only: nothing computed changes.)
7. Drawing: Gymnasium draws CartPole with pygame (SDL). On Linux without a display SDL's dummy
   video driver is the default (else ``XDG_RUNTIME_DIR is invalid``), and its dummy audio
   driver (Gymnasium 1.3 opens audio: ALSA errors without a sound card);
   ``SDL_FRAMEBUFFER_ACCELERATION=0`` prevents the segmentation fault of a ``human`` window on
   Mesa's software renderer (VMs, WSL, containers). Defaults only: a value you set wins.
8. Optimizers as learners write them. keras-rl2 trains in graph mode, which needs tf-keras'
   *legacy* optimizers: the ones from ``tensorflow.keras.optimizers`` fail there (``'Adam'
   object has no attribute '_name'``; ``... no attribute 'get_updates'`` in ``SARSAAgent``).
   (a) those optimizers accept the old ``lr=`` (tf-keras would log a line and silently keep
   0.001); (b) the ``compile`` of ``DQNAgent``, ``SARSAAgent``, ``NAFAgent`` and ``DDPGAgent``
   first turns the optimizer into its legacy twin with the same arguments
   (``compat_agents.legacy_optimizer``).
9. The dueling network. ``DQNAgent(enable_dueling_network=True)`` ends in a ``Lambda`` around a
   Python lambda, and cloning the target network then fails: tf-keras refuses to deserialize
   Python code. ``DQNAgent`` builds the same head with a named, registered layer
   (``compat_agents.dueling_layer_class``) instead, with a NumPy twin for the fast evaluator.
10. ``CEMAgent`` samples actions with ``exp(s) / sum(exp(s))``, which overflows with CEM's
   initial weights ("probabilities contain NaN"). It subtracts the largest score first: the
   same probabilities, without the overflow.

Two more adaptations are ordinary, visible code elsewhere: the Gymnasium-to-Gym adapter
(:mod:`cartpole_dqn.envs`) and the legacy ``Adam`` of :mod:`cartpole_dqn.agent`. keras-rl2 also
switches the whole process to TensorFlow's graph mode when ``rl.agents`` is imported.
"""

from __future__ import annotations

import logging
import os
import sys
import types
import warnings
import weakref

from .errors import CartPoleDQNError, SetupError

# NumPy and TensorFlow are imported inside the functions that use them: the doctor imports this
# module, and it must run on a machine where they are missing or broken.

__all__ = ["AdaptationError", "KerasVersionError", "apply", "keras_is_legacy"]

_APPLIED = False


class KerasVersionError(CartPoleDQNError, RuntimeError):
    """TensorFlow was already using Keras 3 when the package was imported."""


class AdaptationError(SetupError):
    """An adaptation could not find what it changes: another version of keras-rl2 or tf-keras."""


def _versions() -> str:
    from importlib import metadata

    found = []
    for name in ("keras-rl2", "tf-keras", "tensorflow"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _need(item: int, owner, name: str):
    """``owner.name``, which adaptation ``item`` changes; :class:`AdaptationError` if it is not there."""
    try:
        return getattr(owner, name)
    except AttributeError:
        where = getattr(owner, "__name__", type(owner).__name__)
        raise AdaptationError(
            f"cartpole_dqn's adaptation {item} (see cartpole_dqn/compat.py) needs {where}.{name}, which is "
            f"missing in this setup ({_versions()}). The series is tested with the versions in requirements.txt: "
            "install them (pip install -r requirements.txt), or run `python -m cartpole_dqn doctor`."
        ) from None


def _wrap(item: int, owner: type, name: str, make):
    """Replace ``owner.name`` by ``make(original)`` once; the original stays reachable as ``__wrapped__``."""
    original = owner.__dict__.get(name) or _need(item, owner, name)
    if getattr(original, "_cartpole_dqn", False):
        return
    wrapper = make(original)
    wrapper._cartpole_dqn = True
    wrapper.__wrapped__ = original
    wrapper.__doc__ = original.__doc__
    setattr(owner, name, wrapper)


# --- item 1: Keras 2 ------------------------------------------------------------------------


def keras_is_legacy() -> bool:
    """True when ``tensorflow.keras`` resolves to tf-keras (Keras 2)."""
    import tensorflow as tf

    try:
        return tf.keras.layers.Dense.__module__.startswith("tf_keras")
    except (AttributeError, ImportError):  # no Keras at all (tf-keras missing, Keras 3 missing)
        return False


def _tensorflow_keras_is_keras_3() -> bool:
    """Whether ``import tensorflow.keras...`` (what keras-rl2 does) would load Keras 3."""
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


# --- items 6 and 7: quiet logs, drawing defaults ---------------------------------------------


def _drawing_defaults() -> None:
    """Item 7 (always, whatever the log settings: the crash guard must apply)."""
    os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    if sys.platform.startswith("linux"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def _verbose() -> bool:
    return os.environ.get("CARTPOLE_DQN_VERBOSE_TF") == "1"


def _quiet_warnings() -> None:
    """Item 6, before TensorFlow loads: environment switches and warning filters."""
    if _verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import gymnasium.logger  # noqa: F401  (installs its own filters on import; ours must come after)

    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|tf_keras|keras|rl)\b")
    warnings.filterwarnings("ignore", message=r".*`(np\.)?random_integers` is deprecated.*")
    warnings.filterwarnings("ignore", message=r".*`Model\.state_updates` will be removed.*")
    warnings.filterwarnings("ignore", message=r".*Not enough entries to sample without replacement.*")
    warnings.filterwarnings("ignore", message=r".*The environment CartPole-v0 is out of date.*")


def _stderr_to_devnull(action) -> None:
    """Run ``action()`` with file descriptor 2 pointed at /dev/null: native code writes there directly."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some IDEs): nothing to hide
        action()
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            action()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow():
    """Item 6: TensorFlow's C++ start-up lines (oneDNN, CUDA probe) and, on TensorFlow 2.20, the absl/MLIR
    lines of the first graph run are written by native code to stderr; they go to /dev/null here."""
    if _verbose() or "tensorflow" in sys.modules:
        import tensorflow as tf

        return tf

    def quietly() -> None:
        import tensorflow as tf

        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.constant(1.0) + 1.0)

    _stderr_to_devnull(quietly)
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    return tf


# --- items 2-5: what keras-rl2 itself needs --------------------------------------------------


def _add_keras_version() -> None:
    """Item 2."""
    import tensorflow.keras as tfk
    import tf_keras

    if not hasattr(tfk, "__version__"):
        tfk.__version__ = _need(2, tf_keras, "__version__")


class _NumpyWithWideInt16(types.ModuleType):
    """NumPy as ``rl.core`` sees it: everything the same, except ``int16`` counts past 32,767."""

    def __init__(self) -> None:
        super().__init__("numpy")
        import numpy

        self.__dict__.update(numpy.__dict__)
        self.int16 = numpy.int64


def _widen_step_counters() -> None:
    """Item 3."""
    import numpy
    import rl.core

    current = _need(3, rl.core, "np")
    if isinstance(current, _NumpyWithWideInt16):
        return
    if current is not numpy:
        raise AdaptationError(f"cartpole_dqn's adaptation 3 expected rl.core.np to be NumPy ({_versions()}).")
    rl.core.np = _NumpyWithWideInt16()


def _checkpoint_files(filepath: str) -> list[str]:
    """The file tf-keras looks at before it asks (HDF5: the file; TensorFlow checkpoint: ``.index``)."""
    text = os.fspath(filepath)
    return [text if text.endswith((".h5", ".hdf5", ".keras")) else text + ".index"]


def _never_ask_before_overwriting() -> None:
    """Item 4."""
    import rl.agents

    def make(original):
        def save_weights(self, filepath, overwrite=False):
            text = os.fspath(filepath)
            stem, extension = os.path.splitext(text)
            # DDPGAgent saves two files, <name>_actor<ext> and <name>_critic<ext>
            names = (
                [text]
                if type(self).__name__ != "DDPGAgent"
                else [f"{stem}_{p}{extension}" for p in ("actor", "critic")]
            )
            existing = [f for name in names for f in _checkpoint_files(name) if os.path.exists(f)]
            if existing and not overwrite:
                raise FileExistsError(
                    f"Weights already exist at {text!r}; keras-rl2 would ask on standard input and wait. "
                    "Pass overwrite=True to replace them, or choose another file name."
                )
            return original(self, filepath, overwrite=True)

        return save_weights

    for name in ("DQNAgent", "NAFAgent", "SARSAAgent", "CEMAgent", "DDPGAgent"):
        _wrap(4, _need(4, rl.agents, name), "save_weights", make)


#: soft target updates made by keras-rl2, by target variable: id -> (weak target, weak source, tau).
#: Weak references only: a strong one would keep every graph built since start-up alive.
_SOFT_UPDATES: dict[int, tuple[weakref.ref, weakref.ref, float]] = {}


def _known_soft_update(target_weight) -> tuple | None:
    """``(source, tau)`` when keras-rl2 made a soft update of ``target_weight``, else None."""
    for key in [k for k, (t, s, _) in _SOFT_UPDATES.items() if t() is None or s() is None]:
        del _SOFT_UPDATES[key]  # their graph was cleared
    known = _SOFT_UPDATES.get(id(target_weight))
    if known is None or known[0]() is not target_weight:
        return None
    return known[1](), known[2]


def _ordered_soft_updates() -> None:
    """Item 5."""
    import rl.util
    import tensorflow as tf

    found = _need(5, rl.util, "get_soft_target_model_updates")
    original = getattr(found, "__wrapped__", found)
    _need(5, rl.util, "AdditionalUpdatesOptimizer")

    def get_soft_target_model_updates(target, source, tau):
        updates = original(target, source, tau)
        source_weights = source.trainable_weights + sum([layer.non_trainable_weights for layer in source.layers], [])
        for (target_weight, _value), source_weight in zip(updates, source_weights, strict=True):
            _SOFT_UPDATES[id(target_weight)] = (weakref.ref(target_weight), weakref.ref(source_weight), tau)
        return updates  # unchanged pairs: other users of the function see no difference

    get_soft_target_model_updates.__wrapped__ = original

    def make(_original_get_updates):
        def get_updates(self, params, loss):
            updates = self.optimizer.get_updates(params=params, loss=loss)
            ordered = []
            with tf.control_dependencies(updates):  # read the online weights after the optimizer changed them
                for update in self.additional_updates:
                    known = _known_soft_update(update[0])
                    if known is None:
                        ordered.append(update)
                        continue
                    source_weight, tau = known
                    target_weight = update[0]
                    ordered.append(
                        (target_weight, tau * tf.identity(source_weight) + (1.0 - tau) * tf.identity(target_weight))
                    )
            self.updates = list(updates) + ordered
            return self.updates

        return get_updates

    rl.util.get_soft_target_model_updates = get_soft_target_model_updates
    _wrap(5, rl.util.AdditionalUpdatesOptimizer, "get_updates", make)
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
    _quiet_warnings()
    _require_keras_2()
    _import_tensorflow()
    _add_keras_version()
    _widen_step_counters()
    _never_ask_before_overwriting()
    _ordered_soft_updates()
    from .compat_agents import apply_agent_items

    apply_agent_items()  # items 8-10, in compat_agents.py
    _APPLIED = True
