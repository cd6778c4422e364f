"""The package's own error types, and the one place that checks arguments (:class:`ArgumentError`).

Standard library only: the command line and the doctor import this module even when
TensorFlow, keras-rl2 or Gymnasium are missing. :class:`CartPoleDQNError` is the base of
every error the package raises on purpose (a mistake in what was asked, a missing or damaged
file, a setup that cannot work); the command line reports those as one ``error:`` line and
lets anything else (a bug) show its traceback.
"""

from __future__ import annotations

import math
import numbers
import operator

__all__ = [
    "CartPoleDQNError",
    "SetupError",
    "WeightsError",
    "WeightsNotFoundError",
    "WeightsMismatchError",
    "WeightsCorruptError",
    "WeightsWriteError",
    "ProtectedWeightsError",
    "DISTRIBUTIONS",
    "describe_setup_problem",
    "ArgumentError",
    "SEED_MAX",
    "whole_number",
    "seed",
    "number",
    "learning_rate",
]

#: The largest seed: NumPy's legacy ``np.random.seed`` takes 0 ... 2**32 - 1.
SEED_MAX = 2**32 - 1

#: Import name -> the distribution to install (what pip calls it), for the libraries the series uses.
DISTRIBUTIONS = {
    "tensorflow": "tensorflow",
    "tf_keras": "tf-keras",
    "rl": "keras-rl2",
    "gymnasium": "gymnasium",
    "numpy": "numpy",
    "PIL": "pillow",
    "pygame": "pygame-ce",
    "matplotlib": "matplotlib",
    "IPython": "ipython",
    "packaging": "packaging",
}


class CartPoleDQNError(Exception):
    """Base class of every error the package raises on purpose, with a message that says what to do."""


class ArgumentError(CartPoleDQNError, ValueError, TypeError):
    """An argument outside its rule; the message names the argument, the value, the rule and what to pass."""


class SetupError(CartPoleDQNError, ImportError):
    """A library the package needs is missing or broken (the doctor lists every piece and its fix)."""


class WeightsError(CartPoleDQNError):
    """Base class of every error about a weights file."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """There are no weights (or only part of them) at the given path."""


class WeightsMismatchError(WeightsError):
    """The weights were saved from a network with other layers or layer sizes."""


class WeightsCorruptError(WeightsError):
    """A weights file is truncated, damaged, or does not match its recorded SHA-256."""


class WeightsWriteError(WeightsError, OSError):
    """The weights cannot be written where asked (read-only, full disk, name too long, ...)."""


class ProtectedWeightsError(WeightsError, PermissionError):
    """An attempt to overwrite the shipped, pre-trained weights."""


class _WeightsPathError(WeightsError, ValueError):
    """A path that cannot name weights at all (empty, a folder)."""


class _WeightsExistError(WeightsError, FileExistsError):
    """Weights exist where a save was asked without ``overwrite=True``."""


def describe_setup_problem(exc: BaseException) -> str:
    """One sentence about why the stack could not be loaded: which library is missing or broken."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top in DISTRIBUTIONS:
            return f"the library {DISTRIBUTIONS[top]} is not installed (import {top!r} failed)."
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"loading the libraries failed ({type(exc).__name__}: {text})."


def whole_number(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` from ``minimum`` to ``maximum``, or an :class:`ArgumentError` naming ``name``.

    Takes anything with ``__index__`` (``int``, NumPy integers) except ``bool``; refuses floats
    (``50.7`` and ``50.0`` alike) and strings (``"50"``).
    """
    try:
        number = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        rule = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise ArgumentError(
            f"{name} must be a whole number {rule}, got {value!r}; give one such as {max(minimum, 1) * 10} "
            "(not a fraction, a string, True or False)."
        )
    return number


def seed(value: object, name: str = "seed") -> int:
    """A seed: a whole number from 0 to 2**32 - 1 (what NumPy, TensorFlow and Gymnasium all take)."""
    return whole_number(value, name, 0, SEED_MAX)


def number(value: object, name: str, above: float | None = None) -> float:
    """``value`` as a finite ``float`` (above ``above`` when given), or an :class:`ArgumentError` naming ``name``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (above is not None and value <= above):
        rule = "a finite number" + (f" above {above:g}" if above is not None else "")
        raise ArgumentError(f"{name} must be {rule}, got {value!r}. Give one such as 0.5 (not a string, True or nan).")
    return float(value)


def learning_rate(value: object) -> float:
    """A learning rate: a finite number above 0 (the tutorial's is 1e-3)."""
    return number(value, "learning_rate", above=0)


class NonFiniteWeightsError(WeightsError, ValueError):
    """A model whose weights hold NaN or infinite values (a training that diverged): never saved."""
