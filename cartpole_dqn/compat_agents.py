"""Items 8-10 of :mod:`cartpole_dqn.compat`: keras-rl2 code as learners wrote it in its popular years.

The optimizers from ``tensorflow.keras.optimizers`` (with ``lr=``), the dueling network, and
``CEMAgent``'s sampling; the list, with what each prevents, is in ``compat``'s docstring.
"""

from __future__ import annotations

from .compat import _need, _wrap

__all__ = ["DUELING_TYPES", "apply_agent_items", "dueling_layer_class", "dueling_numpy", "legacy_optimizer"]


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
    """Item 8a: make ``cls(lr=x)`` mean ``cls(learning_rate=x)`` and remember the arguments."""

    def make(original):
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

        return __init__

    _wrap(8, cls, "__init__", make)


def legacy_optimizer(optimizer):
    """The legacy tf-keras optimizer keras-rl2 needs, built from the one a learner wrote (item 8).

    Legacy optimizers and anything that is not a new tf-keras optimizer are returned unchanged;
    a string such as ``"adam"`` becomes the legacy class with its defaults. The new optimizer's
    constructor arguments (``learning_rate`` or ``lr``, betas, momentum, clipping, ...) are passed
    on; options only the new optimizers have raise ``ValueError`` when set (there is no legacy
    equivalent to honour them with).
    """
    import inspect

    import tf_keras.optimizers as optimizers
    from tf_keras.optimizers import legacy

    if isinstance(optimizer, str):
        return optimizers.get(optimizer, use_legacy_optimizer=True)
    if isinstance(optimizer, list | tuple):
        return type(optimizer)(legacy_optimizer(o) for o in optimizer)
    if not isinstance(optimizer, optimizers.Optimizer):
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
    """Item 8b: every keras-rl2 agent's ``compile`` converts the optimizer first."""
    import rl.agents

    def make(original):
        def compile(self, optimizer, *args, **kwargs):
            return original(self, legacy_optimizer(optimizer), *args, **kwargs)

        return compile

    for name in ("DQNAgent", "SARSAAgent", "NAFAgent", "DDPGAgent"):
        _wrap(8, _need(8, rl.agents, name), "compile", make)


def _optimizers_accept_lr() -> None:
    import tf_keras.optimizers as optimizers

    for name in _LEGACY_TWINS:
        _accept_lr(_need(8, optimizers, name))


DUELING_TYPES = ("avg", "max", "naive")
_DuelingCombine = None


def dueling_layer_class():
    """The layer that combines V(s) and A(s, a) into Q(s, a) in keras-rl2's dueling network (item 9).

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
    """Item 9: build keras-rl2's dueling head with :func:`dueling_layer_class` instead of a ``Lambda``."""
    from rl.agents import dqn
    from tf_keras.layers import Dense
    from tf_keras.models import Model

    def make(original):
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
                y = Dense(nb_action + 1, activation="linear", name="dueling_value_and_advantages")(
                    model.layers[-2].output
                )
                q_values = dueling_layer_class()(dueling_type, name=f"dueling_{dueling_type}_q_values")(y)
                self.model = Model(inputs=model.input, outputs=q_values)
                self.enable_dueling_network = True

        return __init__

    _wrap(9, _need(9, dqn, "DQNAgent"), "__init__", make)


def _stable_cem_sampling() -> None:
    """Item 10: ``CEMAgent`` samples its training actions with a softmax that cannot overflow."""
    import numpy as np
    from rl.agents import cem

    def make(original):
        def select_action(self, state, stochastic=False):
            if not (stochastic or self.training):
                return original(self, state, stochastic)
            batch = np.array([state], dtype=object)
            if self.processor is not None:
                batch = self.processor.process_state_batch(batch)
            scores = np.asarray(self.model.predict_on_batch(batch), dtype=np.float64).flatten()
            weights = np.exp(scores - scores.max())  # the same probabilities as exp(s) / sum(exp(s))
            return np.random.choice(np.arange(self.nb_actions), p=weights / weights.sum())

        return select_action

    _wrap(10, _need(10, cem, "CEMAgent"), "select_action", make)


def apply_agent_items() -> None:
    """Items 8-10 (called by :func:`cartpole_dqn.compat.apply`)."""
    _optimizers_accept_lr()
    _agents_take_any_optimizer()
    _dueling_without_lambda()
    _stable_cem_sampling()
